import type { Address, Hex } from 'viem';
import type { SignedVote, VoteStep } from './messages.ts';
import type { ValidatorSet } from './validator-set.ts';

/**
 * Values one validator's votes are counted for in one vote set: its first vote and one conflicting
 * vote. Two are what an equivocator needs to split the network, and the paper counts each message
 * for its own value; more would only let one key grow the set without bound.
 */
export const MAX_VALUES_PER_VALIDATOR = 2;

/** What adding a vote did. Signatures are checked before a vote gets here (state machine, verifyVote). */
export type AddVoteResult =
  | { readonly kind: 'added' }
  /** This validator's vote for this value is already here (a re-gossiped copy). */
  | { readonly kind: 'duplicate' }
  /**
   * The validator already voted for another value: double-signing. `existing` is its first vote.
   * `counted`: the vote was added to its value's tally (at most MAX_VALUES_PER_VALIDATOR values).
   */
  | { readonly kind: 'conflict'; readonly existing: SignedVote; readonly counted: boolean }
  | { readonly kind: 'unknownValidator' }
  /** Height, round or step is not this set's. */
  | { readonly kind: 'wrongSet' };

/**
 * The votes of one (height, round, step), counted by voting power. Two tallies, as the paper's
 * thresholds need: 2f + 1 ⟨∗⟩ counts each validator once, by its first vote; 2f + 1 ⟨v⟩ counts each
 * validator that signed a vote for v, once. An equivocator's second vote thus counts for its own
 * value (it is a message for that value, and the others may have decided on it) but never twice in
 * any tally; with less than 1/3 of the power Byzantine, two values cannot both pass 2/3.
 */
export class VoteSet {
  private readonly byValidator = new Map<Address, SignedVote[]>();
  private readonly powerByValue = new Map<Hex, bigint>();
  private counted = 0n;
  private quorumValue: Hex | undefined;

  constructor(
    readonly height: bigint,
    readonly round: number,
    readonly step: VoteStep,
    readonly validators: ValidatorSet,
  ) {}

  add(vote: SignedVote): AddVoteResult {
    if (vote.height !== this.height || vote.round !== this.round || vote.step !== this.step) {
      return { kind: 'wrongSet' };
    }
    const validator = vote.validator.toLowerCase() as Address;
    const power = this.validators.powerOf(validator);
    if (power === 0n) return { kind: 'unknownValidator' };
    const earlier = this.byValidator.get(validator);
    if (earlier?.some((v) => v.blockHash === vote.blockHash)) return { kind: 'duplicate' };
    if (earlier && earlier.length >= MAX_VALUES_PER_VALIDATOR) {
      return { kind: 'conflict', existing: earlier[0]!, counted: false };
    }
    if (earlier) earlier.push(vote);
    else {
      this.byValidator.set(validator, [vote]);
      this.counted += power;
    }
    const valuePower = (this.powerByValue.get(vote.blockHash) ?? 0n) + power;
    this.powerByValue.set(vote.blockHash, valuePower);
    if (this.quorumValue === undefined && this.validators.exceedsTwoThirds(valuePower)) {
      this.quorumValue = vote.blockHash;
    }
    return earlier ? { kind: 'conflict', existing: earlier[0]!, counted: true } : { kind: 'added' };
  }

  /** The first vote of `validator`, the one its power counts for in 2f + 1 ⟨∗⟩. */
  voteOf(validator: Address): SignedVote | undefined {
    return this.byValidator.get(validator.toLowerCase() as Address)?.[0];
  }

  /** Whether `validator`'s vote for `value` is here. */
  hasVote(validator: Address, value: Hex): boolean {
    return (
      this.byValidator.get(validator.toLowerCase() as Address)?.some((v) => v.blockHash === value) ?? false
    );
  }

  /** How many values `validator` has votes counted for (2 means it equivocated). */
  valuesOf(validator: Address): number {
    return this.byValidator.get(validator.toLowerCase() as Address)?.length ?? 0;
  }

  /** Power of the validators with a vote for `value`. */
  powerFor(value: Hex): bigint {
    return this.powerByValue.get(value) ?? 0n;
  }

  /** Power of the validators that voted, whatever for, each once. */
  get power(): bigint {
    return this.counted;
  }

  /** Validators that voted. */
  get size(): number {
    return this.byValidator.size;
  }

  /** 2f + 1 ⟨∗⟩: more than 2/3 of the power voted, for anything. */
  hasTwoThirdsAny(): boolean {
    return this.validators.exceedsTwoThirds(this.counted);
  }

  /** 2f + 1 ⟨value⟩: more than 2/3 of the power voted for `value`. */
  hasTwoThirdsFor(value: Hex): boolean {
    return this.validators.exceedsTwoThirds(this.powerFor(value));
  }

  /** The first value (block hash or NIL) to gather more than 2/3 of the power, if one has. */
  twoThirdsMajority(): Hex | undefined {
    return this.quorumValue;
  }

  /** The votes for `value`, in the validator set's order. */
  votesFor(value: Hex): SignedVote[] {
    return this.inSetOrder(
      [...this.byValidator.values()].flatMap((vs) => vs.filter((v) => v.blockHash === value)),
    );
  }

  /** All votes, conflicting ones included, in the validator set's order. */
  votes(): SignedVote[] {
    return this.inSetOrder([...this.byValidator.values()].flat());
  }

  private inSetOrder(votes: SignedVote[]): SignedVote[] {
    return votes.sort((a, b) => this.validators.indexOf(a.validator) - this.validators.indexOf(b.validator));
  }
}
