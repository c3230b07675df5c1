import { afterAll, describe, expect, it } from 'vitest';
import {
  GgmlType,
  Q8_0_BLOCK_BYTES,
  configureKernels,
  f32Matrix,
  kernelSettings,
  linear,
  matmulNN,
  matmulNT,
  matmulTN,
  q8MatrixFromBytes,
  quantizeQ8_0,
  startKernelPool,
  stopKernelPool,
  toFloat32,
  transpose,
} from '../src/index.ts';
import { maxAbsDiff } from './support/test-models.ts';

function encodeQ8ForTest(values: Float32Array): Uint8Array {
  const out = new Uint8Array((values.length / 32) * Q8_0_BLOCK_BYTES);
  quantizeQ8_0(values, out, 'test');
  return out;
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** out[M×N] = a[M×K] · b[N×K]ᵀ in float64, the obvious way. */
function naiveNT(a: Float32Array, b: Float32Array, M: number, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k]! * b[n * K + k]!;
      out[m * N + n] = s;
    }
  return out;
}

// Shapes that hit every tile edge: rows not a multiple of 4, columns not of 8, one row (decode).
const SHAPES: [number, number, number][] = [
  [1, 37, 64],
  [3, 9, 32],
  [4, 8, 96],
  [7, 45, 64],
  [13, 70, 160],
];

describe('matrix kernels', () => {
  const initial = kernelSettings();
  afterAll(async () => {
    configureKernels(initial);
    await stopKernelPool();
  });

  it('NT, NN and TN products (with accumulation) equal the float64 definition', () => {
    for (const [M, N, K] of SHAPES) {
      const a = random(M * K, M + N);
      const b = random(N * K, K);
      const want = naiveNT(a, b, M, N, K);
      const out = new Float32Array(M * N);
      matmulNT(out, a, b, M, N, K);
      expect(maxAbsDiff(out, want)).toBeLessThan(1e-5);
      matmulNT(out, a, b, M, N, K, true);
      expect(
        maxAbsDiff(
          out,
          want.map((v) => 2 * v),
        ),
      ).toBeLessThan(2e-5);
      // NN with b stored K×N, TN with a stored K×M.
      const nn = new Float32Array(M * N);
      matmulNN(nn, a, transpose(b, N, K), M, N, K);
      expect(maxAbsDiff(nn, want)).toBeLessThan(1e-5);
      const tn = new Float32Array(M * N);
      matmulTN(tn, transpose(a, M, K), transpose(b, N, K), M, N, K);
      expect(maxAbsDiff(tn, want)).toBeLessThan(1e-5);
    }
  });

  it('the WebAssembly SIMD products equal the JavaScript ones', () => {
    const run = (simd: boolean) => {
      configureKernels({ threads: 1, simd });
      return SHAPES.flatMap(([M, N, K]) => {
        const a = random(M * K, 21);
        const b = random(N * K, 22);
        const nt = new Float32Array(M * N);
        matmulNT(nt, a, b, M, N, K);
        const nn = new Float32Array(M * N).fill(0.5);
        matmulNN(nn, a, transpose(b, N, K), M, N, K, true);
        const tn = new Float32Array(M * N);
        matmulTN(tn, transpose(a, M, K), transpose(b, N, K), M, N, K);
        return [nt, nn, tn];
      });
    };
    const js = run(false);
    const simd = run(true);
    // Both sum in float32; the SIMD kernel adds four lanes at a time, so only the order differs.
    simd.forEach((v, i) => expect(maxAbsDiff(v, js[i]!)).toBeLessThan(1e-4));
    // And it is another code path: somewhere the summation order shows in the last bits.
    expect(simd.some((v, i) => maxAbsDiff(v, js[i]!) > 0)).toBe(true);
    configureKernels(initial);
  });

  it('the Q8_0 kernel equals the float32 kernel on the dequantised weights', () => {
    for (const [M, N, K] of SHAPES) {
      const w = random(N * K, 3 * N);
      const q8 = q8MatrixFromBytes(N, K, encodeQ8ForTest(w));
      const deq = toFloat32(q8);
      const x = random(M * K, 5);
      const a = new Float32Array(M * N);
      const b = new Float32Array(M * N);
      linear(a, x, M, q8);
      linear(b, x, M, f32Matrix(N, K, deq));
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    }
    expect(GgmlType.Q8_0).toBe(8);
  });

  it('splitting across worker threads gives bit-identical results', () => {
    const results = (): Float32Array[] =>
      SHAPES.flatMap(([M, N, K]) => {
        const x = random(M * K, 11);
        const w = f32Matrix(N, K, random(N * K, 12));
        const q = q8MatrixFromBytes(N, K, encodeQ8ForTest(random(N * K, 13)));
        const y1 = new Float32Array(M * N);
        const y2 = new Float32Array(M * N).fill(1);
        linear(y1, x, M, w);
        linear(y2, x, M, q, true);
        return [y1, y2];
      });
    configureKernels({ threads: 1 });
    const serial = results();
    configureKernels({ threads: 2, parallelMinMacs: 0 });
    expect(startKernelPool()).toBe(true);
    const parallel = results();
    parallel.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(serial[i]!)));
  });
});
