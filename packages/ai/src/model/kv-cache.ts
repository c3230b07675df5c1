import type { LlamaHparams } from './hparams.ts';
import { ModelError } from './model-error.ts';

/**
 * One sequence's keys (after RoPE) and values for every layer: row p holds position p, kvHeads ·
 * headDim values. Storage grows by doubling up to `maxLength` tokens (default: the model's
 * context length), so a short chat never holds a full context's worth of memory.
 */
export class KvCache {
  readonly maxLength: number;
  private keyRows: Float32Array[];
  private valueRows: Float32Array[];
  private stored = 0;
  private capacity: number;
  private readonly width: number;

  constructor(
    readonly hparams: LlamaHparams,
    options: { maxLength?: number; initialCapacity?: number } = {},
  ) {
    this.maxLength = options.maxLength ?? hparams.contextLength;
    this.width = hparams.kvHeads * hparams.headDim;
    this.capacity = Math.min(this.maxLength, options.initialCapacity ?? 32);
    this.keyRows = Array.from({ length: hparams.layers }, () => new Float32Array(this.capacity * this.width));
    this.valueRows = Array.from(
      { length: hparams.layers },
      () => new Float32Array(this.capacity * this.width),
    );
  }

  /** Tokens stored: the position the next token will take. */
  get length(): number {
    return this.stored;
  }

  keys(layer: number): Float32Array {
    return this.keyRows[layer]!;
  }

  values(layer: number): Float32Array {
    return this.valueRows[layer]!;
  }

  /** Makes room for `extra` more tokens; throws context-overflow past maxLength. */
  reserve(extra: number): void {
    const needed = this.stored + extra;
    if (needed > this.maxLength) {
      throw new ModelError(
        'context-overflow',
        `sequence would reach ${needed} tokens, past the cache's limit of ${this.maxLength}`,
      );
    }
    if (needed <= this.capacity) return;
    const capacity = Math.min(this.maxLength, Math.max(needed, this.capacity * 2));
    const grow = (rows: Float32Array) => {
      const next = new Float32Array(capacity * this.width);
      next.set(rows.subarray(0, this.stored * this.width));
      return next;
    };
    this.keyRows = this.keyRows.map(grow);
    this.valueRows = this.valueRows.map(grow);
    this.capacity = capacity;
  }

  /** Marks `count` more tokens (written by the forward pass after reserve) as stored. */
  commit(count: number): void {
    this.stored += count;
  }

  /** Forgets everything from position `length` on (e.g. to rewind a rejected draft). */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.stored) {
      throw new RangeError(`cannot truncate a cache of ${this.stored} tokens to ${length}`);
    }
    this.stored = length;
  }

  /** An independent copy (a shared prompt prefix forked into several continuations). */
  clone(): KvCache {
    const copy = new KvCache(this.hparams, { maxLength: this.maxLength, initialCapacity: this.capacity });
    copy.reserve(this.stored);
    for (let l = 0; l < this.hparams.layers; l++) {
      copy.keyRows[l]!.set(this.keyRows[l]!.subarray(0, this.stored * this.width));
      copy.valueRows[l]!.set(this.valueRows[l]!.subarray(0, this.stored * this.width));
    }
    copy.stored = this.stored;
    return copy;
  }
}
