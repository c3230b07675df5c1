/**
 * The LSH buckets of one contribution's unique rows while it is being checked, in typed arrays.
 *
 * A contribution of 100 MB has ~250,000 rows and 32 band keys per row: a `Map` of 53-bit keys would
 * box every key and cost ~50 bytes per (row, band), several hundred MB for one upload. Here a band
 * key costs ~20 bytes: an open-addressing table of 32-bit key folds (slot → newest entry) and one
 * `next` link per (row, band). Two different keys that fold to the same 32 bits share a chain; that
 * only adds candidates, which the caller's signature comparison rejects.
 */
import { DEFAULT_MAX_BUCKET } from './lsh-index.ts';

const EMPTY = -1;

export class LocalBandTable {
  private slotKeys: Int32Array;
  /** Newest entry of the slot's chain, or EMPTY. */
  private slotHeads: Int32Array;
  private slotLengths: Int32Array;
  private slotsUsed = 0;
  /** Per entry (row × bands + band): the previous entry of the same chain, or EMPTY. */
  private next: Int32Array;
  private signatures: Uint32Array;
  /** Per row: the query that last returned it, so one row is listed once per query. */
  private seen: Int32Array;
  private query = 0;
  private rows = 0;

  constructor(
    private readonly bands: number,
    private readonly numPerm: number,
    private readonly maxBucket = DEFAULT_MAX_BUCKET,
  ) {
    this.slotKeys = new Int32Array(1 << 12);
    this.slotHeads = new Int32Array(1 << 12).fill(EMPTY);
    this.slotLengths = new Int32Array(1 << 12);
    this.next = new Int32Array(bands * 256);
    this.signatures = new Uint32Array(numPerm * 256);
    this.seen = new Int32Array(256);
  }

  get size(): number {
    return this.rows;
  }

  signature(id: number): Uint32Array {
    return this.signatures.subarray(id * this.numPerm, (id + 1) * this.numPerm);
  }

  /** The rows sharing a band key with `keys`, ascending (the earliest first). */
  candidates(keys: readonly number[]): number[] {
    const stamp = ++this.query;
    const out: number[] = [];
    for (const key of keys) {
      const slot = this.find(fold(key));
      if (this.slotHeads[slot] === EMPTY) continue;
      for (let e = this.slotHeads[slot]!; e !== EMPTY; e = this.next[e]!) {
        const row = Math.floor(e / this.bands);
        if (this.seen[row] !== stamp) {
          this.seen[row] = stamp;
          out.push(row);
        }
      }
    }
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** Adds a row; returns its id (0, 1, 2, … in the order of calls). */
  add(signature: Uint32Array, keys: readonly number[]): number {
    const id = this.rows++;
    this.reserve(this.rows);
    this.signatures.set(signature, id * this.numPerm);
    for (let band = 0; band < this.bands; band++) {
      const entry = id * this.bands + band;
      const key = fold(keys[band]!);
      const slot = this.find(key);
      if (this.slotHeads[slot] === EMPTY) {
        this.slotKeys[slot] = key;
        this.slotHeads[slot] = entry;
        this.slotLengths[slot] = 1;
        this.next[entry] = EMPTY;
        if (++this.slotsUsed * 2 > this.slotKeys.length) this.rehash();
      } else if (this.slotLengths[slot]! < this.maxBucket) {
        this.next[entry] = this.slotHeads[slot]!;
        this.slotHeads[slot] = entry;
        this.slotLengths[slot]!++;
      } else {
        this.next[entry] = EMPTY;
      }
    }
    return id;
  }

  /** The slot holding `key`, or the empty slot where it would go (linear probing). */
  private find(key: number): number {
    const mask = this.slotKeys.length - 1;
    // Band keys are hash outputs already: their low bits index the table well.
    let slot = key & mask;
    while (this.slotHeads[slot] !== EMPTY && this.slotKeys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  private rehash(): void {
    const keys = this.slotKeys;
    const heads = this.slotHeads;
    const lengths = this.slotLengths;
    this.slotKeys = new Int32Array(keys.length * 2);
    this.slotHeads = new Int32Array(keys.length * 2).fill(EMPTY);
    this.slotLengths = new Int32Array(keys.length * 2);
    for (let s = 0; s < keys.length; s++) {
      if (heads[s] === EMPTY) continue;
      const slot = this.find(keys[s]!);
      this.slotKeys[slot] = keys[s]!;
      this.slotHeads[slot] = heads[s]!;
      this.slotLengths[slot] = lengths[s]!;
    }
  }

  private reserve(rows: number): void {
    if (rows <= this.seen.length) return;
    const capacity = this.seen.length * 2;
    this.next = grow(this.next, capacity * this.bands);
    this.signatures = grow(this.signatures, capacity * this.numPerm);
    this.seen = grow(this.seen, capacity);
  }
}

/** The low 32 bits of a 53-bit band key (mixed with the high ones), as an int32. */
function fold(key: number): number {
  return (key ^ Math.floor(key / 4294967296)) | 0;
}

function grow<T extends Int32Array | Uint32Array>(array: T, length: number): T {
  const out = new (array.constructor as new (n: number) => T)(length);
  out.set(array);
  return out;
}
