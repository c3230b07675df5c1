import { parseEventLogs, zeroHash, type Hex } from 'viem';
import { datanetRegistryAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { paramKey } from '../params.ts';
import { emitted, sendProtocolTx } from './send.ts';

export interface CreateDatanetOptions {
  metadataURI: string;
  /** Commitment to the off-chain validation standard curators apply (default: zero). */
  validationStandardHash?: Hex;
  validationStandardURI?: string;
  /** Paid by every contribution to the owner, in wei (default 0). */
  contributionFee?: bigint;
  /** Held per contribution, in wei (default: the `datanet.minContributorBond` parameter). */
  contributorBond?: bigint;
  /** Approvals (or rejections) that decide a contribution (default: `datanet.minCuratorQuorum`). */
  curatorQuorum?: number;
}

/** Creates a Datanet owned by the signer. */
export async function createDatanet(conn: Connection, o: CreateDatanetOptions) {
  const { datanets, params } = conn.contracts;
  const bond = o.contributorBond ?? (await params.read.get([paramKey('datanet.minContributorBond')]));
  const quorum = o.curatorQuorum ?? Number(await params.read.get([paramKey('datanet.minCuratorQuorum')]));
  const sent = await sendProtocolTx(conn, 'createDatanet', (account) =>
    datanets.simulate.createDatanet(
      [
        o.metadataURI,
        o.validationStandardHash ?? zeroHash,
        o.validationStandardURI ?? '',
        o.contributionFee ?? 0n,
        bond,
        quorum,
      ],
      { account },
    ),
  );
  const logs = parseEventLogs({
    abi: datanetRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'DatanetCreated',
  });
  const { args } = emitted(logs, datanets.address, 'DatanetCreated');
  return {
    hash: sent.hash,
    datanetId: args.datanetId,
    owner: args.owner,
    contributionFee: args.contributionFee,
    contributorBond: args.contributorBond,
    curatorQuorum: args.curatorQuorum,
  };
}

export interface SubmitContributionOptions {
  datanetId: bigint;
  /** Merkle root of the rows' content hashes (see `rowTree`). */
  dataRoot: Hex;
  rowCount: bigint;
  byteSize: bigint;
  metadataURI?: string;
}

/** Submits a contribution for the signer, paying the Datanet's fee plus bond (read from the chain). */
export async function submitContribution(conn: Connection, o: SubmitContributionOptions) {
  const { datanets } = conn.contracts;
  const terms = await datanets.read.datanet([o.datanetId]).catch(() => undefined);
  // An unknown Datanet: the simulation below reports UnknownDatanet.
  const fee = terms?.contributionFee ?? 0n;
  const bond = terms?.contributorBond ?? 0n;
  const sent = await sendProtocolTx(conn, 'submitContribution', (account) =>
    datanets.simulate.submitContribution(
      [o.datanetId, o.dataRoot, o.rowCount, o.byteSize, o.metadataURI ?? ''],
      { account, value: fee + bond },
    ),
  );
  const logs = parseEventLogs({
    abi: datanetRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'ContributionSubmitted',
  });
  const { args } = emitted(logs, datanets.address, 'ContributionSubmitted');
  return { hash: sent.hash, contributionId: args.contributionId, datanetId: args.datanetId, fee, bond };
}

export interface StakeAsCuratorOptions {
  datanetId: bigint;
  /** Wei to add (default: the `datanet.minCuratorStake` parameter). */
  amount?: bigint;
}

/** Adds to the signer's curator stake on a Datanet. */
export async function stakeAsCurator(conn: Connection, o: StakeAsCuratorOptions) {
  const { datanets, params } = conn.contracts;
  const amount = o.amount ?? (await params.read.get([paramKey('datanet.minCuratorStake')]));
  const sent = await sendProtocolTx(conn, 'stakeAsCurator', (account) =>
    datanets.simulate.stakeAsCurator([o.datanetId], { account, value: amount }),
  );
  const logs = parseEventLogs({
    abi: datanetRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'CuratorStaked',
  });
  const { args } = emitted(logs, datanets.address, 'CuratorStaked');
  return { hash: sent.hash, datanetId: args.datanetId, amount: args.amount, activeStake: args.activeStake };
}

export interface VoteOnContributionOptions {
  contributionId: bigint;
  approve: boolean;
}

/** A curator's vote on a pending contribution; says whether it decided the contribution. */
export async function voteOnContribution(conn: Connection, o: VoteOnContributionOptions) {
  const { datanets } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'vote', (account) =>
    datanets.simulate.vote([o.contributionId, o.approve], { account }),
  );
  const { logs } = sent.receipt;
  const mine = (l: { address: string }) => l.address.toLowerCase() === datanets.address.toLowerCase();
  const approved = parseEventLogs({ abi: datanetRegistryAbi, logs, eventName: 'ContributionApproved' }).some(
    mine,
  );
  const rejected = parseEventLogs({ abi: datanetRegistryAbi, logs, eventName: 'ContributionRejected' }).some(
    mine,
  );
  const status: 'approved' | 'rejected' | 'pending' = approved
    ? 'approved'
    : rejected
      ? 'rejected'
      : 'pending';
  return { hash: sent.hash, contributionId: o.contributionId, approve: o.approve, status };
}

/** Publishes the approved contributions not yet in a version (owner or curator). */
export async function publishVersion(conn: Connection, o: { datanetId: bigint }) {
  const { datanets } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'publishVersion', (account) =>
    datanets.simulate.publishVersion([o.datanetId], { account }),
  );
  const logs = parseEventLogs({
    abi: datanetRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'VersionPublished',
  });
  const { args } = emitted(logs, datanets.address, 'VersionPublished');
  return {
    hash: sent.hash,
    datanetId: args.datanetId,
    version: args.version,
    root: args.root,
    rowCount: args.rowCount,
    byteSize: args.byteSize,
    contributions: args.contributions,
  };
}

export interface ChallengeContributionOptions {
  contributionId: bigint;
  reasonURI: string;
}

/** Challenges an approved contribution, posting the `datanet.challengeBond` (read from the chain). */
export async function challengeContribution(conn: Connection, o: ChallengeContributionOptions) {
  const { datanets, params } = conn.contracts;
  const bond = await params.read.get([paramKey('datanet.challengeBond')]);
  const sent = await sendProtocolTx(conn, 'challenge', (account) =>
    datanets.simulate.challenge([o.contributionId, o.reasonURI], { account, value: bond }),
  );
  const logs = parseEventLogs({ abi: datanetRegistryAbi, logs: sent.receipt.logs, eventName: 'Challenged' });
  const { args } = emitted(logs, datanets.address, 'Challenged');
  return {
    hash: sent.hash,
    challengeId: args.challengeId,
    contributionId: args.contributionId,
    bond: args.bond,
  };
}
