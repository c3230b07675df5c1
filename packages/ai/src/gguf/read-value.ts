import type { FileCursor } from './file-cursor.ts';
import {
  FIXED_VALUE_SIZE,
  GgufValueType,
  MAX_ARRAY_DEPTH,
  MAX_ARRAY_ELEMENTS,
  isGgufValueType,
  valueTypeName,
  type GgufArray,
  type GgufValue,
} from './gguf-types.ts';

/** Reads a value type id; anything outside the 13 GGUF types is `bad-value-type`. */
export async function readValueType(cursor: FileCursor, what: string): Promise<GgufValueType> {
  const at = cursor.position;
  const type = await cursor.readU32(`the type of ${what}`);
  if (!isGgufValueType(type)) {
    throw cursor.error('bad-value-type', `${what} has ${valueTypeName(type)} (valid types are 0..12)`, at);
  }
  return type;
}

/** Reads one value of `type` (the type id itself already read). */
export async function readValue(
  cursor: FileCursor,
  type: GgufValueType,
  what: string,
  depth = 0,
): Promise<GgufValue> {
  if (type === GgufValueType.ARRAY) return readArray(cursor, what, depth);
  if (type === GgufValueType.STRING) return { type, value: await cursor.readString(what) };
  await cursor.need(FIXED_VALUE_SIZE[type]!, what);
  return readFixed(cursor, type, what);
}

function readFixed(cursor: FileCursor, type: GgufValueType, what: string): GgufValue {
  switch (type) {
    case GgufValueType.UINT8:
      return { type, value: cursor.u8() };
    case GgufValueType.INT8:
      return { type, value: cursor.i8() };
    case GgufValueType.UINT16:
      return { type, value: cursor.u16() };
    case GgufValueType.INT16:
      return { type, value: cursor.i16() };
    case GgufValueType.UINT32:
      return { type, value: cursor.u32() };
    case GgufValueType.INT32:
      return { type, value: cursor.i32() };
    case GgufValueType.FLOAT32:
      return { type, value: cursor.f32() };
    case GgufValueType.FLOAT64:
      return { type, value: cursor.f64() };
    case GgufValueType.UINT64:
      return { type, value: cursor.u64() };
    case GgufValueType.INT64:
      return { type, value: cursor.i64() };
    case GgufValueType.BOOL:
      return { type, value: readBool(cursor, what) };
    default:
      throw new Error(`not a fixed-size type: ${type}`);
  }
}

function readBool(cursor: FileCursor, what: string): boolean {
  const byte = cursor.u8();
  // The spec calls anything but 0 and 1 invalid; accepting it would make the value not round-trip.
  if (byte > 1) {
    throw cursor.error('bad-value', `${what} is a BOOL with byte value ${byte}`, cursor.position - 1);
  }
  return byte === 1;
}

/** Element readers for arrays of fixed-size types, after one bounds check for the whole array. */
const ELEMENT: Partial<
  Record<GgufValueType, (cursor: FileCursor, what: string) => number | bigint | boolean>
> = {
  [GgufValueType.UINT8]: (c) => c.u8(),
  [GgufValueType.INT8]: (c) => c.i8(),
  [GgufValueType.UINT16]: (c) => c.u16(),
  [GgufValueType.INT16]: (c) => c.i16(),
  [GgufValueType.UINT32]: (c) => c.u32(),
  [GgufValueType.INT32]: (c) => c.i32(),
  [GgufValueType.FLOAT32]: (c) => c.f32(),
  [GgufValueType.FLOAT64]: (c) => c.f64(),
  [GgufValueType.UINT64]: (c) => c.u64(),
  [GgufValueType.INT64]: (c) => c.i64(),
  [GgufValueType.BOOL]: readBool,
};

/** Smallest encoding of one element: what bounds an element count against the bytes left. */
function minElementBytes(type: GgufValueType): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return FIXED_VALUE_SIZE[type]!;
}

async function readArray(cursor: FileCursor, what: string, depth: number): Promise<GgufArray> {
  if (depth >= MAX_ARRAY_DEPTH) {
    throw cursor.error('too-large', `${what} nests arrays deeper than ${MAX_ARRAY_DEPTH} levels`);
  }
  const elementType = await readValueType(cursor, `the elements of ${what}`);
  const countAt = cursor.position;
  const count64 = await cursor.readU64(`the element count of ${what}`);
  if (count64 > BigInt(MAX_ARRAY_ELEMENTS)) {
    throw cursor.error(
      'too-large',
      `${what} claims ${count64} elements, over the ${MAX_ARRAY_ELEMENTS} limit`,
      countAt,
    );
  }
  const count = Number(count64);
  // Checked before allocating anything: each element takes at least this many bytes of the file.
  const minimum = count * minElementBytes(elementType);
  if (minimum > cursor.remaining) {
    throw cursor.error(
      'truncated',
      `${what} claims ${count} ${valueTypeName(elementType)} elements, at least ${minimum} bytes, but only ${cursor.remaining} are left`,
      countAt,
    );
  }
  const element = ELEMENT[elementType];
  if (element) {
    await cursor.need(minimum, what);
    const values: (number | bigint | boolean)[] = new Array(count);
    for (let i = 0; i < count; i++) values[i] = element(cursor, `${what}[${i}]`);
    return { type: GgufValueType.ARRAY, elementType, value: values } as GgufArray;
  }
  const values: (string | GgufArray)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    values[i] =
      elementType === GgufValueType.STRING
        ? await cursor.readString(`${what}[${i}]`)
        : await readArray(cursor, `${what}[${i}]`, depth + 1);
  }
  return { type: GgufValueType.ARRAY, elementType, value: values } as GgufArray;
}
