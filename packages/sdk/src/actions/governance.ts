import {
  encodeFunctionData,
  formatEther,
  keccak256,
  parseEventLogs,
  toBytes,
  type Address,
  type Hex,
} from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';
import { ecosystemTreasuryAbi, openGovernorAbi, protocolParamsAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { PARAM_NAMES, paramKey, type ParamName } from '../params.ts';
import { emitted, sendProtocolTx } from './send.ts';

/** What a proposal runs through the Timelock: one call per target. */
export interface ProposalActions {
  targets: readonly Address[];
  values: readonly bigint[];
  calldatas: readonly Hex[];
}

/** A proposal as proposed: its actions and description. */
export interface Proposal extends ProposalActions {
  description: string;
}

/** A proposal as queue and execute identify it: by its actions and its description or the description's hash. */
export type ProposalRef = ProposalActions & ({ description: string } | { descriptionHash: Hex });

/** OpenZeppelin Governor proposal states, by `state(proposalId)`. */
export const PROPOSAL_STATES = [
  'Pending',
  'Active',
  'Canceled',
  'Defeated',
  'Succeeded',
  'Queued',
  'Expired',
  'Executed',
] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];

/** GovernorCountingSimple's support values. */
export const VOTE_SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type VoteSupport = keyof typeof VOTE_SUPPORT;

export function descriptionHash(description: string): Hex {
  return keccak256(toBytes(description));
}

function refHash(ref: ProposalRef): Hex {
  return 'descriptionHash' in ref ? ref.descriptionHash : descriptionHash(ref.description);
}

/** True for the four fee shares, which only change together (ProtocolParams.setFeeShares). */
function isFeeShare(name: ParamName): boolean {
  return name.startsWith('fees.share.');
}

/**
 * The proposal that sets one ProtocolParams parameter. Fee shares only change together, so they
 * are refused here. `description` defaults to "Set <name> to <value>".
 */
export function paramChangeProposal(
  name: ParamName,
  value: bigint,
  description = `Set ${name} to ${value}`,
  params: Address = PREDEPLOYS.ProtocolParams,
): Proposal {
  if (!(PARAM_NAMES as readonly string[]).includes(name))
    throw new Error(`unknown parameter "${name}"; known: ${PARAM_NAMES.join(', ')}`);
  if (isFeeShare(name))
    throw new Error(`${name} changes only with the other fee shares (ProtocolParams.setFeeShares)`);
  return {
    targets: [params],
    values: [0n],
    calldatas: [
      encodeFunctionData({ abi: protocolParamsAbi, functionName: 'set', args: [paramKey(name), value] }),
    ],
    description,
  };
}

/** The proposal that pays a treasury grant. `description` defaults to "Grant <amount> OPEN to <to>: <reason>". */
export function grantProposal(
  to: Address,
  amount: bigint,
  reason: string,
  description = `Grant ${formatEther(amount)} OPEN to ${to}: ${reason}`,
  treasury: Address = PREDEPLOYS.EcosystemTreasury,
): Proposal {
  return {
    targets: [treasury],
    values: [0n],
    calldatas: [
      encodeFunctionData({ abi: ecosystemTreasuryAbi, functionName: 'grant', args: [to, amount, reason] }),
    ],
    description,
  };
}

/** The id the Governor gives a proposal (hashProposal, computed locally). */
export async function proposalIdOf(conn: Connection, ref: ProposalRef): Promise<bigint> {
  return conn.contracts.governor.read.hashProposal([
    [...ref.targets],
    [...ref.values],
    [...ref.calldatas],
    refHash(ref),
  ]);
}

/** A proposal's state by name. */
export async function proposalState(conn: Connection, proposalId: bigint): Promise<ProposalStateName> {
  const state = await conn.contracts.governor.read.state([proposalId]);
  return PROPOSAL_STATES[state] ?? (`state ${state}` as ProposalStateName);
}

/** Proposes through the OpenGovernor (the signer needs `proposalThreshold` votes). */
export async function propose(conn: Connection, p: Proposal) {
  const { governor } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'propose', (account) =>
    governor.simulate.propose([[...p.targets], [...p.values], [...p.calldatas], p.description], { account }),
  );
  const logs = parseEventLogs({
    abi: openGovernorAbi,
    logs: sent.receipt.logs,
    eventName: 'ProposalCreated',
  });
  const { args } = emitted(logs, governor.address, 'ProposalCreated');
  return {
    hash: sent.hash,
    proposalId: args.proposalId,
    proposer: args.proposer,
    voteStart: args.voteStart,
    voteEnd: args.voteEnd,
    descriptionHash: descriptionHash(p.description),
    proposal: p,
  };
}

/**
 * Proposes setting one parameter; checks the value against the parameter's bounds first, since an
 * out-of-bounds value would only revert at execution, after the whole vote.
 */
export async function proposeParamChange(
  conn: Connection,
  name: ParamName,
  value: bigint,
  description?: string,
) {
  const p = paramChangeProposal(name, value, description, conn.contracts.params.address);
  const [min, max] = await conn.contracts.params.read.bounds([paramKey(name)]);
  if (value < min || value > max) throw new Error(`${name} must be between ${min} and ${max}, got ${value}`);
  return propose(conn, p);
}

/** Proposes a treasury grant of `amount` wei to `to`. */
export async function proposeGrant(
  conn: Connection,
  to: Address,
  amount: bigint,
  reason: string,
  description?: string,
) {
  return propose(conn, grantProposal(to, amount, reason, description, conn.contracts.treasury.address));
}

export interface CastVoteOptions {
  proposalId: bigint;
  support: VoteSupport | 0 | 1 | 2;
  reason?: string;
}

/** Votes on an active proposal with the signer's delegated GOPEN at the proposal's snapshot. */
export async function castVote(conn: Connection, o: CastVoteOptions) {
  const { governor } = conn.contracts;
  const support = typeof o.support === 'number' ? o.support : VOTE_SUPPORT[o.support];
  const sent = await sendProtocolTx(conn, o.reason ? 'castVoteWithReason' : 'castVote', (account) =>
    o.reason
      ? governor.simulate.castVoteWithReason([o.proposalId, support, o.reason], { account })
      : governor.simulate.castVote([o.proposalId, support], { account }),
  );
  const logs = parseEventLogs({ abi: openGovernorAbi, logs: sent.receipt.logs, eventName: 'VoteCast' });
  const { args } = emitted(logs, governor.address, 'VoteCast');
  return {
    hash: sent.hash,
    proposalId: args.proposalId,
    voter: args.voter,
    support: args.support,
    weight: args.weight,
  };
}

/** Queues a succeeded proposal in the Timelock; returns when it becomes executable. */
export async function queue(conn: Connection, ref: ProposalRef) {
  const { governor } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'queue', (account) =>
    governor.simulate.queue([[...ref.targets], [...ref.values], [...ref.calldatas], refHash(ref)], {
      account,
    }),
  );
  const logs = parseEventLogs({ abi: openGovernorAbi, logs: sent.receipt.logs, eventName: 'ProposalQueued' });
  const { args } = emitted(logs, governor.address, 'ProposalQueued');
  return { hash: sent.hash, proposalId: args.proposalId, eta: args.etaSeconds };
}

/** Executes a queued proposal whose Timelock delay has passed. */
export async function execute(conn: Connection, ref: ProposalRef) {
  const { governor } = conn.contracts;
  const value = ref.values.reduce((sum, v) => sum + v, 0n);
  const sent = await sendProtocolTx(conn, 'execute', (account) =>
    governor.simulate.execute([[...ref.targets], [...ref.values], [...ref.calldatas], refHash(ref)], {
      account,
      value,
    }),
  );
  const logs = parseEventLogs({
    abi: openGovernorAbi,
    logs: sent.receipt.logs,
    eventName: 'ProposalExecuted',
  });
  const { args } = emitted(logs, governor.address, 'ProposalExecuted');
  return { hash: sent.hash, proposalId: args.proposalId };
}
