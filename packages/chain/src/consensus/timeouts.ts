/**
 * The timeouts of Algorithm 1. Each grows linearly with the round, so that after GST (when message
 * delays are bounded but unknown) some round is long enough for every correct validator to hear
 * from the others: that is what gives termination.
 */

/** propose, prevote, precommit: lines 21, 35 and 48 of Algorithm 1; commit: the wait after a decision. */
export type TimeoutStep = 'propose' | 'prevote' | 'precommit' | 'commit';

/** A timeout the node schedules and hands back, unchanged, when it fires. */
export interface Timeout {
  readonly height: bigint;
  readonly round: number;
  readonly step: TimeoutStep;
}

export interface TimeoutConfig {
  /** timeoutPropose(r) = proposeMs + r · proposeDeltaMs: how long to wait for the proposal and its block. */
  readonly proposeMs: number;
  readonly proposeDeltaMs: number;
  /** timeoutPrevote(r), started once 2f+1 prevotes of any kind are in: waits for the stragglers. */
  readonly prevoteMs: number;
  readonly prevoteDeltaMs: number;
  /** timeoutPrecommit(r), started once 2f+1 precommits of any kind are in, before the next round. */
  readonly precommitMs: number;
  readonly precommitDeltaMs: number;
  /**
   * After a decision, before the next height's round 0 (CometBFT's timeout_commit): it lets late
   * precommits into the commit and is the block-time knob, since the happy path of a round takes
   * only the time to build, send and check one block.
   */
  readonly commitMs: number;
}

/**
 * Defaults for ~1 s blocks on a LAN: a round without failures takes a block build, a block check and
 * three message hops (tens to a few hundred ms), then the 800 ms commit wait. The propose timeout
 * covers building, sending and executing a full block; prevote and precommit timeouts only wait for
 * the last third of the votes. CometBFT's defaults (3 s / 1 s / 1 s, +0.5 s per round, commit 1 s)
 * are sized for the open internet; these are a third of that, growing at half the rate.
 */
export const DEFAULT_TIMEOUTS: TimeoutConfig = {
  proposeMs: 1000,
  proposeDeltaMs: 500,
  prevoteMs: 500,
  prevoteDeltaMs: 250,
  precommitMs: 500,
  precommitDeltaMs: 250,
  commitMs: 800,
};

export function timeoutDuration(config: TimeoutConfig, step: TimeoutStep, round: number): number {
  switch (step) {
    case 'propose':
      return config.proposeMs + round * config.proposeDeltaMs;
    case 'prevote':
      return config.prevoteMs + round * config.prevoteDeltaMs;
    case 'precommit':
      return config.precommitMs + round * config.precommitDeltaMs;
    case 'commit':
      return config.commitMs;
  }
}

/** `overrides` on top of the defaults, each a non-negative finite number of milliseconds. */
export function resolveTimeouts(overrides: Partial<TimeoutConfig> = {}): TimeoutConfig {
  const config = { ...DEFAULT_TIMEOUTS, ...overrides };
  for (const [key, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`Invalid consensus timeout ${key}: ${String(value)} (expected milliseconds ≥ 0)`);
    }
  }
  return config;
}
