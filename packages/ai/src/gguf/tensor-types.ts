/**
 * ggml tensor types with their ids as stored in GGUF tensor infos. ggml only ever appends to this
 * enum; the gaps are types that were removed from files (listed in RETIRED below).
 */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/**
 * Elements per block and bytes per block: all a reader needs to size and bound a tensor it cannot
 * decode. Values follow ggml's type traits (QK_K = 256 for the k- and i-quants).
 */
export interface GgmlTypeLayout {
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
}

const QK_K = 256;
const LAYOUT_BY_NAME: Record<keyof typeof GgmlType, readonly [blockSize: number, typeSize: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 2 + 16],
  Q4_1: [32, 2 + 2 + 16],
  Q5_0: [32, 2 + 4 + 16],
  Q5_1: [32, 2 + 2 + 4 + 16],
  Q8_0: [32, 2 + 32],
  Q8_1: [32, 4 + 4 + 32],
  Q2_K: [QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
  Q3_K: [QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  Q4_K: [QK_K, 2 + 2 + QK_K / 2 + 12],
  Q5_K: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  Q6_K: [QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  Q8_K: [QK_K, 4 + QK_K + QK_K / 8],
  IQ2_XXS: [QK_K, 2 + QK_K / 4],
  IQ2_XS: [QK_K, 2 + QK_K / 4 + QK_K / 32],
  IQ3_XXS: [QK_K, 2 + QK_K / 4 + QK_K / 8],
  IQ1_S: [QK_K, 2 + QK_K / 8 + QK_K / 16],
  IQ4_NL: [32, 2 + 16],
  IQ3_S: [QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  IQ2_S: [QK_K, 2 + QK_K / 4 + QK_K / 16],
  IQ4_XS: [QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  BF16: [1, 2],
  TQ1_0: [QK_K, 2 + 4 * 13],
  TQ2_0: [QK_K, 2 + 64],
  MXFP4: [32, 1 + 16],
};

const LAYOUTS = new Map<number, GgmlTypeLayout>(
  Object.entries(LAYOUT_BY_NAME).map(([name, [blockSize, typeSize]]) => [
    GgmlType[name as keyof typeof GgmlType],
    { name, blockSize, typeSize },
  ]),
);

/**
 * Ids with a name but no layout here: formats removed from GGUF files, and types newer than this
 * table. Named so that an error says "NVFP4" rather than "type 40".
 */
const UNSIZED: ReadonlyMap<number, string> = new Map([
  [4, 'Q4_2 (removed from ggml)'],
  [5, 'Q4_3 (removed from ggml)'],
  [31, 'Q4_0_4_4 (removed from GGUF files; repacked at load time now)'],
  [32, 'Q4_0_4_8 (removed from GGUF files; repacked at load time now)'],
  [33, 'Q4_0_8_8 (removed from GGUF files; repacked at load time now)'],
  [36, 'IQ4_NL_4_4 (removed from GGUF files)'],
  [37, 'IQ4_NL_4_8 (removed from GGUF files)'],
  [38, 'IQ4_NL_8_8 (removed from GGUF files)'],
  [40, 'NVFP4'],
  [41, 'Q1_0'],
  [42, 'Q2_0'],
]);

export function ggmlTypeLayout(type: number): GgmlTypeLayout | undefined {
  return LAYOUTS.get(type);
}

/** "Q4_K (12)", or a description of an id this code has no layout for. */
export function ggmlTypeName(type: number): string {
  const name = LAYOUTS.get(type)?.name ?? UNSIZED.get(type);
  return name === undefined ? `unknown ggml type ${type}` : `${name} (${type})`;
}

/**
 * Bytes of a tensor of `type` and shape `ne`, or a reason it has none. Computed in bigint so that a
 * hostile shape cannot overflow into a small, plausible number.
 */
export function tensorByteLength(
  layout: GgmlTypeLayout,
  ne: readonly bigint[],
): { ok: true; bytes: bigint; elements: bigint } | { ok: false; reason: string } {
  const [ne0 = 1n] = ne;
  const blockSize = BigInt(layout.blockSize);
  if (ne0 % blockSize !== 0n) {
    return {
      ok: false,
      reason: `row length ne[0] = ${ne0} is not a multiple of the ${layout.name} block size ${layout.blockSize}`,
    };
  }
  const elements = ne.reduce((a, b) => a * b, 1n);
  return { ok: true, bytes: (elements / blockSize) * BigInt(layout.typeSize), elements };
}
