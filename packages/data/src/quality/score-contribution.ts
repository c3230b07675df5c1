/**
 * A contribution's quality summary for curators: the distribution of its row scores and how much of it
 * duplicates the Datanet or itself.
 */
import type { DedupCounts } from '../dedup/dedup-session.ts';
import type { RowScore } from './score-row.ts';

export interface ContributionScore {
  /** Rows scored. */
  rows: number;
  /** Mean row score (0 without rows). */
  mean: number;
  /** 10th percentile of the row scores (nearest rank): the quality of the weakest tenth. */
  p10: number;
  /** Row counts per score bin: [0, 0.1), [0.1, 0.2), … [0.9, 1]. */
  histogram: number[];
  /** Near-duplicate rows / rows checked by the dedup stage. */
  nearDupDensity: number;
  /** Exact plus near duplicates / rows checked by the dedup stage. */
  duplicateRate: number;
}

/**
 * Summarises row scores (numbers or {@link RowScore}s) and the dedup stage's counts. They need not cover
 * the same rows: under the 'reject' policy the scores usually cover the stored (unique) rows while the
 * dedup counts cover every row uploaded.
 */
export function scoreContribution(
  rowScores: ReadonlyArray<number | RowScore>,
  dedup: DedupCounts,
): ContributionScore {
  const scores = rowScores.map((s) => (typeof s === 'number' ? s : s.score));
  for (const s of scores) {
    if (!(s >= 0 && s <= 1)) throw new RangeError(`row score out of [0, 1]: ${s}`);
  }
  const histogram = new Array<number>(10).fill(0);
  let sum = 0;
  for (const s of scores) {
    sum += s;
    histogram[Math.min(9, Math.floor(s * 10))]!++;
  }
  const sorted = scores.slice().sort((a, b) => a - b);
  const p10 = sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(0.1 * sorted.length) - 1)]!;
  const { near, exact } = dedup;
  const n = dedup.unique + near + exact;
  return {
    rows: scores.length,
    mean: scores.length === 0 ? 0 : sum / scores.length,
    p10,
    histogram,
    nearDupDensity: n === 0 ? 0 : near / n,
    duplicateRate: n === 0 ? 0 : (near + exact) / n,
  };
}
