import { readdir, readFile, stat } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  GgufError,
  GgufFile,
  GgufValueType,
  arr,
  bool,
  f32,
  f64,
  getArray,
  getF32,
  getString,
  getU32,
  getU64,
  i16,
  i32,
  i64,
  i8,
  str,
  u16,
  u32,
  u64,
  u8,
  writeGguf,
  type GgufArray,
  type GgufTensorToWrite,
  type GgufValue,
} from '../src/gguf/index.ts';
import { referenceQ8_0Block, referenceToHalf } from './support/reference-quant.ts';
import { useTempDir } from './support/temp-dir.ts';

const file = useTempDir('gguf');
let counter = 0;
const freshPath = () => file(`f${counter++}.gguf`);

async function roundTrip<T>(
  input: Parameters<typeof writeGguf>[1],
  read: (f: GgufFile) => Promise<T>,
): Promise<T> {
  const path = freshPath();
  await writeGguf(path, input);
  const f = await GgufFile.open(path);
  try {
    return await read(f);
  } finally {
    await f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries for typed metadata values.

const T = GgufValueType;
const text = fc.string({ unit: 'binary', maxLength: 12 });
const scalarOf = {
  [T.UINT8]: fc.integer({ min: 0, max: 0xff }),
  [T.INT8]: fc.integer({ min: -0x80, max: 0x7f }),
  [T.UINT16]: fc.integer({ min: 0, max: 0xffff }),
  [T.INT16]: fc.integer({ min: -0x8000, max: 0x7fff }),
  [T.UINT32]: fc.integer({ min: 0, max: 0xffffffff }),
  [T.INT32]: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  [T.FLOAT32]: fc.float({ noNaN: true }),
  [T.FLOAT64]: fc.double({ noNaN: true }),
  [T.UINT64]: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  [T.INT64]: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  [T.BOOL]: fc.boolean(),
  [T.STRING]: text,
} as const;
const scalarTypes = Object.keys(scalarOf).map(Number) as (keyof typeof scalarOf)[];

const scalarValue: fc.Arbitrary<GgufValue> = fc
  .constantFrom(...scalarTypes)
  .chain((type) => scalarOf[type].map((value) => ({ type, value }) as GgufValue));

const flatArray: fc.Arbitrary<GgufArray> = fc
  .constantFrom(...scalarTypes)
  .chain((elementType) =>
    fc
      .array(scalarOf[elementType] as fc.Arbitrary<unknown>, { maxLength: 6 })
      .map((value) => ({ type: T.ARRAY, elementType, value }) as GgufArray),
  );

const { array: anyArray } = fc.letrec<{ array: GgufArray }>((tie) => ({
  array: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    flatArray,
    fc
      .array(tie('array'), { maxLength: 3 })
      .map((value) => ({ type: T.ARRAY, elementType: T.ARRAY, value }) as GgufArray),
  ),
}));

const metadata = fc
  .uniqueArray(
    fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }), fc.oneof(scalarValue, anyArray)),
    {
      selector: ([key]) => key,
      maxLength: 8,
    },
  )
  .map((entries) => new Map(entries.filter(([key]) => key !== 'general.alignment')));

// ---------------------------------------------------------------------------------------------

describe('GGUF metadata', () => {
  it('round-trips every value type, nested arrays and 64-bit bigints, keeping types and order', async () => {
    await fc.assert(
      fc.asyncProperty(metadata, async (meta) => {
        const read = await roundTrip({ metadata: meta }, async (f) => f.metadata);
        expect([...read.keys()]).toEqual([...meta.keys()]);
        expect(read).toEqual(meta);
      }),
      { numRuns: 60 },
    );
  });

  it('writes headers far larger than its first buffer (a real vocabulary)', async () => {
    const tokens = Array.from({ length: 32_000 }, (_, i) => `token-${i}-${'x'.repeat(i % 17)}`);
    const meta = new Map<string, GgufValue>([
      ['tokenizer.ggml.tokens', arr(GgufValueType.STRING, tokens)],
      [
        'tokenizer.ggml.scores',
        arr(
          GgufValueType.FLOAT32,
          tokens.map((_, i) => -i),
        ),
      ],
    ]);
    const read = await roundTrip({ metadata: meta }, async (f) => f.metadata);
    expect(read).toEqual(meta);
  });

  it('builds values with their GGUF type and reads them back with typed getters', async () => {
    const meta = await roundTrip(
      {
        metadata: {
          'general.architecture': str('llama'),
          'llama.context_length': u32(4096),
          'llama.rope.freq_base': f32(500000),
          'adapter.lora.alpha': f32(16),
          'x.u8': u8(255),
          'x.i8': i8(-128),
          'x.u16': u16(65535),
          'x.i16': i16(-32768),
          'x.i32': i32(-5),
          'x.f64': f64(0.1),
          'x.u64': u64(2n ** 64n - 1n),
          'x.i64': i64(-(2n ** 63n)),
          'x.bool': bool(true),
          'tokenizer.ggml.tokens': arr(T.STRING, ['<s>', '</s>', 'héllo', '🦙']),
          'tokenizer.ggml.scores': arr(T.FLOAT32, [0, -1.5, 0.1]),
          'x.nested': arr(T.ARRAY, [arr(T.INT32, [1, -2]), arr(T.STRING, ['a'])]),
        },
      },
      async (f) => f.metadata,
    );
    expect(getString(meta, 'general.architecture')).toBe('llama');
    expect(getU32(meta, 'llama.context_length')).toBe(4096);
    expect(getF32(meta, 'adapter.lora.alpha')).toBe(16);
    expect(getU64(meta, 'x.u64')).toBe(2n ** 64n - 1n);
    expect(meta.get('x.i64')).toEqual({ type: T.INT64, value: -(2n ** 63n) });
    expect(getArray(meta, 'tokenizer.ggml.tokens', T.STRING)).toEqual(['<s>', '</s>', 'héllo', '🦙']);
    expect(getArray(meta, 'tokenizer.ggml.scores', T.FLOAT32)).toEqual([0, -1.5, Math.fround(0.1)]);
    expect(getF32(meta, 'missing', 1.5)).toBe(1.5);
    expect(() => getU32(meta, 'adapter.lora.alpha')).toThrow(
      /'adapter.lora.alpha' is FLOAT32, expected UINT32/,
    );
    expect(() => getString(meta, 'general.name')).toThrow(expect.objectContaining({ code: 'missing-key' }));
    expect(() => getArray(meta, 'tokenizer.ggml.scores', T.INT32)).toThrow(
      expect.objectContaining({ code: 'wrong-type', message: expect.stringMatching(/ARRAY of FLOAT32/) }),
    );
  });

  it('refuses values that cannot be stored as their declared type', () => {
    const bad: (() => unknown)[] = [
      () => u8(256),
      () => i8(-129),
      () => u32(1.5),
      () => u32(-1),
      () => i32(2 ** 31),
      () => u64(-1n),
      () => i64(2n ** 63n),
      () => u64(2 ** 60),
      () => f32(1e39),
      () => str('\ud800'),
      () => arr(T.UINT16, [1, 70000]),
    ];
    for (const make of bad) expect(make).toThrow(GgufError);
    expect(f32(0.1).value).toBe(Math.fround(0.1));
    expect(f32(Infinity).value).toBe(Infinity);
  });

  it('refuses to write hand-built values that are out of range, and leaves no file', async () => {
    const path = freshPath();
    const value = { type: T.UINT8, value: 300 } as GgufValue;
    await expect(writeGguf(path, { metadata: { k: value } })).rejects.toMatchObject({ code: 'bad-value' });
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(writeGguf(path, { metadata: { 'general.alignment': u64(32) } })).rejects.toMatchObject({
      code: 'bad-alignment',
    });
    await expect(writeGguf(path, { metadata: { 'general.alignment': u32(48) } })).rejects.toMatchObject({
      code: 'bad-alignment',
    });
  });
});

// ---------------------------------------------------------------------------------------------

const bitsOf = (a: Float32Array) => [...new Uint32Array(a.buffer, a.byteOffset, a.length)];

/** A shape with ne[0] a multiple of 32 (so it suits Q8_0), and data for it. */
const tensorCase = fc
  .record({
    blocks: fc.integer({ min: 1, max: 3 }),
    rest: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
  })
  .chain(({ blocks, rest }) => {
    const shape = [blocks * 32, ...rest];
    const count = shape.reduce((a, b) => a * b, 1);
    return fc
      .array(fc.float({ min: -1000, max: 1000, noNaN: true }), { minLength: count, maxLength: count })
      .map((values) => ({ shape, data: Float32Array.from(values) }));
  });

describe('GGUF tensors', () => {
  it('round-trips F32 exactly, F16 as the nearest half and Q8_0 bit-exactly against the reference', async () => {
    await fc.assert(
      fc.asyncProperty(tensorCase, async ({ shape, data }) => {
        const tensors: GgufTensorToWrite[] = [
          { name: 'w.f32', shape, type: GgmlType.F32, data },
          { name: 'w.f16', shape, type: GgmlType.F16, data },
          { name: 'w.q8_0', shape, type: GgmlType.Q8_0, data: () => data },
        ];
        await roundTrip({ tensors }, async (f) => {
          expect(f.tensors.map((t) => [t.name, t.shape, t.typeName, t.elementCount])).toEqual([
            ['w.f32', shape, 'F32', data.length],
            ['w.f16', shape, 'F16', data.length],
            ['w.q8_0', shape, 'Q8_0', data.length],
          ]);
          expect(bitsOf(await f.readTensor('w.f32'))).toEqual(bitsOf(data));

          const halves = new Uint16Array((await f.readTensorRaw('w.f16')).buffer);
          expect([...halves]).toEqual([...data].map(referenceToHalf));
          const f16 = await f.readTensor('w.f16');
          data.forEach((x, i) =>
            expect(Math.abs(f16[i]! - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25),
          );

          const q8 = await f.readTensorRaw('w.q8_0');
          expect(q8.length).toBe((data.length / 32) * 34);
          for (let b = 0; b < data.length / 32; b++) {
            expect([...q8.subarray(b * 34, b * 34 + 34)]).toEqual([
              ...referenceQ8_0Block(data.subarray(b * 32, b * 32 + 32)),
            ]);
          }
        });
      }),
      { numRuns: 40 },
    );
  });

  it('keeps NaN, infinities and -0 through F32 and F16', async () => {
    const data = Float32Array.of(NaN, Infinity, -Infinity, -0, 1e-8, 65520, -1e-30, 3);
    await roundTrip(
      {
        tensors: [
          { name: 'a', shape: [8], type: GgmlType.F32, data },
          { name: 'b', shape: [4, 2], type: GgmlType.F16, data },
        ],
      },
      async (f) => {
        expect(bitsOf(await f.readTensor('a'))).toEqual(bitsOf(data));
        // 1e-8 is below half the smallest half subnormal, 65520 rounds (ties to even) to infinity.
        expect([...(await f.readTensor('b'))]).toEqual([NaN, Infinity, -Infinity, -0, 0, Infinity, -0, 3]);
      },
    );
  });

  it('lays tensors out like llama.cpp: each at the previous end rounded up to the alignment', async () => {
    for (const alignment of [32, 64]) {
      const path = freshPath();
      const shapes = [[32], [32, 3], [64]];
      await writeGguf(path, {
        metadata: alignment === 32 ? {} : { 'general.alignment': u32(alignment) },
        tensors: shapes.map((shape, i) => ({
          name: `t${i}`,
          shape,
          type: i === 1 ? GgmlType.Q8_0 : GgmlType.F16,
          data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(i + 1),
        })),
      });
      const f = await GgufFile.open(path);
      expect(f.alignment).toBe(alignment);
      expect(f.dataOffset % alignment).toBe(0);
      let expected = 0;
      for (const t of f.tensors) {
        expect(t.relativeOffset).toBe(expected);
        expect(t.offset).toBe(f.dataOffset + expected);
        expected = Math.ceil((expected + t.byteLength) / alignment) * alignment;
      }
      expect(f.fileSize).toBe(f.dataOffset + expected);
      expect(f.tensors.map((t) => t.byteLength)).toEqual([64, 3 * 34, 128]);
      // 2 is not a multiple of a Q8_0 step (the scale 2/127 is rounded to float16), so: close, all equal.
      const t1 = await f.readTensor('t1');
      expect(new Set(t1).size).toBe(1);
      expect(Math.abs(t1[0]! - 2)).toBeLessThan(2 / 127 / 2);
      await f.close();
      const bytes = await readFile(path);
      // The padding llama.cpp expects is zeros.
      expect(bytes.subarray(f.tensors[1]!.offset + 102, f.tensors[2]!.offset).every((b) => b === 0)).toBe(
        true,
      );
      expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]));
    }
  });

  it('reads a large tensor through its chunked path', async () => {
    const count = 3 * (1 << 20) + 64; // past the writer's and the reader's chunk sizes
    const data = new Float32Array(count).map((_, i) => Math.sin(i) * 4);
    await roundTrip(
      {
        tensors: [
          { name: 'big.f32', shape: [64, count / 64], type: GgmlType.F32, data },
          { name: 'big.q8', shape: [64, count / 64], type: GgmlType.Q8_0, data },
        ],
      },
      async (f) => {
        const f32 = await f.readTensor('big.f32');
        expect(Buffer.compare(Buffer.from(f32.buffer), Buffer.from(data.buffer))).toBe(0);
        const q = await f.readTensor('big.q8');
        let worst = 0;
        for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(q[i]! - data[i]!));
        expect(worst).toBeLessThan((4 / 127) * 0.6);
        expect(worst).toBeGreaterThan(0);
      },
    );
  });

  it('copies raw bytes of types it cannot decode, and names the type when asked to decode', async () => {
    const raw = Uint8Array.from({ length: 144 * 2 }, (_, i) => i & 0xff);
    await roundTrip({ tensors: [{ name: 'q4k', shape: [256, 2], type: GgmlType.Q4_K, raw }] }, async (f) => {
      expect(f.tensor('q4k')).toMatchObject({ typeName: 'Q4_K', byteLength: 288, elementCount: 512 });
      expect(await f.readTensorRaw('q4k')).toEqual(raw);
      await expect(f.readTensor('q4k')).rejects.toMatchObject({
        code: 'unsupported-tensor-type',
        message: expect.stringContaining('Q4_K'),
      });
      await expect(f.readTensor('nope')).rejects.toMatchObject({ code: 'unknown-tensor' });
    });
  });

  it('decodes BF16 tensors', async () => {
    const raw = Uint8Array.from([0x80, 0x3f, 0x00, 0xc0, 0x20, 0x3e, 0x80, 0x7f]);
    await roundTrip({ tensors: [{ name: 'b', shape: [4], type: GgmlType.BF16, raw }] }, async (f) => {
      expect([...(await f.readTensor('b'))]).toEqual([1, -2, 0.15625, Infinity]);
    });
  });
});

describe('writeGguf', () => {
  it('refuses invalid tensors before writing anything', async () => {
    const path = freshPath();
    const cases: [GgufTensorToWrite[], string][] = [
      [[{ name: 'a', shape: [3], type: GgmlType.F32, data: new Float32Array(4) }], 'bad-tensor'],
      [[{ name: 'a', shape: [16], type: GgmlType.Q8_0, data: new Float32Array(16) }], 'bad-tensor'],
      [[{ name: 'a', shape: [1, 1, 1, 1, 1], type: GgmlType.F32, data: new Float32Array(1) }], 'bad-tensor'],
      [[{ name: 'a', shape: [2.5], type: GgmlType.F32, data: new Float32Array(2) }], 'bad-tensor'],
      [[{ name: 'x'.repeat(64), shape: [1], type: GgmlType.F32, data: new Float32Array(1) }], 'bad-tensor'],
      [
        [{ name: 'a', shape: [256], type: GgmlType.Q4_K, data: new Float32Array(256) }],
        'unsupported-tensor-type',
      ],
      [[{ name: 'a', shape: [32], type: GgmlType.Q8_0, raw: new Uint8Array(33) }], 'bad-tensor'],
      [[{ name: 'a', shape: [1], type: 77, raw: new Uint8Array(1) }], 'unsupported-tensor-type'],
      [
        [
          { name: 'a', shape: [1], type: GgmlType.F32, data: new Float32Array(1) },
          { name: 'a', shape: [1], type: GgmlType.F32, data: new Float32Array(1) },
        ],
        'duplicate-tensor',
      ],
    ];
    for (const [tensors, code] of cases) {
      await expect(writeGguf(path, { tensors }), JSON.stringify(tensors[0]?.shape)).rejects.toMatchObject({
        code,
      });
    }
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('is atomic: a failure mid-write keeps the old file and leaves no temp file', async () => {
    const path = freshPath();
    await writeGguf(path, { metadata: { 'general.name': str('old') } });
    const before = await readFile(path);
    const failing: GgufTensorToWrite[] = [
      { name: 'ok', shape: [32], type: GgmlType.F32, data: new Float32Array(32) },
      {
        name: 'bad',
        shape: [32],
        type: GgmlType.Q8_0,
        data: () => new Float32Array(32).fill(NaN), // refused only when its turn comes
      },
    ];
    await expect(writeGguf(path, { tensors: failing })).rejects.toMatchObject({
      code: 'bad-value',
      message: expect.stringContaining("tensor 'bad'"),
    });
    const lazyWrongLength: GgufTensorToWrite[] = [
      { name: 'a', shape: [32], type: GgmlType.F32, data: async () => new Float32Array(31) },
    ];
    await expect(writeGguf(path, { tensors: lazyWrongLength })).rejects.toMatchObject({ code: 'bad-tensor' });
    expect(await readFile(path)).toEqual(before);
    const dir = path.slice(0, path.lastIndexOf('/'));
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('writes a file a byte-level parser reads as the spec describes', async () => {
    const path = freshPath();
    await writeGguf(path, {
      metadata: { 'general.architecture': str('llama') },
      tensors: [{ name: 'w', shape: [2, 1], type: GgmlType.F32, data: Float32Array.of(1.5, -2) }],
    });
    const b = Buffer.from(await readFile(path));
    let at = 0;
    const u32 = () => ((at += 4), b.readUInt32LE(at - 4));
    const u64 = () => ((at += 8), b.readBigUInt64LE(at - 8));
    const text = () => {
      const n = Number(u64());
      at += n;
      return b.toString('utf8', at - n, at);
    };
    expect(b.toString('latin1', 0, 4)).toBe('GGUF');
    at = 4;
    expect([u32(), u64(), u64()]).toEqual([3, 1n, 1n]); // version, tensor count, then kv count
    expect([text(), u32(), text()]).toEqual(['general.architecture', T.STRING, 'llama']);
    expect([text(), u32(), u64(), u64(), u32(), u64()]).toEqual(['w', 2, 2n, 1n, GgmlType.F32, 0n]);
    const dataAt = Math.ceil(at / 32) * 32;
    expect([b.readFloatLE(dataAt), b.readFloatLE(dataAt + 4)]).toEqual([1.5, -2]);
  });
});
