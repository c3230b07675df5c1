import type { Address } from 'viem';
import type { AttributionRecord } from './attribution-record.ts';

/** One reward leaf of an epoch's tree (AttributionSettlement's (index, account, amount)). */
export interface RewardLeaf {
  readonly account: Address;
  readonly amount: bigint;
}

export interface EpochRewards {
  readonly epoch: bigint;
  readonly collected: bigint;
  /** Contributors with what they earned in this epoch, sorted by address. */
  readonly leaves: readonly RewardLeaf[];
  /** Σ leaves: at most `collected`; the rest (unattributed parts, rounding) is swept to the treasury. */
  readonly total: bigint;
  /** Per record, how much of its contributors' share this epoch's collection covered. */
  readonly covered: ReadonlyMap<string, bigint>;
}

/**
 * The rewards of one model, epoch by epoch, from its attribution records and what
 * AttributionSettlement collected for it in each epoch.
 *
 * Money reaches the contract when vouchers are redeemed, which may be an epoch after the queries
 * were served. So each epoch's collection pays the oldest records first (first in, first out), each
 * record at most its contributors' share in total, and only records served by the end of that
 * epoch; a record partly covered is paid pro rata, and its allocations are paid in the same
 * proportion (floored). What a record left unattributed is never paid out. Deterministic: anyone
 * holding the records and the on-chain `collected` amounts gets the same trees.
 */
export function computeEpochRewards(
  records: readonly AttributionRecord[],
  collected: ReadonlyMap<bigint, bigint>,
  throughEpoch: bigint,
): EpochRewards[] {
  const queue = [...records].sort((a, b) =>
    a.epoch < b.epoch
      ? -1
      : a.epoch > b.epoch
        ? 1
        : a.servedAt - b.servedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const remaining = new Map(queue.map((r) => [r.id, r.contributorsShare]));
  const firstEpoch = queue[0]?.epoch ?? throughEpoch;
  const result: EpochRewards[] = [];
  let head = 0;
  for (let epoch = firstEpoch; epoch <= throughEpoch; epoch++) {
    const amount = collected.get(epoch) ?? 0n;
    let budget = amount;
    const earned = new Map<string, RewardLeaf>();
    const covered = new Map<string, bigint>();
    for (let i = head; i < queue.length && budget > 0n; i++) {
      const r = queue[i]!;
      if (r.epoch > epoch) break;
      const left = remaining.get(r.id)!;
      if (left === 0n) continue;
      const take = left < budget ? left : budget;
      budget -= take;
      remaining.set(r.id, left - take);
      covered.set(r.id, take);
      for (const a of r.allocations) {
        const paid = (a.amount * take) / r.contributorsShare;
        if (paid === 0n) continue;
        const key = a.contributor.toLowerCase();
        const before = earned.get(key)?.amount ?? 0n;
        earned.set(key, { account: a.contributor, amount: before + paid });
      }
    }
    while (head < queue.length && remaining.get(queue[head]!.id) === 0n) head++;
    const leaves = [...earned.values()].sort((a, b) =>
      a.account.toLowerCase() < b.account.toLowerCase() ? -1 : 1,
    );
    result.push({
      epoch,
      collected: amount,
      leaves,
      total: leaves.reduce((s, l) => s + l.amount, 0n),
      covered,
    });
  }
  return result;
}
