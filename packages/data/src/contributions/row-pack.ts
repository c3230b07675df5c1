import { keccak256, type Hash } from '../hash.ts';
import { CorruptBlobError, type ContentStore } from '../store/content-store.ts';

/** Bytes per row in a contribution's index blob: hash (32), offset (8), length (4), quality (1). */
export const INDEX_ENTRY_BYTES = 45;

export interface PackedRow {
  hash: Hash;
  text: string;
  /** 0..1 */
  quality: number;
}

export interface StoredRow {
  index: number;
  hash: Hash;
  text: string;
  quality: number;
}

/**
 * Writes a contribution's rows as two blobs: the texts back to back (`pack`), and a fixed-width
 * index of (hash, offset, length, quality) per row. Both are content-addressed and immutable, so
 * writing them before the record is committed leaves, after a crash, only unreferenced blobs.
 */
export async function writeRowPack(
  store: ContentStore,
  rows: readonly PackedRow[],
): Promise<{ pack: Hash; index: Hash; byteSize: number }> {
  const index = Buffer.alloc(rows.length * INDEX_ENTRY_BYTES);
  let offset = 0;
  rows.forEach((row, i) => {
    const length = Buffer.byteLength(row.text, 'utf8');
    const at = i * INDEX_ENTRY_BYTES;
    index.write(row.hash.slice(2), at, 'hex');
    index.writeBigUInt64BE(BigInt(offset), at + 32);
    index.writeUInt32BE(length, at + 40);
    index.writeUInt8(Math.round(row.quality * 255), at + 44);
    offset += length;
  });
  async function* texts(): AsyncGenerator<Uint8Array> {
    const batch: Buffer[] = [];
    let size = 0;
    for (const row of rows) {
      const bytes = Buffer.from(row.text, 'utf8');
      batch.push(bytes);
      size += bytes.length;
      if (size >= 1 << 20) {
        yield Buffer.concat(batch.splice(0));
        size = 0;
      }
    }
    if (batch.length > 0) yield Buffer.concat(batch);
  }
  const pack = await store.putStream(texts());
  return { pack: pack.hash, index: await store.put(index), byteSize: pack.size };
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
