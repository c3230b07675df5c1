import type { Address, Hex } from 'viem';
import type { Commit } from './commit.ts';
import { VoteStep, type SignedProposal, type SignedVote } from './messages.ts';
import type { ValidatorSet } from './validator-set.ts';
import { VoteSet, type AddVoteResult } from './vote-set.ts';

/**
 * The message log of one height (line 53 of Algorithm 1 empties it when the height changes): the
 * proposals of each round from that round's proposer, the prevotes and precommits of every round, and
 * which validators sent anything in each round (for the f + 1 of line 55). Holds verified messages only.
 */
export class MessageLog {
  private readonly proposalsByValue = new Map<number, Map<Hex, SignedProposal>>();
  private readonly voteSets = new Map<number, { prevotes: VoteSet; precommits: VoteSet }>();
  private readonly senders = new Map<number, Set<Address>>();
  private readonly senderPower = new Map<number, bigint>();
  private readonly commits = new Map<number, Commit>();

  constructor(
    readonly height: bigint,
    readonly validators: ValidatorSet,
  ) {}

  /**
   * The proposals of a round from its proposer, in arrival order. Usually one; an equivocating
   * proposer sends several, and the paper's log keeps them all: a validator that saw proposal v must
   * still be able to decide v' when 2f + 1 precommit v' (line 49), or it would be stuck for good.
   */
  proposals(round: number): SignedProposal[] {
    return [...(this.proposalsByValue.get(round)?.values() ?? [])];
  }

  /** The proposal of `round` for `blockHash`, if one arrived. */
  proposalFor(round: number, blockHash: Hex): SignedProposal | undefined {
    return this.proposalsByValue.get(round)?.get(blockHash);
  }

  proposalCount(round: number): number {
    return this.proposalsByValue.get(round)?.size ?? 0;
  }

  /** Keeps the first proposal of each value in a round; false when that value was already proposed. */
  addProposal(proposal: SignedProposal): boolean {
    let byValue = this.proposalsByValue.get(proposal.round);
    if (!byValue) {
      byValue = new Map();
      this.proposalsByValue.set(proposal.round, byValue);
    }
    if (byValue.has(proposal.blockHash)) return false;
    byValue.set(proposal.blockHash, proposal);
    this.noteSender(proposal.round, proposal.proposer);
    return true;
  }

  votes(round: number, step: VoteStep): VoteSet {
    let sets = this.voteSets.get(round);
    if (!sets) {
      sets = {
        prevotes: new VoteSet(this.height, round, VoteStep.prevote, this.validators),
        precommits: new VoteSet(this.height, round, VoteStep.precommit, this.validators),
      };
      this.voteSets.set(round, sets);
    }
    return step === VoteStep.prevote ? sets.prevotes : sets.precommits;
  }

  addVote(vote: SignedVote): AddVoteResult {
    const result = this.votes(vote.round, vote.step).add(vote);
    if (result.kind === 'added') this.noteSender(vote.round, vote.validator);
    return result;
  }

  /**
   * A commit for this height, already verified (verifyCommit) against this log's validator set: its
   * signatures are 2f + 1 precommits of its round for its block, whatever reached the vote sets.
   */
  addCommit(commit: Commit): void {
    if (!this.commits.has(commit.round)) this.commits.set(commit.round, commit);
  }

  commitOf(round: number): Commit | undefined {
    return this.commits.get(round);
  }

  /** Rounds with 2f + 1 precommits for one value (nil included), from votes or a verified commit: line 49's candidates. */
  *roundsWithCommitQuorum(): Generator<{ round: number; blockHash: Hex }> {
    for (const [round, sets] of this.voteSets) {
      const value = sets.precommits.twoThirdsMajority();
      if (value !== undefined) yield { round, blockHash: value };
    }
    for (const [round, commit] of this.commits) yield { round, blockHash: commit.blockHash };
  }

  /** The highest round above `round` in which validators with more than 1/3 of the power sent a message. */
  highestRoundWithOneThirdAbove(round: number): number | undefined {
    let best: number | undefined;
    for (const [r, power] of this.senderPower) {
      if (r > round && (best === undefined || r > best) && this.validators.exceedsOneThird(power)) best = r;
    }
    return best;
  }

  private noteSender(round: number, sender: Address): void {
    let set = this.senders.get(round);
    if (!set) {
      set = new Set();
      this.senders.set(round, set);
    }
    const address = sender.toLowerCase() as Address;
    if (set.has(address)) return;
    set.add(address);
    this.senderPower.set(round, (this.senderPower.get(round) ?? 0n) + this.validators.powerOf(address));
  }
}
