import type { VoteStep } from './messages.ts';

/** Sign order within a round: the proposal, then the prevote, then the precommit. */
export type SignStep = 0 | VoteStep;
export const PROPOSAL_SIGN_STEP: SignStep = 0;

/** The last (height, round, step) a validator signed at: CometBFT privval's LastSignState. */
export interface SignRecord {
  readonly height: bigint;
  readonly round: number;
  readonly step: SignStep;
}

function compare(a: SignRecord, b: SignRecord): number {
  if (a.height !== b.height) return a.height < b.height ? -1 : 1;
  if (a.round !== b.round) return a.round < b.round ? -1 : 1;
  return a.step - b.step;
}

/**
 * Refuses to sign at or before the last signed (height, round, step). A correct run of Algorithm 1
 * signs in strictly increasing order (a process never goes back to an earlier round or step), so the
 * guard never blocks progress; what it blocks is a restarted validator that lost part of its state
 * re-signing something it may already have signed differently. At the same (height, round, step) the
 * state machine re-sends the message it signed (found in its message log) instead of signing again.
 */
export class SignGuard {
  private last: SignRecord | undefined;

  constructor(last?: SignRecord) {
    this.last = last;
  }

  get lastSigned(): SignRecord | undefined {
    return this.last;
  }

  allows(at: SignRecord): boolean {
    return this.last === undefined || compare(at, this.last) > 0;
  }

  /** Records a signature made now, or one found in a replayed log (which may be older: then no-op). */
  record(at: SignRecord): void {
    if (this.last === undefined || compare(at, this.last) > 0) {
      this.last = { height: at.height, round: at.round, step: at.step };
    }
  }
}
