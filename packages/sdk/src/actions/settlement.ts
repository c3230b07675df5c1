import { parseEventLogs, type Address, type Hex } from 'viem';
import { attributionSettlementAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { paramKey } from '../params.ts';
import { emitted, sendProtocolTx } from './send.ts';

/** Registers the signer as an attribution root operator with the governed minimum bond (or `bond`). */
export async function registerAttributionOperator(conn: Connection, o: { bond?: bigint } = {}) {
  const { settlement, params } = conn.contracts;
  const bond = o.bond ?? (await params.read.get([paramKey('attribution.operatorBond')]));
  const sent = await sendProtocolTx(conn, 'registerOperator', (account) =>
    settlement.simulate.registerOperator({ account, value: bond }),
  );
  const logs = parseEventLogs({
    abi: attributionSettlementAbi,
    logs: sent.receipt.logs,
    eventName: 'OperatorRegistered',
  });
  const { args } = emitted(logs, settlement.address, 'OperatorRegistered');
  return { hash: sent.hash, operator: args.operator, bond: args.bond };
}

export interface PostRewardRootOptions {
  modelId: bigint;
  epoch: bigint;
  root: Hex;
  total: bigint;
  leafCount: bigint;
  /** Where the epoch's results are published, for claimants and challengers. */
  resultsURI: string;
}

/** Posts an epoch's reward root for a model (active operators only); returns when its window ends. */
export async function postRewardRoot(conn: Connection, o: PostRewardRootOptions) {
  const { settlement } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'postRoot', (account) =>
    settlement.simulate.postRoot([o.modelId, o.epoch, o.root, o.total, o.leafCount, o.resultsURI], {
      account,
    }),
  );
  const logs = parseEventLogs({
    abi: attributionSettlementAbi,
    logs: sent.receipt.logs,
    eventName: 'RootPosted',
  });
  const { args } = emitted(logs, settlement.address, 'RootPosted');
  return { hash: sent.hash, modelId: args.modelId, epoch: args.epoch, challengeEnds: args.challengeEnds };
}

/** A leaf of a final root with its proof, as `claim` takes it. */
export interface RewardClaim {
  modelId: bigint;
  epoch: bigint;
  index: bigint;
  account: Address;
  amount: bigint;
  proof: Hex[];
}

/** Claims reward leaves (across models and epochs) in one transaction; all or nothing. */
export async function claimRewards(conn: Connection, claims: readonly RewardClaim[]) {
  const { settlement } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'claimMany', (account) =>
    settlement.simulate.claimMany([claims.map((c) => ({ ...c, proof: [...c.proof] }))], { account }),
  );
  const logs = parseEventLogs({
    abi: attributionSettlementAbi,
    logs: sent.receipt.logs,
    eventName: 'Claimed',
  });
  return {
    hash: sent.hash,
    claimed: logs.map((l) => ({
      modelId: l.args.modelId,
      epoch: l.args.epoch,
      index: l.args.index,
      amount: l.args.amount,
    })),
  };
}
