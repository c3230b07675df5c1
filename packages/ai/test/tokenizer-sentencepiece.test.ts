import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../src/tokenizer/create-tokenizer.ts';
import { TokenType, type Tokenizer, type TokenizerSpec } from '../src/tokenizer/types.ts';

/**
 * A LLaMA-style SentencePiece vocabulary: <unk> <s> </s>, the 256 byte-fallback tokens (id = 3 + byte), then
 * pieces whose scores decide the merge order (higher merges first).
 */
const PIECES: [string, number][] = [
  ['▁', -1],
  ['h', -2],
  ['e', -3],
  ['l', -4],
  ['o', -5],
  ['w', -6],
  ['r', -7],
  ['d', -8],
  ['ll', -9],
  ['he', -10],
  ['hell', -11],
  ['hello', -12],
  ['▁h', -13],
  ['▁hello', -14],
  ['or', -15],
  ['▁w', -16],
  ['▁wor', -17],
  ['ld', -18],
  ['▁world', -19],
  ['▁▁', -20],
  ['ab', -21],
  ['bc', -21],
];
const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
const SPEC: TokenizerSpec = {
  model: 'llama',
  tokens: ['<unk>', '<s>', '</s>', ...BYTES, ...PIECES.map(([text]) => text), '<|im_end|>'],
  scores: [0, 0, 0, ...BYTES.map(() => 0), ...PIECES.map(([, score]) => score), 0],
  tokenTypes: [
    TokenType.Unknown,
    TokenType.Control,
    TokenType.Control,
    ...BYTES.map(() => TokenType.Byte),
    ...PIECES.map(() => TokenType.Normal),
    TokenType.Control,
  ],
  bosId: 1,
  eosId: 2,
  unkId: 0,
};
const spm = createTokenizer(SPEC);
const id = (text: string): number => {
  const found = SPEC.tokens.indexOf(text);
  if (found < 0) throw new Error(`no token ${text}`);
  return found;
};
const byte = (b: number): number => 3 + b;
const bytesOf = (text: string): number[] => Array.from(new TextEncoder().encode(text), byte);

/** Any text without U+2581, which SentencePiece cannot tell from an escaped space. */
const tricky = fc
  .string({
    unit: fc.oneof(
      { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
      {
        arbitrary: fc.constantFrom(' ', '  ', '\n', '\t', '\0', '\uFEFF', '😀', '👩‍👩‍👧', 'é', '中文'),
        weight: 3,
      },
      { arbitrary: fc.constantFrom('hello', ' world', 'abc', '<s>', '<|im_end|>'), weight: 3 },
    ),
    maxLength: 40,
  })
  .filter((text) => !text.includes('\u2581'));

function streamed(tokenizer: Tokenizer, ids: number[], stripLeadingSpace: boolean): string {
  const decoder = tokenizer.decoder({ stripLeadingSpace });
  return ids.map((i) => decoder.push(i)).join('') + decoder.flush();
}

describe('SentencePiece BPE', () => {
  it('adds BOS and a space prefix by default, as llama.cpp does for an SPM vocabulary', () => {
    expect(spm.addBos).toBe(true);
    expect(spm.encode('hello')).toEqual([1, id('▁hello')]);
    expect(spm.encode('hello', { addBos: false })).toEqual([id('▁hello')]);
    expect(spm.encode('')).toEqual([1]);
  });

  it('merges the highest-scoring piece first', () => {
    // ▁hello▁world: ll, he, hell, hello, ▁hello, then or, ▁w, ▁wor, ld, ▁world; ▁h (−13) goes stale once
    // h is inside hello.
    expect(spm.encode('hello world', { addBos: false })).toEqual([id('▁hello'), id('▁world')]);
    // ▁hell: ll (−9) before he (−10); hell is then formed, but ▁hell is no piece and ▁h went stale.
    expect(spm.encode('hell', { addBos: false })).toEqual([id('▁'), id('hell')]);
    // Equal scores go leftmost first: ab (−21) and bc (−21) compete for b in "abc".
    expect(spm.encode('abc', { addBos: false, special: false })).toEqual([id('▁'), id('ab'), byte(0x63)]);
  });

  it('falls back to <0xXX> byte tokens for characters outside the vocabulary', () => {
    expect(spm.encode('hé', { addBos: false })).toEqual([id('▁h'), byte(0xc3), byte(0xa9)]);
    expect(spm.encode('😀\n\0', { addBos: false })).toEqual([id('▁'), ...bytesOf('😀\n\0')]);
  });

  it('uses <unk> when the vocabulary has no byte tokens', () => {
    const noBytes = createTokenizer({
      model: 'llama',
      tokens: ['<unk>', '<s>', '</s>', '▁', 'h'],
      scores: [0, 0, 0, -1, -2],
      tokenTypes: [2, 3, 3, 1, 1],
    });
    expect(noBytes.encode('hé', { addBos: false })).toEqual([3, 4, 0, 0]);
    expect(noBytes.decode([3, 4, 0, 0])).toBe('h');
  });

  it('escapes every space, keeping leading, inner and trailing runs', () => {
    // ▁▁hello▁▁world▁: ▁▁ scores lowest (−20), so by its turn both of its ▁▁ pairs have gone stale.
    expect(spm.encode(' hello  world ', { addBos: false })).toEqual(
      ['▁', '▁hello', '▁', '▁world', '▁'].map((t) => id(t)),
    );
  });

  it('prefixes a space to text after a special token, as llama.cpp does', () => {
    expect(spm.encode('<s>hello</s>hello', { addBos: false, special: true })).toEqual([
      1,
      id('▁hello'),
      2,
      id('▁hello'),
    ]);
    const noPrefix = createTokenizer({ ...SPEC, addSpacePrefix: false });
    expect(noPrefix.encode('hello', { addBos: false })).toEqual([id('hello')]);
    expect(noPrefix.decode([id('▁hello')])).toBe(' hello');
  });

  it('decodes ▁ to spaces and byte tokens to bytes, dropping the space prefix once', () => {
    expect(spm.decode([1, id('▁hello'), id('▁world'), 2])).toBe('hello world');
    expect(spm.decode([id('▁hello'), id('▁world')])).toBe('hello world');
    expect(spm.decode([id('▁world')], { stripLeadingSpace: false })).toBe(' world');
    expect(spm.decode([id('▁h'), byte(0xc3), byte(0xa9)])).toBe('hé');
    // Only the first text piece loses its space; a byte token for a space is text, not the prefix.
    expect(spm.decode([byte(0x20), id('▁hello')])).toBe('  hello');
    expect(spm.decode([1, id('▁hello'), 2], { special: true })).toBe('<s>hello</s>');
  });

  it('knows its special ids and which tokens end a generation', () => {
    expect([spm.bosId, spm.eosId, spm.unkId, spm.eotId]).toEqual([1, 2, 0, id('<|im_end|>')]);
    expect(spm.isEog(2)).toBe(true);
    expect(spm.isEog(id('<|im_end|>'))).toBe(true);
    expect(spm.isEog(1)).toBe(false);
  });

  it('takes llama.cpp defaults (<unk> 0, <s> 1, </s> 2) and byte tokens by name when the GGUF omits them', () => {
    const bare = createTokenizer({ model: 'llama', tokens: SPEC.tokens, scores: SPEC.scores });
    expect([bare.unkId, bare.bosId, bare.eosId]).toEqual([0, 1, 2]);
    expect([bare.tokenType(0), bare.tokenType(1), bare.tokenType(2)]).toEqual([
      TokenType.Unknown,
      TokenType.Control,
      TokenType.Control,
    ]);
    const ids = bare.encode('hé');
    expect(ids).toEqual([1, id('▁h'), byte(0xc3), byte(0xa9)]);
    expect(bare.decode(ids)).toBe('hé');
  });

  it('streams partial UTF-8 from byte tokens as complete characters', () => {
    const decoder = spm.decoder();
    expect(decoder.push(id('▁hello'))).toBe(' hello');
    expect([0xf0, 0x9f, 0x98].map((b) => decoder.push(byte(b)))).toEqual(['', '', '']);
    expect(decoder.push(byte(0x80))).toBe('😀');
    expect(decoder.flush()).toBe('');
  });

  it('cannot tell a literal U+2581 from a space (a SentencePiece limitation)', () => {
    expect(spm.decode(spm.encode('a\u2581b'))).toBe('a b');
  });

  it.each([true, false])('decode(encode(s)) === s (addBos %s), streaming included', (addBos) => {
    fc.assert(
      fc.property(tricky, (text) => {
        const ids = spm.encode(text, { addBos });
        expect(spm.decode(ids)).toBe(text);
        expect(streamed(spm, ids, true)).toBe(text);
        expect(streamed(spm, ids, false)).toBe(spm.decode(ids, { stripLeadingSpace: false }));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes a long text quickly', () => {
    const text = 'hello world '.repeat(20_000);
    const started = performance.now();
    const ids = spm.encode(text, { addBos: false });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(ids.slice(0, 3)).toEqual([id('▁hello'), id('▁world'), id('▁hello')]);
    expect(spm.decode(ids)).toBe(text);
  });
});
