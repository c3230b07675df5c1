export { ConsensusMachine, MAX_PROPOSALS_PER_ROUND, MAX_ROUNDS_AHEAD } from './state-machine.ts';
export type {
  ConsensusEffect,
  ConsensusInput,
  ConsensusOptions,
  ConsensusState,
  RoundStep,
} from './types.ts';
export {
  MAX_HEIGHT,
  MAX_ROUND,
  NIL,
  VoteStep,
  normalizeProposal,
  normalizeVote,
  voteFields,
  type Proposal,
  type SignedProposal,
  type SignedVote,
  type Vote,
} from './messages.ts';
export {
  PROPOSAL_TYPE,
  consensusDomainSeparator,
  proposalDigest,
  signProposal,
  signVote,
  verifyProposalSignature,
  verifyVoteSignature,
  voteDigest,
  type SigningDomain,
  type VoteCodec,
} from './signing.ts';
export { createPrivateKeySigner, recoverSigner, type ConsensusSigner, type RecoverSigner } from './signer.ts';
export { PROPOSAL_SIGN_STEP, SignGuard, type SignRecord, type SignStep } from './sign-guard.ts';
export {
  ValidatorSet,
  createValidatorSet,
  type Validator,
  type ValidatorSetSnapshot,
} from './validator-set.ts';
export {
  PRIORITY_WINDOW_SIZE_FACTOR,
  averagePriority,
  incrementProposerPriority,
  newValidatorPriority,
  rescalePriorities,
  shiftByAveragePriority,
  type PriorityEntry,
} from './proposer-priority.ts';
export { MAX_VALUES_PER_VALIDATOR, VoteSet, type AddVoteResult } from './vote-set.ts';
export { MessageLog } from './message-log.ts';
export {
  createDuplicateVoteEvidence,
  stakingEvidenceArgs,
  verifyDuplicateVoteEvidence,
  type DuplicateVoteEvidence,
  type EvidenceVerification,
} from './evidence.ts';
export {
  commitFromPrecommits,
  commitPrecommits,
  decodeCommit,
  encodeCommit,
  verifyCommit,
  type Commit,
  type CommitSignature,
  type CommitVerification,
} from './commit.ts';
export {
  DEFAULT_TIMEOUTS,
  resolveTimeouts,
  timeoutDuration,
  type Timeout,
  type TimeoutConfig,
  type TimeoutStep,
} from './timeouts.ts';
