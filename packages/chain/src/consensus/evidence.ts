import type { Address, Hex } from 'viem';
import { VoteStep, voteFields, type SignedVote, type Vote } from './messages.ts';
import { recoverSigner, type RecoverSigner } from './signer.ts';
import { voteDigest, type SigningDomain } from './signing.ts';
import type { ValidatorSet } from './validator-set.ts';

/**
 * DuplicateVoteEvidence: two votes signed by one validator for the same height, round and step and
 * different block hashes (a nil vote included). It is what Staking.submitDoubleSignEvidence slashes.
 */
export interface DuplicateVoteEvidence {
  readonly voteA: SignedVote;
  readonly voteB: SignedVote;
}

/** The evidence in canonical order (voteA has the smaller block hash), so every node reports the same. */
export function createDuplicateVoteEvidence(first: SignedVote, second: SignedVote): DuplicateVoteEvidence {
  return first.blockHash.toLowerCase() < second.blockHash.toLowerCase()
    ? { voteA: first, voteB: second }
    : { voteA: second, voteB: first };
}

export type EvidenceVerification =
  { readonly valid: true; readonly signer: Address } | { readonly valid: false; readonly reason: string };

/**
 * The checks of Staking.submitDoubleSignEvidence, off-chain: same height, round and step (1 or 2),
 * different block hashes, both signatures valid (OZ ECDSA rules) and by the same signer. With a
 * validator set, the signer must also be in it (the contract checks registration instead).
 */
export function verifyDuplicateVoteEvidence(
  evidence: DuplicateVoteEvidence,
  domain: SigningDomain,
  options: { validatorSet?: ValidatorSet; recover?: RecoverSigner } = {},
): EvidenceVerification {
  const { voteA: a, voteB: b } = evidence;
  if (a.height !== b.height || a.round !== b.round || a.step !== b.step) {
    return { valid: false, reason: 'votes are for different heights, rounds or steps' };
  }
  if (a.step !== VoteStep.prevote && a.step !== VoteStep.precommit) {
    return { valid: false, reason: `step ${a.step} is neither prevote (1) nor precommit (2)` };
  }
  if (a.blockHash.toLowerCase() === b.blockHash.toLowerCase()) {
    return { valid: false, reason: 'votes are for the same block hash' };
  }
  const recover = options.recover ?? recoverSigner;
  const signerA = recover(voteDigest(a, domain), a.signature);
  const signerB = recover(voteDigest(b, domain), b.signature);
  if (!signerA || !signerB) return { valid: false, reason: 'a signature does not recover' };
  if (signerA !== signerB) return { valid: false, reason: `signed by ${signerA} and ${signerB}` };
  if (options.validatorSet && !options.validatorSet.has(signerA)) {
    return { valid: false, reason: `signer ${signerA} is not in the validator set` };
  }
  return { valid: true, signer: signerA };
}

/** The arguments of Staking.submitDoubleSignEvidence(Vote a, bytes sigA, Vote b, bytes sigB). */
export function stakingEvidenceArgs(evidence: DuplicateVoteEvidence): readonly [Vote, Hex, Vote, Hex] {
  return [
    voteFields(evidence.voteA),
    evidence.voteA.signature,
    voteFields(evidence.voteB),
    evidence.voteB.signature,
  ];
}
