/** Constants of the container format shared by the reader and the writer. */

/** "GGUF" as bytes: read as a little-endian u32 it is 0x46554747. */
export const GGUF_MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46);
/** What we write. Version 2 differs from 3 only in that 3 may be big-endian, which we do not read. */
export const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;
export const ALIGNMENT_KEY = 'general.alignment';
/** ggml tensors have at most 4 dimensions. */
export const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME is 64 including the NUL terminator; llama.cpp rejects longer names. */
export const MAX_TENSOR_NAME_BYTES = 63;
/**
 * Far above any real model (tens of keys, a few thousand tensors) but low enough that a corrupt
 * count is refused outright instead of driving a loop of billions of reads.
 */
export const MAX_KV_COUNT = 1 << 20;
export const MAX_TENSOR_COUNT = 1 << 24;

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
