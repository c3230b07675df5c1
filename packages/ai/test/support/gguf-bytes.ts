/**
 * Builds GGUF bytes by hand, independently of src/gguf's writer, so tests can produce files the
 * writer refuses to (bad magic, duplicate names, absurd counts, misaligned offsets...).
 */
export class Bytes {
  private chunks: number[] = [];

  get length(): number {
    return this.chunks.length;
  }

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.chunks.push(bytes[i]! & 0xff);
    return this;
  }
  u8(v: number): this {
    return this.raw([v]);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    return this.raw(b);
  }
  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    return this.raw(b);
  }
  f32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    return this.raw(b);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.u64(b.length).raw(b);
  }
  /** Zeros up to a multiple of `n`. */
  pad(n: number): this {
    while (this.chunks.length % n !== 0) this.chunks.push(0);
    return this;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export interface RawTensor {
  name: string;
  ne: (number | bigint)[];
  type: number;
  offset: number | bigint;
}

export interface RawGguf {
  magic?: string;
  version?: number;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  /** Writes the key-value pairs (key string, type, value) itself. */
  kv?: (b: Bytes) => void;
  tensors?: RawTensor[];
  alignment?: number;
  /** The data section, placed at the aligned end of the tensor infos. */
  data?: Uint8Array;
}

export function rawGguf(spec: RawGguf): Uint8Array {
  const tensors = spec.tensors ?? [];
  const b = new Bytes()
    .raw(Buffer.from(spec.magic ?? 'GGUF', 'latin1'))
    .u32(spec.version ?? 3)
    .u64(spec.tensorCount ?? tensors.length)
    .u64(spec.kvCount ?? 0);
  spec.kv?.(b);
  for (const t of tensors) {
    b.str(t.name).u32(t.ne.length);
    for (const n of t.ne) b.u64(n);
    b.u32(t.type).u64(t.offset);
  }
  b.pad(spec.alignment ?? 32);
  if (spec.data) b.raw(spec.data);
  return b.build();
}
