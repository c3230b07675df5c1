import { mkdir, readFile, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FactoryError } from '../src/factory/factory-error.ts';
import { fineTune, scheduledRate, type FineTuneProgress } from '../src/factory/fine-tune.ts';
import type { LossPoint } from '../src/factory/loss-curve.ts';
import { parseTrainingJob } from '../src/factory/training-spec.ts';
import { createLlamaModel, createTokenizer, readLoraAdapter, trainByteLevelBpe } from '../src/index.ts';
import { useTempDir } from './support/temp-dir.ts';
import { tinyHparams } from './support/test-models.ts';

const file = useTempDir('fine-tune');

const SENTENCES = [
  'the lighthouse keeper rows out to the island every morning',
  'the baker sells warm bread to the fishermen at dawn',
  'the teacher reads old stories to the children after lunch',
  'the miller grinds the wheat when the wind blows from the west',
  'the nurse walks home along the river when the night shift ends',
  'the carpenter builds a bench for the old people at the market',
];

const spec = trainByteLevelBpe(SENTENCES, {
  vocabSize: 300,
  specialTokens: ['<|bos|>', '<|eos|>'],
  bosToken: '<|bos|>',
  eosToken: '<|eos|>',
});

function baseModel() {
  return createLlamaModel(tinyHparams({ vocabSize: spec.tokens.length, contextLength: 64 }), {
    seed: 11,
    std: 0.1,
    tokenizer: spec,
  });
}

const hyper = (over: Record<string, unknown> = {}) =>
  parseTrainingJob({
    datanetId: '1',
    versions: [1],
    baseModel: 'tiny',
    name: 'tiny-lora',
    owner: `0x${'1'.repeat(40)}`,
    authorization: 'x',
    hyperParameters: {
      rank: 4,
      alpha: 8,
      epochs: 3,
      batchSize: 2,
      learningRate: 2e-2,
      targets: ['q', 'v', 'down'],
      ...over,
    },
  }).hyperParameters;

describe('fineTune', () => {
  it('lowers the held-out loss and reports progress, the loss curve and one adapter per epoch', async () => {
    const dir = file('run');
    await mkdir(dir);
    const progress: FineTuneProgress[] = [];
    const losses: LossPoint[] = [];
    const result = await fineTune(
      {
        model: baseModel(),
        train: SENTENCES,
        eval: SENTENCES.slice(0, 2),
        hyperParameters: hyper({ epochs: 8, learningRate: 5e-2 }),
        workDir: dir,
      },
      { progress: (p) => progress.push(p), loss: (p) => losses.push(p) },
    );
    expect(result.lossAfter).toBeLessThan(result.lossBefore * 0.9);
    expect(result.steps).toBe(24);
    expect(progress.map((p) => p.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(progress.at(-1)).toMatchObject({ totalSteps: 24, epoch: 8 });
    expect(progress.every((p) => p.tokensPerSecond > 0 && p.etaSeconds >= 0)).toBe(true);
    expect(losses[0]).toMatchObject({ step: 0, evalLoss: result.lossBefore });
    expect(losses.filter((p) => p.evalLoss !== undefined)).toHaveLength(9);
    expect(result.epochAdapters.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const adapter = await readLoraAdapter(result.adapterPath);
    expect(adapter.rank).toBe(4);
    expect([...adapter.layers.keys()]).toHaveLength(6);
    // Tokens count BOS and EOS of every row, every epoch.
    const tokenizer = createTokenizer(spec);
    const perEpoch = SENTENCES.reduce((n, s) => n + tokenizer.encode(s, { addBos: false }).length + 2, 0);
    expect(result.tokens).toBe(perEpoch * 8);
  });

  it('resumes a job cut short from its checkpoint and ends exactly where an uninterrupted run ends', async () => {
    const straight = file('straight');
    await mkdir(straight);
    const full = await fineTune({
      model: baseModel(),
      train: SENTENCES,
      eval: SENTENCES.slice(4),
      hyperParameters: hyper({ epochs: 2 }),
      workDir: straight,
      checkpointEvery: 2,
    });

    // A run that stops (the worker is killed) right after its checkpoint at step 4.
    const cut = file('cut');
    await mkdir(cut);
    await expect(
      fineTune(
        {
          model: baseModel(),
          train: SENTENCES,
          eval: SENTENCES.slice(4),
          hyperParameters: hyper({ epochs: 2 }),
          workDir: cut,
          checkpointEvery: 2,
        },
        {
          progress: (p) => {
            if (p.step === 5) throw new Error('killed');
          },
        },
      ),
    ).rejects.toThrow('killed');
    expect((await readdir(cut)).sort()).toEqual(['checkpoint.gguf', 'epoch-1.gguf']);
    const logs: string[] = [];
    const resumed = await fineTune(
      {
        model: baseModel(),
        train: SENTENCES,
        eval: SENTENCES.slice(4),
        hyperParameters: hyper({ epochs: 2 }),
        workDir: cut,
        checkpointEvery: 2,
      },
      { log: (m) => logs.push(m) },
    );
    expect(logs[0]).toMatch(/resumed from step 4 \(epoch 2, batch 2\)/);
    expect(resumed.lossBefore).toBe(full.lossBefore);
    expect(resumed.lossAfter).toBe(full.lossAfter);
    expect(resumed.tokens).toBe(full.tokens);
    expect(await readFile(resumed.adapterPath)).toEqual(await readFile(full.adapterPath));
    expect(resumed.epochAdapters.map((e) => e.learningRate)).toEqual(
      full.epochAdapters.map((e) => e.learningRate),
    );
  });

  it('refuses a base model without a tokenizer, and rows too short to learn from', async () => {
    const bare = createLlamaModel(tinyHparams(), { seed: 1 });
    const dir = file('bad');
    await mkdir(dir);
    const run = (model: typeof bare, rows: string[]) =>
      fineTune({ model, train: rows, eval: rows, hyperParameters: hyper(), workDir: dir }).catch(
        (e: unknown) => e,
      );
    expect(await run(bare, SENTENCES)).toMatchObject({ code: 'bad-base-model' });
    const short = await run(baseModel(), ['', '']);
    expect(short).toBeInstanceOf(FactoryError);
    expect(short).toMatchObject({ code: 'too-few-rows' });
  });

  it('warms the learning rate up, then decays it along a cosine to a tenth', () => {
    expect(scheduledRate(1, 0, 100)).toBeCloseTo(0.2);
    expect(scheduledRate(1, 4, 100)).toBeCloseTo(1);
    expect(scheduledRate(1, 99, 100)).toBeCloseTo(0.1, 2);
    const rates = Array.from({ length: 100 }, (_, s) => scheduledRate(1, s, 100));
    expect(rates.slice(5).every((r, i, a) => i === 0 || r <= a[i - 1]!)).toBe(true);
  });
});
