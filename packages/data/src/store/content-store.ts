import type { Readable } from 'node:stream';
import type { Hash } from '../hash.ts';

/**
 * Immutable blobs addressed by their keccak256. A small interface on purpose: a distributed
 * backend (object storage, IPFS) can replace the filesystem one when a deployment outgrows a disk.
 */
export interface ContentStore {
  /** Stores `data` (idempotent) and returns its address. Durable once the promise resolves. */
  put(data: Uint8Array): Promise<Hash>;
  /** Streams `source` into the store without holding it in memory; returns its address and size. */
  putStream(source: AsyncIterable<Uint8Array>): Promise<{ hash: Hash; size: number }>;
  /** The blob, after checking its hash; throws NotFoundError or CorruptBlobError. */
  get(hash: Hash): Promise<Uint8Array>;
  /**
   * A byte range of the blob, NOT verified (that would mean reading it all): for blobs packing
   * smaller content-addressed items, whose readers check each item against its own hash.
   */
  getRange(hash: Hash, start: number, length: number): Promise<Uint8Array>;
  has(hash: Hash): Promise<boolean>;
  /**
   * The blob as a stream, hashed on the way; the stream errors with CorruptBlobError before its
   * end if the content does not match, so a consumer that waits for the end never accepts bad data.
   */
  stream(hash: Hash): Readable;
}

export class NotFoundError extends Error {
  constructor(readonly hash: Hash) {
    super(`no blob ${hash} in the content store`);
    this.name = 'NotFoundError';
  }
}

/** A stored blob whose bytes no longer hash to its address: reported, never served. */
export class CorruptBlobError extends Error {
  constructor(
    readonly hash: Hash,
    readonly actual: Hash,
  ) {
    super(`blob ${hash} is corrupt: its content hashes to ${actual}`);
    this.name = 'CorruptBlobError';
  }
}
