import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GgmlType,
  GgufError,
  GgufFile,
  GgufValueType,
  assertLoraFitsBase,
  f32,
  f64,
  loraScale,
  readLoraAdapter,
  str,
  u32,
  writeGguf,
  writeLoraAdapter,
  type GgufTensorToWrite,
  type GgufValue,
  type LoraLayer,
} from '../src/gguf/index.ts';
import { useTempDir } from './support/temp-dir.ts';

const file = useTempDir('lora');
let counter = 0;
const freshPath = () => file(`adapter${counter++}.gguf`);

const values = (n: number, seed: number) =>
  new Float32Array(n).map((_, i) => Math.fround(Math.sin(seed * 31 + i)));
const layer = (nIn: number, nOut: number, rank: number, seed = 1): LoraLayer => ({
  a: values(rank * nIn, seed),
  b: values(nOut * rank, seed + 1),
  nIn,
  nOut,
});

describe('LoRA adapters', () => {
  it('round-trip: architecture, alpha, rank, layers and extra metadata come back as written', async () => {
    const layerCase = fc.record({
      name: fc.constantFrom(
        'blk.0.attn_q.weight',
        'blk.0.ffn_up.weight',
        'blk.3.attn_output.weight',
        'output.weight',
      ),
      nIn: fc.integer({ min: 1, max: 40 }),
      nOut: fc.integer({ min: 1, max: 40 }),
      seed: fc.nat(1000),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.float({ min: 0, max: 128, noNaN: true }),
        fc.uniqueArray(layerCase, { selector: (l) => l.name, minLength: 1, maxLength: 4 }),
        async (rank, alpha, cases) => {
          const layers = new Map(cases.map((c) => [c.name, layer(c.nIn, c.nOut, rank, c.seed)]));
          const path = freshPath();
          await writeLoraAdapter(path, {
            architecture: 'llama',
            alpha,
            rank,
            layers,
            metadata: { 'general.name': str('test adapter'), 'x.r': u32(rank) },
          });
          const read = await readLoraAdapter(path);
          expect(read.architecture).toBe('llama');
          expect(read.alpha).toBe(alpha);
          expect(read.rank).toBe(rank);
          expect(read.layers).toEqual(layers);
          expect(read.metadata).toEqual(
            new Map<string, GgufValue>([
              ['general.name', str('test adapter')],
              ['x.r', u32(rank)],
            ]),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it("follows llama.cpp's conventions on disk: keys and their types, names, ne and element layout", async () => {
    const path = freshPath();
    const nIn = 3;
    const nOut = 2;
    const rank = 2;
    // A(j, i) = 10 j + i and B(o, j) = 100 o + j make every element's position checkable.
    const a = Float32Array.from({ length: rank * nIn }, (_, k) => 10 * Math.floor(k / nIn) + (k % nIn));
    const b = Float32Array.from({ length: nOut * rank }, (_, k) => 100 * Math.floor(k / rank) + (k % rank));
    await writeLoraAdapter(path, {
      architecture: 'llama',
      alpha: 16,
      rank,
      layers: new Map([['blk.0.attn_q.weight', { a, b, nIn, nOut }]]),
    });
    const f = await GgufFile.open(path);
    expect(f.metadata.get('general.type')).toEqual({ type: GgufValueType.STRING, value: 'adapter' });
    expect(f.metadata.get('adapter.type')).toEqual({ type: GgufValueType.STRING, value: 'lora' });
    expect(f.metadata.get('adapter.lora.alpha')).toEqual({ type: GgufValueType.FLOAT32, value: 16 });
    expect(f.metadata.get('general.architecture')).toEqual({ type: GgufValueType.STRING, value: 'llama' });
    expect(f.tensors.map((t) => [t.name, t.shape, t.typeName])).toEqual([
      ['blk.0.attn_q.weight.lora_a', [nIn, rank], 'F32'],
      ['blk.0.attn_q.weight.lora_b', [rank, nOut], 'F32'],
    ]);
    const aDisk = await f.readTensor('blk.0.attn_q.weight.lora_a');
    const bDisk = await f.readTensor('blk.0.attn_q.weight.lora_b');
    await f.close();
    // ne = [nIn, r]: element (i, j) at j * nIn + i; ne = [r, nOut]: element (j, o) at o * r + j.
    expect(aDisk[1 * nIn + 2]).toBe(12); // A(1, 2)
    expect(bDisk[1 * rank + 0]).toBe(100); // B(1, 0)

    // y = W x + (alpha / r) B (A x), computed from the disk layout by ggml's mul_mat rule.
    const x = [1, -2, 0.5];
    const ax = [0, 1].map((j) => x.reduce((s, xi, i) => s + aDisk[j * nIn + i]! * xi, 0));
    const bax = [0, 1].map((o) => ax.reduce((s, v, j) => s + bDisk[o * rank + j]! * v, 0));
    expect(ax).toEqual([0 - 2 + 1, 10 - 22 + 6]);
    expect(bax).toEqual([0 * ax[0]! + 1 * ax[1]!, 100 * ax[0]! + 101 * ax[1]!]);
    expect(loraScale(16, rank)).toBe(8);
    expect(loraScale(0, rank)).toBe(1); // llama.cpp: alpha 0 means no alpha/r scaling
  });

  it('stores the token embedding the way llama.cpp reads it, and converts back', async () => {
    const path = freshPath();
    const nEmbd = 4;
    const nVocab = 5;
    const rank = 2;
    const embd = layer(nEmbd, nVocab, rank, 7);
    await writeLoraAdapter(path, {
      architecture: 'llama',
      alpha: 4,
      rank,
      layers: new Map([['token_embd.weight', embd]]),
    });
    const f = await GgufFile.open(path);
    expect(f.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['token_embd.weight.lora_a', [rank, nVocab]],
      ['token_embd.weight.lora_b', [rank, nEmbd]],
    ]);
    const aDisk = await f.readTensor('token_embd.weight.lora_a');
    const bDisk = await f.readTensor('token_embd.weight.lora_b');
    await f.close();
    // llama.cpp: delta for token v = mul_mat(lora_b, get_rows(lora_a, v)), i.e. sum_j b(j, e) a(j, v);
    // that must equal row v of B A.
    for (let v = 0; v < nVocab; v++) {
      for (let e = 0; e < nEmbd; e++) {
        let disk = 0;
        let ours = 0;
        for (let j = 0; j < rank; j++) {
          disk += bDisk[e * rank + j]! * aDisk[v * rank + j]!;
          ours += embd.b[v * rank + j]! * embd.a[j * nEmbd + e]!;
        }
        expect(disk).toBeCloseTo(ours, 12);
      }
    }
    expect((await readLoraAdapter(path)).layers.get('token_embd.weight')).toEqual(embd);
  });

  it('stores A and B as F16 or Q8_0 on request', async () => {
    const path = freshPath();
    const layers = new Map([['blk.0.attn_k.weight', layer(64, 3, 32)]]);
    await writeLoraAdapter(
      path,
      { architecture: 'llama', alpha: 32, rank: 32, layers },
      { type: GgmlType.Q8_0 },
    );
    const read = await readLoraAdapter(path);
    const got = read.layers.get('blk.0.attn_k.weight')!;
    const want = layers.get('blk.0.attn_k.weight')!;
    got.a.forEach((v, i) => expect(Math.abs(v - want.a[i]!)).toBeLessThan(0.01));
    expect(got.a).not.toEqual(want.a);
    // B's rows have r = 32 values: a multiple of the Q8_0 block, so it is quantised too.
    const f = await GgufFile.open(path);
    expect(f.tensors.map((t) => t.typeName)).toEqual(['Q8_0', 'Q8_0']);
    await f.close();
    // Rank 8 rows cannot be Q8_0 blocks; the writer says so instead of writing a file llama.cpp rejects.
    await expect(
      writeLoraAdapter(
        freshPath(),
        { architecture: 'llama', alpha: 1, rank: 8, layers: new Map([['w', layer(64, 3, 8)]]) },
        {
          type: GgmlType.Q8_0,
        },
      ),
    ).rejects.toMatchObject({ code: 'bad-tensor' });
  });

  it('checks an adapter against the base model as llama.cpp does', async () => {
    const layers = new Map([['blk.0.attn_q.weight', layer(8, 6, 2)]]);
    expect(() =>
      assertLoraFitsBase({ layers }, [{ name: 'blk.0.attn_q.weight', shape: [8, 6] }]),
    ).not.toThrow();
    expect(() => assertLoraFitsBase({ layers }, [{ name: 'blk.0.attn_q.weight', shape: [6, 8] }])).toThrow(
      /wrong base model/,
    );
    expect(() => assertLoraFitsBase({ layers }, [{ name: 'blk.1.attn_q.weight', shape: [8, 6] }])).toThrow(
      /does not exist in the base model/,
    );
    // llama.cpp aborts on an embedding adapter over tied embeddings; we refuse it instead.
    const embd = new Map([['token_embd.weight', layer(8, 20, 2)]]);
    const tied = [{ name: 'token_embd.weight', shape: [8, 20] }];
    expect(() => assertLoraFitsBase({ layers: embd }, tied)).toThrow(/separate 'output.weight'/);
    expect(() =>
      assertLoraFitsBase({ layers: embd }, [...tied, { name: 'output.weight', shape: [8, 20] }]),
    ).not.toThrow();
    const path = freshPath();
    await writeLoraAdapter(path, { architecture: 'llama', alpha: 1, rank: 2, layers });
    await expect(
      readLoraAdapter(path, { base: [{ name: 'blk.0.attn_q.weight', shape: [8, 7] }] }),
    ).rejects.toMatchObject({
      code: 'bad-adapter',
    });
  });
});

describe('readLoraAdapter rejects invalid adapters', () => {
  const adapterMeta = (overrides: Record<string, GgufValue> = {}) => ({
    'general.type': str('adapter'),
    'general.architecture': str('llama'),
    'adapter.type': str('lora'),
    'adapter.lora.alpha': f32(8),
    ...overrides,
  });
  const tensor = (name: string, shape: number[]): GgufTensorToWrite => ({
    name,
    shape,
    type: GgmlType.F32,
    data: new Float32Array(shape.reduce((x, y) => x * y, 1)),
  });
  async function rejection(
    metadata: Record<string, GgufValue>,
    tensors: GgufTensorToWrite[],
  ): Promise<GgufError> {
    const path = freshPath();
    await writeGguf(path, { metadata, tensors });
    const error = await readLoraAdapter(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GgufError);
    return error as GgufError;
  }
  const pair = (base: string, nIn: number, rank: number, nOut: number) => [
    tensor(`${base}.lora_a`, [nIn, rank]),
    tensor(`${base}.lora_b`, [rank, nOut]),
  ];

  it('accepts the valid baseline (and ignores norm tensors, as llama.cpp does)', async () => {
    const path = freshPath();
    await writeGguf(path, {
      metadata: adapterMeta(),
      tensors: [...pair('blk.0.attn_q.weight', 8, 2, 6), tensor('blk.0.attn_norm.weight', [8])],
    });
    const adapter = await readLoraAdapter(path);
    expect([...adapter.layers.keys()]).toEqual(['blk.0.attn_q.weight']);
    expect(adapter.layers.get('blk.0.attn_q.weight')).toMatchObject({ nIn: 8, nOut: 6 });
  });

  it('a missing lora_b or lora_a', async () => {
    const noB = await rejection(adapterMeta(), [tensor('blk.0.attn_q.weight.lora_a', [8, 2])]);
    expect(noB).toMatchObject({
      code: 'bad-adapter',
      message: expect.stringMatching(/'blk.0.attn_q.weight' has .lora_a but no .lora_b/),
    });
    const noA = await rejection(adapterMeta(), [tensor('blk.0.attn_q.weight.lora_b', [2, 6])]);
    expect(noA.message).toMatch(/has .lora_b but no .lora_a/);
  });

  it('a rank mismatch within a pair (the old transposed layout) and between layers', async () => {
    const transposed = await rejection(adapterMeta(), [
      tensor('blk.0.attn_q.weight.lora_a', [8, 2]),
      tensor('blk.0.attn_q.weight.lora_b', [6, 2]),
    ]);
    expect(transposed).toMatchObject({
      code: 'bad-adapter',
      message: expect.stringContaining('rank mismatch'),
    });
    const across = await rejection(adapterMeta(), [
      ...pair('blk.0.attn_q.weight', 8, 2, 6),
      ...pair('blk.0.attn_k.weight', 8, 4, 6),
    ]);
    expect(across.message).toMatch(
      /rank mismatch: 'blk.0.attn_k.weight' has rank 4 but 'blk.0.attn_q.weight' has 2/,
    );
  });

  it('wrong shapes: not 2-D, or rank 0', async () => {
    const threeD = await rejection(adapterMeta(), [
      tensor('blk.0.ffn_up_exps.weight.lora_a', [8, 2, 4]),
      tensor('blk.0.ffn_up_exps.weight.lora_b', [2, 6, 4]),
    ]);
    expect(threeD).toMatchObject({ code: 'bad-adapter', message: expect.stringContaining('2-D') });
    expect((await rejection(adapterMeta(), pair('w', 8, 0, 6))).message).toMatch(/rank 0/);
  });

  it('wrong metadata: general.type, adapter.type, alpha type, missing architecture, stray tensors', async () => {
    expect((await rejection(adapterMeta({ 'general.type': str('model') }), pair('w', 8, 2, 6))).code).toBe(
      'bad-adapter',
    );
    expect(
      (await rejection(adapterMeta({ 'adapter.type': str('ia3') }), pair('w', 8, 2, 6))).message,
    ).toMatch(/ia3/);
    expect(await rejection(adapterMeta({ 'adapter.lora.alpha': f64(8) }), pair('w', 8, 2, 6))).toMatchObject({
      code: 'wrong-type',
      message: expect.stringContaining('FLOAT64, expected FLOAT32'),
    });
    const { 'general.architecture': _drop, ...noArch } = adapterMeta();
    expect((await rejection(noArch, pair('w', 8, 2, 6))).code).toBe('missing-key');
    expect(
      (await rejection(adapterMeta(), [...pair('w', 8, 2, 6), tensor('w.weight', [8])])).message,
    ).toMatch(/neither .lora_a nor .lora_b/);
    expect((await rejection(adapterMeta(), [])).message).toMatch(/no LoRA tensors/);
  });

  it('writeLoraAdapter refuses inconsistent input', async () => {
    const write = (patch: Partial<Parameters<typeof writeLoraAdapter>[1]>) =>
      writeLoraAdapter(freshPath(), {
        architecture: 'llama',
        alpha: 8,
        rank: 2,
        layers: new Map([['w', layer(8, 6, 2)]]),
        ...patch,
      });
    await expect(write({})).resolves.toBeUndefined();
    await expect(write({ rank: 3 })).rejects.toMatchObject({
      code: 'bad-adapter',
      message: expect.stringContaining('A has 16 values'),
    });
    await expect(write({ layers: new Map([['w', { ...layer(8, 6, 2), nOut: 5 }]]) })).rejects.toMatchObject({
      code: 'bad-adapter',
      message: expect.stringContaining('B has 12 values'),
    });
    await expect(write({ architecture: '' })).rejects.toMatchObject({ code: 'bad-adapter' });
    await expect(write({ alpha: NaN })).rejects.toMatchObject({ code: 'bad-adapter' });
    await expect(write({ layers: new Map() })).rejects.toMatchObject({ code: 'bad-adapter' });
    await expect(write({ layers: new Map([['w.lora_a', layer(8, 6, 2)]]) })).rejects.toMatchObject({
      code: 'bad-adapter',
    });
    await expect(write({ metadata: { 'adapter.lora.alpha': f32(1) } })).rejects.toMatchObject({
      code: 'bad-adapter',
    });
  });
});
