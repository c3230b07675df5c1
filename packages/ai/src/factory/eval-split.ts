import type { TrainingRow } from './version-rows.ts';

export interface EvalSplit {
  readonly train: readonly TrainingRow[];
  readonly eval: readonly TrainingRow[];
}

/**
 * Holds out about `fraction` of the rows for evaluation, chosen by each row's content hash and the
 * seed rather than by position, so the split is the same whatever order the rows arrive in, a row
 * stays on its side when the Datanet grows, and a duplicated text cannot sit on both sides.
 * At least one row goes to each side: when one would be empty, the row of the other nearest to the
 * threshold moves over (by bucket, then hash, so again independent of order).
 */
export function splitForEvaluation(rows: readonly TrainingRow[], fraction: number, seed: number): EvalSplit {
  if (rows.length < 2) throw new RangeError('an evaluation split needs at least two rows');
  const threshold = Math.floor(fraction * 0x1_0000_0000);
  const keyed = rows.map((row) => ({ row, key: bucket(row.hash, seed) }));
  const held = (k: { key: number }) => k.key < threshold;
  let cut = threshold;
  if (!keyed.some(held)) cut = Math.min(...keyed.map((k) => k.key)) + 1;
  else if (keyed.every(held)) cut = Math.max(...keyed.map((k) => k.key));
  // Rows sharing the extreme bucket (identical texts) move together; only when every row shares
  // one bucket is a side still empty, and then the first row in hash order is held out alone.
  const train: TrainingRow[] = [];
  const evalRows: TrainingRow[] = [];
  for (const k of keyed) (k.key < cut ? evalRows : train).push(k.row);
  if (evalRows.length === 0 || train.length === 0) {
    const sorted = [...rows].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.row - b.row));
    return { train: sorted.slice(1), eval: sorted.slice(0, 1) };
  }
  return { train, eval: evalRows };
}

/** 32 bits of the row hash mixed with the seed (the hash is already uniform; the seed reshuffles). */
function bucket(hash: string, seed: number): number {
  let x = (Number.parseInt(hash.slice(2, 10), 16) ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
