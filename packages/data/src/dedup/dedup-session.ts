/**
 * One contribution going through the dedup stage, fed in chunks of rows as they are parsed, so that
 * an upload is never held in memory as a whole: per row the session keeps only what later rows are
 * compared with (the content hash and, for unique rows, the MinHash signature and band keys).
 *
 * The committed indexes do not change while a contribution is checked (a Datanet ingests one
 * contribution at a time), so checking chunk by chunk classifies every row exactly as checking the
 * whole contribution at once would.
 */
import { RowError, type Row, type RowSource } from '../types.ts';
import type { DupRef, ContentHash, ExactEntry, ExactIndex } from './exact-index.ts';
import { LocalBandTable } from './local-band-table.ts';
import { bandKeys, type LshEntry, type LshIndex } from './lsh-index.ts';
import { estimateJaccard } from './minhash.ts';

export type DedupStatus = 'unique' | 'exact-duplicate' | 'near-duplicate';

/** What the Datanet does with duplicate rows: not store them, or store them linked to the original. */
export type DuplicatePolicy = 'reject' | 'link';

export interface DedupResult {
  /** The row's `index` in its contribution (its place among the uploaded rows). */
  index: number;
  /** keccak256 of the row's text. */
  hash: ContentHash;
  status: DedupStatus;
  /** The earliest row this one duplicates (absent when unique). */
  of?: DupRef;
  /** Similarity to `of`: 1 for exact duplicates, the MinHash Jaccard estimate for near duplicates. */
  similarity?: number;
  /**
   * The row's position in the stored contribution: unique rows, and under 'link' every row, are stored
   * in upload order. Absent for a duplicate under 'reject'. Index entries and `of` name rows by it.
   */
  stored?: number;
}

export interface DedupCounts {
  readonly unique: number;
  readonly exact: number;
  readonly near: number;
}

/** A checked contribution, ready for {@link DedupStage.commit}. */
export interface DedupSummary {
  readonly contributionId: string;
  readonly contributor: string;
  readonly policy: DuplicatePolicy;
  readonly counts: DedupCounts;
}

/** A row as the stage sees it: content hash, and for rows with shingles the MinHash signature and band keys. */
export interface PreparedRow {
  row: Row;
  hash: ContentHash;
  /** undefined when the row has no shingles (no near-duplicate matching). */
  signature?: Uint32Array;
  keys?: number[];
}

/** What a session needs from its stage. */
export interface SessionContext {
  readonly policy: DuplicatePolicy;
  readonly acceptAt: number;
  readonly exact: ExactIndex;
  readonly lsh: LshIndex;
  prepare(row: Row): PreparedRow;
}

/** Index entries written per batch by {@link DedupSession.writeIndexes}. */
const WRITE_BATCH = 2048;

const IN_EXACT = 1;
const IN_LSH = 2;

/** The error shown to a contributor for a duplicate row dropped under 'reject'. */
export function duplicateError(result: DedupResult, source?: RowSource): RowError {
  const of = result.of!;
  const what =
    result.status === 'exact-duplicate'
      ? 'an exact duplicate'
      : `a near duplicate (similarity ${result.similarity!.toFixed(2)})`;
  return new RowError(
    result.status,
    `row ${result.index} is ${what} of row ${of.rowIndex} of contribution ${of.contributionId} by ${of.contributor}`,
    source,
  );
}

export class DedupSession {
  private stored = 0;
  private readonly counts = { unique: 0, exact: 0, near: 0 };
  private finished = false;
  /** Content hash → stored position, for the unique rows so far. */
  private readonly localExact = new Map<string, number>();
  private readonly local: LocalBandTable;
  /** Band-table id → stored position. */
  private readonly localStored: number[] = [];
  // The unique rows in order, for the index writes: hash, stored position, band-table id (-1 without
  // a signature) and whether an index already holds the row (IN_EXACT | IN_LSH, crash recovery).
  private readonly uniqueHashes: ContentHash[] = [];
  private readonly uniqueStored: number[] = [];
  private readonly uniqueLocal: number[] = [];
  private readonly uniqueFlags: number[] = [];

  constructor(
    private readonly stage: SessionContext,
    readonly contributor: string,
    readonly contributionId: string,
    /** Called with the summary of a finished contribution (the stage then accepts it for commit). */
    private readonly onFinish: (summary: DedupSummary) => void,
  ) {
    const { bands, numPerm } = stage.lsh.params;
    this.local = new LocalBandTable(bands, numPerm);
  }

  /**
   * Classifies the next rows of the contribution, in order (the first that matches wins, so a
   * duplicate always points at the earliest row):
   *   1. exact, committed: the content hash is in the exact index;
   *   2. near, committed: the earliest row of the LSH index sharing a band whose signature agrees enough;
   *   3. exact, within the contribution: an earlier unique row with the same hash;
   *   4. near, within the contribution: an earlier unique row, as in 2.
   * A row found in an index under its own reference (this contribution id and `row.index`) was indexed by
   * an interrupted run for this same contribution (crash recovery): it is its own original.
   */
  async add(rows: readonly Row[]): Promise<DedupResult[]> {
    if (this.finished) throw new Error(`contribution ${this.contributionId} was already finished`);
    const { exact, lsh, acceptAt, policy } = this.stage;
    const prepared = rows.map((r) => this.stage.prepare(r));
    const results: DedupResult[] = prepared.map((p) => ({
      index: p.row.index,
      hash: p.hash,
      status: 'unique',
    }));
    const flags = new Uint8Array(rows.length);
    const isSelf = (ref: DupRef, i: number): boolean =>
      ref.contributionId === this.contributionId && ref.rowIndex === prepared[i]!.row.index;

    const hashes = prepared.map((p) => p.hash);
    const exactRefs = exact.getMany
      ? await exact.getMany(hashes)
      : await Promise.all(hashes.map((h) => exact.get(h)));
    exactRefs.forEach((ref, i) => {
      if (!ref) return;
      if (isSelf(ref, i)) flags[i]! |= IN_EXACT;
      else Object.assign(results[i]!, { status: 'exact-duplicate', of: ref, similarity: 1 });
    });

    const open = prepared.flatMap((p, i) => (results[i]!.status === 'unique' && p.keys ? [i] : []));
    if (open.length > 0) {
      const candidates = await lsh.query(open.map((i) => prepared[i]!.keys!));
      const entries = await lsh.entries([...new Set(candidates.flat())]);
      open.forEach((i, j) => {
        const signature = prepared[i]!.signature!;
        for (const id of candidates[j]!) {
          const entry = entries.get(id);
          if (!entry) continue;
          if (isSelf(entry.ref, i)) {
            flags[i]! |= IN_LSH;
            continue;
          }
          const similarity = estimateJaccard(signature, entry.signature);
          if (similarity >= acceptAt) {
            Object.assign(results[i]!, { status: 'near-duplicate', of: entry.ref, similarity });
            break;
          }
        }
      });
    }

    prepared.forEach((p, i) => {
      const result = results[i]!;
      if (result.status === 'unique') this.matchLocal(p, result);
      if (result.status === 'unique' || policy === 'link') result.stored = this.stored++;
      if (result.status === 'exact-duplicate') this.counts.exact++;
      else if (result.status === 'near-duplicate') this.counts.near++;
      else {
        this.counts.unique++;
        this.remember(p, result.stored!, flags[i]!);
      }
    });
    return results;
  }

  /**
   * Ends the contribution. A contribution with rows that are all duplicates throws
   * `RowError('all-duplicates')`; otherwise the summary goes to {@link DedupStage.commit} once the
   * contribution is stored.
   */
  finish(): DedupSummary {
    this.finished = true;
    const { unique, exact, near } = this.counts;
    if (unique === 0 && exact + near > 0) {
      throw new RowError(
        'all-duplicates',
        `all ${exact + near} rows of contribution ${this.contributionId} duplicate rows already in the ` +
          `Datanet or in the contribution (${exact} exact, ${near} near)`,
      );
    }
    const summary: DedupSummary = {
      contributionId: this.contributionId,
      contributor: this.contributor,
      policy: this.stage.policy,
      counts: { ...this.counts },
    };
    this.onFinish(summary);
    return summary;
  }

  /**
   * Adds the unique rows to the indexes, in batches: LSH first, so that should a crash fall in
   * between, near duplicates are still caught, and the record's `indexed: false` makes recovery
   * re-check the contribution, which completes what is missing (rows found under their own reference).
   */
  async writeIndexes(): Promise<void> {
    const { bands, rows } = this.stage.lsh.params;
    const ref = (u: number): DupRef => this.ref(this.uniqueStored[u]!);
    const n = this.uniqueHashes.length;
    for (let from = 0; from < n; from += WRITE_BATCH) {
      const batch: LshEntry[] = [];
      for (let u = from; u < Math.min(n, from + WRITE_BATCH); u++) {
        const id = this.uniqueLocal[u]!;
        if (id < 0 || this.uniqueFlags[u]! & IN_LSH) continue;
        const signature = this.local.signature(id);
        batch.push({ ref: ref(u), signature, keys: bandKeys(signature, bands, rows) });
      }
      if (batch.length > 0) await this.stage.lsh.addMany(batch);
    }
    for (let from = 0; from < n; from += WRITE_BATCH) {
      const batch: ExactEntry[] = [];
      for (let u = from; u < Math.min(n, from + WRITE_BATCH); u++) {
        if (!(this.uniqueFlags[u]! & IN_EXACT)) batch.push({ hash: this.uniqueHashes[u]!, ref: ref(u) });
      }
      if (batch.length > 0) await this.stage.exact.putMany(batch);
    }
  }

  private ref(stored: number): DupRef {
    return { contributionId: this.contributionId, rowIndex: stored, contributor: this.contributor };
  }

  private matchLocal(p: PreparedRow, result: DedupResult): void {
    const same = this.localExact.get(p.hash);
    if (same !== undefined) {
      Object.assign(result, { status: 'exact-duplicate', of: this.ref(same), similarity: 1 });
      return;
    }
    if (!p.keys) return;
    for (const id of this.local.candidates(p.keys)) {
      const similarity = estimateJaccard(p.signature!, this.local.signature(id));
      if (similarity >= this.stage.acceptAt) {
        Object.assign(result, { status: 'near-duplicate', of: this.ref(this.localStored[id]!), similarity });
        return;
      }
    }
  }

  private remember(p: PreparedRow, stored: number, flags: number): void {
    this.localExact.set(p.hash, stored);
    let id = -1;
    if (p.keys) {
      id = this.local.add(p.signature!, p.keys);
      this.localStored.push(stored);
    }
    this.uniqueHashes.push(p.hash);
    this.uniqueStored.push(stored);
    this.uniqueLocal.push(id);
    this.uniqueFlags.push(flags);
  }
}
