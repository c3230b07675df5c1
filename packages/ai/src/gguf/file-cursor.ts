import type { FileHandle } from 'node:fs/promises';
import { GgufError } from './gguf-error.ts';
import { MAX_STRING_BYTES } from './gguf-types.ts';

const DEFAULT_WINDOW = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Sequential little-endian reads from a file through a window that slides forward, so parsing a
 * header never holds more than the window (or the largest single string) in memory. Every read is
 * bounded by the file size first: a short file gives `truncated` with the offset, never a RangeError.
 *
 * Usage: `await cursor.need(n, what)` then up to n bytes of synchronous reads.
 */
export class FileCursor {
  private window: Uint8Array;
  private view: DataView;
  /** File offset of window[0], and of the end of the valid bytes in the window. */
  private windowStart = 0;
  private windowEnd = 0;
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly label: string,
    windowBytes = DEFAULT_WINDOW,
  ) {
    this.window = new Uint8Array(windowBytes);
    this.view = new DataView(this.window.buffer);
  }

  get remaining(): number {
    return this.size - this.position;
  }

  /** An error that names the file, for callers that find a problem in what they read. */
  error(
    code: ConstructorParameters<typeof GgufError>[0],
    message: string,
    offset = this.position,
  ): GgufError {
    return new GgufError(code, `${this.label}: ${message}`, offset);
  }

  /** Makes the next `n` bytes readable synchronously, or throws `truncated` naming `what`. */
  async need(n: number, what: string): Promise<void> {
    if (n > this.remaining) {
      throw this.error(
        'truncated',
        `${what} needs ${n} bytes but the file has only ${this.remaining} left (size ${this.size})`,
      );
    }
    if (this.position + n <= this.windowEnd) return;
    await this.fill(n);
  }

  private async fill(n: number): Promise<void> {
    const keep = this.window.subarray(this.position - this.windowStart, this.windowEnd - this.windowStart);
    if (n > this.window.length) {
      // Only ever as large as something already checked against the file size and format limits.
      const grown = new Uint8Array(n);
      grown.set(keep);
      this.window = grown;
      this.view = new DataView(grown.buffer);
    } else {
      this.window.copyWithin(0, this.position - this.windowStart, this.windowEnd - this.windowStart);
    }
    this.windowStart = this.position;
    let filled = keep.length;
    const target = Math.min(this.window.length, this.size - this.windowStart);
    while (filled < n) {
      const { bytesRead } = await this.handle.read(
        this.window,
        filled,
        target - filled,
        this.windowStart + filled,
      );
      if (bytesRead === 0) {
        // The file shrank under us since we measured it.
        throw this.error('truncated', `unexpected end of file while reading`, this.windowStart + filled);
      }
      filled += bytesRead;
    }
    this.windowEnd = this.windowStart + filled;
  }

  private take(n: number): number {
    const at = this.position - this.windowStart;
    if (this.position + n > this.windowEnd) throw new Error(`FileCursor: read of ${n} bytes without need()`);
    this.position += n;
    return at;
  }

  u8(): number {
    return this.window[this.take(1)]!;
  }
  i8(): number {
    return this.view.getInt8(this.take(1));
  }
  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  i16(): number {
    return this.view.getInt16(this.take(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }
  u64(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }
  i64(): bigint {
    return this.view.getBigInt64(this.take(8), true);
  }
  f32(): number {
    return this.view.getFloat32(this.take(4), true);
  }
  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }
  bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.window.slice(at, at + n);
  }

  async readU32(what: string): Promise<number> {
    await this.need(4, what);
    return this.u32();
  }

  async readU64(what: string): Promise<bigint> {
    await this.need(8, what);
    return this.u64();
  }

  /** A GGUF string: u64 byte length, then that many bytes of UTF-8 (no terminator). */
  async readString(what: string): Promise<string> {
    const start = this.position;
    const length = await this.readU64(`the length of ${what}`);
    if (length > BigInt(MAX_STRING_BYTES)) {
      throw this.error(
        'too-large',
        `${what} claims ${length} bytes, over the ${MAX_STRING_BYTES} limit`,
        start,
      );
    }
    await this.need(Number(length), what);
    const at = this.take(Number(length));
    try {
      return utf8.decode(this.window.subarray(at, at + Number(length)));
    } catch {
      throw this.error('bad-value', `${what} is not valid UTF-8`, start);
    }
  }
}
