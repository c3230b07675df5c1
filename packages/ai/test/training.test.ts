import { describe, expect, it } from 'vitest';
import {
  AdamW,
  KvCache,
  LoraSet,
  Trainer,
  clipGradNorm,
  createLlamaModel,
  createLora,
  createTokenizer,
  evaluateLoss,
  forward,
  generate,
  llamaTensorShapes,
  loadCheckpoint,
  loadLlamaModel,
  readLoraAdapter,
  saveCheckpoint,
  trainByteLevelBpe,
  writeLlamaModel,
  writeLoraAdapter,
  type TrainingExample,
} from '../src/index.ts';
import { useTempDir } from './support/temp-dir.ts';
import { maxAbsDiff, tinyHparams, tinyModel } from './support/test-models.ts';

const file = useTempDir('training');

describe('AdamW and clipping', () => {
  it('follow the definitions, with decay decoupled from the moments', () => {
    const p = new Float32Array([1, -2]);
    const opt = new AdamW(new Map([['w', p]]), {
      learningRate: 0.1,
      weightDecay: 0.5,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
    });
    const g = new Float32Array([0.5, 0.25]);
    let [m, v, x] = [
      [0, 0],
      [0, 0],
      [1, -2],
    ];
    for (let t = 1; t <= 3; t++) {
      opt.update(new Map([['w', g]]));
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!);
      v = v.map((vi, i) => 0.99 * vi + 0.01 * g[i]! ** 2);
      x = x.map(
        (xi, i) =>
          xi - 0.1 * 0.5 * xi - (0.1 * m[i]!) / (1 - 0.9 ** t) / (Math.sqrt(v[i]! / (1 - 0.99 ** t)) + 1e-8),
      );
    }
    expect(Array.from(p)[0]).toBeCloseTo(x[0]!, 5);
    expect(Array.from(p)[1]).toBeCloseTo(x[1]!, 5);
    // Norm gains do not decay by default.
    expect(opt.decayed('blk.0.attn_norm.weight')).toBe(false);
    expect(opt.decayed('blk.0.attn_q.weight')).toBe(true);
  });

  it('clipping scales to the maximum norm and reports the norm before', () => {
    const grads = new Map([
      ['a', new Float32Array([3, 0])],
      ['b', new Float32Array([4])],
    ]);
    expect(clipGradNorm(grads, 1)).toBeCloseTo(5, 6);
    expect(Array.from(grads.get('a')!)[0]).toBeCloseTo(0.6, 6);
    expect(Array.from(grads.get('b')!)[0]).toBeCloseTo(0.8, 6);
    expect(clipGradNorm(grads, 10)).toBeCloseTo(1, 6);
  });
});

// A tiny corpus with structure to learn: arithmetic progressions mod 32.
const corpus: TrainingExample[] = Array.from({ length: 6 }, (_, k) => ({
  tokens: Array.from({ length: 10 + k }, (_, i) => (3 + k + i * (1 + (k % 3))) % 32),
}));
const H = { vocabSize: 32, dim: 32, heads: 4, kvHeads: 2, headDim: 8, ffnDim: 48, layers: 2 };

describe('training', () => {
  it('pretraining a small model from scratch drops the loss', () => {
    const model = createLlamaModel(tinyHparams(H), { seed: 1, std: 0.1 });
    const trainer = new Trainer(model, {
      train: { base: true },
      optimizer: { learningRate: 1e-2, weightDecay: 0.01 },
      clipNorm: 1,
    });
    const before = evaluateLoss(model, corpus).loss;
    expect(before).toBeGreaterThan(3);
    let last = before;
    for (let i = 0; i < 40; i++) last = trainer.step(corpus).loss;
    const after = evaluateLoss(model, corpus).loss;
    expect(after).toBeLessThan(0.35 * before);
    expect(last).toBeLessThan(before);
  });

  it('LoRA training drops the loss and leaves the base weights alone', () => {
    const model = tinyModel(51, H);
    const embd = model.token_embd.format === 'f32' ? Float32Array.from(model.token_embd.data) : undefined;
    const lora = createLora(model, {
      rank: 4,
      alpha: 8,
      targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'output'],
    });
    const trainer = new Trainer(model, { train: { lora }, optimizer: { learningRate: 2e-2 } });
    const before = evaluateLoss(model, corpus, { lora }).loss;
    for (let i = 0; i < 25; i++) trainer.step(corpus);
    expect(evaluateLoss(model, corpus, { lora }).loss).toBeLessThan(0.6 * before);
    expect(model.token_embd.format === 'f32' && Array.from(model.token_embd.data)).toEqual(Array.from(embd!));
  });

  it('resuming from a checkpoint continues bit for bit (all weights, and an adapter)', async () => {
    const batches = [corpus.slice(0, 3), corpus.slice(3), corpus.slice(1, 4), corpus.slice(2, 5)];
    // All weights.
    const make = () => createLlamaModel(tinyHparams(H), { seed: 2, std: 0.1 });
    const options = {
      train: { base: true } as const,
      optimizer: { learningRate: 5e-3, weightDecay: 0.1 },
      clipNorm: 0.5,
    };
    const straight = new Trainer(make(), options);
    const losses = batches.map((b) => straight.step(b).loss);
    const first = new Trainer(make(), options);
    first.step(batches[0]!);
    first.step(batches[1]!);
    const path = file('base.ckpt.gguf');
    await saveCheckpoint(path, first);
    const resumed = await loadCheckpoint(path);
    expect(resumed.optimizer.step).toBe(2);
    expect([resumed.step(batches[2]!).loss, resumed.step(batches[3]!).loss]).toEqual(losses.slice(2));
    for (const [name, p] of straight.params)
      expect(Array.from(resumed.params.get(name)!), name).toEqual(Array.from(p));
    // An adapter.
    const base = tinyModel(52, H);
    const adapterRun = () =>
      new Trainer(base, {
        train: { lora: createLora(base, { rank: 2, targets: ['q', 'v', 'embed'], seed: 9 }) },
        optimizer: { learningRate: 1e-2 },
      });
    const loraStraight = adapterRun();
    batches.forEach((b) => loraStraight.step(b));
    const loraFirst = adapterRun();
    loraFirst.step(batches[0]!);
    loraFirst.step(batches[1]!);
    await saveCheckpoint(file('lora.ckpt.gguf'), loraFirst);
    const loraResumed = await loadCheckpoint(file('lora.ckpt.gguf'), { model: base });
    loraResumed.step(batches[2]!);
    loraResumed.step(batches[3]!);
    for (const [name, p] of loraStraight.params)
      expect(Array.from(loraResumed.params.get(name)!), name).toEqual(Array.from(p));
  });

  it('a trained model and adapter written as GGUF load back with the same logits and tokenizer', async () => {
    const spec = trainByteLevelBpe(['the cat sat on the mat; the cat ate'], {
      vocabSize: 270,
      specialTokens: ['<|bos|>', '<|eos|>'],
      bosToken: '<|bos|>',
      eosToken: '<|eos|>',
    });
    const tokenizer = createTokenizer(spec);
    const model = createLlamaModel(tinyHparams({ ...H, vocabSize: spec.tokens.length }), {
      seed: 3,
      std: 0.1,
      tokenizer: spec,
    });
    const examples = [
      { tokens: tokenizer.encode('the cat sat on the mat') },
      { tokens: tokenizer.encode('the cat ate') },
    ];
    const trainer = new Trainer(model, { train: { base: true }, optimizer: { learningRate: 1e-2 } });
    for (let i = 0; i < 5; i++) trainer.step(examples);
    await writeLlamaModel(file('trained.gguf'), model, { name: 'tiny-cat' });
    const loaded = await loadLlamaModel(file('trained.gguf'));
    expect(loaded.tokenizer).toEqual(spec);
    expect(loaded.metadata.get('general.name')).toEqual({ type: 8, value: 'tiny-cat' });
    const tokens = examples[0]!.tokens;
    const run = (m: typeof model, loras?: LoraSet) =>
      forward(
        m,
        [{ tokens, cache: new KvCache(m.hparams), logits: 'all', ...(loras ? { adapter: 0 } : {}) }],
        loras ? { loras } : {},
      )[0]!;
    expect(maxAbsDiff(run(loaded), run(model))).toBe(0);
    expect(generate(loaded, { prompt: 'the', maxTokens: 4 }, { tokenizer }).tokens).toEqual(
      generate(model, { prompt: 'the', maxTokens: 4 }, { tokenizer }).tokens,
    );

    const lora = createLora(model, { rank: 2, targets: ['embed', 'q', 'down'], seed: 4 });
    const loraTrainer = new Trainer(model, { train: { lora }, optimizer: { learningRate: 1e-2 } });
    for (let i = 0; i < 3; i++) loraTrainer.step(examples);
    await writeLoraAdapter(file('adapter.gguf'), lora);
    const read = await readLoraAdapter(file('adapter.gguf'), {
      base: [...llamaTensorShapes(loaded.hparams, loaded.tiedOutput)].map(([name, shape]) => ({
        name,
        shape,
      })),
    });
    expect(
      maxAbsDiff(run(loaded, LoraSet.attach(loaded, [read])), run(model, LoraSet.attach(model, [lora]))),
    ).toBe(0);
  });
});
