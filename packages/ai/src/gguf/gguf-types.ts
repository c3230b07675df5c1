import { GgufError } from './gguf-error.ts';

/** Metadata value types, with the numbering GGUF files use on disk. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

type T = typeof GgufValueType;
export type GgufNumberType =
  T['UINT8'] | T['INT8'] | T['UINT16'] | T['INT16'] | T['UINT32'] | T['INT32'] | T['FLOAT32'] | T['FLOAT64'];
/** 64-bit integers are bigints: a token count or a file size must not silently lose its low bits. */
export type GgufBigIntType = T['UINT64'] | T['INT64'];

/**
 * A metadata value that remembers its on-disk type. llama.cpp checks types strictly (a FLOAT32 key
 * written as FLOAT64 is an error there), so a value read from one file and written to another must
 * keep its exact type rather than pass through a loosely typed JS number.
 */
export type GgufScalar =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: T['BOOL']; readonly value: boolean }
  | { readonly type: T['STRING']; readonly value: string };

/** An array holds bare JS values of one element type; nested arrays carry their own element type. */
export type GgufArray =
  | { readonly type: T['ARRAY']; readonly elementType: GgufNumberType; readonly value: readonly number[] }
  | { readonly type: T['ARRAY']; readonly elementType: GgufBigIntType; readonly value: readonly bigint[] }
  | { readonly type: T['ARRAY']; readonly elementType: T['BOOL']; readonly value: readonly boolean[] }
  | { readonly type: T['ARRAY']; readonly elementType: T['STRING']; readonly value: readonly string[] }
  | { readonly type: T['ARRAY']; readonly elementType: T['ARRAY']; readonly value: readonly GgufArray[] };

export type GgufValue = GgufScalar | GgufArray;

/** Metadata in file order (the order is kept on a round trip). */
export type GgufMetadata = Map<string, GgufValue>;

/** Bytes per element of the fixed-size types; strings and arrays are length-prefixed instead. */
export const FIXED_VALUE_SIZE: Readonly<Partial<Record<number, number>>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** Same limits as llama.cpp's reader, so anything we accept or write, it accepts too. */
export const MAX_STRING_BYTES = 1024 * 1024 * 1024;
export const MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;
/** The format allows nesting but no real file goes past one level; a bound keeps recursion safe. */
export const MAX_ARRAY_DEPTH = 16;

const NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([name, id]) => [id, name])) as Record<
  number,
  string
>;

export function isGgufValueType(type: number): type is GgufValueType {
  return NAMES[type] !== undefined;
}

export function valueTypeName(type: number): string {
  return NAMES[type] ?? `unknown value type ${type}`;
}

/** "UINT32", or "ARRAY of STRING" for arrays: what error messages show. */
export function describeValueType(value: GgufValue): string {
  return value.type === GgufValueType.ARRAY
    ? `ARRAY of ${valueTypeName(value.elementType)}`
    : valueTypeName(value.type);
}

const INTEGER_RANGE: Partial<Record<number, readonly [number, number]>> = {
  [GgufValueType.UINT8]: [0, 0xff],
  [GgufValueType.INT8]: [-0x80, 0x7f],
  [GgufValueType.UINT16]: [0, 0xffff],
  [GgufValueType.INT16]: [-0x8000, 0x7fff],
  [GgufValueType.UINT32]: [0, 0xffffffff],
  [GgufValueType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIGINT_RANGE: Partial<Record<number, readonly [bigint, bigint]>> = {
  [GgufValueType.UINT64]: [0n, (1n << 64n) - 1n],
  [GgufValueType.INT64]: [-(1n << 63n), (1n << 63n) - 1n],
};

// A lone surrogate would be written as U+FFFD by TextEncoder and not read back as itself.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Checks one element of `type` (not ARRAY); returns a reason when it cannot be written as that type. */
function elementProblem(type: number, element: unknown): string | undefined {
  const range = INTEGER_RANGE[type];
  if (range) {
    return Number.isInteger(element) && (element as number) >= range[0] && (element as number) <= range[1]
      ? undefined
      : `${String(element)} is not an integer in [${range[0]}, ${range[1]}]`;
  }
  const bigRange = BIGINT_RANGE[type];
  if (bigRange) {
    return typeof element === 'bigint' && element >= bigRange[0] && element <= bigRange[1]
      ? undefined
      : `${String(element)} is not a bigint in [${bigRange[0]}, ${bigRange[1]}]`;
  }
  switch (type) {
    case GgufValueType.FLOAT32:
      if (typeof element !== 'number') return `${String(element)} is not a number`;
      // Finite values past the float32 range would silently become Infinity on disk.
      return Number.isFinite(element) && !Number.isFinite(Math.fround(element))
        ? `${element} is outside the FLOAT32 range`
        : undefined;
    case GgufValueType.FLOAT64:
      return typeof element === 'number' ? undefined : `${String(element)} is not a number`;
    case GgufValueType.BOOL:
      return typeof element === 'boolean' ? undefined : `${String(element)} is not a boolean`;
    case GgufValueType.STRING:
      if (typeof element !== 'string') return `${String(element)} is not a string`;
      return LONE_SURROGATE.test(element) ? 'the string has a lone UTF-16 surrogate' : undefined;
    default:
      return `${valueTypeName(type)} is not a value type`;
  }
}

/**
 * Throws `bad-value` unless `value` can be written exactly as its declared type. The writer calls
 * this on everything, so values built by hand get the same checks as the helpers below.
 */
export function assertValidValue(value: GgufValue, where: string, depth = 0): void {
  if (value.type !== GgufValueType.ARRAY) {
    const problem = elementProblem(value.type, value.value);
    if (problem) throw new GgufError('bad-value', `${where}: ${problem}`);
    return;
  }
  if (depth >= MAX_ARRAY_DEPTH) {
    throw new GgufError('bad-value', `${where}: arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`);
  }
  if (!Array.isArray(value.value)) throw new GgufError('bad-value', `${where}: array value is not an array`);
  if (value.value.length > MAX_ARRAY_ELEMENTS) {
    throw new GgufError('bad-value', `${where}: ${value.value.length} elements exceed ${MAX_ARRAY_ELEMENTS}`);
  }
  if (value.elementType === GgufValueType.ARRAY) {
    value.value.forEach((inner, i) => assertValidValue(inner, `${where}[${i}]`, depth + 1));
    return;
  }
  const elements: readonly unknown[] = value.value;
  for (let i = 0; i < elements.length; i++) {
    const problem = elementProblem(value.elementType, elements[i]);
    if (problem) {
      throw new GgufError('bad-value', `${where}[${i}] (${valueTypeName(value.elementType)}): ${problem}`);
    }
  }
}

function checked<V extends GgufValue>(value: V): V {
  assertValidValue(value, `${describeValueType(value)} value`);
  return value;
}

export const u8 = (value: number) => checked({ type: GgufValueType.UINT8, value });
export const i8 = (value: number) => checked({ type: GgufValueType.INT8, value });
export const u16 = (value: number) => checked({ type: GgufValueType.UINT16, value });
export const i16 = (value: number) => checked({ type: GgufValueType.INT16, value });
export const u32 = (value: number) => checked({ type: GgufValueType.UINT32, value });
export const i32 = (value: number) => checked({ type: GgufValueType.INT32, value });
/** Rounded to float32 now (after the range check), so the value in memory is the one a reader will see. */
export const f32 = (value: number) => ({
  ...checked({ type: GgufValueType.FLOAT32, value }),
  value: Math.fround(value),
});
export const f64 = (value: number) => checked({ type: GgufValueType.FLOAT64, value });
export const u64 = (value: bigint | number) =>
  checked({ type: GgufValueType.UINT64, value: toBigInt(value) });
export const i64 = (value: bigint | number) => checked({ type: GgufValueType.INT64, value: toBigInt(value) });
export const bool = (value: boolean) => checked({ type: GgufValueType.BOOL, value });
export const str = (value: string) => checked({ type: GgufValueType.STRING, value });

function toBigInt(value: bigint | number): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new GgufError('bad-value', `${value} is not a safe integer; pass a bigint`);
  }
  return BigInt(value);
}

/** An array value: `arr(GgufValueType.STRING, ['a', 'b'])`, `arr(GgufValueType.ARRAY, [arr(...)])`. */
export function arr(elementType: GgufNumberType, values: readonly number[]): GgufArray;
export function arr(elementType: GgufBigIntType, values: readonly bigint[]): GgufArray;
export function arr(elementType: T['BOOL'], values: readonly boolean[]): GgufArray;
export function arr(elementType: T['STRING'], values: readonly string[]): GgufArray;
export function arr(elementType: T['ARRAY'], values: readonly GgufArray[]): GgufArray;
export function arr(elementType: GgufValueType, values: readonly unknown[]): GgufArray {
  const array = checked({ type: GgufValueType.ARRAY, elementType, value: [...values] } as GgufArray);
  return elementType === GgufValueType.FLOAT32
    ? ({ ...array, value: (array.value as number[]).map(Math.fround) } as GgufArray)
    : array;
}

/** Metadata as a Map: `metadataFrom({ 'general.architecture': str('llama') })`. */
export function metadataFrom(
  entries: ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>>,
): GgufMetadata {
  return entries instanceof Map ? new Map(entries) : new Map(Object.entries(entries));
}

type MetadataLike = ReadonlyMap<string, GgufValue>;

function typed<V>(meta: MetadataLike, key: string, type: GgufValueType, fallback: V | undefined): V {
  const value = meta.get(key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new GgufError('missing-key', `metadata key '${key}' (${valueTypeName(type)}) is missing`);
  }
  if (value.type !== type) {
    throw new GgufError(
      'wrong-type',
      `metadata key '${key}' is ${describeValueType(value)}, expected ${valueTypeName(type)}`,
    );
  }
  return value.value as V;
}

// Typed getters: throw `missing-key` (unless a fallback is given) or `wrong-type`, never coerce.
export const getU8 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.UINT8, fallback);
export const getI8 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.INT8, fallback);
export const getU16 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.UINT16, fallback);
export const getI16 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.INT16, fallback);
export const getU32 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.UINT32, fallback);
export const getI32 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.INT32, fallback);
export const getF32 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.FLOAT32, fallback);
export const getF64 = (meta: MetadataLike, key: string, fallback?: number) =>
  typed<number>(meta, key, GgufValueType.FLOAT64, fallback);
export const getU64 = (meta: MetadataLike, key: string, fallback?: bigint) =>
  typed<bigint>(meta, key, GgufValueType.UINT64, fallback);
export const getI64 = (meta: MetadataLike, key: string, fallback?: bigint) =>
  typed<bigint>(meta, key, GgufValueType.INT64, fallback);
export const getBool = (meta: MetadataLike, key: string, fallback?: boolean) =>
  typed<boolean>(meta, key, GgufValueType.BOOL, fallback);
export const getString = (meta: MetadataLike, key: string, fallback?: string) =>
  typed<string>(meta, key, GgufValueType.STRING, fallback);

/** The elements of an array-typed key, checking the element type too. */
export function getArray(meta: MetadataLike, key: string, elementType: GgufNumberType): readonly number[];
export function getArray(meta: MetadataLike, key: string, elementType: GgufBigIntType): readonly bigint[];
export function getArray(meta: MetadataLike, key: string, elementType: T['BOOL']): readonly boolean[];
export function getArray(meta: MetadataLike, key: string, elementType: T['STRING']): readonly string[];
export function getArray(meta: MetadataLike, key: string, elementType: T['ARRAY']): readonly GgufArray[];
export function getArray(meta: MetadataLike, key: string, elementType: GgufValueType): readonly unknown[] {
  const value = meta.get(key);
  const expected = `ARRAY of ${valueTypeName(elementType)}`;
  if (value === undefined) {
    throw new GgufError('missing-key', `metadata key '${key}' (${expected}) is missing`);
  }
  if (value.type !== GgufValueType.ARRAY || value.elementType !== elementType) {
    throw new GgufError(
      'wrong-type',
      `metadata key '${key}' is ${describeValueType(value)}, expected ${expected}`,
    );
  }
  return value.value;
}
