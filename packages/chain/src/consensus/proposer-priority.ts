import type { Address } from 'viem';

/**
 * CometBFT's proposer selection (types/validator_set.go; spec/consensus/proposer-selection.md): a
 * weighted round robin. Each step every validator's priority grows by its power, the highest priority
 * proposes and drops by the total power. Before a run of steps the priorities are rescaled so that
 * max - min ≤ 2·total (PriorityWindowSizeFactor) and centred on their average, which keeps a validator
 * that joined or left from getting a long streak.
 *
 * Arithmetic is in bigint: CometBFT uses int64 with clipping and caps total power at 2^63/8 so that the
 * clipping never happens; without overflow the results are the same for every set CometBFT accepts,
 * and stake in wei can be used as power directly. Divisions follow Go: `/` on int64 truncates toward
 * zero (bigint `/` does too); the average uses big.Int Div, which is Euclidean (floor for n > 0).
 */

export interface PriorityEntry {
  readonly address: Address;
  readonly power: bigint;
  readonly priority: bigint;
}

/** The maximum distance between priorities, as a multiple of the total power. */
export const PRIORITY_WINDOW_SIZE_FACTOR = 2n;

export function totalPowerOf(entries: readonly PriorityEntry[]): bigint {
  let total = 0n;
  for (const e of entries) total += e.power;
  return total;
}

/** Divides every priority by ceil(diff / diffMax) when max - min exceeds diffMax (RescalePriorities). */
export function rescalePriorities(entries: readonly PriorityEntry[], diffMax: bigint): PriorityEntry[] {
  if (entries.length === 0) throw new Error('Cannot rescale the priorities of an empty validator set');
  if (diffMax <= 0n) return entries.slice();
  let max = entries[0]!.priority;
  let min = max;
  for (const e of entries) {
    if (e.priority > max) max = e.priority;
    if (e.priority < min) min = e.priority;
  }
  const diff = max - min;
  if (diff <= diffMax) return entries.slice();
  const ratio = (diff + diffMax - 1n) / diffMax;
  return entries.map((e) => ({ ...e, priority: e.priority / ratio }));
}

/** floor(sum / n): big.Int's Euclidean division, as computeAvgProposerPriority does. */
export function averagePriority(entries: readonly PriorityEntry[]): bigint {
  if (entries.length === 0) throw new Error('Cannot average the priorities of an empty validator set');
  let sum = 0n;
  for (const e of entries) sum += e.priority;
  const n = BigInt(entries.length);
  const quotient = sum / n;
  return sum % n < 0n ? quotient - 1n : quotient;
}

export function shiftByAveragePriority(entries: readonly PriorityEntry[]): PriorityEntry[] {
  const average = averagePriority(entries);
  return entries.map((e) => ({ ...e, priority: e.priority - average }));
}

/** The entry with the highest priority; ties go to the smaller address (CompareProposerPriority). */
export function indexOfHighestPriority(entries: readonly PriorityEntry[]): number {
  let best = 0;
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    const b = entries[best]!;
    if (e.priority > b.priority || (e.priority === b.priority && e.address < b.address)) best = i;
  }
  return best;
}

/**
 * IncrementProposerPriority(times): rescale and centre once, then `times` single steps. Returns the
 * new priorities and the proposer chosen by the last step.
 */
export function incrementProposerPriority(
  entries: readonly PriorityEntry[],
  times: number,
): { entries: PriorityEntry[]; proposer: Address } {
  if (entries.length === 0) throw new Error('Cannot pick a proposer from an empty validator set');
  if (!Number.isSafeInteger(times) || times <= 0) {
    throw new Error(`IncrementProposerPriority needs a positive number of times, got ${times}`);
  }
  const total = totalPowerOf(entries);
  let current = shiftByAveragePriority(rescalePriorities(entries, PRIORITY_WINDOW_SIZE_FACTOR * total));
  let proposer: Address = current[0]!.address;
  for (let t = 0; t < times; t++) {
    current = current.map((e) => ({ ...e, priority: e.priority + e.power }));
    const chosen = indexOfHighestPriority(current);
    const winner = current[chosen]!;
    current[chosen] = { ...winner, priority: winner.priority - total };
    proposer = winner.address;
  }
  return { entries: current, proposer };
}

/**
 * The priority a validator joining the set starts with: -1.125 × the total power after the updates
 * (before removals), so that leaving and re-joining never resets a negative priority to a better one.
 */
export function newValidatorPriority(totalAfterUpdates: bigint): bigint {
  return -(totalAfterUpdates + (totalAfterUpdates >> 3n));
}
