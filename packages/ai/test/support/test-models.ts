import { GgufFile } from '../../src/gguf/index.ts';
import { createLlamaModel, type LlamaHparams, type LlamaModel } from '../../src/model/index.ts';
import type { NaiveConfig } from './naive-llama.ts';

/** Tiny hyperparameters with grouped-query attention (4 query heads over 2 kv heads). */
export function tinyHparams(overrides: Partial<LlamaHparams> = {}): LlamaHparams {
  return {
    vocabSize: 64,
    contextLength: 64,
    dim: 32,
    layers: 2,
    ffnDim: 48,
    heads: 4,
    kvHeads: 2,
    headDim: 8,
    rmsEps: 1e-5,
    ropeBase: 10000,
    ropeScale: 1,
    ...overrides,
  };
}

/** A random model whose activations stay O(1) and whose attention is far from uniform. */
export function tinyModel(
  seed: number,
  overrides: Partial<LlamaHparams> = {},
  tiedOutput = false,
): LlamaModel {
  const model = createLlamaModel(tinyHparams(overrides), {
    seed,
    std: 0.35,
    scaleResiduals: false,
    tiedOutput,
  });
  // Norm gains away from 1, so a gain applied in the wrong place shows.
  let k = 0;
  const gains = (g: Float32Array) => g.forEach((_, i) => (g[i] = 0.7 + 0.6 * (((k++ * 7919) % 101) / 101)));
  for (const b of model.blocks) {
    gains(b.attn_norm);
    gains(b.ffn_norm);
  }
  gains(model.output_norm);
  return model;
}

export function naiveConfig(h: LlamaHparams): NaiveConfig {
  return { ...h };
}

/** Every tensor of a GGUF, dequantised, by name: the naive reference's weights. */
export async function ggufWeights(path: string): Promise<Map<string, Float32Array>> {
  const file = await GgufFile.open(path);
  try {
    const out = new Map<string, Float32Array>();
    for (const t of file.tensors) out.set(t.name, await file.readTensor(t.name));
    return out;
  } finally {
    await file.close();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}
