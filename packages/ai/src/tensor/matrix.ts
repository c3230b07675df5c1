import { f16BitsToF32 } from '../gguf/float16.ts';
import { Q8_0_BLOCK_BYTES, Q8_0_BLOCK_SIZE } from '../gguf/quant-q8_0.ts';

/**
 * A weight matrix as llama.cpp stores it: `rows` outputs (ne[1]), each a contiguous row of `cols`
 * inputs (ne[0]), so y = W x is one dot product per row. Either float32, or Q8_0 kept quantised
 * (int8 quants plus one float scale per 32 of them: a quarter of the memory, read as fast).
 * Storage is always SharedArrayBuffer-backed so that the kernel workers can read it in place.
 */
export type Matrix = F32Matrix | Q8Matrix;

export interface F32Matrix {
  readonly format: 'f32';
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export interface Q8Matrix {
  readonly format: 'q8_0';
  readonly rows: number;
  readonly cols: number;
  /** rows x cols int8 quants. */
  readonly quants: Int8Array;
  /** rows x cols/32 scales (the stored float16 `d`, widened). */
  readonly scales: Float32Array;
}

/** A zeroed float32 array in shared memory. */
export function sharedFloats(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** A float32 matrix; `data` is copied into shared memory unless it already lives there. */
export function f32Matrix(rows: number, cols: number, data?: Float32Array): F32Matrix {
  if (data !== undefined && data.length !== rows * cols) {
    throw new RangeError(`matrix data has ${data.length} values, expected ${rows} x ${cols}`);
  }
  let shared: Float32Array;
  if (data !== undefined && data.buffer instanceof SharedArrayBuffer) shared = data;
  else {
    shared = sharedFloats(rows * cols);
    if (data) shared.set(data);
  }
  return { format: 'f32', rows, cols, data: shared };
}

/** A Q8_0 matrix from the bytes GGUF stores (blocks of a float16 scale then 32 int8 quants). */
export function q8MatrixFromBytes(rows: number, cols: number, bytes: Uint8Array): Q8Matrix {
  if (cols % Q8_0_BLOCK_SIZE !== 0) throw new RangeError(`Q8_0 rows must be multiples of 32, got ${cols}`);
  const blocks = (rows * cols) / Q8_0_BLOCK_SIZE;
  if (bytes.length !== blocks * Q8_0_BLOCK_BYTES) {
    throw new RangeError(`Q8_0 data has ${bytes.length} bytes, expected ${blocks * Q8_0_BLOCK_BYTES}`);
  }
  const quants = new Int8Array(new SharedArrayBuffer(rows * cols));
  const scales = sharedFloats(blocks);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q8_0_BLOCK_BYTES;
    scales[b] = f16BitsToF32(bytes[at]! | (bytes[at + 1]! << 8));
    quants.set(new Int8Array(bytes.buffer, bytes.byteOffset + at + 2, Q8_0_BLOCK_SIZE), b * Q8_0_BLOCK_SIZE);
  }
  return { format: 'q8_0', rows, cols, quants, scales };
}

/** Row `row` as float32 into `out` (dequantised for Q8_0: q * d, exactly as ggml does). */
export function readRow(matrix: Matrix, row: number, out: Float32Array, outOffset = 0): void {
  const { cols } = matrix;
  if (matrix.format === 'f32') {
    out.set(matrix.data.subarray(row * cols, (row + 1) * cols), outOffset);
    return;
  }
  const { quants, scales } = matrix;
  const blocks = cols / Q8_0_BLOCK_SIZE;
  for (let b = 0; b < blocks; b++) {
    const d = scales[row * blocks + b]!;
    const at = row * cols + b * Q8_0_BLOCK_SIZE;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) out[outOffset + b * Q8_0_BLOCK_SIZE + j] = quants[at + j]! * d;
  }
}

/** The whole matrix as float32 (a copy for Q8_0, the data itself for float32). */
export function toFloat32(matrix: Matrix): Float32Array {
  if (matrix.format === 'f32') return matrix.data;
  const out = new Float32Array(matrix.rows * matrix.cols);
  for (let r = 0; r < matrix.rows; r++) readRow(matrix, r, out, r * matrix.cols);
  return out;
}
