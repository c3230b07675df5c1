/** A growable little-endian byte buffer for the header (metadata and tensor infos). */
export class ByteWriter {
  private buffer = new Uint8Array(4096);
  private view = new DataView(this.buffer.buffer);
  length = 0;

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
    this.view.setUint8(this.reserve(1), v);
  }
  i8(v: number): void {
    this.view.setInt8(this.reserve(1), v);
  }
  u16(v: number): void {
    this.view.setUint16(this.reserve(2), v, true);
  }
  i16(v: number): void {
    this.view.setInt16(this.reserve(2), v, true);
  }
  u32(v: number): void {
    this.view.setUint32(this.reserve(4), v, true);
  }
  i32(v: number): void {
    this.view.setInt32(this.reserve(4), v, true);
  }
  u64(v: bigint | number): void {
    this.view.setBigUint64(this.reserve(8), BigInt(v), true);
  }
  i64(v: bigint): void {
    this.view.setBigInt64(this.reserve(8), v, true);
  }
  f32(v: number): void {
    this.view.setFloat32(this.reserve(4), v, true);
  }
  f64(v: number): void {
    this.view.setFloat64(this.reserve(8), v, true);
  }
  bytes(b: Uint8Array): void {
    this.buffer.set(b, this.reserve(b.length));
  }
  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.buffer.fill(0, this.reserve(padding), this.length);
  }

  result(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
