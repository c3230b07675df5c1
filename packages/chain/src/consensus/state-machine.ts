import type { Address, Hex } from 'viem';
import { commitFromPrecommits, verifyCommit, type Commit } from './commit.ts';
import { createDuplicateVoteEvidence } from './evidence.ts';
import { MessageLog } from './message-log.ts';
import {
  NIL,
  VoteStep,
  normalizeProposal,
  normalizeVote,
  type SignedProposal,
  type SignedVote,
} from './messages.ts';
import { PROPOSAL_SIGN_STEP, SignGuard, type SignRecord, type SignStep } from './sign-guard.ts';
import { recoverSigner, type ConsensusSigner, type RecoverSigner } from './signer.ts';
import {
  signProposal,
  signVote,
  verifyProposalSignature,
  verifyVoteSignature,
  type SigningDomain,
} from './signing.ts';
import {
  resolveTimeouts,
  timeoutDuration,
  type Timeout,
  type TimeoutConfig,
  type TimeoutStep,
} from './timeouts.ts';
import type {
  ConsensusEffect,
  ConsensusInput,
  ConsensusOptions,
  ConsensusState,
  RoundStep,
} from './types.ts';
import type { ValidatorSet } from './validator-set.ts';
import { MAX_VALUES_PER_VALIDATOR } from './vote-set.ts';

/**
 * Messages more than this many rounds ahead of the current one are dropped. Computing proposer(h, r)
 * costs r priority increments and every round seen costs two vote sets, so an unbounded round is a
 * cheap way to exhaust a node. Correct validators are never that far apart: timeouts grow by round,
 * and a validator cut off from a quorum stops at the prevote step, waiting for 2f + 1 prevotes.
 */
export const MAX_ROUNDS_AHEAD = 1000;

const DEFAULT_MAX_BUFFERED = 10_000;

/**
 * Distinct proposals kept per round. A correct proposer sends one; more means it equivocates, and
 * each costs a block validation. A proposal whose value has 2f + 1 prevotes or precommits in its
 * round is always kept, since lines 36 and 49 need exactly that one.
 */
export const MAX_PROPOSALS_PER_ROUND = 4;

const stepOrder: Record<RoundStep, number> = { propose: 0, prevote: 1, precommit: 2 };

/**
 * The Tendermint state machine of one validator (Algorithm 1 of "The latest gossip on BFT consensus",
 * Buchman, Kwon, Milosevic; CometBFT spec/consensus), with no I/O: `handle` takes one input and
 * returns the effects the node must carry out, in order. Every input first lands in the message log
 * or in the state, then the upon-rules (one method each, named after their line) fire until none is
 * enabled. Signing happens here, behind a guard that never signs twice for a (height, round, step).
 *
 * Where the pseudo-code leaves room or a real network needs bounds (mostly as CometBFT does):
 * - getValue() (line 18) and valid(v) are asynchronous: `getValue` / `validate` effects, answered by
 *   `value` / `validated` inputs. A rule that needs valid(v) waits for the answer.
 * - The proposer also schedules timeoutPropose (line 21), since building its block may fail.
 * - After a decision the machine waits for the commit timeout and for the next height's validator set
 *   (the decided block must be applied to know it) before lines 52-54 start the next height.
 * - Messages for the next height are kept until it starts; older and farther ones are dropped.
 * - The log is bounded against a Byzantine sender: MAX_ROUNDS_AHEAD rounds, MAX_PROPOSALS_PER_ROUND
 *   proposals and MAX_VALUES_PER_VALIDATOR values per validator and vote set. Messages are counted per
 *   value as the paper counts them, each validator once per tally.
 * - A verified commit (`commit` input, from catch-up) is 2f + 1 precommits for line 49.
 */
export class ConsensusMachine {
  private readonly domain: SigningDomain;
  private readonly signer: ConsensusSigner | undefined;
  /** The signer's address, lowercase as everything in the log. */
  private readonly self: Address | undefined;
  private readonly timeouts: TimeoutConfig;
  private readonly recover: RecoverSigner;
  private readonly maxBuffered: number;
  private readonly guard: SignGuard;

  // Lines 2-9 of Algorithm 1.
  private height: bigint;
  private round = 0;
  private step: RoundStep = 'propose';
  private decision: Hex | null = null;
  private lockedValue: Hex | null = null;
  private lockedRound = -1;
  private validValue: Hex | null = null;
  private validRound = -1;

  private validators: ValidatorSet;
  private log: MessageLog;
  /** valid(v) per block hash: the node's answer, or 'pending' while it is asked. */
  private validity = new Map<Hex, boolean | 'pending'>();
  /** The "for the first time" of lines 34, 36 and 47, per round. */
  private prevoteTimeoutRounds = new Set<number>();
  private polkaRounds = new Set<number>();
  private precommitTimeoutRounds = new Set<number>();
  /** validator:round:step already reported as double-signing: one evidence per offence. */
  private reportedConflicts = new Set<string>();
  /** The round of an outstanding getValue, if any. */
  private awaitingValue: number | null = null;
  private commitWaitOver = false;
  private nextValidators: ValidatorSet | null = null;
  private buffered: ConsensusInput[] = [];
  private started = false;
  private effects: ConsensusEffect[] = [];

  constructor(options: ConsensusOptions) {
    this.domain = options.domain;
    this.signer = options.signer;
    this.self = options.signer?.address.toLowerCase() as Address | undefined;
    this.timeouts = resolveTimeouts(options.timeouts);
    this.recover = options.recover ?? recoverSigner;
    this.maxBuffered = options.maxBufferedMessages ?? DEFAULT_MAX_BUFFERED;
    this.guard = new SignGuard(options.lastSigned);
    this.height = options.height;
    this.validators = options.validatorSet;
    this.log = new MessageLog(options.height, options.validatorSet);
  }

  /**
   * Rebuilds a machine from the inputs it handled at `options.height` (its WAL), in order. The
   * machine is deterministic and signing is RFC 6979, so the replay re-creates the same state and
   * the same signatures; own messages found in the log are never signed differently. The returned
   * effects include the timeouts to schedule again; re-sending own messages is harmless.
   */
  static restore(
    options: ConsensusOptions,
    inputs: readonly ConsensusInput[],
  ): { machine: ConsensusMachine; effects: ConsensusEffect[] } {
    const machine = new ConsensusMachine(options);
    const effects = machine.start();
    for (const input of inputs) effects.push(...machine.handle(input));
    return { machine, effects };
  }

  get state(): ConsensusState {
    return {
      height: this.height,
      round: this.round,
      step: this.step,
      lockedValue: this.lockedValue,
      lockedRound: this.lockedRound,
      validValue: this.validValue,
      validRound: this.validRound,
      decision: this.decision,
    };
  }

  get validatorSet(): ValidatorSet {
    return this.validators;
  }

  /** The last (height, round, step) this machine's key signed: for a privval-style state file. */
  get lastSigned(): SignRecord | undefined {
    return this.guard.lastSigned;
  }

  /** Line 10: upon start do StartRound(0). */
  start(): ConsensusEffect[] {
    if (this.started) throw new Error('ConsensusMachine.start() was already called');
    this.started = true;
    this.startRound(0);
    this.evaluate();
    return this.flush();
  }

  handle(input: ConsensusInput): ConsensusEffect[] {
    if (!this.started) throw new Error('ConsensusMachine.handle() before start(): call start() first');
    this.dispatch(input);
    this.evaluate();
    return this.flush();
  }

  // ------------------------------------------------------------------ inputs

  private dispatch(input: ConsensusInput): void {
    switch (input.type) {
      case 'proposal':
        return this.onProposal(input);
      case 'vote':
        return this.onVote(input);
      case 'timeout':
        return this.onTimeout(input.timeout);
      case 'validated':
        return this.onValidated(input.height, input.blockHash, input.valid);
      case 'value':
        return this.onValue(input.height, input.round, input.blockHash);
      case 'nextHeight':
        return this.onNextHeight(input.height, input.validatorSet);
      case 'commit':
        return this.onCommit(input);
    }
  }

  private onProposal(input: ConsensusInput & { type: 'proposal' }): void {
    const proposal = normalizeProposal(input.proposal);
    if (typeof proposal === 'string') return this.reject(input, proposal);
    if (proposal.height === this.height + 1n) return this.bufferForNextHeight(input);
    if (proposal.height !== this.height || proposal.round > this.round + MAX_ROUNDS_AHEAD) return;
    const expected = this.validators.proposer(proposal.round);
    if (proposal.proposer !== expected) {
      return this.reject(input, `not from proposer(${proposal.height}, ${proposal.round}) = ${expected}`);
    }
    // A second proposal from the same proposer is equivocation (not slashable in Staking): kept, up to
    // a bound, because the value the others commit may be the one we did not see first.
    if (this.log.proposalFor(proposal.round, proposal.blockHash)) return;
    if (this.log.proposalCount(proposal.round) >= MAX_PROPOSALS_PER_ROUND && !this.hasQuorum(proposal))
      return;
    if (!verifyProposalSignature(proposal, this.domain, this.recover)) {
      return this.reject(input, 'the signature is not the proposer’s');
    }
    this.log.addProposal(proposal);
    if (this.isSelf(proposal.proposer)) this.recordSigned(proposal.round, PROPOSAL_SIGN_STEP);
    this.requestValidity(proposal);
  }

  private onVote(input: ConsensusInput & { type: 'vote' }): void {
    const vote = normalizeVote(input.vote);
    if (typeof vote === 'string') return this.reject(input, vote);
    if (vote.height === this.height + 1n) return this.bufferForNextHeight(input);
    if (vote.height !== this.height || vote.round > this.round + MAX_ROUNDS_AHEAD) return;
    if (!this.validators.has(vote.validator)) {
      return this.reject(input, `${vote.validator} is not a validator at height ${vote.height}`);
    }
    const votes = this.log.votes(vote.round, vote.step);
    if (votes.hasVote(vote.validator, vote.blockHash)) return;
    // An equivocator already counted for two values: the evidence is out, more votes only cost checks.
    if (votes.valuesOf(vote.validator) >= MAX_VALUES_PER_VALIDATOR) return;
    if (!verifyVoteSignature(vote, this.domain, this.recover)) {
      return this.reject(input, 'the signature is not the validator’s');
    }
    const result = this.log.addVote(vote);
    if (result.kind === 'conflict') {
      const key = `${vote.validator}:${vote.round}:${vote.step}`;
      if (!this.reportedConflicts.has(key)) {
        this.reportedConflicts.add(key);
        this.effects.push({ type: 'evidence', evidence: createDuplicateVoteEvidence(result.existing, vote) });
      }
    } else if (result.kind === 'added' && this.isSelf(vote.validator)) {
      // Our own vote, from a replayed log: from now on it is the one we send for this step.
      this.recordSigned(vote.round, vote.step);
    }
  }

  /**
   * A commit for this height from a peer (catch-up, sync): its 2f + 1 precommits stand for line 49's
   * even when equivocators kept some of them out of our vote sets. Checked here like any message.
   */
  private onCommit(input: ConsensusInput & { type: 'commit' }): void {
    const { commit } = input;
    if (commit.height === this.height + 1n) return this.bufferForNextHeight(input);
    if (commit.height !== this.height || commit.round > this.round + MAX_ROUNDS_AHEAD) return;
    if (this.log.commitOf(commit.round)) return;
    const verdict = verifyCommit(commit, this.validators, this.domain, { recover: this.recover });
    if (!verdict.valid) return this.reject(input, `invalid commit: ${verdict.reason}`);
    this.log.addCommit(commit);
  }

  private onTimeout(timeout: Timeout): void {
    if (timeout.height !== this.height) return;
    switch (timeout.step) {
      case 'propose':
        return this.onTimeoutPropose(timeout.round);
      case 'prevote':
        return this.onTimeoutPrevote(timeout.round);
      case 'precommit':
        return this.onTimeoutPrecommit(timeout.round);
      case 'commit':
        return this.onTimeoutCommit();
    }
  }

  private onValidated(height: bigint, blockHash: Hex, valid: boolean): void {
    if (height !== this.height) return;
    const hash = blockHash.toLowerCase() as Hex;
    // A block's validity does not change: the first answer stands.
    if (typeof this.validity.get(hash) !== 'boolean') this.validity.set(hash, valid);
  }

  /** The block getValue() asked for (line 18), proposed with validRound -1 as validValue is nil (line 19). */
  private onValue(height: bigint, round: number, blockHash: Hex): void {
    if (height !== this.height || round !== this.round || this.awaitingValue !== round) return;
    if (this.decision !== null || this.step !== 'propose') return;
    const hash = blockHash.toLowerCase() as Hex;
    if (!/^0x[0-9a-f]{64}$/.test(hash) || hash === NIL) {
      throw new Error(`getValue answered with ${blockHash}: expected a 32-byte block hash`);
    }
    this.awaitingValue = null;
    this.validity.set(hash, true);
    this.propose(hash, -1);
  }

  /** Ignored unless this height is decided: a replayed WAL may hold it after losing the decision. */
  private onNextHeight(height: bigint, validatorSet: ValidatorSet): void {
    if (this.decision === null || height !== this.height + 1n) return;
    this.nextValidators = validatorSet;
    this.enterNextHeightWhenReady();
  }

  // ------------------------------------------------------------------ the upon-rules

  /** Fires enabled rules until none is: each firing changes the state so it cannot fire again. */
  private evaluate(): void {
    while (
      this.uponCommitQuorum() ||
      this.uponHigherRoundMessages() ||
      this.uponProposal() ||
      this.uponProposalWithPolkaOfValidRound() ||
      this.uponPrevoteQuorum() ||
      this.uponProposalWithPolka() ||
      this.uponPolkaForNil() ||
      this.uponPrecommitQuorum()
    );
  }

  /** Line 22: ⟨PROPOSAL, h, round_p, v, −1⟩ from proposer(h, round_p) while step = propose. */
  private uponProposal(): boolean {
    if (this.decision !== null || this.step !== 'propose') return false;
    const proposal = this.log
      .proposals(this.round)
      .find((p) => p.validRound === -1 && typeof this.validity.get(p.blockHash) === 'boolean');
    if (!proposal) return false;
    const v = proposal.blockHash;
    const valid = this.validity.get(v) === true;
    // Lines 23-26.
    this.castVote(VoteStep.prevote, valid && (this.lockedRound === -1 || this.lockedValue === v) ? v : NIL);
    this.setStep('prevote'); // line 27
    return true;
  }

  /**
   * Line 28: ⟨PROPOSAL, h, round_p, v, vr⟩ from proposer(h, round_p) AND 2f + 1 ⟨PREVOTE, h, vr, id(v)⟩
   * while step = propose ∧ (vr ≥ 0 ∧ vr < round_p).
   */
  private uponProposalWithPolkaOfValidRound(): boolean {
    if (this.decision !== null || this.step !== 'propose') return false;
    const proposal = this.log
      .proposals(this.round)
      .find(
        (p) =>
          p.validRound >= 0 &&
          p.validRound < this.round &&
          this.log.votes(p.validRound, VoteStep.prevote).hasTwoThirdsFor(p.blockHash) &&
          typeof this.validity.get(p.blockHash) === 'boolean',
      );
    if (!proposal) return false;
    const v = proposal.blockHash;
    const vr = proposal.validRound;
    const valid = this.validity.get(v) === true;
    // Lines 29-32: a lock from before vr gives way to the newer polka.
    this.castVote(VoteStep.prevote, valid && (this.lockedRound <= vr || this.lockedValue === v) ? v : NIL);
    this.setStep('prevote'); // line 33
    return true;
  }

  /** Line 34: 2f + 1 ⟨PREVOTE, h, round_p, ∗⟩ while step = prevote, for the first time. */
  private uponPrevoteQuorum(): boolean {
    if (this.decision !== null || this.step !== 'prevote' || this.prevoteTimeoutRounds.has(this.round))
      return false;
    if (!this.log.votes(this.round, VoteStep.prevote).hasTwoThirdsAny()) return false;
    this.prevoteTimeoutRounds.add(this.round);
    this.scheduleTimeout('prevote', this.round); // line 35
    return true;
  }

  /**
   * Line 36: ⟨PROPOSAL, h, round_p, v, ∗⟩ from proposer(h, round_p) AND 2f + 1 ⟨PREVOTE, h, round_p, id(v)⟩
   * while valid(v) ∧ step ≥ prevote, for the first time.
   */
  private uponProposalWithPolka(): boolean {
    if (this.decision !== null || this.step === 'propose' || this.polkaRounds.has(this.round)) return false;
    const v = this.log.votes(this.round, VoteStep.prevote).twoThirdsMajority();
    if (v === undefined || v === NIL || !this.log.proposalFor(this.round, v)) return false;
    if (this.validity.get(v) !== true) return false;
    this.polkaRounds.add(this.round);
    if (this.step === 'prevote') {
      this.lock(v, this.round); // lines 38-39
      this.castVote(VoteStep.precommit, v); // line 40
      this.setStep('precommit'); // line 41
    }
    this.setValid(v, this.round); // lines 42-43
    return true;
  }

  /** Line 44: 2f + 1 ⟨PREVOTE, h, round_p, nil⟩ while step = prevote. */
  private uponPolkaForNil(): boolean {
    if (this.decision !== null || this.step !== 'prevote') return false;
    if (!this.log.votes(this.round, VoteStep.prevote).hasTwoThirdsFor(NIL)) return false;
    this.castVote(VoteStep.precommit, NIL); // line 45
    this.setStep('precommit'); // line 46
    return true;
  }

  /** Line 47: 2f + 1 ⟨PRECOMMIT, h, round_p, ∗⟩ for the first time. */
  private uponPrecommitQuorum(): boolean {
    if (this.decision !== null || this.precommitTimeoutRounds.has(this.round)) return false;
    if (!this.log.votes(this.round, VoteStep.precommit).hasTwoThirdsAny()) return false;
    this.precommitTimeoutRounds.add(this.round);
    this.scheduleTimeout('precommit', this.round); // line 48
    return true;
  }

  /**
   * Line 49: ⟨PROPOSAL, h, r, v, ∗⟩ from proposer(h, r) AND 2f + 1 ⟨PRECOMMIT, h, r, id(v)⟩ while
   * decision = nil, for any round r.
   */
  private uponCommitQuorum(): boolean {
    if (this.decision !== null) return false;
    for (const { round, blockHash } of this.log.roundsWithCommitQuorum()) {
      if (blockHash === NIL || !this.log.proposalFor(round, blockHash)) continue;
      if (this.validity.get(blockHash) !== true) continue; // line 50
      this.decide(round, blockHash); // line 51
      return true;
    }
    return false;
  }

  /** Line 55: f + 1 ⟨∗, h, round, ∗, ∗⟩ with round > round_p, counted by power: StartRound(round). */
  private uponHigherRoundMessages(): boolean {
    if (this.decision !== null) return false;
    const round = this.log.highestRoundWithOneThirdAbove(this.round);
    if (round === undefined) return false;
    this.startRound(round); // line 56
    return true;
  }

  // ------------------------------------------------------------------ timeouts (lines 57-67)

  /** Line 57: OnTimeoutPropose(h, round): prevote nil if still proposing in that round. */
  private onTimeoutPropose(round: number): void {
    if (this.decision !== null || round !== this.round || this.step !== 'propose') return;
    this.castVote(VoteStep.prevote, NIL); // line 59
    this.setStep('prevote'); // line 60
  }

  /** Line 61: OnTimeoutPrevote(h, round): precommit nil if still prevoting in that round. */
  private onTimeoutPrevote(round: number): void {
    if (this.decision !== null || round !== this.round || this.step !== 'prevote') return;
    this.castVote(VoteStep.precommit, NIL); // line 63
    this.setStep('precommit'); // line 64
  }

  /** Line 65: OnTimeoutPrecommit(h, round): on to the next round. */
  private onTimeoutPrecommit(round: number): void {
    if (this.decision !== null || round !== this.round) return;
    this.startRound(round + 1); // line 67
  }

  private onTimeoutCommit(): void {
    if (this.decision === null) return;
    this.commitWaitOver = true;
    this.enterNextHeightWhenReady();
  }

  // ------------------------------------------------------------------ state changes

  /** Line 11: StartRound(round). */
  private startRound(round: number): void {
    this.round = round; // line 12
    this.step = 'propose'; // line 13
    this.awaitingValue = null;
    if (this.isProposer(round)) {
      const signedBefore = this.log.proposals(round)[0]; // before a restart: `propose` sends it again
      if (signedBefore) {
        this.propose(signedBefore.blockHash, signedBefore.validRound);
      } else if (this.validValue !== null) {
        this.propose(this.validValue, this.validRound); // lines 15-16, 19
      } else {
        this.awaitingValue = round;
        this.effects.push({ type: 'getValue', height: this.height, round }); // line 18
      }
    }
    this.scheduleTimeout('propose', round); // line 21
  }

  private setStep(step: RoundStep): void {
    if (stepOrder[step] < stepOrder[this.step])
      throw new Error(`step ${this.step} cannot go back to ${step}`);
    this.step = step;
  }

  private lock(value: Hex, round: number): void {
    this.lockedValue = value;
    this.lockedRound = round;
  }

  private setValid(value: Hex, round: number): void {
    this.validValue = value;
    this.validRound = round;
  }

  /** Lines 49-51: decide, then wait for the commit timeout and the next validator set (lines 52-54). */
  private decide(round: number, blockHash: Hex): void {
    this.decision = blockHash;
    const votes = this.log.votes(round, VoteStep.precommit);
    const commit: Commit = votes.hasTwoThirdsFor(blockHash)
      ? commitFromPrecommits(votes.votesFor(blockHash), this.validators)
      : this.log.commitOf(round)!;
    this.effects.push({ type: 'decide', height: this.height, round, blockHash, commit });
    this.scheduleTimeout('commit', round);
  }

  private enterNextHeightWhenReady(): void {
    if (this.decision === null || !this.commitWaitOver || this.nextValidators === null) return;
    this.enterHeight(this.height + 1n, this.nextValidators);
  }

  /** Lines 52-54: the next height, with the variables reset and the message log empty. */
  private enterHeight(height: bigint, validatorSet: ValidatorSet): void {
    this.height = height;
    this.validators = validatorSet;
    this.log = new MessageLog(height, validatorSet);
    this.decision = null;
    this.lockedValue = null;
    this.lockedRound = -1;
    this.validValue = null;
    this.validRound = -1;
    this.validity = new Map();
    this.prevoteTimeoutRounds = new Set();
    this.polkaRounds = new Set();
    this.precommitTimeoutRounds = new Set();
    this.reportedConflicts = new Set();
    this.commitWaitOver = false;
    this.nextValidators = null;
    this.startRound(0);
    // Messages that arrived early can be checked now that the validator set is known.
    const early = this.buffered;
    this.buffered = [];
    for (const input of early) this.dispatch(input);
  }

  // ------------------------------------------------------------------ effects

  /** Signs and sends ⟨PROPOSAL, h, round_p, v, vr⟩, unless this round's proposal is already signed. */
  private propose(blockHash: Hex, validRound: number): void {
    // Only the round's proposer gets proposals into the log, so any proposal here is ours.
    const existing = this.log.proposals(this.round)[0];
    if (existing) {
      if (this.isSelf(existing.proposer))
        this.effects.push({ type: 'broadcastProposal', proposal: existing });
      return;
    }
    const at = { height: this.height, round: this.round, step: PROPOSAL_SIGN_STEP };
    if (!this.signer || !this.guard.allows(at)) return;
    const proposal = signProposal(
      { height: this.height, round: this.round, blockHash, validRound },
      this.signer,
      this.domain,
    );
    this.guard.record(at);
    this.log.addProposal(proposal);
    this.effects.push({ type: 'broadcastProposal', proposal });
  }

  /**
   * Signs and sends a vote of this round, counting it in our own log first. If a vote for this
   * (height, round, step) is already in the log (signed before a restart), that one is sent again:
   * whatever the rules now say, a second signature would be double-signing.
   */
  private castVote(step: VoteStep, blockHash: Hex): void {
    if (!this.signer || !this.self || !this.validators.has(this.self)) return;
    const existing = this.log.votes(this.round, step).voteOf(this.self);
    if (existing) {
      this.effects.push({ type: 'broadcastVote', vote: existing });
      return;
    }
    const at = { height: this.height, round: this.round, step };
    if (!this.guard.allows(at)) return;
    const vote: SignedVote = signVote(
      { height: this.height, round: this.round, step, blockHash },
      this.signer,
      this.domain,
    );
    this.guard.record(at);
    this.log.addVote(vote);
    this.effects.push({ type: 'broadcastVote', vote });
  }

  private scheduleTimeout(step: TimeoutStep, round: number): void {
    this.effects.push({
      type: 'scheduleTimeout',
      timeout: { height: this.height, round, step },
      durationMs: timeoutDuration(this.timeouts, step, round),
    });
  }

  private requestValidity(proposal: SignedProposal): void {
    if (this.validity.has(proposal.blockHash)) return;
    this.validity.set(proposal.blockHash, 'pending');
    this.effects.push({
      type: 'validate',
      height: proposal.height,
      round: proposal.round,
      blockHash: proposal.blockHash,
      proposer: proposal.proposer,
    });
  }

  /** Whether the proposal's value has 2f + 1 prevotes or precommits in the proposal's round. */
  private hasQuorum(proposal: SignedProposal): boolean {
    return (
      this.log.votes(proposal.round, VoteStep.prevote).hasTwoThirdsFor(proposal.blockHash) ||
      this.log.votes(proposal.round, VoteStep.precommit).hasTwoThirdsFor(proposal.blockHash)
    );
  }

  private reject(input: ConsensusInput, reason: string): void {
    this.effects.push({ type: 'rejected', input, reason });
  }

  private bufferForNextHeight(input: ConsensusInput): void {
    if (this.buffered.length < this.maxBuffered) this.buffered.push(input);
  }

  private recordSigned(round: number, step: SignStep): void {
    this.guard.record({ height: this.height, round, step });
  }

  private isSelf(address: Address): boolean {
    return this.self !== undefined && this.self === address;
  }

  private isProposer(round: number): boolean {
    return (
      this.self !== undefined &&
      this.validators.has(this.self) &&
      this.validators.proposer(round) === this.self
    );
  }

  private flush(): ConsensusEffect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }
}
