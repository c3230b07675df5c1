import type { Address, Hex } from 'viem';

/**
 * The consensus messages of Algorithm 1 ("The latest gossip on BFT consensus"): ⟨PROPOSAL, h, r, v, vr⟩,
 * ⟨PREVOTE, h, r, id(v)⟩ and ⟨PRECOMMIT, h, r, id(v)⟩. Values are block hashes (id(v)); the block body
 * travels separately. Votes have exactly the fields the Staking contract verifies for double-sign
 * evidence (IStaking.Vote, sdk `ConsensusVote`), so any two conflicting votes a node holds can be
 * submitted as they are.
 */

/** Vote steps as the Staking contract numbers them (IStaking.Vote.step). */
export const VoteStep = { prevote: 1, precommit: 2 } as const;
export type VoteStep = (typeof VoteStep)[keyof typeof VoteStep];

/**
 * The block hash of a vote for nil. The vote format has no optional field, so nil is bytes32 zero;
 * no block hashes to zero, and the contract treats a nil vote and a block vote of the same step as
 * conflicting, as CometBFT's DuplicateVoteEvidence does.
 */
export const NIL: Hex = `0x${'00'.repeat(32)}`;

/**
 * Rounds are uint32 in the vote format and a proposal's validRound is int32 (it can be -1), so
 * rounds stay below 2^31. With timeouts that grow per round no height gets anywhere near it.
 */
export const MAX_ROUND = 2 ** 31 - 1;
/** Heights are uint64 in the vote format. */
export const MAX_HEIGHT = 2n ** 64n - 1n;

/** A prevote or precommit as signed: the EIP-712 `Vote(uint64 height,uint32 round,uint8 step,bytes32 blockHash)`. */
export interface Vote {
  height: bigint;
  round: number;
  step: VoteStep;
  blockHash: Hex;
}

/** A vote with its signer's address and 65-byte r ‖ s ‖ v signature (v = 27 or 28, low s). */
export interface SignedVote extends Vote {
  validator: Address;
  signature: Hex;
}

/**
 * ⟨PROPOSAL, h, r, v, vr⟩: `validRound` is vr, the round of the +2/3 prevotes that made the proposer
 * re-propose its validValue, or -1 for a new block.
 */
export interface Proposal {
  height: bigint;
  round: number;
  blockHash: Hex;
  validRound: number;
}

export interface SignedProposal extends Proposal {
  proposer: Address;
  signature: Hex;
}

const HASH = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;
const SIGNATURE = /^0x[0-9a-f]{130}$/;

function isHeight(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= MAX_HEIGHT;
}

function isRound(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= MAX_ROUND;
}

/**
 * The canonical form of a vote from outside (peers, a WAL): lowercase hex, only the known fields.
 * Returns why it is malformed instead, so the network layer can score the peer.
 */
export function normalizeVote(vote: SignedVote): SignedVote | string {
  if (!isHeight(vote.height)) return 'vote height is not a uint64';
  if (!isRound(vote.round)) return `vote round is not an integer in [0, ${MAX_ROUND}]`;
  if (vote.step !== VoteStep.prevote && vote.step !== VoteStep.precommit) return 'vote step is not 1 or 2';
  const blockHash = typeof vote.blockHash === 'string' ? (vote.blockHash.toLowerCase() as Hex) : undefined;
  if (!blockHash || !HASH.test(blockHash)) return 'vote blockHash is not 32 bytes of hex';
  const validator =
    typeof vote.validator === 'string' ? (vote.validator.toLowerCase() as Address) : undefined;
  if (!validator || !ADDRESS.test(validator)) return 'vote validator is not a 20-byte address';
  const signature = typeof vote.signature === 'string' ? (vote.signature.toLowerCase() as Hex) : undefined;
  if (!signature || !SIGNATURE.test(signature)) return 'vote signature is not 65 bytes of hex';
  return { height: vote.height, round: vote.round, step: vote.step, blockHash, validator, signature };
}

/** The canonical form of a proposal from outside, or why it is malformed. */
export function normalizeProposal(proposal: SignedProposal): SignedProposal | string {
  if (!isHeight(proposal.height)) return 'proposal height is not a uint64';
  if (!isRound(proposal.round)) return `proposal round is not an integer in [0, ${MAX_ROUND}]`;
  const { validRound } = proposal;
  // vr < r: a proposer can only point at a polka it saw before the round it proposes in (line 28).
  if (!Number.isSafeInteger(validRound) || validRound < -1 || validRound >= proposal.round) {
    return 'proposal validRound is not -1 or a round before the proposal round';
  }
  const blockHash =
    typeof proposal.blockHash === 'string' ? (proposal.blockHash.toLowerCase() as Hex) : undefined;
  if (!blockHash || !HASH.test(blockHash)) return 'proposal blockHash is not 32 bytes of hex';
  if (blockHash === NIL) return 'proposal blockHash is nil';
  const proposer =
    typeof proposal.proposer === 'string' ? (proposal.proposer.toLowerCase() as Address) : undefined;
  if (!proposer || !ADDRESS.test(proposer)) return 'proposal proposer is not a 20-byte address';
  const signature =
    typeof proposal.signature === 'string' ? (proposal.signature.toLowerCase() as Hex) : undefined;
  if (!signature || !SIGNATURE.test(signature)) return 'proposal signature is not 65 bytes of hex';
  return { height: proposal.height, round: proposal.round, blockHash, validRound, proposer, signature };
}

/** The signed fields of a vote, without signer and signature: what the EIP-712 digest covers. */
export function voteFields(vote: Vote): Vote {
  return { height: vote.height, round: vote.round, step: vote.step, blockHash: vote.blockHash };
}
