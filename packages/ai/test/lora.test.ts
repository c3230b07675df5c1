import { describe, expect, it } from 'vitest';
import {
  GgufError,
  KvCache,
  LoraSet,
  f32Matrix,
  forward,
  loraScale,
  readLoraAdapter,
  writeLoraAdapter,
  type LlamaModel,
  type LoraAdapter,
  type LoraLayer,
  type Matrix,
} from '../src/index.ts';
import { naiveLogits } from './support/naive-llama.ts';
import { useTempDir } from './support/temp-dir.ts';
import { maxAbsDiff, naiveConfig, randomTokens, tinyModel } from './support/test-models.ts';

const file = useTempDir('lora');

function random(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/** Every matrix of the model by GGUF name, as [rows, cols]. */
function shapes(model: LlamaModel): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>([
    ['token_embd.weight', [model.hparams.vocabSize, model.hparams.dim]],
  ]);
  model.blocks.forEach((b, l) => {
    for (const [name, m] of Object.entries(b))
      if (!(m instanceof Float32Array)) out.set(`blk.${l}.${name}.weight`, [m.rows, m.cols]);
  });
  if (!model.tiedOutput) out.set('output.weight', [model.hparams.vocabSize, model.hparams.dim]);
  return out;
}

function randomAdapter(
  model: LlamaModel,
  targets: readonly string[],
  rank: number,
  alpha: number,
  seed: number,
): LoraAdapter {
  const all = shapes(model);
  const layers = new Map<string, LoraLayer>();
  targets.forEach((name, i) => {
    const [nOut, nIn] = all.get(name)!;
    layers.set(name, {
      a: random(rank * nIn, 0.4, seed + i),
      b: random(nOut * rank, 0.4, seed + 100 + i),
      nIn,
      nOut,
    });
  });
  return { architecture: 'llama', alpha, rank, layers };
}

/** The model with W + scale·B·A written into its weights: what merging the adapter would give. */
function merged(model: LlamaModel, adapter: LoraAdapter): LlamaModel {
  const scale = loraScale(adapter.alpha, adapter.rank);
  const mergeInto = (name: string, m: Matrix): Matrix => {
    const layer = adapter.layers.get(name);
    if (!layer || m.format !== 'f32') return m;
    const data = Float32Array.from(m.data);
    for (let o = 0; o < layer.nOut; o++)
      for (let i = 0; i < layer.nIn; i++) {
        let s = 0;
        for (let j = 0; j < adapter.rank; j++)
          s += layer.b[o * adapter.rank + j]! * layer.a[j * layer.nIn + i]!;
        data[o * layer.nIn + i] = data[o * layer.nIn + i]! + scale * s;
      }
    return f32Matrix(m.rows, m.cols, data);
  };
  return {
    ...model,
    token_embd: mergeInto('token_embd.weight', model.token_embd),
    output: mergeInto('output.weight', model.output),
    blocks: model.blocks.map((b, l) => {
      const out = { ...b };
      for (const key of [
        'attn_q',
        'attn_k',
        'attn_v',
        'attn_output',
        'ffn_gate',
        'ffn_up',
        'ffn_down',
      ] as const) {
        out[key] = mergeInto(`blk.${l}.${key}.weight`, b[key]);
      }
      return out;
    }),
  };
}

const ALL = (layers: number) => [
  'token_embd.weight',
  'output.weight',
  ...Array.from({ length: layers }, (_, l) =>
    ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'].map(
      (t) => `blk.${l}.${t}.weight`,
    ),
  ).flat(),
];

const logitsOf = (model: LlamaModel, tokens: number[], loras?: LoraSet, adapter?: number) =>
  forward(
    model,
    [
      {
        tokens,
        cache: new KvCache(model.hparams),
        logits: 'all',
        ...(adapter === undefined ? {} : { adapter }),
      },
    ],
    loras ? { loras } : {},
  )[0]!;

describe('LoRA, unmerged', () => {
  const model = tinyModel(31);
  const tokens = randomTokens(9, 64, 8);

  it('an adapter on every matrix (embedding and output included), read back from GGUF, equals merging it', async () => {
    const adapter = randomAdapter(model, ALL(2), 3, 6, 1);
    const path = file('all.gguf');
    await writeLoraAdapter(path, adapter);
    const read = await readLoraAdapter(path);
    const loras = LoraSet.attach(model, [read]);
    const unmerged = logitsOf(model, tokens, loras, 0);
    const mergedLogits = logitsOf(merged(model, adapter), tokens);
    expect(maxAbsDiff(unmerged, mergedLogits)).toBeLessThan(1e-4);
    // The adapter matters, and the base model is untouched by attaching it.
    expect(maxAbsDiff(unmerged, logitsOf(model, tokens))).toBeGreaterThan(0.1);
    expect(maxAbsDiff(logitsOf(model, tokens, loras), logitsOf(model, tokens))).toBe(0);
  });

  it('matches the float64 reference with the adapter applied as y = Wx + scale·B(Ax)', () => {
    const adapter = randomAdapter(
      model,
      ['blk.0.attn_q.weight', 'blk.1.ffn_down.weight', 'output.weight'],
      2,
      4,
      2,
    );
    const weights = new Map<string, Float32Array>([
      ['token_embd.weight', (model.token_embd as { data: Float32Array }).data],
    ]);
    weights.set('output.weight', (model.output as { data: Float32Array }).data);
    weights.set('output_norm.weight', model.output_norm);
    model.blocks.forEach((b, l) => {
      for (const [k, v] of Object.entries(b))
        weights.set(
          `blk.${l}.${k}.weight`,
          v instanceof Float32Array ? v : (v as { data: Float32Array }).data,
        );
    });
    const scale = loraScale(4, 2);
    const lora = { layers: new Map([...adapter.layers].map(([n, l]) => [n, { a: l.a, b: l.b, scale }])) };
    const ref = naiveLogits(naiveConfig(model.hparams), weights, tokens, lora).flat();
    expect(maxAbsDiff(logitsOf(model, tokens, LoraSet.attach(model, [adapter]), 0), ref)).toBeLessThan(2e-4);
  });

  it('one batch with mixed adapters (and none) equals running each sequence alone', () => {
    const a0 = randomAdapter(model, ALL(2), 2, 2, 10);
    const a1 = randomAdapter(model, ['blk.0.attn_v.weight', 'blk.1.ffn_up.weight'], 4, 8, 20);
    const loras = LoraSet.attach(model, [a0, { adapter: a1, scale: 0.5 }]);
    const runs = [
      { tokens: randomTokens(5, 64, 1), adapter: 0 },
      { tokens: randomTokens(3, 64, 2), adapter: undefined },
      { tokens: randomTokens(6, 64, 3), adapter: 1 },
      { tokens: randomTokens(4, 64, 4), adapter: 0 },
      { tokens: randomTokens(2, 64, 5), adapter: 1 },
    ];
    const together = forward(
      model,
      runs.map((r) => ({
        tokens: r.tokens,
        cache: new KvCache(model.hparams),
        logits: 'all' as const,
        ...(r.adapter === undefined ? {} : { adapter: r.adapter }),
      })),
      { loras },
    );
    runs.forEach((r, i) => {
      const alone =
        r.adapter === undefined
          ? logitsOf(model, r.tokens)
          : logitsOf(
              model,
              r.tokens,
              LoraSet.attach(model, [r.adapter === 0 ? a0 : { adapter: a1, scale: 0.5 }]),
              0,
            );
      expect(maxAbsDiff(together[i]!, alone)).toBeLessThan(1e-5);
    });
  });

  it('refuses adapters that do not fit the base model', () => {
    const tied = tinyModel(32, {}, true);
    const adapter = randomAdapter(model, ['output.weight'], 2, 2, 1);
    expect(() => LoraSet.attach(tied, [adapter])).toThrow(GgufError);
    const wrong = {
      ...adapter,
      layers: new Map([
        [
          'blk.0.attn_q.weight',
          { a: new Float32Array(2 * 16), b: new Float32Array(32 * 2), nIn: 16, nOut: 32 },
        ],
      ]),
    };
    expect(() => LoraSet.attach(model, [wrong])).toThrow(/wrong base model/);
  });
});
