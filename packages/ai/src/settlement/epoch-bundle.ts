import { rewardTree } from '@openledger/sdk';
import type { Address, Hex } from 'viem';
import { recordFromJson, recordToJson, type AttributionRecord } from './attribution-record.ts';
import { computeEpochRewards, type RewardLeaf } from './epoch-rewards.ts';

/**
 * What the settlement worker publishes for one model and epoch: the attribution records served in
 * that epoch, what the contract collected, and the resulting reward tree. Its content hash is the
 * `resultsURI` of the posted root. With the bundles of every earlier epoch of the model, anyone
 * recomputes the tree ({@link recomputeEpoch}) and checks it against the root on-chain.
 */
export interface EpochBundle {
  readonly modelId: bigint;
  readonly epoch: bigint;
  readonly records: readonly AttributionRecord[];
  readonly collected: bigint;
  readonly leaves: readonly RewardLeaf[];
  readonly total: bigint;
  readonly root: Hex;
}

export interface EpochTree {
  readonly root: Hex;
  readonly total: bigint;
  readonly leaves: readonly RewardLeaf[];
}

/** The reward tree of a set of leaves (AttributionSettlement's StandardMerkleTree of (index, account, amount)). */
export function epochTree(leaves: readonly RewardLeaf[]): EpochTree {
  const total = leaves.reduce((s, l) => s + l.amount, 0n);
  const root = leaves.length === 0 ? (`0x${'0'.repeat(64)}` as Hex) : (rewardTree(leaves).root as Hex);
  return { root, total, leaves };
}

/**
 * The trees of every epoch up to `epoch` from a model's records and the collected amounts: the
 * same computation the worker runs before posting.
 */
export function recomputeEpoch(
  records: readonly AttributionRecord[],
  collected: ReadonlyMap<bigint, bigint>,
  epoch: bigint,
): EpochTree {
  const rewards = computeEpochRewards(records, collected, epoch);
  return epochTree(rewards.at(-1)?.epoch === epoch ? rewards.at(-1)!.leaves : []);
}

export function bundleToJson(b: EpochBundle): Record<string, unknown> {
  return {
    modelId: b.modelId.toString(),
    epoch: b.epoch.toString(),
    records: b.records.map(recordToJson),
    collected: b.collected.toString(),
    leaves: b.leaves.map((l) => ({ account: l.account, amount: l.amount.toString() })),
    total: b.total.toString(),
    root: b.root,
  };
}

export function bundleFromJson(json: unknown): EpochBundle {
  const j = json as Record<string, unknown>;
  if (!Array.isArray(j.records) || !Array.isArray(j.leaves) || typeof j.root !== 'string') {
    throw new Error('not an epoch bundle: records, leaves and root are required');
  }
  return {
    modelId: BigInt(String(j.modelId)),
    epoch: BigInt(String(j.epoch)),
    records: j.records.map(recordFromJson),
    collected: BigInt(String(j.collected)),
    leaves: (j.leaves as { account: string; amount: string }[]).map((l) => ({
      account: l.account as Address,
      amount: BigInt(l.amount),
    })),
    total: BigInt(String(j.total)),
    root: j.root as Hex,
  };
}
