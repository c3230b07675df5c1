/**
 * Locality-sensitive hashing over MinHash signatures (banding), with in-memory and LevelDB indexes.
 *
 * A signature of n = b·r values is cut into b bands of r consecutive values; two rows become candidates
 * when they agree on every value of at least one band. For rows with Jaccard similarity s,
 *
 *     P[candidate] = 1 − (1 − s^r)^b.
 *
 * Default b = 32, r = 4 (n = 128). The S-curve's midpoint (1/b)^(1/r) ≈ 0.42, and
 *
 *     s        0.1     0.2    0.3    0.5    0.6    0.7       0.8        0.9
 *     32×4     0.003   0.05   0.23   0.87   0.988  0.99985   1 − 5e-8   1 − 1e-23
 *     16×8     ~0      ~0     0.001  0.06   0.24   0.61      0.947      0.9994
 *
 * so a pair at the 0.8 threshold is missed by banding with probability ~5·10⁻⁸ (16×8 would miss 5 %),
 * while unrelated text (s < 0.2) seldom becomes a candidate. The price is that pairs at 0.5–0.7 mostly do
 * become candidates; each costs one 128-value comparison of signatures, which rejects them. Recall is
 * therefore bounded by the verification step, not by banding (see dedup-stage.ts).
 *
 * Band keys: the r values of band j are hashed (MurmurHash3 steps, seeded by j) into a 53-bit integer,
 * so one map or one LevelDB key space holds every band and a spurious key collision needs ~2^53 rows.
 */
import { ClassicLevel } from 'classic-level';
import { mkdir } from 'node:fs/promises';
import { fmix32, murmurStep } from './shingles.ts';
import type { DupRef } from './exact-index.ts';

export interface LshParams {
  numPerm: number;
  bands: number;
  rows: number;
}

export const DEFAULT_LSH_PARAMS: Readonly<LshParams> = Object.freeze({ numPerm: 128, bands: 32, rows: 4 });

/** Default cap on ids kept per band bucket (the earliest win); see {@link MemoryLshIndex}. */
export const DEFAULT_MAX_BUCKET = 10_000;

export function checkLshParams(p: LshParams): void {
  for (const [name, v] of Object.entries(p)) {
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`LSH ${name} must be a positive integer, got ${v}`);
  }
  if (p.bands * p.rows > p.numPerm) {
    throw new RangeError(`LSH bands × rows (${p.bands}×${p.rows}) exceeds the signature length ${p.numPerm}`);
  }
}

/** P[candidate] for a pair with Jaccard similarity s under b bands of r rows. */
export function candidateProbability(s: number, bands: number, rows: number): number {
  return 1 - Math.pow(1 - Math.pow(s, rows), bands);
}

/** The b band keys of a signature (safe integers < 2^53). */
export function bandKeys(sig: Uint32Array, bands: number, rows: number): number[] {
  if (sig.length < bands * rows)
    throw new RangeError(`signature has ${sig.length} values, need ${bands * rows}`);
  const keys = new Array<number>(bands);
  for (let band = 0; band < bands; band++) {
    let h1 = Math.imul(band + 1, 0x9e3779b1);
    let h2 = Math.imul(band + 1, 0x85ebca77) ^ 0x27d4eb2f;
    for (let i = band * rows, end = i + rows; i < end; i++) {
      h1 = murmurStep(h1, sig[i]!);
      h2 = murmurStep(h2, sig[i]! ^ 0x5bd1e995);
    }
    keys[band] = fmix32(h1 ^ rows) * 2097152 + (fmix32(h2 ^ band) >>> 11); // 32 + 21 bits
  }
  return keys;
}

/** A row to index: its original's reference, signature and band keys. */
export interface LshEntry {
  ref: DupRef;
  signature: Uint32Array;
  keys: readonly number[];
}

export interface LshStored {
  ref: DupRef;
  signature: Uint32Array;
}

/**
 * Band key → ids of indexed rows. Ids are assigned by `addMany` in increasing order, so a smaller id is
 * an earlier row. Lookups are batched per contribution so a disk-backed index needs few round trips.
 */
export interface LshIndex {
  readonly params: LshParams;
  /** For each row's band keys: the ids sharing at least one band key, ascending, without repeats. */
  query(keysPerRow: ReadonlyArray<readonly number[]>): Promise<number[][]>;
  /** Reference and signature of indexed rows (ids that do not exist are absent from the map). */
  entries(ids: readonly number[]): Promise<Map<number, LshStored>>;
  /** Indexes rows; returns their ids. */
  addMany(entries: readonly LshEntry[]): Promise<number[]>;
}

function mergeIds(lists: Iterable<ArrayLike<number>>): number[] {
  const seen = new Set<number>();
  for (const list of lists) for (let i = 0; i < list.length; i++) seen.add(list[i]!);
  return [...seen].sort((x, y) => x - y);
}

function checkEntry(e: LshEntry, p: LshParams): void {
  if (e.signature.length !== p.numPerm) {
    throw new RangeError(`signature has ${e.signature.length} values, the index expects ${p.numPerm}`);
  }
  if (e.keys.length !== p.bands)
    throw new RangeError(`entry has ${e.keys.length} band keys, expected ${p.bands}`);
}

/**
 * In-memory LSH index. A bucket holds at most `maxBucket` ids (the earliest): text shared verbatim by
 * very many non-duplicate rows (a boilerplate sentence in a short row) cannot make every lookup scan
 * the whole Datanet; such rows are still found through their other bands.
 */
export class MemoryLshIndex implements LshIndex {
  readonly params: LshParams;
  // Most buckets hold one id: it is stored as a number, an array only from the second id on.
  private readonly buckets = new Map<number, number | number[]>();
  private readonly refs: DupRef[] = [];
  private signatures: Uint32Array;

  private readonly maxBucket: number;

  /** `capacity`: rows to allocate signature space for up front (grows by doubling). */
  constructor(params: Partial<LshParams> = {}, options: { maxBucket?: number; capacity?: number } = {}) {
    this.params = { ...DEFAULT_LSH_PARAMS, ...params };
    checkLshParams(this.params);
    this.maxBucket = options.maxBucket ?? DEFAULT_MAX_BUCKET;
    this.signatures = new Uint32Array(this.params.numPerm * Math.max(1, options.capacity ?? 1024));
  }

  get size(): number {
    return this.refs.length;
  }

  /** Synchronous form of {@link query} for one row. */
  candidates(keys: readonly number[]): number[] {
    const lists: ArrayLike<number>[] = [];
    for (const k of keys) {
      const ids = this.buckets.get(k);
      if (ids !== undefined) lists.push(typeof ids === 'number' ? [ids] : ids);
    }
    if (lists.length === 0) return [];
    if (lists.length === 1) return Array.from(lists[0]!);
    return mergeIds(lists);
  }

  /** Synchronous form of {@link entries} for one id. */
  entry(id: number): LshStored | undefined {
    const ref = this.refs[id];
    if (!ref) return undefined;
    const n = this.params.numPerm;
    return { ref, signature: this.signatures.subarray(id * n, (id + 1) * n) };
  }

  /** Synchronous form of {@link addMany} for one row. */
  add(entry: LshEntry): number {
    checkEntry(entry, this.params);
    const id = this.refs.length;
    const n = this.params.numPerm;
    if ((id + 1) * n > this.signatures.length) {
      const grown = new Uint32Array(this.signatures.length * 2);
      grown.set(this.signatures);
      this.signatures = grown;
    }
    this.signatures.set(entry.signature, id * n);
    this.refs.push({ ...entry.ref });
    for (const k of entry.keys) {
      const ids = this.buckets.get(k);
      if (ids === undefined) this.buckets.set(k, id);
      else if (typeof ids === 'number') {
        if (ids !== id && this.maxBucket > 1) this.buckets.set(k, [ids, id]);
      } else if (ids.length < this.maxBucket && ids[ids.length - 1] !== id) ids.push(id);
    }
    return id;
  }

  async query(keysPerRow: ReadonlyArray<readonly number[]>): Promise<number[][]> {
    return keysPerRow.map((keys) => this.candidates(keys));
  }

  async entries(ids: readonly number[]): Promise<Map<number, LshStored>> {
    const out = new Map<number, LshStored>();
    for (const id of ids) {
      const e = this.entry(id);
      if (e) out.set(id, e);
    }
    return out;
  }

  async addMany(entries: readonly LshEntry[]): Promise<number[]> {
    return entries.map((e) => this.add(e));
  }
}

const META_KEY = Uint8Array.of(0x6d); // 'm'
const BUCKET_PREFIX = 0x62; // 'b'
const ENTRY_PREFIX = 0x65; // 'e'
const LAYOUT_VERSION = 1;
const EMPTY_IDS = new Uint32Array(0);

interface LevelLshMeta {
  version: number;
  numPerm: number;
  bands: number;
  rows: number;
  nextId: number;
}

/** Writes 'b' ‖ the 53-bit key big-endian in 7 bytes at `at`. */
function writeBucketKey(out: Uint8Array, at: number, key: number): void {
  const hi = Math.floor(key / 4294967296);
  const lo = key >>> 0;
  out[at] = BUCKET_PREFIX;
  out[at + 1] = hi >>> 16;
  out[at + 2] = (hi >>> 8) & 0xff;
  out[at + 3] = hi & 0xff;
  out[at + 4] = lo >>> 24;
  out[at + 5] = (lo >>> 16) & 0xff;
  out[at + 6] = (lo >>> 8) & 0xff;
  out[at + 7] = lo & 0xff;
}

const BUCKET_KEY_BYTES = 8;

/**
 * The bucket keys of `keys` as views into one buffer (LevelDB copies keys when a call is made, so a
 * whole contribution's keys cost one allocation instead of one ArrayBuffer per key).
 */
function bucketKeys(keys: ArrayLike<number>): Uint8Array[] {
  const buf = Buffer.allocUnsafe(keys.length * BUCKET_KEY_BYTES);
  const out = new Array<Uint8Array>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    writeBucketKey(buf, i * BUCKET_KEY_BYTES, keys[i]!);
    out[i] = buf.subarray(i * BUCKET_KEY_BYTES, (i + 1) * BUCKET_KEY_BYTES);
  }
  return out;
}

function entryKeys(ids: readonly number[]): Uint8Array[] {
  const buf = Buffer.allocUnsafe(ids.length * 5);
  const out = new Array<Uint8Array>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const at = i * 5;
    buf[at] = ENTRY_PREFIX;
    buf.writeUInt32BE(ids[i]! >>> 0, at + 1);
    out[i] = buf.subarray(at, at + 5);
  }
  return out;
}

function decodeIds(value: Uint8Array): Uint32Array {
  const ids = new Uint32Array(value.byteLength >>> 2);
  if (LITTLE_ENDIAN) {
    new Uint8Array(ids.buffer).set(value.subarray(0, ids.length * 4));
    return ids;
  }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  for (let i = 0; i < ids.length; i++) ids[i] = view.getUint32(i * 4, true);
  return ids;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Sorted, unique copy of `values` (53-bit integers). */
function sortedUniqueKeys(values: Float64Array): Float64Array {
  if (values.length < 2) return values;
  values.sort();
  let n = 1;
  for (let i = 1; i < values.length; i++) if (values[i] !== values[n - 1]) values[n++] = values[i]!;
  return values.subarray(0, n);
}

/** Position of `key` in the sorted `keys`, or -1. */
function findKey(keys: Float64Array, key: number): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = keys[mid]!;
    if (k < key) lo = mid + 1;
    else if (k > key) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function decodeEntry(value: Uint8Array, numPerm: number): LshStored {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const signature = new Uint32Array(numPerm);
  for (let i = 0; i < numPerm; i++) signature[i] = view.getUint32(i * 4, true);
  const json = Buffer.from(value.buffer, value.byteOffset + numPerm * 4, value.byteLength - numPerm * 4);
  const [contributionId, rowIndex, contributor] = JSON.parse(json.toString('utf8')) as [
    string,
    number,
    string,
  ];
  return { ref: { contributionId, rowIndex, contributor }, signature };
}

/**
 * LSH index on LevelDB (classic-level). Layout:
 *   `m`                    → JSON {version, numPerm, bands, rows, nextId}
 *   `b` ‖ 7-byte band key  → the bucket's ids, uint32 little-endian, ascending
 *   `e` ‖ 4-byte id (BE)   → the signature (numPerm × uint32 LE) ‖ JSON [contributionId, rowIndex, contributor]
 * A row costs a ~600-byte entry plus 32 bucket records (most buckets hold one id: ~20 bytes each with
 * LevelDB's per-record overhead), ~1.3 KB in all, so 10 million rows are ~13 GB on disk (less after
 * LevelDB's compression) and only LevelDB's own caches in memory. A lookup of many rows is two `getMany`
 * calls (buckets, then the candidates' entries). `addMany` reads the touched buckets, appends and writes everything — the
 * new entries, buckets and `nextId` — in one synced batch, so a crash leaves all of it or none. It is
 * not safe to run two `addMany` calls on one index concurrently (the Datanet's writer is single).
 */
export class LevelLshIndex implements LshIndex {
  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly params: LshParams,
    private nextId: number,
    private readonly maxBucket: number,
  ) {}

  /**
   * Opens (creating if needed) the index in `dir`. The parameters are stored on creation; reopening
   * with different ones throws, since signatures and band keys would no longer be comparable.
   */
  static async open(
    dir: string,
    params: Partial<LshParams> = {},
    maxBucket = DEFAULT_MAX_BUCKET,
  ): Promise<LevelLshIndex> {
    const p = { ...DEFAULT_LSH_PARAMS, ...params };
    checkLshParams(p);
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    const raw = await db.get(META_KEY);
    let nextId = 0;
    if (raw === undefined) {
      const meta: LevelLshMeta = { version: LAYOUT_VERSION, ...p, nextId: 0 };
      await db.put(META_KEY, Buffer.from(JSON.stringify(meta)), { sync: true });
    } else {
      const meta = JSON.parse(Buffer.from(raw).toString('utf8')) as LevelLshMeta;
      if (
        meta.version !== LAYOUT_VERSION ||
        meta.numPerm !== p.numPerm ||
        meta.bands !== p.bands ||
        meta.rows !== p.rows
      ) {
        await db.close();
        throw new Error(
          `LSH index in ${dir} was built with ${JSON.stringify({ ...meta, nextId: undefined })}, ` +
            `opened with ${JSON.stringify(p)}`,
        );
      }
      nextId = meta.nextId;
    }
    return new LevelLshIndex(db, p, nextId, maxBucket);
  }

  get size(): number {
    return this.nextId;
  }

  /** Bucket contents (an empty array for an absent bucket) of `keys`, aligned with them. */
  private async buckets(keys: Float64Array): Promise<Uint32Array[]> {
    const values = await this.db.getMany(bucketKeys(keys));
    return values.map((v) => (v === undefined ? EMPTY_IDS : decodeIds(v)));
  }

  async query(keysPerRow: ReadonlyArray<readonly number[]>): Promise<number[][]> {
    let total = 0;
    for (const keys of keysPerRow) total += keys.length;
    if (total === 0) return keysPerRow.map(() => []);
    const all = new Float64Array(total);
    let n = 0;
    for (const keys of keysPerRow) for (const k of keys) all[n++] = k;
    const unique = sortedUniqueKeys(all);
    const lists = await this.buckets(unique);
    const found: Uint32Array[] = [];
    return keysPerRow.map((keys) => {
      found.length = 0;
      for (const k of keys) {
        const ids = lists[findKey(unique, k)]!;
        if (ids.length > 0) found.push(ids);
      }
      if (found.length === 0) return [];
      // A bucket is ascending without repeats already.
      return found.length === 1 ? Array.from(found[0]!) : mergeIds(found);
    });
  }

  async entries(ids: readonly number[]): Promise<Map<number, LshStored>> {
    const out = new Map<number, LshStored>();
    if (ids.length === 0) return out;
    const values = await this.db.getMany(entryKeys(ids));
    ids.forEach((id, i) => {
      const v = values[i];
      if (v !== undefined) out.set(id, decodeEntry(v, this.params.numPerm));
    });
    return out;
  }

  async addMany(entries: readonly LshEntry[]): Promise<number[]> {
    if (entries.length === 0) return [];
    for (const e of entries) checkEntry(e, this.params);
    const { bands, numPerm } = this.params;
    // Every (band key, id) pair, then the touched buckets sorted, then per bucket its new ids ascending
    // (a CSR layout: typed arrays, no per-bucket objects).
    const pairs = entries.length * bands;
    const pairKeys = new Float64Array(pairs);
    entries.forEach((e, i) => {
      for (let b = 0; b < bands; b++) pairKeys[i * bands + b] = e.keys[b]!;
    });
    const touched = sortedUniqueKeys(pairKeys.slice());
    const existing = await this.buckets(touched);
    const first = this.nextId;
    const offsets = new Int32Array(touched.length + 1);
    const slots = new Int32Array(pairs);
    for (let j = 0; j < pairs; j++) {
      const slot = findKey(touched, pairKeys[j]!);
      slots[j] = slot;
      offsets[slot + 1]!++;
    }
    for (let s = 0; s < touched.length; s++) offsets[s + 1]! += offsets[s]!;
    const cursor = offsets.slice(0, touched.length);
    const added = new Uint32Array(pairs);
    for (let j = 0; j < pairs; j++) added[cursor[slots[j]!]!++] = first + Math.floor(j / bands);

    const batch = this.db.batch();
    const ids: number[] = [];
    // Entries: signature ‖ reference JSON, all in one buffer.
    const refs = entries.map((e) =>
      JSON.stringify([e.ref.contributionId, e.ref.rowIndex, e.ref.contributor]),
    );
    let entryBytes = 0;
    for (const r of refs) entryBytes += numPerm * 4 + Buffer.byteLength(r, 'utf8');
    const entryBuf = Buffer.allocUnsafe(entryBytes);
    const keys = entryKeys(entries.map((_, i) => first + i));
    let at = 0;
    entries.forEach((e, i) => {
      const begin = at;
      for (let p = 0; p < numPerm; p++, at += 4) entryBuf.writeUInt32LE(e.signature[p]!, at);
      at += entryBuf.write(refs[i]!, at, 'utf8');
      batch.put(keys[i]!, entryBuf.subarray(begin, at));
      ids.push(first + i);
    });
    // Buckets: the existing ids, then the new ones (up to maxBucket), all in one buffer.
    let bucketBytes = 0;
    for (let s = 0; s < touched.length; s++) {
      bucketBytes += (existing[s]!.length + offsets[s + 1]! - offsets[s]!) * 4;
    }
    const bucketBuf = Buffer.allocUnsafe(bucketBytes);
    const keyBuf = Buffer.allocUnsafe(touched.length * BUCKET_KEY_BYTES);
    at = 0;
    for (let s = 0; s < touched.length; s++) {
      const begin = at;
      const old = existing[s]!;
      if (LITTLE_ENDIAN) {
        bucketBuf.set(new Uint8Array(old.buffer, old.byteOffset, old.byteLength), at);
        at += old.byteLength;
      } else {
        for (let i = 0; i < old.length; i++, at += 4) bucketBuf.writeUInt32LE(old[i]!, at);
      }
      let length = old.length;
      let last = length > 0 ? old[length - 1]! : -1;
      for (let j = offsets[s]!; j < offsets[s + 1]!; j++) {
        const id = added[j]!;
        if (length < this.maxBucket && last !== id) {
          bucketBuf.writeUInt32LE(id, at);
          at += 4;
          length++;
          last = id;
        }
      }
      writeBucketKey(keyBuf, s * BUCKET_KEY_BYTES, touched[s]!);
      batch.put(
        keyBuf.subarray(s * BUCKET_KEY_BYTES, (s + 1) * BUCKET_KEY_BYTES),
        bucketBuf.subarray(begin, at),
      );
    }
    const next = first + entries.length;
    const meta: LevelLshMeta = { version: LAYOUT_VERSION, ...this.params, nextId: next };
    batch.put(META_KEY, Buffer.from(JSON.stringify(meta)));
    await batch.write({ sync: true });
    this.nextId = next;
    return ids;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
