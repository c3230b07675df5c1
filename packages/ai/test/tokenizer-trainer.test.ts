import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR } from '../src/tokenizer/byte-unicode.ts';
import { createTokenizer } from '../src/tokenizer/create-tokenizer.ts';
import { trainByteLevelBpe } from '../src/tokenizer/train-bpe.ts';
import { TokenType } from '../src/tokenizer/types.ts';

/** mulberry32: a small seeded PRNG, so the corpus is the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines of made-up words with a Zipf-like frequency, punctuation, numbers, capitals and some non-ASCII. */
function corpus(bytes: number, seed = 7): string[] {
  const rnd = random(seed);
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ne',
    'ru',
    'sa',
    'to',
    'vi',
    'ze',
    'an',
    'el',
    'or',
    'th',
    'qu',
    'ing',
    'é',
    'ß',
  ];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const words = Array.from({ length: 20_000 }, () =>
    Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(syllables)).join(''),
  );
  const lines: string[] = [];
  for (let total = 0; total < bytes;) {
    const parts: string[] = [];
    for (let i = 0, n = 4 + Math.floor(rnd() * 12); i < n; i++) {
      const r = rnd();
      let word = words[Math.floor(r * r * r * words.length)]!;
      if (rnd() < 0.1) word = word[0]!.toUpperCase() + word.slice(1);
      if (rnd() < 0.05) word += ',';
      if (rnd() < 0.03) word += ` ${Math.floor(rnd() * 100_000)}`;
      parts.push(word);
    }
    const line = parts.join(' ') + (rnd() < 0.02 ? ' 🙂' : '') + '.\n';
    lines.push(line);
    total += line.length;
  }
  return lines;
}

const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

describe('trainByteLevelBpe', () => {
  it('merges the most frequent pair first', () => {
    // Words "ab", " ab" ×2, " abc": (a,b) occurs 4 times, then (Ġ,ab) 3 times, then (Ġab,c) once.
    const spec = trainByteLevelBpe(['ab ab ab abc'], { vocabSize: 300, pre: 'gpt-2' });
    expect(spec.merges).toEqual(['a b', 'Ġ ab']);
    expect(spec.tokens.slice(256)).toEqual(['ab', 'Ġab']);
    const all = trainByteLevelBpe(['ab ab ab abc'], { vocabSize: 300, pre: 'gpt-2', minFrequency: 1 });
    expect(all.merges).toEqual(['a b', 'Ġ ab', 'Ġab c']);
  });

  it('breaks ties by the smaller pair of ids', () => {
    // (a,b), (Ġ,c) and (c,d) all occur twice: Ġ (32) is the smallest left id, then a (97) before Ġc (256).
    const spec = trainByteLevelBpe(['ab cd ab cd'], { vocabSize: 300, pre: 'gpt-2' });
    expect(spec.merges).toEqual(['Ġ c', 'a b', 'Ġc d']);
  });

  it('stops at the requested vocabulary size', () => {
    const spec = trainByteLevelBpe(['ab cd ab cd'], { vocabSize: 257, pre: 'gpt-2' });
    expect(spec.merges).toEqual(['Ġ c']);
    expect(spec.tokens).toHaveLength(257);
  });

  it('lays the vocabulary out as bytes, merges, specials', () => {
    const spec = trainByteLevelBpe(corpus(20_000), {
      vocabSize: 400,
      specialTokens: ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>'],
    });
    expect(spec).toMatchObject({
      model: 'gpt2',
      pre: 'llama3',
      addBos: true,
      addEos: false,
      bosId: 396,
      eosId: 397,
    });
    expect(spec.tokens).toHaveLength(400);
    expect(spec.tokens.slice(0, 256)).toEqual(BYTE_TO_CHAR);
    expect(spec.tokens.slice(396)).toEqual([
      '<|begin_of_text|>',
      '<|end_of_text|>',
      '<|im_start|>',
      '<|im_end|>',
    ]);
    expect(spec.tokenTypes!.slice(390)).toEqual([1, 1, 1, 1, 1, 1, 3, 3, 3, 3]);
    expect(spec.merges).toHaveLength(400 - 256 - 4);
    // Every merge produces a token of the vocabulary.
    for (const merge of spec.merges!) expect(spec.tokens).toContain(merge.replace(' ', ''));
  });

  it('tokenizes its training text losslessly, compresses it, and is deterministic', () => {
    const texts = corpus(1_000_000);
    const options = { vocabSize: 4096, specialTokens: ['<|endoftext|>'] };
    const started = performance.now();
    const spec = trainByteLevelBpe(texts, options);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(spec.tokens).toHaveLength(4096);
    expect(trainByteLevelBpe(texts, options)).toEqual(spec);

    const tokenizer = createTokenizer(spec);
    const text = texts.join('');
    const ids = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(ids.length).toBeLessThan(utf8Length(text) / 3);
    expect(tokenizer.eosId).toBe(4095);
    expect(tokenizer.isEog(4095)).toBe(true);
  });

  it('handles text it never saw', () => {
    const tokenizer = createTokenizer(trainByteLevelBpe(corpus(50_000), { vocabSize: 600 }));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (text) => {
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }),
    );
  });

  it('learns nothing from special tokens in the text, and matches them on request', () => {
    const texts = Array.from({ length: 200 }, (_, i) => `<|endoftext|>story ${i % 7}<|endoftext|>`);
    const spec = trainByteLevelBpe(texts, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    expect(spec.tokens.slice(256, -1).some((t) => t.includes('|') || t.includes('<'))).toBe(false);
    // The text runs out of pairs occurring twice long before 300 tokens.
    expect(spec.tokens.length).toBeLessThan(300);
    const special = spec.tokens.length - 1;
    expect(spec.tokens[special]).toBe('<|endoftext|>');
    const tokenizer = createTokenizer(spec);
    const ids = tokenizer.encode('<|endoftext|>story 3', { special: true });
    expect(ids[0]).toBe(special);
    expect(tokenizer.decode(ids, { special: true })).toBe('<|endoftext|>story 3');
    expect(tokenizer.tokenType(special)).toBe(TokenType.Control);
  });

  it('rejects impossible options', () => {
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 256, specialTokens: ['<s>'] })).toThrow(
      /room for 256 bytes/,
    );
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: ['<s>', '<s>'] })).toThrow(
      /distinct/,
    );
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: ['a'] })).toThrow(/collides/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, bosToken: '<s>' })).toThrow(
      /not a special token/,
    );
  });
});
