/**
 * Block timestamps on the devnet: wall-clock seconds plus an offset moved by evm_increaseTime,
 * a one-off override from evm_setNextBlockTimestamp, and never earlier than the parent + 1.
 */
export class DevClock {
  private offset = 0n;
  private nextOverride: bigint | undefined;

  nextTimestamp(parentTimestamp: bigint): bigint {
    const override = this.nextOverride;
    this.nextOverride = undefined;
    if (override !== undefined) return override;
    const now = BigInt(Math.floor(Date.now() / 1000)) + this.offset;
    return now > parentTimestamp ? now : parentTimestamp + 1n;
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
