import { poolFor } from './kernel-pool.ts';
import { kernelMatmulNT, kernelMatmulNTQ8 } from './matmul-kernels.ts';
import { sharedFloats, type Matrix } from './matrix.ts';
import { simdMatmulNN, simdMatmulNT, simdMatmulTN } from './simd-products.ts';

/*
 * Matrix products over row-major float32 arrays: NT (out = x · wᵀ, the shape of y = W x for
 * llama.cpp's weight layout), NN (dX = dY · W) and TN (dW = dYᵀ · X).
 *
 * Float32 products run in WebAssembly SIMD (simd-products.ts; about 6x the plain JavaScript loops,
 * bench/kernels.ts) wherever the platform has it and the product is not tiny, accumulating in
 * float32 as llama.cpp does. Otherwise (or with configureKernels({ simd: false })) the JavaScript
 * kernel computes NT with float64 accumulators, and NN and TN transpose an operand first and call
 * it: a transpose costs O(rows·cols), the product O(rows·cols·depth). Which path a product takes
 * depends only on the settings and its shape, never on the thread count.
 *
 * Products large enough to pay for a dispatch are split by output column across the kernel pool.
 * The split never changes the arithmetic of any single output, so results are bit-identical
 * whatever the thread count.
 */

let scratchX = sharedFloats(0);
let scratchOut = sharedFloats(0);
let scratchW = sharedFloats(0);

function scratch(current: Float32Array, length: number): Float32Array {
  return current.length >= length ? current : sharedFloats(Math.max(length, current.length * 2));
}

/** out[M×N] (+)= x[M×K] · w[N×K]ᵀ */
export function matmulNT(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate = false,
): void {
  if (M === 0 || N === 0) return;
  if (simdMatmulNT(out, x, w, M, N, K, accumulate)) return;
  const pool = poolFor(M * N * K);
  if (!pool) {
    kernelMatmulNT(out, 0, N, x, 0, w, 0, M, K, 0, N, accumulate ? 1 : 0);
    return;
  }
  let weights = w;
  if (!(w.buffer instanceof SharedArrayBuffer)) {
    scratchW = scratch(scratchW, N * K);
    scratchW.set(w.subarray(0, N * K));
    weights = scratchW.subarray(0, N * K);
  }
  dispatch(out, x, M, N, K, accumulate, (task) => pool.matmul({ ...task, w: weights }));
}

/** out[M×rows] (+)= x[M×cols] · Wᵀ: the linear layer y = W x for M inputs at once. */
export function linear(out: Float32Array, x: Float32Array, M: number, w: Matrix, accumulate = false): void {
  if (w.format === 'f32') {
    matmulNT(out, x, w.data, M, w.rows, w.cols, accumulate);
    return;
  }
  const { rows: N, cols: K, quants, scales } = w;
  if (M === 0) return;
  const pool = poolFor(M * N * K);
  if (!pool) {
    kernelMatmulNTQ8(out, 0, N, x, 0, quants, 0, scales, 0, M, K, 0, N, accumulate ? 1 : 0);
    return;
  }
  dispatch(out, x, M, N, K, accumulate, (task) => pool.matmul({ ...task, w: { quants, scales } }));
}

interface DispatchTask {
  out: Float32Array;
  outOff: number;
  ldo: number;
  x: Float32Array;
  xOff: number;
  rows: number;
  depth: number;
  n: number;
  accumulate: boolean;
}

/** Stages x and out through shared scratch (cheap next to the product) and runs the pool. */
function dispatch(
  out: Float32Array,
  x: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
  run: (task: DispatchTask) => void,
): void {
  scratchX = scratch(scratchX, M * K);
  scratchX.set(x.subarray(0, M * K));
  scratchOut = scratch(scratchOut, M * N);
  if (accumulate) scratchOut.set(out.subarray(0, M * N));
  const task = {
    out: scratchOut,
    outOff: 0,
    ldo: N,
    x: scratchX,
    xOff: 0,
    rows: M,
    depth: K,
    n: N,
    accumulate,
  };
  run(task);
  out.set(scratchOut.subarray(0, M * N));
}

/** dst[cols×rows] = srcᵀ for src[rows×cols]; blocked so both sides move through cache in lines. */
export function transpose(src: Float32Array, rows: number, cols: number, dst?: Float32Array): Float32Array {
  const out = dst ?? new Float32Array(rows * cols);
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[r * cols + c]!;
      }
    }
  }
  return out;
}

/** out[M×N] (+)= a[M×K] · b[K×N] */
export function matmulNN(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate = false,
): void {
  if (M === 0 || N === 0) return;
  if (simdMatmulNN(out, a, b, M, N, K, accumulate)) return;
  if (M === 1) {
    // A vector times a matrix: rows of b scaled and summed, no transpose needed.
    if (!accumulate) out.fill(0, 0, N);
    const acc = new Float64Array(N);
    for (let k = 0; k < K; k++) {
      const s = a[k]!;
      if (s === 0) continue;
      const row = k * N;
      for (let n = 0; n < N; n++) acc[n]! += s * b[row + n]!;
    }
    for (let n = 0; n < N; n++) out[n] = out[n]! + acc[n]!;
    return;
  }
  matmulNT(out, a, transpose(b, K, N), M, N, K, accumulate);
}

/** out[M×N] (+)= a[K×M]ᵀ · b[K×N]: e.g. dW = dYᵀ · X summed over K tokens. */
export function matmulTN(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate = false,
): void {
  if (M === 0 || N === 0) return;
  if (simdMatmulTN(out, a, b, M, N, K, accumulate)) return;
  matmulNT(out, transpose(a, K, M), transpose(b, K, N), M, N, K, accumulate);
}
