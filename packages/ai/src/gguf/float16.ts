// IEEE half precision (ggml's F16 and the scale of Q8_0 blocks) and bfloat16, by bit manipulation:
// Node 20 has neither Float16Array nor Math.f16round.

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/**
 * float32 -> float16 bits, rounding to nearest, ties to even, as F16C hardware and ggml's portable
 * fallback do: overflow goes to infinity, tiny values to subnormals or signed zero, NaN stays NaN.
 * `x` is taken as a float32 first (the source data is a Float32Array).
 */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const bits = f32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) {
    // Keep NaN a (quiet) NaN whatever its payload; infinity keeps an all-zero mantissa.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;

  if (halfExponent <= 0) {
    // Subnormal half: value = m * 2^-24, so shift the 24-bit significand right by 14 - halfExponent.
    // Below 2^-25 everything rounds to zero (2^-25 itself is a tie that goes to the even zero).
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(significand, shift);
  }
  // A carry out of the mantissa rightly bumps the exponent, up to infinity for values near 65520.
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

/** `value >> shift`, rounded to nearest with ties to even (shift <= 24). */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

let halfTable: Float32Array | undefined;

/** All 65536 half values as float32 (256 KiB): dequantising is then one lookup per element. */
export function f16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(0x10000);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 0x10000; h++) bits[h] = f16BitsToF32Bits(h);
  halfTable = table;
  return table;
}

export function f16BitsToF32(h: number): number {
  return f16Table()[h & 0xffff]!;
}

/** Exact: every half is a float32, NaN payloads included. */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal half: normalise into float32's wider exponent range.
  let e = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  return (sign | ((e + 127) << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** bfloat16 is the top half of a float32, so widening is a shift. */
export function bf16BitsToF32(h: number): number {
  f32Bits[0] = (h & 0xffff) << 16;
  return f32[0]!;
}
