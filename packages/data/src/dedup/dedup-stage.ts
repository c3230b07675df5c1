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
 *     const session = stage.begin(contributor, contributionId);
 *     for (const chunk of rows) await session.add(chunk);   // reads the indexes only
 *     const summary = session.finish();
 *     // store the rows with a `stored` position (unique rows; under 'link', every row)
 *     await stage.commit(summary);                           // indexes the unique rows
 *
 * `check(rows, …)` does the first half for rows already in memory. Commits are serialised by the
 * stage; a Datanet must have one stage (one writer) at a time, and a contribution checked before
 * another one's commit is not compared with it: check, store and commit one contribution at a time.
 */
import type { RowError } from '../types.ts';
import { type Row } from '../types.ts';
import {
  DedupSession,
  duplicateError,
  type DedupResult,
  type DedupSummary,
  type DuplicatePolicy,
  type PreparedRow,
} from './dedup-session.ts';
import { contentHash, MemoryExactIndex, type ExactIndex } from './exact-index.ts';
import { bandKeys, checkLshParams, MemoryLshIndex, type LshIndex } from './lsh-index.ts';
import { isEmptySignature, MinHasher } from './minhash.ts';
import { shingleHashes, DEFAULT_CHAR_SHINGLE_SIZE, DEFAULT_SHINGLE_SIZE } from './shingles.ts';

export type { DupRef, ContentHash } from './exact-index.ts';
export type {
  DedupResult,
  DedupStatus,
  DedupSummary,
  DuplicatePolicy,
  PreparedRow,
} from './dedup-session.ts';
export { DedupSession, duplicateError } from './dedup-session.ts';

/** Every row of a contribution checked at once (see {@link DedupStage.check}). */
export interface DedupReport extends DedupSummary {
  /** One result per row, in the order the rows were given. */
  readonly results: readonly DedupResult[];
  /** Indexes (`Row.index`) of the rows to store: the unique ones under 'reject', all of them under 'link'. */
  readonly keep: readonly number[];
  /** Under 'reject', one `RowError` per duplicate row ('exact-duplicate' / 'near-duplicate') to show the contributor. */
  readonly rejected: readonly RowError[];
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

interface Pending {
  session: DedupSession;
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
  private readonly pending = new WeakMap<DedupSummary, Pending>();
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

  /** Starts checking a contribution whose rows are fed in order, chunk by chunk (see the module comment). */
  begin(contributor: string, contributionId: string): DedupSession {
    const session: DedupSession = new DedupSession(this, contributor, contributionId, (summary) =>
      this.pending.set(summary, { session, committed: false }),
    );
    return session;
  }

  /**
   * Classifies every row of a contribution held in memory. Reads the indexes and writes nothing: call
   * {@link commit} with the report once the contribution is stored.
   */
  async check(rows: readonly Row[], contributor: string, contributionId: string): Promise<DedupReport> {
    const session = this.begin(contributor, contributionId);
    const results = await session.add(rows);
    const summary = session.finish();
    const report: DedupReport = {
      ...summary,
      results,
      keep: results.flatMap((r) => (r.stored === undefined ? [] : [r.index])),
      rejected: results.flatMap((r, i) =>
        r.stored === undefined ? [duplicateError(r, rows[i]!.source)] : [],
      ),
    };
    this.pending.set(report, this.pending.get(summary)!);
    return report;
  }

  /**
   * Adds the unique rows of a checked contribution to the indexes. Call it only after the contribution
   * is stored. Committing the same contribution twice is a no-op; one from another stage is an error.
   */
  async commit(summary: DedupSummary): Promise<void> {
    const pending = this.pending.get(summary);
    if (!pending) throw new Error(`contribution ${summary.contributionId} was not checked by this stage`);
    const run = this.commits.then(async () => {
      if (pending.committed) return;
      await pending.session.writeIndexes();
      pending.committed = true;
    });
    this.commits = run.catch(() => undefined);
    await run;
  }
}
