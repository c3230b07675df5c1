import { GgufError } from './gguf-error.ts';
import { bf16BitsToF32, f16Table, f32ToF16Bits } from './float16.ts';
import { dequantizeQ8_0, quantizeQ8_0 } from './quant-q8_0.ts';
import { GgmlType, ggmlTypeLayout, ggmlTypeName } from './tensor-types.ts';

/** The types this code can produce from float32 data. */
export type WritableTensorType = typeof GgmlType.F32 | typeof GgmlType.F16 | typeof GgmlType.Q8_0;

const WRITABLE = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0]);
const DECODABLE = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0]);

export function isWritableTensorType(type: number): type is WritableTensorType {
  return WRITABLE.has(type);
}

export function isDecodableTensorType(type: number): boolean {
  return DECODABLE.has(type);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes that `count` elements of `type` take (count must be a whole number of blocks). */
export function encodedByteLength(type: number, count: number): number {
  const layout = ggmlTypeLayout(type);
  if (!layout) throw new GgufError('unsupported-tensor-type', `no layout for ${ggmlTypeName(type)}`);
  return (count / layout.blockSize) * layout.typeSize;
}

/**
 * Encodes float32 values as `type`, little-endian. `values` must be whole blocks; the caller streams
 * a large tensor through here in block-aligned chunks (`firstIndex` is where the chunk starts, for
 * error messages).
 */
export function encodeTensorData(
  values: Float32Array,
  type: WritableTensorType,
  what: string,
  firstIndex = 0,
): Uint8Array {
  switch (type) {
    case GgmlType.F32: {
      if (LITTLE_ENDIAN_HOST) {
        return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
      }
      const out = new Uint8Array(values.length * 4);
      const view = new DataView(out.buffer);
      values.forEach((v, i) => view.setFloat32(i * 4, v, true));
      return out;
    }
    case GgmlType.F16: {
      const out = new Uint8Array(values.length * 2);
      for (let i = 0; i < values.length; i++) {
        const h = f32ToF16Bits(values[i]!);
        out[2 * i] = h & 0xff;
        out[2 * i + 1] = h >>> 8;
      }
      return out;
    }
    case GgmlType.Q8_0: {
      const out = new Uint8Array(encodedByteLength(type, values.length));
      quantizeQ8_0(values, out, what, firstIndex);
      return out;
    }
    default:
      throw new GgufError('unsupported-tensor-type', `${what}: cannot encode ${ggmlTypeName(type)}`);
  }
}

/** Decodes whole blocks of `bytes` (of `type`) into `out` from element `outOffset` on. */
export function decodeTensorData(
  bytes: Uint8Array,
  type: number,
  out: Float32Array,
  outOffset: number,
): void {
  switch (type) {
    case GgmlType.F32: {
      const count = bytes.length >>> 2;
      if (LITTLE_ENDIAN_HOST) {
        // Copy through a byte view: `bytes` may not be 4-byte aligned, which a Float32Array view needs.
        new Uint8Array(out.buffer, out.byteOffset + outOffset * 4, count * 4).set(
          bytes.subarray(0, count * 4),
        );
      } else {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let i = 0; i < count; i++) out[outOffset + i] = view.getFloat32(i * 4, true);
      }
      return;
    }
    case GgmlType.F16: {
      const half = f16Table();
      const count = bytes.length >>> 1;
      for (let i = 0; i < count; i++) out[outOffset + i] = half[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
      return;
    }
    case GgmlType.BF16: {
      const count = bytes.length >>> 1;
      for (let i = 0; i < count; i++)
        out[outOffset + i] = bf16BitsToF32(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      return;
    }
    case GgmlType.Q8_0:
      dequantizeQ8_0(bytes, out, outOffset);
      return;
    default:
      throw new GgufError('unsupported-tensor-type', `cannot decode ${ggmlTypeName(type)}`);
  }
}
