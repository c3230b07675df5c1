import { describe, expect, it } from 'vitest';
import {
  BatchGenerator,
  KvCache,
  Rng,
  StopMatcher,
  argmax,
  createLlamaModel,
  createTokenizer,
  forward,
  generate,
  sampleToken,
  trainByteLevelBpe,
} from '../src/index.ts';
import { randomTokens, tinyHparams, tinyModel } from './support/test-models.ts';

describe('sampling', () => {
  it('greedy takes the first maximum; temperature sampling is seeded and follows the distribution', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(sampleToken([0, 5, 1], { temperature: 0 }, new Rng(1))).toBe(1);
    const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.2)];
    const draw = (seed: number, n: number, opts = {}) => {
      const rng = new Rng(seed);
      return Array.from({ length: n }, () => sampleToken(logits, { temperature: 1, ...opts }, rng));
    };
    expect(draw(9, 50)).toEqual(draw(9, 50));
    expect(draw(9, 50)).not.toEqual(draw(10, 50));
    const counts = [0, 0, 0];
    for (const t of draw(3, 20000)) counts[t]!++;
    expect(counts[0]! / 20000).toBeCloseTo(0.5, 1);
    expect(counts[2]! / 20000).toBeCloseTo(0.2, 1);
    // top-p 0.7 keeps {0.5, 0.3}: token 2 never comes up; top-k 1 is greedy.
    expect(draw(4, 2000, { topP: 0.7 })).not.toContain(2);
    expect(new Set(draw(5, 200, { topK: 1 }))).toEqual(new Set([0]));
  });

  it('the RNG resumes from its state', () => {
    const a = new Rng(42);
    for (let i = 0; i < 10; i++) a.next();
    const b = new Rng(a.state());
    expect(Array.from({ length: 5 }, () => a.nextU32())).toEqual(
      Array.from({ length: 5 }, () => b.nextU32()),
    );
  });
});

describe('stop sequences', () => {
  it('hold back a possible prefix across pieces and cut at the earliest stop', () => {
    const m = new StopMatcher(['\nUser:', 'END']);
    expect(m.push('Hello\nUs')).toEqual({ text: 'Hello', stopped: false });
    expect(m.push('ed to')).toEqual({ text: '\nUsed to', stopped: false });
    expect(m.push(' E')).toEqual({ text: ' ', stopped: false });
    expect(m.push('ND and more')).toEqual({ text: '', stopped: true });
    const n = new StopMatcher(['abc']);
    expect(n.push('xab').text).toBe('x');
    expect(n.flush()).toBe('ab');
  });
});

describe('batch generator', () => {
  const model = tinyModel(21);

  it('greedy generation equals argmax of a full recompute at every step', () => {
    const prompt = randomTokens(5, 64, 1);
    const result = generate(model, { prompt, maxTokens: 6 });
    expect(result.finishReason).toBe('length');
    const seq = [...prompt];
    for (const token of result.tokens) {
      const logits = forward(model, [{ tokens: seq, cache: new KvCache(model.hparams) }])[0]!;
      expect(token).toBe(argmax(logits));
      seq.push(token);
    }
  });

  it('sequences added and cancelled between steps generate what they generate alone', () => {
    const requests = [
      { prompt: randomTokens(4, 64, 2), maxTokens: 5, sampling: { temperature: 0.8 }, seed: 1 },
      { prompt: randomTokens(7, 64, 3), maxTokens: 3, sampling: { temperature: 1.2, topP: 0.9 }, seed: 2 },
      { prompt: randomTokens(2, 64, 4), maxTokens: 6 },
    ];
    const alone = requests.map((r) => generate(model, r).tokens);
    const gen = new BatchGenerator(model, { prefillChunk: 3 });
    const got = new Map<number, number[]>();
    const ids: number[] = [gen.add(requests[0]!)];
    const cancelled = gen.add({ prompt: [1, 2, 3], maxTokens: 10 });
    for (let step = 0; gen.size > 0; step++) {
      if (step === 2) ids.push(gen.add(requests[1]!));
      if (step === 3) {
        ids.push(gen.add(requests[2]!));
        expect(gen.cancel(cancelled)).toBe(true);
      }
      for (const e of gen.step()) if (e.token >= 0) got.set(e.id, [...(got.get(e.id) ?? []), e.token]);
    }
    ids.forEach((id, i) => expect(got.get(id)).toEqual(alone[i]));
  });

  it('stops on a stop string and at end-of-generation, with a tokenizer', () => {
    const trained = trainByteLevelBpe(['ab ab ab ba ba'], { vocabSize: 262, specialTokens: ['<s>', '</s>'] });
    const tokenizer = createTokenizer(trained);
    const m = createLlamaModel(tinyHparams({ vocabSize: trained.tokens.length }), { seed: 3, std: 0.5 });
    const sampled = { prompt: 'ab', maxTokens: 12, sampling: { temperature: 1 }, seed: 5 };
    const result = generate(m, sampled, { tokenizer });
    expect(result.finishReason).toBe('length');
    expect(result.text).toBe(tokenizer.decode(result.tokens));
    // Stop at the first 2 characters after the first: the text ends right before them.
    expect(result.text.length).toBeGreaterThan(3);
    const stop = result.text.slice(1, 3);
    const cut = generate(m, { ...sampled, stop: [stop] }, { tokenizer });
    expect(cut.finishReason).toBe('stop');
    expect(cut.text).toBe(result.text.slice(0, result.text.indexOf(stop)));
    // All-zero output weights make every logit 0, so greedy picks token 0; call it EOS.
    const zeroed = createLlamaModel(tinyHparams({ vocabSize: trained.tokens.length }), { seed: 3 });
    if (zeroed.output.format === 'f32') zeroed.output.data.fill(0);
    const eosTokenizer = createTokenizer({ ...trained, eosId: 0 });
    const eog = generate(zeroed, { prompt: 'ab', maxTokens: 5 }, { tokenizer: eosTokenizer });
    expect(eog).toEqual({ tokens: [], text: '', finishReason: 'eog' });
    expect(
      generate(zeroed, { prompt: 'ab', maxTokens: 5, stopAtEog: false }, { tokenizer: eosTokenizer }).tokens,
    ).toEqual([0, 0, 0, 0, 0]);
  });
});
