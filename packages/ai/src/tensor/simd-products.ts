import { kernelSettings, poolFor, type SimdMatmulTask } from './kernel-pool.ts';
import { simdHeap, simdRuntime, type SimdRuntime } from './simd-runtime.ts';

/*
 * Matrix products on JavaScript arrays through the SIMD kernels (simd-matmul.ts): operands are copied
 * into the runtime's memory, which costs O(rows·cols) next to the product's O(rows·cols·depth), the
 * product runs there (split across the kernel pool when it is large enough) and the result is copied
 * back. Rows of x and out are staged in chunks so that staging stays small; a chunk holds whole
 * rows, so chunking changes nothing but the copies.
 *
 * Each function returns false, having done nothing, where SIMD is off or missing, the product is too
 * small to pay for the copies, or the operands do not fit the memory. That choice depends only on the
 * settings and the shape, never on the thread count.
 */

/** Below this many multiply-adds, the staging copies and the call into WebAssembly cost more. */
const SIMD_MIN_MACS = 2048;
/**
 * SIMD products run about six times faster than the plain loops that `parallelMinMacs` was set for,
 * so they are split across the pool only from this many times that size: below it, waking the
 * workers costs about as much as the share they would take over.
 */
const SIMD_PARALLEL_FACTOR = 16;
/** x and out rows are staged in chunks of about this many bytes. */
const CHUNK_BYTES = 8 << 20;

/** The runtime, if this product should run in SIMD. */
export function simdFor(macs: number): SimdRuntime | undefined {
  if (macs < SIMD_MIN_MACS || !kernelSettings().simd) return undefined;
  return simdRuntime();
}

/** Runs a kernel over staged operands, on the pool when the product is worth splitting. */
export function runSimd(rt: SimdRuntime, task: SimdMatmulTask, macs: number): void {
  const pool = poolFor(macs, kernelSettings().parallelMinMacs * SIMD_PARALLEL_FACTOR);
  if (pool) {
    pool.simdMatmul(task);
    return;
  }
  const a = task.args;
  const acc = task.accumulate ? 1 : 0;
  if (task.kernel === 'nt')
    rt.matmulNT(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, 0, task.n, acc);
  else rt.matmulNN(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, 0, task.n, acc);
}

/** Floats rounded up to a whole 16-byte vector. */
export function aligned(floats: number): number {
  return (floats + 3) & ~3;
}

/** Copies rows [m0, m0 + rows) of the left operand into the heap at float `at`. */
type StageRows = (heap: Float32Array, at: number, m0: number, rows: number) => void;

/** Rows of a row-major x with `xRow` floats per row. */
function rowsOf(x: Float32Array, xRow: number): StageRows {
  return (heap, at, m0, rows) => heap.set(x.subarray(m0 * xRow, (m0 + rows) * xRow), at);
}

/**
 * out[M×N] (+)= x · (something of N columns): `fixed` (staged once at float 0) and x in chunks of
 * rows of `xRow` floats; `args(xAt, outAt, rows)` gives the kernel's leading arguments in bytes.
 */
function chunked(
  rt: SimdRuntime,
  kernel: 'nt' | 'nn',
  out: Float32Array,
  stageRows: StageRows,
  fixed: Float32Array,
  M: number,
  N: number,
  K: number,
  xRow: number,
  accumulate: boolean,
  args: (xAt: number, outAt: number, rows: number) => number[],
): boolean {
  const chunk = Math.min(M, Math.max(4, Math.floor(CHUNK_BYTES / (4 * (xRow + N))) & ~3));
  const xAt = aligned(fixed.length);
  const outAt = xAt + aligned(chunk * xRow);
  const heap = simdHeap(rt, 4 * (outAt + chunk * N));
  if (!heap) return false;
  heap.set(fixed, 0);
  for (let m0 = 0; m0 < M; m0 += chunk) {
    const rows = Math.min(chunk, M - m0);
    stageRows(heap, xAt, m0, rows);
    if (accumulate) heap.set(out.subarray(m0 * N, (m0 + rows) * N), outAt);
    runSimd(rt, { kernel, args: args(4 * xAt, 4 * outAt, rows), n: N, accumulate }, rows * N * K);
    out.set(heap.subarray(outAt, outAt + rows * N), m0 * N);
  }
  return true;
}

/** out[M×N] (+)= x[M×K] · w[N×K]ᵀ */
export function simdMatmulNT(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
): boolean {
  const rt = simdFor(M * N * K);
  if (!rt) return false;
  return chunked(
    rt,
    'nt',
    out,
    rowsOf(x, K),
    w.subarray(0, N * K),
    M,
    N,
    K,
    K,
    accumulate,
    (xAt, outAt, rows) => [outAt, N, xAt, K, 0, K, rows, K],
  );
}

/** out[M×N] (+)= a[M×K] · b[K×N] */
export function simdMatmulNN(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
): boolean {
  const rt = simdFor(M * N * K);
  if (!rt) return false;
  return chunked(
    rt,
    'nn',
    out,
    rowsOf(a, K),
    b.subarray(0, K * N),
    M,
    N,
    K,
    K,
    accumulate,
    (xAt, outAt, rows) => [outAt, N, xAt, K, 1, 0, N, rows, K],
  );
}

/**
 * out[M×N] (+)= a[K×M]ᵀ · b[K×N]: out's rows are a's columns, staged transposed chunk by chunk (the
 * NN kernel could read a in place with strides, but measured 2-3x slower than the copy costs).
 */
export function simdMatmulTN(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  N: number,
  K: number,
  accumulate: boolean,
): boolean {
  const rt = simdFor(M * N * K);
  if (!rt) return false;
  const columnsOfA: StageRows = (heap, at, m0, rows) => {
    const B = 32;
    for (let k0 = 0; k0 < K; k0 += B) {
      const k1 = Math.min(K, k0 + B);
      for (let i0 = 0; i0 < rows; i0 += B) {
        const i1 = Math.min(rows, i0 + B);
        for (let k = k0; k < k1; k++) {
          const from = k * M + m0;
          for (let i = i0; i < i1; i++) heap[at + i * K + k] = a[from + i]!;
        }
      }
    }
  };
  return chunked(
    rt,
    'nn',
    out,
    columnsOfA,
    b.subarray(0, K * N),
    M,
    N,
    K,
    K,
    accumulate,
    (xAt, outAt, rows) => [outAt, N, xAt, K, 1, 0, N, rows, K],
  );
}
