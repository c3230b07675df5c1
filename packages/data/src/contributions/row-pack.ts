import { keccak256, type Hash } from '../hash.ts';
import { CorruptBlobError, type ContentStore } from '../store/content-store.ts';

/** Bytes per row in a contribution's index blob: hash (32), offset (8), length (4), quality (1). */
export const INDEX_ENTRY_BYTES = 45;

export interface StoredRow {
  index: number;
  hash: Hash;
  text: string;
  quality: number;
}

/**
 * A contribution's rows are stored as two blobs: the texts back to back (the pack, streamed into the
 * store as rows are accepted), and this fixed-width index of (hash, offset, length, quality) per row,
 * written once every row is known. Both are content-addressed and immutable, so writing them before
 * the record is committed leaves, after a crash, only unreferenced blobs.
 */
export async function writeRowIndex(
  store: ContentStore,
  rows: { hashes: readonly Hash[]; lengths: readonly number[]; qualities: readonly number[] },
): Promise<Hash> {
  const index = Buffer.alloc(rows.hashes.length * INDEX_ENTRY_BYTES);
  let offset = 0;
  rows.hashes.forEach((hash, i) => {
    const at = i * INDEX_ENTRY_BYTES;
    index.write(hash.slice(2), at, 'hex');
    index.writeBigUInt64BE(BigInt(offset), at + 32);
    index.writeUInt32BE(rows.lengths[i]!, at + 40);
    index.writeUInt8(Math.round(rows.qualities[i]! * 255), at + 44);
    offset += rows.lengths[i]!;
  });
  return store.put(index);
}

/**
 * Reads rows `from`..`from + count - 1` of a pack, each checked against the hash its index entry
 * names (a row whose bytes do not hash to its address is reported as corrupt, never returned).
 */
export async function readRows(
  store: ContentStore,
  ref: { pack: Hash; index: Hash; rowCount: number },
  from: number,
  count: number,
): Promise<StoredRow[]> {
  const end = Math.min(ref.rowCount, from + count);
  if (from >= end) return [];
  const entries = Buffer.from(
    await store.getRange(ref.index, from * INDEX_ENTRY_BYTES, (end - from) * INDEX_ENTRY_BYTES),
  );
  const first = Number(entries.readBigUInt64BE(32));
  const last = (end - from - 1) * INDEX_ENTRY_BYTES;
  const stop = Number(entries.readBigUInt64BE(last + 32)) + entries.readUInt32BE(last + 40);
  const texts = Buffer.from(await store.getRange(ref.pack, first, stop - first));
  const rows: StoredRow[] = [];
  for (let i = 0; i < end - from; i++) {
    const at = i * INDEX_ENTRY_BYTES;
    const hash = `0x${entries.toString('hex', at, at + 32)}` as Hash;
    const offset = Number(entries.readBigUInt64BE(at + 32)) - first;
    const bytes = texts.subarray(offset, offset + entries.readUInt32BE(at + 40));
    const actual = keccak256(bytes);
    if (actual !== hash) throw new CorruptBlobError(hash, actual);
    rows.push({
      index: from + i,
      hash,
      text: bytes.toString('utf8'),
      quality: entries.readUInt8(at + 44) / 255,
    });
  }
  return rows;
}

/** Every row hash of a contribution, in order (the leaves of its Merkle tree). */
export async function readRowHashes(store: ContentStore, indexBlob: Hash): Promise<Hash[]> {
  const index = Buffer.from(await store.get(indexBlob));
  const hashes: Hash[] = [];
  for (let at = 0; at < index.length; at += INDEX_ENTRY_BYTES) {
    hashes.push(`0x${index.toString('hex', at, at + 32)}` as Hash);
  }
  return hashes;
}
