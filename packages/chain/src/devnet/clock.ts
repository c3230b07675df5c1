/**
 * Block timestamps on the devnet: wall-clock seconds plus an offset moved by evm_increaseTime,
 * a one-off override from evm_setNextBlockTimestamp, and never earlier than the parent + 1.
 *
 * Whenever a block's timestamp is not the wall clock plus the offset (an override, or blocks mined
 * faster than one a second), the offset is moved to match it, as Hardhat does: chain time then
 * runs on from the latest block, so `evm_increaseTime(n)` always puts the next block n seconds
 * after it rather than being absorbed by a chain that ran ahead of the wall clock.
 */
export class DevClock {
  private offset = 0n;
  private nextOverride: bigint | undefined;

  nextTimestamp(parentTimestamp: bigint): bigint {
    const override = this.nextOverride;
    this.nextOverride = undefined;
    const wall = BigInt(Math.floor(Date.now() / 1000));
    const natural = wall + this.offset;
    const timestamp = override ?? (natural > parentTimestamp ? natural : parentTimestamp + 1n);
    this.offset = timestamp - wall;
    return timestamp;
  }

  increase(seconds: bigint): bigint {
    this.offset += seconds;
    return this.offset;
  }

  setNext(timestamp: bigint): void {
    this.nextOverride = timestamp;
  }

  snapshot(): { offset: bigint; nextOverride: bigint | undefined } {
    return { offset: this.offset, nextOverride: this.nextOverride };
  }

  restore(state: { offset: bigint; nextOverride: bigint | undefined }): void {
    this.offset = state.offset;
    this.nextOverride = state.nextOverride;
  }
}
