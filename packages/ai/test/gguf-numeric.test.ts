import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GgufError,
  Q8_0_BLOCK_BYTES,
  bf16BitsToF32,
  dequantizeQ8_0,
  f16BitsToF32,
  f32ToF16Bits,
  quantizeQ8_0,
} from '../src/gguf/index.ts';
import {
  referenceHalfValue,
  referenceQ8_0Block,
  referenceQ8_0Decode,
  referenceToHalf,
} from './support/reference-quant.ts';

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

describe('float16', () => {
  it('decodes every one of the 65536 halves exactly and encodes each back to itself', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const value = f16BitsToF32(h);
      const expected = referenceHalfValue(h);
      const back = f32ToF16Bits(value);
      const ok = Number.isNaN(expected)
        ? Number.isNaN(value) && (back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0
        : Object.is(value, expected) && back === h;
      if (!ok) wrong.push(`${hex(h)}: ${value} (expected ${expected}) -> ${hex(back)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest, ties to even, at the edges of the format', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [65504, 0x7bff], // largest half
      [65519.99, 0x7bff], // below the midpoint to the next (virtual) step
      [65520, 0x7c00], // the midpoint: ties to even, which is infinity
      [1e10, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // half of it: a tie, to the even zero
      [2 ** -25 * 1.0000001, 0x0001],
      [3 * 2 ** -25, 0x0002], // 1.5 steps: tie, to even (2)
      [5 * 2 ** -25, 0x0002], // 2.5 steps: tie, to even (2)
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up across the subnormal/normal boundary
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: to even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (1+2^-9)
      [1e-45, 0x0000], // float32 subnormal
    ];
    for (const [x, bits] of cases) expect(`${x} -> ${hex(f32ToF16Bits(x))}`).toBe(`${x} -> ${hex(bits)}`);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it('agrees with a table-search reference on arbitrary float32 values', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        expect(hex(f32ToF16Bits(x))).toBe(hex(referenceToHalf(x)));
      }),
      { numRuns: 5000 },
    );
    // Dense in the subnormal and low normal range, where the rounding paths differ.
    fc.assert(
      fc.property(fc.float({ min: -(2 ** -12), max: 2 ** -12, noNaN: true }), (x) => {
        expect(hex(f32ToF16Bits(x))).toBe(hex(referenceToHalf(x)));
      }),
      { numRuns: 5000 },
    );
  });

  it('widens bfloat16 by placing it in the top half of a float32', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc000)).toBe(-2);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(bf16BitsToF32(0x3e20)).toBe(0.15625);
  });
});

/** float32 values of a wide spread of magnitudes, tiny and subnormal ones included. */
const blockValue = fc.oneof(
  fc.float({ min: -1e6, max: 1e6, noNaN: true }),
  fc.float({ min: -1, max: 1, noNaN: true }),
  fc.float({ min: Math.fround(-1e-30), max: Math.fround(1e-30), noNaN: true }),
  fc.constantFrom(0, -0, 127, -127, 0.5, -0.5),
);

describe('Q8_0', () => {
  it('quantises bit for bit like the reference, including ties and tiny scales', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(blockValue, { minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 4 }),
        (blocks) => {
          const src = Float32Array.from(blocks.flat());
          const dst = new Uint8Array(blocks.length * Q8_0_BLOCK_BYTES);
          quantizeQ8_0(src, dst, 'test');
          blocks.forEach((block, i) => {
            const reference = referenceQ8_0Block(Float32Array.from(block));
            expect([...dst.subarray(i * 34, i * 34 + 34)]).toEqual([...reference]);
          });
          const decoded = new Float32Array(src.length);
          dequantizeQ8_0(dst, decoded, 0);
          expect([...decoded]).toEqual(
            blocks.flatMap((_, i) => referenceQ8_0Decode(dst.subarray(i * 34, i * 34 + 34))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays within one quantisation step of the input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 32, maxLength: 32 }),
        (block) => {
          const src = Float32Array.from(block);
          const dst = new Uint8Array(Q8_0_BLOCK_BYTES);
          quantizeQ8_0(src, dst, 'test');
          const decoded = new Float32Array(32);
          dequantizeQ8_0(dst, decoded, 0);
          const amax = Math.max(...block.map(Math.abs));
          // Half a step of rounding, plus the float16 rounding of the scale applied to up to 127 steps.
          const d = amax / 127;
          const bound = d * 0.5 + 127 * d * 2 ** -11 + 2 ** -24 * 128;
          src.forEach((x, i) => expect(Math.abs(x - decoded[i]!)).toBeLessThanOrEqual(bound));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches a hand-worked block', () => {
    const src = new Float32Array(32);
    src[0] = 1.27;
    src[1] = -0.635; // exactly -63.5 steps before float32 rounding
    src[2] = 0.005; // half a step: rounds away from zero
    const dst = new Uint8Array(Q8_0_BLOCK_BYTES);
    quantizeQ8_0(src, dst, 'test');
    expect(dst[0]! | (dst[1]! << 8)).toBe(f32ToF16Bits(0.01));
    expect([(dst[2]! << 24) >> 24, (dst[3]! << 24) >> 24, (dst[4]! << 24) >> 24]).toEqual([127, -64, 1]);
    expect(dst.subarray(5).every((b) => b === 0)).toBe(true);
  });

  it('refuses values ggml would turn into garbage', () => {
    const dst = new Uint8Array(Q8_0_BLOCK_BYTES);
    for (const bad of [NaN, Infinity, -Infinity, 1e7 * 2]) {
      const src = new Float32Array(32);
      src[7] = bad;
      expect(() => quantizeQ8_0(src, dst, 'w')).toThrow(GgufError);
    }
    const src = new Float32Array(32);
    src[3] = NaN;
    expect(() => quantizeQ8_0(src, dst, 'tensor w', 64)).toThrow(/tensor w: element 67 is NaN/);
  });
});
