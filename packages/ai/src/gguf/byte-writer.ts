/** A growable little-endian byte buffer for the header (metadata and tensor infos). */
export class ByteWriter {
  private buffer = new Uint8Array(4096);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  /**
   * Room for n more bytes; returns where they go. It may replace `buffer` and `view`, so callers take
   * the offset first: in `this.view.setX(this.reserve(n), ...)` the old view is read before the call.
   */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buffer.length) {
      const grown = new Uint8Array(Math.max(at + n, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, at));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
  }
  u64(v: bigint | number): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(v), true);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, v, true);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buffer.set(b, at);
  }
  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    const at = this.reserve(padding);
    this.buffer.fill(0, at, this.length);
  }

  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
