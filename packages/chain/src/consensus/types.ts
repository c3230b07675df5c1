import type { Address, Hex } from 'viem';
import type { Commit } from './commit.ts';
import type { DuplicateVoteEvidence } from './evidence.ts';
import type { SignedProposal, SignedVote } from './messages.ts';
import type { SignRecord } from './sign-guard.ts';
import type { ConsensusSigner, RecoverSigner } from './signer.ts';
import type { SigningDomain } from './signing.ts';
import type { Timeout, TimeoutConfig } from './timeouts.ts';
import type { ValidatorSet } from './validator-set.ts';

/** step_p of Algorithm 1. */
export type RoundStep = 'propose' | 'prevote' | 'precommit';

/** The variables of Algorithm 1 (lines 2-9) for the current height, as the machine holds them. */
export interface ConsensusState {
  readonly height: bigint;
  readonly round: number;
  readonly step: RoundStep;
  readonly lockedValue: Hex | null;
  readonly lockedRound: number;
  readonly validValue: Hex | null;
  readonly validRound: number;
  /** decision_p[h_p]: set once the height is decided; the machine then waits for the next height. */
  readonly decision: Hex | null;
}

/** What the node feeds the state machine. Each is also what a WAL records, in order. */
export type ConsensusInput =
  | { readonly type: 'proposal'; readonly proposal: SignedProposal }
  | { readonly type: 'vote'; readonly vote: SignedVote }
  /** A timeout from a `scheduleTimeout` effect, fired. Stale ones are ignored. */
  | { readonly type: 'timeout'; readonly timeout: Timeout }
  /** The answer to a `validate` effect: valid(v) of the paper for this block hash. */
  | { readonly type: 'validated'; readonly height: bigint; readonly blockHash: Hex; readonly valid: boolean }
  /** The answer to a `getValue` effect: the block the node built (and so knows to be valid). */
  | { readonly type: 'value'; readonly height: bigint; readonly round: number; readonly blockHash: Hex }
  /** After a `decide`: the validator set of the next height, once the decided block is applied. Ignored before a decision. */
  | { readonly type: 'nextHeight'; readonly height: bigint; readonly validatorSet: ValidatorSet }
  /** A commit for the current height from a peer that is ahead (catch-up); verified by the machine. */
  | { readonly type: 'commit'; readonly commit: Commit };

/** What the state machine asks the node to do, in order. */
export type ConsensusEffect =
  | { readonly type: 'broadcastProposal'; readonly proposal: SignedProposal }
  | { readonly type: 'broadcastVote'; readonly vote: SignedVote }
  /** Feed `{ type: 'timeout', timeout }` back after `durationMs`. */
  | { readonly type: 'scheduleTimeout'; readonly timeout: Timeout; readonly durationMs: number }
  /** getValue() of line 18: build a block for (height, round) and answer with a `value` input. */
  | { readonly type: 'getValue'; readonly height: bigint; readonly round: number }
  /**
   * valid(v): obtain the body of `blockHash` (proposed by `proposer` at `round`), check and execute
   * it on top of the decided chain, and answer with a `validated` input. Asked once per block hash.
   */
  | {
      readonly type: 'validate';
      readonly height: bigint;
      readonly round: number;
      readonly blockHash: Hex;
      readonly proposer: Address;
    }
  /** Line 51: `blockHash` is decided at `height`; `commit` holds the +2/3 precommits that prove it. */
  | {
      readonly type: 'decide';
      readonly height: bigint;
      readonly round: number;
      readonly blockHash: Hex;
      readonly commit: Commit;
    }
  /** A validator signed two different votes for one (height, round, step): submit to Staking. */
  | { readonly type: 'evidence'; readonly evidence: DuplicateVoteEvidence }
  /** An input that breaks the protocol (bad signature, not from the proposer, malformed): score the peer. */
  | { readonly type: 'rejected'; readonly input: ConsensusInput; readonly reason: string };

export interface ConsensusOptions {
  readonly domain: SigningDomain;
  /** The height to run, and its validator set. */
  readonly height: bigint;
  readonly validatorSet: ValidatorSet;
  /** This node's consensus key; without it (or when not in the set) the node follows without voting. */
  readonly signer?: ConsensusSigner;
  readonly timeouts?: Partial<TimeoutConfig>;
  /** Signature recovery; defaults to native libsecp256k1 with OpenZeppelin's rules. */
  readonly recover?: RecoverSigner;
  /** The last (height, round, step) this key signed, if the node keeps it apart from the WAL. */
  readonly lastSigned?: SignRecord;
  /** Messages of the next height kept until it starts (they cannot be checked before). Default 10,000. */
  readonly maxBufferedMessages?: number;
}
