import { encodeAbiParameters, hexToBigInt, keccak256, type Hex } from 'viem';
import type { Hash } from '../hash.ts';

/**
 * The verifiable preview's randomness, defined so that anyone with a node can re-derive it.
 *
 * Seed. Let P be the block holding the version's `VersionPublished` event and H the hash of block
 * P + 1 (the first block after it, unknown when the version was published, so nobody choosing what
 * goes into the version could steer the sample):
 *
 *     seed = keccak256(abi.encode(bytes32 H, uint256 datanetId, uint256 version))
 *
 * Until block P + 1 exists there is no preview.
 *
 * Sample. With R the version's row count (`versionInfo`), F its first row (the `rowOffset` of its
 * first contribution) and k = min(n, R):
 *
 *     for counter = 0, 1, 2, ...:
 *         x = uint256(keccak256(abi.encode(bytes32 seed, uint256 counter)))
 *         p = x mod R                   // position in the version
 *         if p was drawn before: skip   // rejection of repeats
 *         else: sample F + p            // the Datanet-wide row index
 *     until k positions are drawn.
 *
 * The rows are listed in the order they were drawn. (The modulo bias of a 256-bit value reduced mod
 * R is below R / 2^256: negligible.)
 */
export const PREVIEW_SEED_RULE =
  'seed = keccak256(abi.encode(bytes32 blockhash(publishBlock + 1), uint256 datanetId, uint256 version)); ' +
  'for counter = 0, 1, ...: p = uint256(keccak256(abi.encode(bytes32 seed, uint256 counter))) mod rowCount, ' +
  'skipping repeats, until min(n, rowCount) distinct positions; row = firstRow + p, in draw order';

/** Default and largest preview sizes. */
export const DEFAULT_PREVIEW_ROWS = 20;
export const MAX_PREVIEW_ROWS = 100;

/** keccak256(abi.encode(bytes32 blockHash, uint256 datanetId, uint256 version)). */
export function previewSeed(blockHash: Hex, datanetId: bigint, version: bigint): Hash {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
      [blockHash, datanetId, version],
    ),
  ) as Hash;
}

/** The k = min(n, rowCount) distinct positions (0 ≤ p < rowCount) the rule draws from `seed`, in draw order. */
export function samplePositions(seed: Hex, rowCount: number, n: number): number[] {
  if (!Number.isSafeInteger(rowCount) || rowCount < 0) throw new RangeError(`bad row count ${rowCount}`);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad sample size ${n}`);
  const k = Math.min(n, rowCount);
  const drawn = new Set<number>();
  const positions: number[] = [];
  const rows = BigInt(rowCount);
  for (let counter = 0n; positions.length < k; counter++) {
    const x = hexToBigInt(
      keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [seed, counter])),
    );
    const p = Number(x % rows);
    if (drawn.has(p)) continue;
    drawn.add(p);
    positions.push(p);
  }
  return positions;
}

/** The Datanet-wide row indexes of the sample: firstRow + each drawn position. */
export function sampleRows(seed: Hex, firstRow: number, rowCount: number, n: number): number[] {
  return samplePositions(seed, rowCount, n).map((p) => firstRow + p);
}

/** The preview size a request asks for: default 20, at most 100, at least 1. */
export function previewSize(n: unknown): number {
  if (n === undefined || n === null || n === '') return DEFAULT_PREVIEW_ROWS;
  const value = typeof n === 'number' ? n : Number(n);
  if (!Number.isInteger(value) || value < 1 || value > MAX_PREVIEW_ROWS)
    throw new RangeError(`n must be a whole number from 1 to ${MAX_PREVIEW_ROWS}`);
  return value;
}
