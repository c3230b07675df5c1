import type { Address } from 'viem';
import {
  PRIORITY_WINDOW_SIZE_FACTOR,
  incrementProposerPriority,
  newValidatorPriority,
  rescalePriorities,
  shiftByAveragePriority,
  totalPowerOf,
  type PriorityEntry,
} from './proposer-priority.ts';

/** A consensus participant: its consensus signer address (Staking's `signers`) and voting power. */
export interface Validator {
  readonly address: Address;
  readonly power: bigint;
}

/** What a node persists of a height's validator set: powers, priorities and the round-0 proposer. */
export interface ValidatorSetSnapshot {
  readonly validators: readonly PriorityEntry[];
  readonly proposer: Address;
}

const ADDRESS = /^0x[0-9a-f]{40}$/;

function byPowerThenAddress(a: PriorityEntry, b: PriorityEntry): number {
  if (a.power !== b.power) return a.power > b.power ? -1 : 1;
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

function normalizeAddress(address: string): Address {
  const lower = typeof address === 'string' ? address.toLowerCase() : '';
  if (!ADDRESS.test(lower))
    throw new Error(`Invalid validator address ${String(address)}: expected 20 bytes of hex`);
  return lower as Address;
}

/**
 * UpdateWithChangeSet: power 0 removes a validator, a new one starts at -1.125 × total power, then
 * the priorities are rescaled and centred and the set sorted (power descending, address ascending).
 */
function applyChanges(
  current: readonly PriorityEntry[],
  changes: readonly Validator[],
  allowRemovals: boolean,
): PriorityEntry[] {
  if (changes.length === 0) return current.slice();
  const sorted = changes
    .map((c) => ({ address: normalizeAddress(c.address), power: c.power }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const byAddress = new Map(current.map((e) => [e.address, e]));
  const updates: Validator[] = [];
  const removals = new Set<Address>();
  for (let i = 0; i < sorted.length; i++) {
    const change = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.address === change.address) {
      throw new Error(`Duplicate validator ${change.address} in a validator set change`);
    }
    if (typeof change.power !== 'bigint' || change.power < 0n) {
      throw new Error(`Validator ${change.address} has a negative or non-bigint power`);
    }
    if (change.power === 0n) {
      if (!allowRemovals) throw new Error(`Validator ${change.address} has power 0 in a new validator set`);
      if (!byAddress.has(change.address)) throw new Error(`Cannot remove ${change.address}: not in the set`);
      removals.add(change.address);
    } else {
      updates.push(change);
    }
  }
  const added = updates.filter((u) => !byAddress.has(u.address)).length;
  if (added === 0 && removals.size === current.length) {
    throw new Error('Applying the validator changes would leave an empty validator set');
  }
  // New validators are placed against the total with the updates applied and the removals not yet.
  let totalAfterUpdates = totalPowerOf(current);
  for (const u of updates) totalAfterUpdates += u.power - (byAddress.get(u.address)?.power ?? 0n);
  const joining = newValidatorPriority(totalAfterUpdates);
  for (const u of updates) {
    const existing = byAddress.get(u.address);
    byAddress.set(u.address, { address: u.address, power: u.power, priority: existing?.priority ?? joining });
  }
  for (const address of removals) byAddress.delete(address);
  const merged = [...byAddress.values()];
  const total = totalPowerOf(merged);
  return shiftByAveragePriority(rescalePriorities(merged, PRIORITY_WINDOW_SIZE_FACTOR * total)).sort(
    byPowerThenAddress,
  );
}

/**
 * The validator set of one height, with CometBFT's proposer rotation: the round-0 proposer comes with
 * the set (chosen by the increment that made it), round r's proposer is r further increments away.
 * Rounds are computed one increment at a time, so proposer(h, r) does not depend on the path a node
 * took to reach round r (skipping rounds or not). Immutable; `next` gives the following height's set.
 */
export class ValidatorSet {
  /** Validators in CometBFT's index order (power descending, then address ascending). */
  readonly validators: readonly PriorityEntry[];
  readonly totalPower: bigint;
  private readonly indexByAddress: ReadonlyMap<Address, number>;
  private readonly roundPriorities: PriorityEntry[][];
  private readonly roundProposers: Address[];

  private constructor(validators: PriorityEntry[], proposer: Address) {
    this.validators = validators;
    this.totalPower = totalPowerOf(validators);
    this.indexByAddress = new Map(validators.map((v, i) => [v.address, i]));
    this.roundPriorities = [validators];
    this.roundProposers = [proposer];
  }

  /** NewValidatorSet: the genesis set (or any set built from scratch), incremented once. */
  static create(validators: readonly Validator[]): ValidatorSet {
    if (validators.length === 0) throw new Error('A validator set needs at least one validator');
    const entries = applyChanges([], validators, false);
    const { entries: incremented, proposer } = incrementProposerPriority(entries, 1);
    return new ValidatorSet(incremented, proposer);
  }

  /** A set as persisted by `snapshot()`, priorities and proposer included. */
  static restore(snapshot: ValidatorSetSnapshot): ValidatorSet {
    const entries = snapshot.validators.map((v) => {
      if (typeof v.power !== 'bigint' || v.power <= 0n)
        throw new Error(`Validator ${v.address} has no power`);
      if (typeof v.priority !== 'bigint') throw new Error(`Validator ${v.address} has no bigint priority`);
      return { address: normalizeAddress(v.address), power: v.power, priority: v.priority };
    });
    if (entries.length === 0) throw new Error('A validator set needs at least one validator');
    entries.sort(byPowerThenAddress);
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.address === entries[i - 1]!.address)
        throw new Error(`Duplicate validator ${entries[i]!.address}`);
    }
    const proposer = normalizeAddress(snapshot.proposer);
    if (!entries.some((e) => e.address === proposer))
      throw new Error(`Proposer ${proposer} is not in the set`);
    return new ValidatorSet(entries, proposer);
  }

  snapshot(): ValidatorSetSnapshot {
    return { validators: this.validators, proposer: this.roundProposers[0]! };
  }

  get size(): number {
    return this.validators.length;
  }

  /** proposer(h, round) for the height this set belongs to. */
  proposer(round = 0): Address {
    if (!Number.isSafeInteger(round) || round < 0) throw new Error(`Invalid round ${round}`);
    while (this.roundProposers.length <= round) {
      const last = this.roundPriorities[this.roundPriorities.length - 1]!;
      const { entries, proposer } = incrementProposerPriority(last, 1);
      this.roundPriorities.push(entries);
      this.roundProposers.push(proposer);
    }
    return this.roundProposers[round]!;
  }

  /** The index of `address` in the set's order, or -1. */
  indexOf(address: Address): number {
    return this.indexByAddress.get(address.toLowerCase() as Address) ?? -1;
  }

  has(address: Address): boolean {
    return this.indexOf(address) >= 0;
  }

  /** The voting power of `address`, 0 when it is not in the set. */
  powerOf(address: Address): bigint {
    const i = this.indexOf(address);
    return i < 0 ? 0n : this.validators[i]!.power;
  }

  /** More than 2/3 of the total power: the 2f + 1 of the paper, counted by power. */
  exceedsTwoThirds(power: bigint): boolean {
    return power * 3n > this.totalPower * 2n;
  }

  /** More than 1/3 of the total power: the f + 1 of the paper (at least one correct validator). */
  exceedsOneThird(power: bigint): boolean {
    return power * 3n > this.totalPower;
  }

  /**
   * The set of the next height: these round-0 priorities with `changes` applied (power 0 removes),
   * then incremented once, as CometBFT's state transition does. Rounds of this height do not carry over.
   */
  next(changes: readonly Validator[] = []): ValidatorSet {
    const entries = applyChanges(this.validators, changes, true);
    const { entries: incremented, proposer } = incrementProposerPriority(entries, 1);
    return new ValidatorSet(incremented, proposer);
  }
}

export function createValidatorSet(validators: readonly Validator[]): ValidatorSet {
  return ValidatorSet.create(validators);
}
