import { GgufError } from './gguf-error.ts';
import { f16Table, f32ToF16Bits } from './float16.ts';

/** Q8_0: blocks of 32 values, a float16 scale `d` then 32 int8 quants; value = q * d. */
export const Q8_0_BLOCK_SIZE = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_SIZE;

/**
 * Quantises `src` (a whole number of blocks) into `dst` bit for bit as ggml's reference quantiser
 * does, so that a file we write is byte-identical to one llama.cpp's tools would write: every step
 * is a float32 operation (hence the Math.fround), the scale used for the quants is the float32 `d`
 * rather than its float16 rounding, and quants round half away from zero like C's roundf. Inputs ggml
 * would turn into garbage (non-finite values, a scale past float16's range) are refused instead.
 */
export function quantizeQ8_0(src: Float32Array, dst: Uint8Array, what: string, firstIndex = 0): void {
  const blocks = src.length / Q8_0_BLOCK_SIZE;
  if (!Number.isInteger(blocks)) throw new Error(`${src.length} values are not whole Q8_0 blocks`);
  for (let block = 0; block < blocks; block++) {
    const first = block * Q8_0_BLOCK_SIZE;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) {
      const v = src[first + j]!;
      // ggml would produce garbage for these (NaN scale, undefined int8 casts); refuse instead.
      if (!Number.isFinite(v)) {
        throw new GgufError(
          'bad-value',
          `${what}: element ${firstIndex + first + j} is ${v}, which Q8_0 cannot represent`,
        );
      }
      amax = Math.max(amax, Math.abs(v));
    }
    const d = Math.fround(amax / 127);
    const id = d === 0 ? 0 : Math.fround(1 / d);
    const h = f32ToF16Bits(d);
    // ggml would store an infinite scale and read back inf/NaN for the whole block.
    if ((h & 0x7c00) === 0x7c00) {
      throw new GgufError(
        'bad-value',
        `${what}: block at element ${firstIndex + first} has max |x| = ${amax}, beyond Q8_0's range (65504 * 127)`,
      );
    }
    const out = block * Q8_0_BLOCK_BYTES;
    dst[out] = h & 0xff;
    dst[out + 1] = h >>> 8;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) {
      const scaled = Math.fround(src[first + j]! * id);
      // floor(|x| + 0.5) is exact here: a float32 plus 0.5 is representable in a double.
      const q = Math.sign(scaled) * Math.floor(Math.abs(scaled) + 0.5);
      dst[out + 2 + j] = q & 0xff;
    }
  }
}

/** Dequantises whole blocks of `src` into `dst` starting at `dstOffset`. */
export function dequantizeQ8_0(src: Uint8Array, dst: Float32Array, dstOffset: number): void {
  const half = f16Table();
  const blocks = Math.floor(src.length / Q8_0_BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    const at = block * Q8_0_BLOCK_BYTES;
    const d = half[src[at]! | (src[at + 1]! << 8)]!;
    const out = dstOffset + block * Q8_0_BLOCK_SIZE;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) {
      // Sign-extend the byte; q * d is exact (8-bit times 11-bit significands), as in ggml.
      dst[out + j] = ((src[at + 2 + j]! << 24) >> 24) * d;
    }
  }
}
