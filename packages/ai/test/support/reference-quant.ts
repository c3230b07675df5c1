/**
 * Reference conversions for the tests, written differently from src/gguf on purpose: float16
 * rounding by searching a sorted table of every half value instead of bit manipulation, and float32
 * arithmetic through Float32Array stores instead of Math.fround.
 */

/** Every non-negative finite half as [bits, value], ascending, plus 0x7c00 standing for 65536. */
const HALVES: { bits: number; value: number }[] = (() => {
  const out: { bits: number; value: number }[] = [];
  for (let bits = 0; bits < 0x7c00; bits++) {
    const exponent = bits >> 10;
    const mantissa = bits & 0x3ff;
    const value = exponent === 0 ? mantissa * 2 ** -24 : (1 + mantissa / 1024) * 2 ** (exponent - 15);
    out.push({ bits, value });
  }
  // Rounding treats infinity as the next step after 65504, so values from 65520 up go to it.
  out.push({ bits: 0x7c00, value: 65536 });
  return out;
})();

export function referenceHalfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const magnitude = bits & 0x7fff;
  if (magnitude > 0x7c00) return NaN;
  if (magnitude === 0x7c00) return sign * Infinity;
  return sign * HALVES[magnitude]!.value;
}

/** float32 -> half bits by nearest value, ties to the even bit pattern. */
export function referenceToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65536) return sign | 0x7c00;
  let lo = 0;
  let hi = HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (HALVES[mid]!.value <= a) lo = mid;
    else hi = mid;
  }
  const below = HALVES[lo]!;
  const above = HALVES[hi]!;
  if (a === below.value) return sign | below.bits;
  const dBelow = a - below.value;
  const dAbove = above.value - a;
  if (dBelow < dAbove) return sign | below.bits;
  if (dAbove < dBelow) return sign | above.bits;
  return sign | ((below.bits & 1) === 0 ? below.bits : above.bits);
}

const f = new Float32Array(4);

/** One Q8_0 block (32 float32 values) as ggml's quantize_row_q8_0_ref lays it out. */
export function referenceQ8_0Block(values: ArrayLike<number>): Uint8Array {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[j]!));
  f[0] = amax;
  f[1] = f[0] / 127; // d, as float32
  f[2] = f[1] === 0 ? 0 : 1 / f[1]; // id, as float32
  const out = new Uint8Array(34);
  const h = referenceToHalf(f[1]);
  out[0] = h & 0xff;
  out[1] = h >> 8;
  for (let j = 0; j < 32; j++) {
    f[3] = values[j]! * f[2];
    const roundf = Math.sign(f[3]) * Math.round(Math.abs(f[3])); // C roundf: half away from zero
    out[2 + j] = roundf | 0; // (int8_t) conversion; |roundf| <= 127 here
  }
  return out;
}

/** The values a Q8_0 block decodes to: q * d with d the stored half. */
export function referenceQ8_0Decode(block: Uint8Array): number[] {
  const d = referenceHalfValue(block[0]! | (block[1]! << 8));
  return Array.from(block.subarray(2, 34), (q) => Math.fround(((q << 24) >> 24) * d));
}
