import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from '../src/tokenizer/byte-unicode.ts';
import { createTokenizer } from '../src/tokenizer/create-tokenizer.ts';
import { getPreTokenizer, SUPPORTED_PRE_TOKENIZERS } from '../src/tokenizer/pre-tokenizer.ts';
import { TokenType, type Tokenizer, type TokenizerSpec } from '../src/tokenizer/types.ts';

/**
 * A GPT-2-style vocabulary: ids 0–255 are the bytes (so a byte's id is its value), then merge results, then
 * specials. The merge ranks are chosen so that rank order and left-to-right order disagree.
 */
const MERGES = [
  'l o', // 0 → lo
  'h e', // 1 → he
  'l l', // 2 → ll
  'he l', // 3 → hel
  'hel lo', // 4 → hello
  'Ġ w', // 5 → Ġw
  'o r', // 6 → or
  'Ġw or', // 7 → Ġwor
  'l d', // 8 → ld
  'Ġwor ld', // 9 → Ġworld
  'x y', // 10 → 'xy', deliberately missing from the vocabulary
  'a a', // 11 → aa
  'aa aa', // 12 → aaaa
];
const LEARNED = ['lo', 'he', 'll', 'hel', 'hello', 'Ġw', 'or', 'Ġwor', 'ld', 'Ġworld', 'aa', 'aaaa', 'Ġwo'];
const SPECIALS: [string, number][] = [
  ['<|endoftext|>', TokenType.Control],
  ['<|im_start|>', TokenType.Control],
  ['<|im_end|>', TokenType.Control],
  ['<user>', TokenType.UserDefined],
];
const TOKENS = [...BYTE_TO_CHAR, ...LEARNED, ...SPECIALS.map(([text]) => text)];
const id = (text: string): number => {
  const found = TOKENS.indexOf(text);
  if (found < 0) throw new Error(`no token ${text}`);
  return found;
};
const spec = (pre: string, extra: Partial<TokenizerSpec> = {}): TokenizerSpec => ({
  model: 'gpt2',
  pre,
  tokens: TOKENS,
  tokenTypes: [...[...BYTE_TO_CHAR, ...LEARNED].map(() => TokenType.Normal), ...SPECIALS.map(([, t]) => t)],
  merges: MERGES,
  eosId: id('<|endoftext|>'),
  ...extra,
});
const gpt2 = createTokenizer(spec('gpt-2'));
const bytes = (text: string): number[] => Array.from(new TextEncoder().encode(text));

/** Text with the characters tokenizers get wrong: surrogate pairs, ZWJ sequences, NUL, CR/LF, U+FEFF, … */
const tricky = fc.string({
  unit: fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), weight: 4 },
    {
      arbitrary: fc.constantFrom(
        ' ',
        '  ',
        '\n',
        '\r\n',
        '\t',
        '\0',
        '\uFEFF',
        '😀',
        '👩‍👩‍👧',
        'é',
        'e\u0301',
        '中文',
      ),
      weight: 3,
    },
    {
      arbitrary: fc.constantFrom('hello', ' world', "'s", "'LL", '12345', 'xy', 'aaaaa', '<|im_end|>'),
      weight: 3,
    },
  ),
  maxLength: 40,
});

function streamed(tokenizer: Tokenizer, ids: number[], special = false): string {
  const decoder = tokenizer.decoder({ special });
  return ids.map((i) => decoder.push(i)).join('') + decoder.flush();
}

describe('GPT-2 byte ↔ unicode mapping', () => {
  it('maps every byte to a distinct printable character, printable Latin-1 to itself', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xe9]).toBe('é');
    // The 68 unprintable bytes take U+0100 onwards in byte order: 0x00 first, space is the 33rd.
    expect(BYTE_TO_CHAR[0x00]).toBe('\u0100');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0xad]).toBe('\u0143');
    expect(BYTE_TO_CHAR.every((c) => !/\s/u.test(c))).toBe(true);
  });

  it('round-trips bytes through their byte-level spelling', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        expect(byteLevelToBytes(bytesToByteLevel(data))).toEqual(data);
      }),
    );
  });
});

describe('pre-tokenizers', () => {
  it('splits like the GPT-2 regex', () => {
    expect(getPreTokenizer('gpt-2').split("Hello world's 123  foo\n\nbar  ")).toEqual([
      'Hello',
      ' world',
      "'s",
      ' 123',
      ' ',
      ' foo',
      '\n',
      '\n',
      'bar',
      '  ',
    ]);
  });

  it('splits like the LLaMA-3 regex: digits in threes, case-insensitive contractions, newline runs', () => {
    expect(getPreTokenizer('llama3').split("I'LL pay 12345!?\n\n  ok")).toEqual([
      'I',
      "'LL",
      ' pay',
      ' ',
      '123',
      '45',
      '!?\n\n',
      ' ',
      ' ok',
    ]);
    expect(getPreTokenizer('llama-bpe').name).toBe('llama3');
  });

  it('splits digits one by one for qwen2 and smollm', () => {
    expect(getPreTokenizer('qwen2').split('x 2024')).toEqual(['x', ' ', '2', '0', '2', '4']);
    expect(getPreTokenizer('smollm').split('a 42b')).toEqual(['a', ' ', '4', '2', 'b']);
  });

  it("applies llama.cpp's 'default' regex chain when the GGUF names no pre-tokenizer", () => {
    expect(getPreTokenizer(undefined).split('Hi, you! 12345')).toEqual([
      'Hi',
      ',',
      ' you',
      '!',
      ' ',
      '123',
      '45',
    ]);
  });

  it('treats only Unicode White_Space as whitespace (not U+FEFF)', () => {
    expect(getPreTokenizer('gpt-2').split('a \uFEFFb')).toEqual(['a', ' \uFEFF', 'b']);
  });

  it('rejects an unknown variant, listing the supported ones', () => {
    expect(() => getPreTokenizer('klingon')).toThrow(
      /unsupported pre-tokenizer "klingon"; supported: .*llama3.*qwen2/,
    );
    expect(() => createTokenizer(spec('klingon'))).toThrow(/gpt-2/);
    expect(SUPPORTED_PRE_TOKENIZERS).toEqual(
      expect.arrayContaining(['default', 'gpt-2', 'llama3', 'qwen2', 'smollm']),
    );
  });

  it('never loses text', () => {
    fc.assert(
      fc.property(tricky, fc.constantFrom(...SUPPORTED_PRE_TOKENIZERS), (text, pre) => {
        const words = getPreTokenizer(pre).split(text);
        expect(words.join('')).toBe(text);
        expect(words.every((w) => w.length > 0)).toBe(true);
      }),
    );
  });
});

describe('byte-level BPE', () => {
  it('merges by rank, not left to right', () => {
    // h e l l o: "l o" (rank 0) beats "l l" (rank 2), then he → hel → hello.
    expect(gpt2.encode('hello')).toEqual([id('hello')]);
    // Ġ w o r l d: Ġw, or, Ġwor, ld, Ġworld.
    expect(gpt2.encode('hello world')).toEqual([id('hello'), id('Ġworld')]);
    // Equal ranks go leftmost first: both "l o" merge, and each half ends as hello.
    expect(gpt2.encode('hellohello')).toEqual([id('hello'), id('hello')]);
    // h e l l: "l l" is rank 2 but "h e" (rank 1) goes first, and "he l" (rank 3) then finds no lone l.
    expect(gpt2.encode('hell')).toEqual([id('he'), id('ll')]);
  });

  it('falls back to bytes for a merge result missing from the vocabulary', () => {
    expect(gpt2.encode('xy')).toEqual(bytes('xy'));
  });

  it('emits single-byte tokens for text the merges do not cover', () => {
    expect(gpt2.encode(' wo!')).toEqual([id('Ġw'), ...bytes('o!')]);
    expect(gpt2.encode('😀')).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(gpt2.encode('\0\n')).toEqual([0, 10]);
  });

  it('takes a whole word from the vocabulary under ignore_merges (llama3), not under gpt-2', () => {
    const llama3 = createTokenizer(spec('llama3'));
    expect(llama3.encode(' wo')).toEqual([id('Ġwo')]);
    expect(gpt2.encode(' wo')).toEqual([id('Ġw'), bytes('o')[0]]);
  });

  it('merges a long word in near-linear time', () => {
    const text = 'a'.repeat(200_000);
    const started = performance.now();
    const ids = gpt2.encode(text);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(ids).toEqual(new Array(50_000).fill(id('aaaa')));
    expect(gpt2.decode(ids)).toBe(text);
  });

  it('matches control tokens only when asked, user-defined tokens always', () => {
    const text = '<|im_start|>user\nhi<user><|im_end|>';
    expect(gpt2.encode(text, { special: true })).toEqual([
      id('<|im_start|>'),
      ...bytes('user'),
      10,
      ...bytes('hi'),
      id('<user>'),
      id('<|im_end|>'),
    ]);
    const plain = gpt2.encode(text);
    expect(plain).not.toContain(id('<|im_start|>'));
    expect(plain).toContain(id('<user>'));
    expect(gpt2.decode(plain)).toBe(text);
  });

  it('hides control tokens when decoding unless asked', () => {
    const ids = gpt2.encode('<|im_start|>hi<|im_end|>', { special: true });
    expect(gpt2.decode(ids)).toBe('hi');
    expect(gpt2.decode(ids, { special: true })).toBe('<|im_start|>hi<|im_end|>');
    expect(gpt2.decode([id('<user>')])).toBe('<user>');
  });

  it('adds BOS / EOS as configured', () => {
    expect(gpt2.addBos).toBe(false);
    expect(gpt2.encode('hello', { addEos: true })).toEqual([id('hello'), id('<|endoftext|>')]);
    const withBos = createTokenizer(spec('llama3', { bosId: id('<|im_start|>') }));
    expect(withBos.addBos).toBe(true); // llama.cpp's default for the llama3 pre-tokenizer
    expect(withBos.encode('hello')).toEqual([id('<|im_start|>'), id('hello')]);
    expect(withBos.encode('hello', { addBos: false })).toEqual([id('hello')]);
    expect(() => gpt2.encode('x', { addBos: true })).toThrow(/no BOS/);
  });

  it('knows which tokens end a generation', () => {
    expect(gpt2.eosId).toBe(id('<|endoftext|>'));
    expect(gpt2.eotId).toBe(id('<|im_end|>'));
    expect(gpt2.isEog(id('<|endoftext|>'))).toBe(true);
    expect(gpt2.isEog(id('<|im_end|>'))).toBe(true);
    expect(gpt2.isEog(id('<|im_start|>'))).toBe(false);
    expect(gpt2.isEog(id('hello'))).toBe(false);
  });

  it('exposes the vocabulary', () => {
    expect(gpt2.vocabSize).toBe(TOKENS.length);
    expect(gpt2.tokenText(id('Ġworld'))).toBe('Ġworld');
    expect(gpt2.tokenId('Ġworld')).toBe(id('Ġworld'));
    expect(gpt2.tokenType(id('<user>'))).toBe(TokenType.UserDefined);
    expect(() => gpt2.decode([TOKENS.length])).toThrow(RangeError);
  });

  it('decodes partial UTF-8 across tokens, the streaming decoder only emitting complete characters', () => {
    const decoder = gpt2.decoder();
    expect([0xf0, 0x9f, 0x98].map((b) => decoder.push(b))).toEqual(['', '', '']);
    expect(decoder.push(0x80)).toBe('😀');
    expect(decoder.push(id('hello'))).toBe('hello');
    expect(decoder.push(0xc3)).toBe('');
    expect(decoder.flush()).toBe('\uFFFD'); // a dangling lead byte
    expect(gpt2.decode([0xf0, 0x9f])).toBe('\uFFFD');
  });

  it('rejects malformed specs', () => {
    expect(() => createTokenizer({ model: 'gpt2', tokens: ['a', 'a'], merges: [] })).toThrow(
      /duplicate token/,
    );
    expect(() => createTokenizer({ model: 'gpt2', tokens: ['a'] })).toThrow(/merges/);
    expect(() => createTokenizer({ ...spec('gpt-2'), addBos: true })).toThrow(/no BOS/);
    expect(() => createTokenizer({ ...spec('gpt-2'), model: 'bert' as 'gpt2' })).toThrow(
      /unsupported tokenizer model/,
    );
  });

  it.each(['gpt-2', 'llama3', 'qwen2', 'smollm', 'default'])('decode(encode(s)) === s with pre %s', (pre) => {
    const tokenizer = createTokenizer(spec(pre));
    fc.assert(
      fc.property(tricky, (text) => {
        const ids = tokenizer.encode(text);
        expect(tokenizer.decode(ids)).toBe(text);
        expect(streamed(tokenizer, ids)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips text with special tokens when both sides parse them', () => {
    fc.assert(
      fc.property(tricky, (text) => {
        const ids = gpt2.encode(text, { special: true });
        expect(gpt2.decode(ids, { special: true })).toBe(text);
        expect(streamed(gpt2, ids, true)).toBe(text);
      }),
    );
  });
});
