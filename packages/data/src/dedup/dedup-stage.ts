/**
 * The dedup stage: finds exact and near duplicates of a contribution's rows across the whole Datanet
 * (every committed contribution, every contributor) and inside the contribution itself.
 *
 * Per row, in this order (the first that matches wins, so a duplicate always points at the earliest row):
 *   1. exact, committed: the content hash is in the {@link ExactIndex};
 *   2. near, committed: a row of the {@link LshIndex} sharing a band whose signature agrees enough
 *      (the earliest such row, i.e. the smallest id);
 *   3. exact, within the contribution: an earlier unique row of the same contribution with the same hash;
 *   4. near, within the contribution: an earlier unique row of the same contribution, as in 2.
 * Only unique rows are indexed, so an index entry is always an original and `of` needs no chasing.
 *
 * Near-duplicate rule. Rows are near duplicates when the Jaccard similarity of their shingle sets is
 * ≥ `threshold` (default 0.8). The stage only sees the MinHash estimate Ĵ, whose standard error is
 * σ(J) = √(J(1−J)/n) (0.035 at J = 0.8, n = 128); accepting only Ĵ ≥ threshold would miss about half of
 * the pairs lying just above the threshold (≈ 7 % of pairs spread evenly over [0.8, 1]). So a candidate
 * is accepted when Ĵ ≥ threshold − z·σ(threshold), a one-sided lower confidence bound; the default
 * z = 1.645 (95 %) accepts Ĵ ≥ 0.742 for threshold 0.8 and 128 permutations. A pair at J = 0.7 then
 * passes with probability ~15 %, one at J ≤ 0.6 essentially never. Set `confidence: 0` to accept on
 * Ĵ ≥ threshold exactly (fewer false positives just below the threshold, lower recall just above it).
 *
 * Two-phase use, so a failed contribution leaves no index entries:
 *
 *     const report = await stage.check(rows, contributor, contributionId); // reads the indexes only
 *     // store report.keep (policy 'reject': unique rows; 'link': every row, duplicates linked to `of`)
 *     await stage.commit(report);                                          // indexes the unique rows
 *
 * A contribution with rows that are all duplicates throws `RowError('all-duplicates')` from `check`.
 * Re-checking a contribution under the same id after a crash between storing and committing (or inside
 * `commit`) is safe: rows found in an index under their own reference count as unique, and `commit`
 * adds only the entries that are missing.
 * Commits are serialised by the stage; a Datanet must have one stage (one writer) at a time, and a
 * contribution checked before another one's commit is not compared with it — check, store and commit
 * one contribution at a time, or re-check after another commit.
 */
import { RowError, type Row } from '../types.ts';
import {
  contentHash,
  MemoryExactIndex,
  type ContentHash,
  type DupRef,
  type ExactEntry,
  type ExactIndex,
} from './exact-index.ts';
import { bandKeys, checkLshParams, MemoryLshIndex, type LshEntry, type LshIndex } from './lsh-index.ts';
import { estimateJaccard, isEmptySignature, MinHasher } from './minhash.ts';
import { shingleHashes, DEFAULT_CHAR_SHINGLE_SIZE, DEFAULT_SHINGLE_SIZE } from './shingles.ts';

export type { DupRef, ContentHash } from './exact-index.ts';

export type DedupStatus = 'unique' | 'exact-duplicate' | 'near-duplicate';

/** What the Datanet does with duplicate rows: not store them, or store them linked to the original. */
export type DuplicatePolicy = 'reject' | 'link';

export interface DedupResult {
  /** The row's `index` in its contribution. */
  index: number;
  /** keccak256 of the row's text. */
  hash: ContentHash;
  status: DedupStatus;
  /** The earliest row this one duplicates (absent when unique). */
  of?: DupRef;
  /** Similarity to `of`: 1 for exact duplicates, the MinHash Jaccard estimate for near duplicates. */
  similarity?: number;
}

export interface DedupReport {
  readonly contributionId: string;
  readonly contributor: string;
  readonly policy: DuplicatePolicy;
  /** One result per row, in the order the rows were given. */
  readonly results: readonly DedupResult[];
  /** Indexes (`Row.index`) of the rows to store: the unique ones under 'reject', all of them under 'link'. */
  readonly keep: readonly number[];
  /** Under 'reject', one `RowError` per duplicate row ('exact-duplicate' / 'near-duplicate') to show the contributor. */
  readonly rejected: readonly RowError[];
  readonly counts: { readonly unique: number; readonly exact: number; readonly near: number };
}

export interface DedupOptions {
  /** Default 'reject'. */
  policy?: DuplicatePolicy;
  /** Jaccard similarity from which rows are near duplicates (default 0.8). */
  threshold?: number;
  /** z of the one-sided confidence bound applied to the MinHash estimate (default 1.645; 0 = none). */
  confidence?: number;
  /** Tokens per word shingle (default 5). */
  shingleSize?: number;
  /** Characters per shingle for rows shorter than `shingleSize` tokens (default 5). */
  charShingleSize?: number;
  /** MinHash coefficient seed; must stay the same for the life of the indexes. */
  seed?: number;
  /** Committed rows by content hash (default: a new in-memory index). */
  exact?: ExactIndex;
  /** Committed rows by band key (default: a new in-memory index, 128 permutations, 32 bands × 4 rows). */
  lsh?: LshIndex;
}

export const DEFAULT_NEAR_THRESHOLD = 0.8;
export const DEFAULT_CONFIDENCE_Z = 1.645;

/** A row as the stage sees it: content hash, and for rows with shingles the MinHash signature and band keys. */
export interface PreparedRow {
  row: Row;
  hash: ContentHash;
  /** undefined when the row has no shingles (no near-duplicate matching). */
  signature?: Uint32Array;
  keys?: number[];
}

interface Pending {
  exact: ExactEntry[];
  lsh: LshEntry[];
  committed: boolean;
}

export class DedupStage {
  readonly policy: DuplicatePolicy;
  readonly threshold: number;
  /** The smallest MinHash estimate accepted as a near duplicate (see the module comment). */
  readonly acceptAt: number;
  readonly exact: ExactIndex;
  readonly lsh: LshIndex;
  private readonly hasher: MinHasher;
  private readonly shingleSize: number;
  private readonly charShingleSize: number;
  private readonly pending = new WeakMap<DedupReport, Pending>();
  private commits: Promise<unknown> = Promise.resolve();

  constructor(options: DedupOptions = {}) {
    this.policy = options.policy ?? 'reject';
    if (this.policy !== 'reject' && this.policy !== 'link')
      throw new RangeError(`unknown policy ${String(this.policy)}`);
    this.threshold = options.threshold ?? DEFAULT_NEAR_THRESHOLD;
    if (!(this.threshold > 0 && this.threshold <= 1))
      throw new RangeError(`threshold must be in (0, 1], got ${this.threshold}`);
    const z = options.confidence ?? DEFAULT_CONFIDENCE_Z;
    if (!(z >= 0)) throw new RangeError(`confidence must be ≥ 0, got ${z}`);
    this.exact = options.exact ?? new MemoryExactIndex();
    this.lsh = options.lsh ?? new MemoryLshIndex();
    checkLshParams(this.lsh.params);
    const n = this.lsh.params.numPerm;
    this.acceptAt = Math.max(0, this.threshold - z * Math.sqrt((this.threshold * (1 - this.threshold)) / n));
    this.hasher = new MinHasher({
      numPerm: n,
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
    this.shingleSize = options.shingleSize ?? DEFAULT_SHINGLE_SIZE;
    this.charShingleSize = options.charShingleSize ?? DEFAULT_CHAR_SHINGLE_SIZE;
  }

  /** Hash, shingles, signature and band keys of one text, as the stage computes them. */
  prepare(row: Row): PreparedRow {
    const hash = contentHash(row.text);
    const shingles = shingleHashes(row.text, { k: this.shingleSize, charK: this.charShingleSize });
    if (shingles.length === 0) return { row, hash };
    const signature = this.hasher.signature(shingles);
    if (isEmptySignature(signature)) return { row, hash };
    const { bands, rows } = this.lsh.params;
    return { row, hash, signature, keys: bandKeys(signature, bands, rows) };
  }

  /**
   * Classifies every row of a contribution. Reads the indexes and writes nothing: call {@link commit}
   * with the report once the contribution is stored.
   */
  async check(rows: readonly Row[], contributor: string, contributionId: string): Promise<DedupReport> {
    const prepared = rows.map((r) => this.prepare(r));
    const results: DedupResult[] = prepared.map((p) => ({
      index: p.row.index,
      hash: p.hash,
      status: 'unique',
    }));

    // 1. Exact, committed.
    const hashes = prepared.map((p) => p.hash);
    const exactRefs = this.exact.getMany
      ? await this.exact.getMany(hashes)
      : await Promise.all(hashes.map((h) => this.exact.get(h)));
    // A row found under its own reference was committed by an earlier, interrupted run for this same
    // contribution (crash recovery): it is its own original, and that index needs no new entry.
    const isSelf = (ref: DupRef, i: number): boolean =>
      ref.contributionId === contributionId && ref.rowIndex === prepared[i]!.row.index;
    const inExact = new Array<boolean>(rows.length).fill(false);
    const inLsh = new Array<boolean>(rows.length).fill(false);
    exactRefs.forEach((ref, i) => {
      if (!ref) return;
      if (isSelf(ref, i)) inExact[i] = true;
      else Object.assign(results[i]!, { status: 'exact-duplicate', of: ref, similarity: 1 });
    });

    // 2. Near, committed.
    const open = prepared.flatMap((p, i) => (results[i]!.status === 'unique' && p.keys ? [i] : []));
    if (open.length > 0) {
      const candidates = await this.lsh.query(open.map((i) => prepared[i]!.keys!));
      const stored = await this.lsh.entries([...new Set(candidates.flat())]);
      open.forEach((i, j) => {
        const sig = prepared[i]!.signature!;
        for (const id of candidates[j]!) {
          const entry = stored.get(id);
          if (!entry) continue;
          if (isSelf(entry.ref, i)) {
            inLsh[i] = true;
            continue;
          }
          const similarity = estimateJaccard(sig, entry.signature);
          if (similarity >= this.acceptAt) {
            Object.assign(results[i]!, { status: 'near-duplicate', of: entry.ref, similarity });
            break;
          }
        }
      });
    }

    // 3 and 4. Within the contribution, in row order.
    const localExact = new Map<string, number>();
    const localLsh = new MemoryLshIndex(this.lsh.params, { capacity: rows.length });
    const localIds: number[] = []; // local LSH id → position in `rows`
    prepared.forEach((p, i) => {
      const result = results[i]!;
      if (result.status !== 'unique') return;
      const ref = (pos: number): DupRef => ({
        contributionId,
        rowIndex: prepared[pos]!.row.index,
        contributor,
      });
      const same = localExact.get(p.hash);
      if (same !== undefined) {
        Object.assign(result, { status: 'exact-duplicate', of: ref(same), similarity: 1 });
        return;
      }
      if (p.keys) {
        for (const id of localLsh.candidates(p.keys)) {
          const similarity = estimateJaccard(p.signature!, localLsh.entry(id)!.signature);
          if (similarity >= this.acceptAt) {
            Object.assign(result, { status: 'near-duplicate', of: ref(localIds[id]!), similarity });
            return;
          }
        }
      }
      localExact.set(p.hash, i);
      if (p.keys) {
        localIds.push(i);
        localLsh.add({ ref: ref(i), signature: p.signature!, keys: p.keys });
      }
    });

    const counts = { unique: 0, exact: 0, near: 0 };
    for (const r of results) {
      if (r.status === 'unique') counts.unique++;
      else if (r.status === 'exact-duplicate') counts.exact++;
      else counts.near++;
    }
    if (rows.length > 0 && counts.unique === 0) {
      throw new RowError(
        'all-duplicates',
        `all ${rows.length} rows of contribution ${contributionId} duplicate rows already in the Datanet ` +
          `or in the contribution (${counts.exact} exact, ${counts.near} near)`,
      );
    }

    const rejected: RowError[] = [];
    const keep: number[] = [];
    results.forEach((r, i) => {
      if (r.status === 'unique' || this.policy === 'link') {
        keep.push(r.index);
        return;
      }
      const of = r.of!;
      const what =
        r.status === 'exact-duplicate'
          ? 'an exact duplicate'
          : `a near duplicate (similarity ${r.similarity!.toFixed(2)})`;
      rejected.push(
        new RowError(
          r.status,
          `row ${r.index} is ${what} of row ${of.rowIndex} of contribution ${of.contributionId} by ${of.contributor}`,
          prepared[i]!.row.source,
        ),
      );
    });

    const report: DedupReport = {
      contributionId,
      contributor,
      policy: this.policy,
      results,
      keep,
      rejected,
      counts,
    };
    const exact: ExactEntry[] = [];
    const lsh: LshEntry[] = [];
    prepared.forEach((p, i) => {
      if (results[i]!.status !== 'unique') return;
      const ref: DupRef = { contributionId, rowIndex: p.row.index, contributor };
      if (!inExact[i]) exact.push({ hash: p.hash, ref });
      if (p.keys && !inLsh[i]) lsh.push({ ref, signature: p.signature!, keys: p.keys });
    });
    this.pending.set(report, { exact, lsh, committed: false });
    return report;
  }

  /**
   * Adds the unique rows of a checked contribution to the indexes. Call it only after the contribution
   * is stored. Committing the same report twice is a no-op; a report from another stage is an error.
   */
  async commit(report: DedupReport): Promise<void> {
    const pending = this.pending.get(report);
    if (!pending) throw new Error(`contribution ${report.contributionId} was not checked by this stage`);
    const run = this.commits.then(async () => {
      if (pending.committed) return;
      // LSH first: should a crash fall between the two writes, near duplicates are still caught, and a
      // re-check of this contribution (see the module comment) completes the exact index.
      await this.lsh.addMany(pending.lsh);
      await this.exact.putMany(pending.exact);
      pending.committed = true;
    });
    this.commits = run.catch(() => undefined);
    await run;
  }
}
