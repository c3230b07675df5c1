import { readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  GgufError,
  GgufFile,
  GgufValueType,
  arr,
  f32,
  str,
  u32,
  writeGguf,
} from '../src/gguf/index.ts';
import { rawGguf, type Bytes, type RawGguf } from './support/gguf-bytes.ts';
import { useTempDir } from './support/temp-dir.ts';

const file = useTempDir('gguf-bad');
let counter = 0;

/** Opens `bytes` as a file and returns the GgufError it is rejected with (failing on anything else). */
async function rejection(bytes: Uint8Array): Promise<GgufError> {
  const path = file(`bad${counter++}.gguf`);
  await writeFile(path, bytes);
  let opened: GgufFile | undefined;
  try {
    opened = await GgufFile.open(path);
  } catch (error) {
    if (error instanceof GgufError) return error;
    throw new Error(`rejected with a non-GgufError: ${String(error)}`, { cause: error });
  }
  await opened.close();
  throw new Error('the file was accepted');
}

async function accepts(bytes: Uint8Array): Promise<GgufFile> {
  const path = file(`ok${counter++}.gguf`);
  await writeFile(path, bytes);
  return GgufFile.open(path);
}

const T = GgufValueType;
const kv =
  (...entries: ((b: Bytes) => void)[]) =>
  (b: Bytes) =>
    entries.forEach((write) => write(b));
const u32Entry = (key: string, value: number) => (b: Bytes) => b.str(key).u32(T.UINT32).u32(value);
const f32Tensor = (name: string, n: number, offset: number | bigint = 0) => ({
  name,
  ne: [n],
  type: GgmlType.F32,
  offset,
});

describe('GgufFile.open rejects malformed files', () => {
  it('accepts the hand-built baseline these cases vary, in versions 2 and 3', async () => {
    for (const version of [2, 3]) {
      const f = await accepts(
        rawGguf({
          version,
          kvCount: 1,
          kv: u32Entry('x.n', 7),
          tensors: [f32Tensor('a', 4), f32Tensor('b', 4, 32)],
          data: new Uint8Array(64),
        }),
      );
      expect(f.version).toBe(version);
      expect(f.metadata.get('x.n')).toEqual({ type: T.UINT32, value: 7 });
      expect(f.tensors.map((t) => [t.name, t.offset - f.dataOffset])).toEqual([
        ['a', 0],
        ['b', 32],
      ]);
      await f.close();
    }
  });

  it('bad magic', async () => {
    const error = await rejection(rawGguf({ magic: 'GGML' }));
    expect(error).toMatchObject({ code: 'bad-magic', message: expect.stringContaining("'GGML'") });
    expect((await rejection(new Uint8Array(64))).code).toBe('bad-magic');
  });

  it('unsupported versions, with a hint for v1 and byte-swapped files', async () => {
    expect(await rejection(rawGguf({ version: 1 }))).toMatchObject({
      code: 'unsupported-version',
      message: expect.stringContaining('v1'),
    });
    expect(await rejection(rawGguf({ version: 4 }))).toMatchObject({ code: 'unsupported-version' });
    expect(await rejection(rawGguf({ version: 0x03000000 }))).toMatchObject({
      code: 'unsupported-version',
      message: expect.stringContaining('big-endian'),
    });
  });

  it('unknown value types, in a value and in an array, naming the key and the offset', async () => {
    const scalar = await rejection(rawGguf({ kvCount: 1, kv: (b) => b.str('x.k').u32(13).u32(0) }));
    expect(scalar).toMatchObject({ code: 'bad-value-type', offset: 24 + 8 + 3 });
    expect(scalar.message).toMatch(/'x.k'.*unknown value type 13.*at byte 35/);
    const inArray = await rejection(
      rawGguf({ kvCount: 1, kv: (b) => b.str('x.a').u32(T.ARRAY).u32(77).u64(0) }),
    );
    expect(inArray).toMatchObject({ code: 'bad-value-type', message: expect.stringContaining('77') });
  });

  it('invalid values: a BOOL that is not 0 or 1, a string that is not UTF-8', async () => {
    expect(await rejection(rawGguf({ kvCount: 1, kv: (b) => b.str('x.b').u32(T.BOOL).u8(2) }))).toMatchObject(
      {
        code: 'bad-value',
      },
    );
    const badUtf8 = (b: Bytes) => b.str('x.s').u32(T.STRING).u64(2).raw([0xc3, 0x28]);
    expect(await rejection(rawGguf({ kvCount: 1, kv: badUtf8 }))).toMatchObject({ code: 'bad-value' });
  });

  it('empty and duplicate keys', async () => {
    expect((await rejection(rawGguf({ kvCount: 1, kv: u32Entry('', 1) }))).code).toBe('bad-key');
    const twice = await rejection(rawGguf({ kvCount: 2, kv: kv(u32Entry('x.n', 1), u32Entry('x.n', 2)) }));
    expect(twice).toMatchObject({ code: 'duplicate-key', message: expect.stringContaining("'x.n'") });
  });

  it('general.alignment of the wrong type or not a power of two', async () => {
    const asU64 = (b: Bytes) => b.str('general.alignment').u32(T.UINT64).u64(32);
    expect((await rejection(rawGguf({ kvCount: 1, kv: asU64 }))).code).toBe('bad-alignment');
    expect((await rejection(rawGguf({ kvCount: 1, kv: u32Entry('general.alignment', 48) }))).code).toBe(
      'bad-alignment',
    );
    expect((await rejection(rawGguf({ kvCount: 1, kv: u32Entry('general.alignment', 0) }))).code).toBe(
      'bad-alignment',
    );
  });

  it('unsupported tensor types, by name', async () => {
    const withType = (type: number) =>
      rawGguf({ tensors: [{ name: 'w', ne: [256], type, offset: 0 }], data: new Uint8Array(1024) });
    expect(await rejection(withType(40))).toMatchObject({
      code: 'unsupported-tensor-type',
      message: expect.stringContaining('NVFP4'),
    });
    expect(await rejection(withType(31))).toMatchObject({
      code: 'unsupported-tensor-type',
      message: expect.stringContaining('Q4_0_4_4'),
    });
    expect((await rejection(withType(99))).message).toContain('unknown ggml type 99');
    // Known layouts open (their bytes are bounds-checked) even when they cannot be decoded.
    const q6k = await accepts(withType(GgmlType.Q6_K));
    expect(q6k.tensor('w')).toMatchObject({ typeName: 'Q6_K', byteLength: 210 });
    await expect(q6k.readTensor('w')).rejects.toMatchObject({ message: expect.stringContaining('Q6_K') });
    await q6k.close();
  });

  it('tensor data outside the file', async () => {
    const past = await rejection(rawGguf({ tensors: [f32Tensor('w', 8, 32)], data: new Uint8Array(32) }));
    expect(past).toMatchObject({ code: 'out-of-bounds', message: expect.stringContaining("'w'") });
    const huge = await rejection(
      rawGguf({ tensors: [f32Tensor('w', 8, 2n ** 63n)], data: new Uint8Array(32) }),
    );
    expect(huge.code).toBe('out-of-bounds');
    const big = await rejection(
      rawGguf({
        tensors: [{ name: 'w', ne: [2 ** 20, 2 ** 20], type: 0, offset: 0 }],
        data: new Uint8Array(32),
      }),
    );
    expect(big.code).toBe('out-of-bounds');
  });

  it('misaligned, overlapping and duplicate tensors', async () => {
    const data = new Uint8Array(96);
    expect(await rejection(rawGguf({ tensors: [f32Tensor('w', 4, 16)], data }))).toMatchObject({
      code: 'misaligned',
      message: expect.stringContaining('16'),
    });
    expect(
      (await rejection(rawGguf({ tensors: [f32Tensor('a', 16), f32Tensor('b', 4, 32)], data }))).code,
    ).toBe('overlap');
    expect(
      await rejection(rawGguf({ tensors: [f32Tensor('a', 4), f32Tensor('a', 4, 32)], data })),
    ).toMatchObject({ code: 'duplicate-tensor', message: expect.stringContaining("'a'") });
  });

  it('malformed tensor infos: dimensions, block multiples, absurd shapes, long names', async () => {
    const data = new Uint8Array(256);
    const bad = [
      { name: 'w', ne: [], type: 0, offset: 0 },
      { name: 'w', ne: [1, 1, 1, 1, 1], type: 0, offset: 0 },
      { name: 'w', ne: [16], type: GgmlType.Q8_0, offset: 0 },
      { name: 'w', ne: [0, 2n ** 62n], type: 0, offset: 0 },
      { name: 'x'.repeat(64), ne: [1], type: 0, offset: 0 },
      { name: '', ne: [1], type: 0, offset: 0 },
    ];
    for (const tensor of bad) {
      const error = await rejection(rawGguf({ tensors: [tensor], data }));
      expect(
        error.code,
        JSON.stringify(tensor, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ).toBe('bad-tensor');
    }
    const q8 = await rejection(
      rawGguf({ tensors: [{ name: 'w', ne: [16], type: GgmlType.Q8_0, offset: 0 }], data }),
    );
    expect(q8.message).toMatch(/ne\[0\] = 16 is not a multiple of the Q8_0 block size 32/);
  });

  it('absurd counts and lengths, refused before anything that size is allocated', async () => {
    const started = Date.now();
    const cases: [RawGguf, string][] = [
      [{ kvCount: 2n ** 40n }, 'too-large'],
      [{ tensorCount: 2n ** 40n }, 'too-large'],
      [{ kvCount: 2n ** 64n - 1n }, 'too-large'],
      [{ kvCount: 1000 }, 'truncated'],
      [{ tensorCount: 1000 }, 'truncated'],
      [{ kvCount: 1, kv: (b) => b.u64(2n ** 60n).raw(new Uint8Array(16)) }, 'too-large'],
      [{ kvCount: 1, kv: (b) => b.u64(1000).raw([0x61]) }, 'truncated'],
      [
        {
          kvCount: 1,
          kv: (b) =>
            b
              .str('x.s')
              .u32(T.STRING)
              .u64(2n ** 60n),
        },
        'too-large',
      ],
      [
        {
          kvCount: 1,
          kv: (b) =>
            b
              .str('x.a')
              .u32(T.ARRAY)
              .u32(T.UINT8)
              .u64(2n ** 40n),
        },
        'too-large',
      ],
      [{ kvCount: 1, kv: (b) => b.str('x.a').u32(T.ARRAY).u32(T.UINT32).u64(1_000_000) }, 'truncated'],
      [{ kvCount: 1, kv: (b) => b.str('x.a').u32(T.ARRAY).u32(T.STRING).u64(1_000_000) }, 'truncated'],
    ];
    for (const [spec, code] of cases) {
      const error = await rejection(rawGguf(spec));
      expect(error.code, error.message).toBe(code);
      expect(error.message).toMatch(/at byte \d+/);
    }
    const nested = (b: Bytes) => {
      b.str('x.deep').u32(T.ARRAY);
      for (let i = 0; i < 40; i++) b.u32(T.ARRAY).u64(1);
      b.u32(T.UINT8).u64(0);
    };
    expect((await rejection(rawGguf({ kvCount: 1, kv: nested }))).code).toBe('too-large');
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('truncated and corrupted files', () => {
  /** A small valid file whose last tensor ends on the alignment, so every proper prefix is invalid. */
  async function sample(): Promise<{ bytes: Uint8Array; dataOffset: number }> {
    const path = file(`sample${counter++}.gguf`);
    const ramp = (n: number) => new Float32Array(n).map((_, i) => i / 7 - 2);
    await writeGguf(path, {
      metadata: {
        'general.architecture': str('llama'),
        'llama.block_count': u32(2),
        'x.scale': f32(0.5),
        'tokenizer.ggml.tokens': arr(T.STRING, ['<s>', 'a', 'é']),
        'x.nested': arr(T.ARRAY, [arr(T.INT16, [-1, 2]), arr(T.BOOL, [true])]),
      },
      tensors: [
        { name: 'a', shape: [8], type: GgmlType.F32, data: ramp(8) },
        { name: 'q', shape: [32, 2], type: GgmlType.Q8_0, data: ramp(64) },
        { name: 'h', shape: [16, 1], type: GgmlType.F16, data: ramp(16) },
      ],
    });
    const f = await GgufFile.open(path);
    const { dataOffset } = f;
    expect(f.tensors.at(-1)!.offset + f.tensors.at(-1)!.byteLength).toBe(f.fileSize);
    await f.close();
    return { bytes: await readFile(path), dataOffset };
  }

  it('rejects every prefix of a valid file with a GgufError saying where', async () => {
    const { bytes, dataOffset } = await sample();
    const codes = new Map<string, number>();
    for (let length = 0; length < bytes.length; length++) {
      const error = await rejection(bytes.subarray(0, length));
      const expected = length >= dataOffset ? ['out-of-bounds'] : ['truncated', 'out-of-bounds'];
      expect(expected, `prefix of ${length} bytes: ${error.message}`).toContain(error.code);
      expect(error.message).toMatch(/at byte \d+/);
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    }
    // Most of the header is length-checked as it is read (a cut at the padding is out-of-bounds).
    expect(codes.get('truncated')).toBeGreaterThan(dataOffset - 40);
    const whole = await accepts(bytes);
    expect(whole.tensors.map((t) => t.name)).toEqual(['a', 'q', 'h']);
    await whole.close();
  });

  it('survives arbitrary byte corruption: opens, or fails with a GgufError, never anything else', async () => {
    const { bytes } = await sample();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        async (edits) => {
          const corrupt = Uint8Array.from(bytes);
          for (const [at, value] of edits) corrupt[at] = value;
          const path = file(`fuzz${counter++}.gguf`);
          await writeFile(path, corrupt);
          const f = await GgufFile.open(path).catch((error: unknown) => {
            expect(error).toBeInstanceOf(GgufError);
            return undefined;
          });
          if (!f) return;
          try {
            // Whatever survives validation must also read without a crash.
            for (const t of f.tensors) expect((await f.readTensor(t.name)).length).toBe(t.elementCount);
          } finally {
            await f.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
