import { describe, expect, it } from 'vitest';
import { GgmlType } from '../src/gguf/index.ts';
import { KvCache, forward, loadLlamaModel, writeLlamaModel, type LlamaModel } from '../src/model/index.ts';
import { naiveLogits } from './support/naive-llama.ts';
import { useTempDir } from './support/temp-dir.ts';
import { ggufWeights, maxAbsDiff, naiveConfig, randomTokens, tinyModel } from './support/test-models.ts';

const file = useTempDir('model-forward');

async function roundTrip(
  model: LlamaModel,
  name: string,
  type: 8 | 0 | 1 = GgmlType.F32,
  keepQuantized = true,
) {
  const path = file(name);
  await writeLlamaModel(path, model, { type });
  return { path, model: await loadLlamaModel(path, { keepQuantized }) };
}

const last = (logits: Float32Array, vocab: number) => logits.subarray(logits.length - vocab);

describe('llama forward pass', () => {
  it('matches an independent float64 implementation (GQA, separate and tied output)', async () => {
    for (const tied of [false, true]) {
      const { path, model } = await roundTrip(tinyModel(1, {}, tied), `ref-${tied}.gguf`);
      const tokens = randomTokens(12, 64, 7);
      const ours = forward(model, [{ tokens, cache: new KvCache(model.hparams), logits: 'all' }])[0]!;
      const ref = naiveLogits(naiveConfig(model.hparams), await ggufWeights(path), tokens).flat();
      expect(maxAbsDiff(ours, ref)).toBeLessThan(2e-4);
      // The logits are far from trivial: a wrong convention would move them by much more than 2e-4.
      expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1);
    }
  });

  it('decoding token by token with the KV cache equals recomputing the whole sequence', async () => {
    const { model } = await roundTrip(tinyModel(2), 'kv.gguf');
    const tokens = randomTokens(20, 64, 3);
    const full = forward(model, [{ tokens, cache: new KvCache(model.hparams), logits: 'all' }])[0]!;
    const cache = new KvCache(model.hparams, { initialCapacity: 1 });
    // A prompt chunk of 7, then chunks of 1 and 5, then single tokens: every split must agree.
    const cuts = [0, 7, 8, 13, 14, 15, 16, 17, 18, 19, 20];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const chunk = tokens.slice(cuts[i], cuts[i + 1]);
      const got = forward(model, [{ tokens: chunk, cache, logits: 'all' }])[0]!;
      expect(maxAbsDiff(got, full.subarray(cuts[i]! * 64, cuts[i + 1]! * 64))).toBeLessThan(1e-5);
    }
    expect(cache.length).toBe(20);
  });

  it('batched decoding over sequences at different positions equals decoding each alone', async () => {
    const { model } = await roundTrip(tinyModel(3), 'batch.gguf');
    const prompts = [
      randomTokens(3, 64, 1),
      randomTokens(9, 64, 2),
      randomTokens(1, 64, 3),
      randomTokens(5, 64, 4),
    ];
    const next = [
      randomTokens(4, 64, 11),
      randomTokens(4, 64, 12),
      randomTokens(4, 64, 13),
      randomTokens(4, 64, 14),
    ];
    // Alone.
    const alone = prompts.map((prompt, s) => {
      const cache = new KvCache(model.hparams);
      const out = [forward(model, [{ tokens: prompt, cache }])[0]!];
      for (const t of next[s]!) out.push(forward(model, [{ tokens: [t], cache }])[0]!);
      return out;
    });
    // Together: one batched prefill of all prompts, then batched single-token steps.
    const caches = prompts.map(() => new KvCache(model.hparams));
    const together = prompts.map(() => [] as Float32Array[]);
    forward(
      model,
      prompts.map((tokens, s) => ({ tokens, cache: caches[s]! })),
    ).forEach((l, s) => together[s]!.push(l));
    for (let step = 0; step < 4; step++) {
      const out = forward(
        model,
        next.map((n, s) => ({ tokens: [n[step]!], cache: caches[s]! })),
      );
      out.forEach((l, s) => together[s]!.push(l));
    }
    for (let s = 0; s < prompts.length; s++) {
      for (let i = 0; i < alone[s]!.length; i++)
        expect(maxAbsDiff(together[s]![i]!, alone[s]![i]!)).toBeLessThan(1e-5);
    }
    // A mixed batch (a prefill next to decodes) also agrees.
    const c1 = new KvCache(model.hparams);
    const c2 = new KvCache(model.hparams);
    forward(model, [{ tokens: prompts[0]!, cache: c1 }]);
    const [a, b] = forward(model, [
      { tokens: [next[0]![0]!], cache: c1 },
      { tokens: prompts[1]!, cache: c2 },
    ]);
    expect(maxAbsDiff(a!, alone[0]![1]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b!, alone[1]![0]!)).toBeLessThan(1e-5);
  });

  it('loads F16 and Q8_0 files; Q8_0 kept quantised equals Q8_0 dequantised at load', async () => {
    const base = tinyModel(4);
    const tokens = randomTokens(10, 64, 5);
    const run = (m: LlamaModel) => forward(m, [{ tokens, cache: new KvCache(m.hparams), logits: 'all' }])[0]!;
    const f32 = run(base);
    const f16 = await roundTrip(base, 'f16.gguf', GgmlType.F16);
    const q8 = await roundTrip(base, 'q8.gguf', GgmlType.Q8_0);
    const q8f = await roundTrip(base, 'q8f.gguf', GgmlType.Q8_0, false);
    expect(q8.model.blocks[0]!.attn_q.format).toBe('q8_0');
    expect(q8f.model.blocks[0]!.attn_q.format).toBe('f32');
    expect(maxAbsDiff(run(q8.model), run(q8f.model))).toBeLessThan(1e-4);
    // Each matches the reference on its own (rounded) weights, and stays near the float32 model.
    const ref = naiveLogits(naiveConfig(base.hparams), await ggufWeights(q8.path), tokens).flat();
    expect(maxAbsDiff(run(q8.model), ref)).toBeLessThan(2e-4);
    const scale = Math.max(...Array.from(f32, Math.abs));
    expect(maxAbsDiff(run(f16.model), f32)).toBeLessThan(0.01 * scale);
    expect(maxAbsDiff(run(q8.model), f32)).toBeLessThan(0.05 * scale);
  });

  it('rewinds and forks caches', async () => {
    const { model } = await roundTrip(tinyModel(5), 'fork.gguf');
    const cache = new KvCache(model.hparams);
    forward(model, [{ tokens: randomTokens(6, 64, 1), cache }]);
    const fork = cache.clone();
    const a = forward(model, [{ tokens: [3], cache }])[0]!;
    const b = forward(model, [{ tokens: [3], cache: fork }])[0]!;
    expect(maxAbsDiff(a, b)).toBe(0);
    cache.truncate(6);
    expect(maxAbsDiff(forward(model, [{ tokens: [3], cache }])[0]!, a)).toBe(0);
    expect(last(a, 64).length).toBe(64);
  });
});
