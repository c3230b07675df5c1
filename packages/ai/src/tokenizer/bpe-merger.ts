/**
 * The merge loop of byte-level BPE for one pre-token word, as llama.cpp's `llm_tokenizer_bpe_session`: start
 * from one symbol per byte, repeatedly merge the adjacent pair with the lowest merge rank (the leftmost one on
 * a tie) until no adjacent pair has a rank.
 *
 * Symbols are numbers ("pieces"): a vocabulary entry's id, or, for a merge result or byte that the vocabulary
 * lacks, an id past its end. Pairs are looked up by number, and the candidates sit in a heap keyed by
 * rank·2²⁶ + left position, so a word of n bytes costs O(n log n). Stale candidates (a side already merged
 * into something else) are recognised on pop because the pair now at that position has another rank.
 */
import { BYTE_TO_CHAR, byteLevelToBytes } from './byte-unicode.ts';
import { NumberMinHeap } from './priority-queue.ts';
import type { Vocab } from './vocab.ts';

const PAIR_SHIFT = 2 ** 24; // room for 16M pieces
const POSITION_SHIFT = 2 ** 26; // room for 64M-byte words and 128M merges within 2^53

export class BpeMerger {
  private readonly extraIds = new Map<string, number>();
  private readonly extraTexts: string[] = [];
  /** pair key (left·2²⁴ + right) → rank */
  private readonly ranks = new Map<number, number>();
  /** rank → merged piece */
  private readonly merged: number[] = [];
  /** byte → its piece */
  private readonly bytePiece = new Int32Array(256);
  private readonly heap = new NumberMinHeap();
  private symbols = new Int32Array(64);
  private next = new Int32Array(64);
  private prev = new Int32Array(64);

  constructor(
    private readonly vocab: Vocab,
    merges: readonly string[],
  ) {
    for (let byte = 0; byte < 256; byte++) this.bytePiece[byte] = this.piece(BYTE_TO_CHAR[byte]!);
    merges.forEach((line, rank) => {
      // As llama.cpp: split at the first space after the first character; a line without one is ignored.
      const at = line.indexOf(' ', 1);
      if (at < 0) return;
      const left = line.slice(0, at);
      const right = line.slice(at + 1);
      const key = this.piece(left) * PAIR_SHIFT + this.piece(right);
      // The first occurrence of a pair wins, as with llama.cpp's map emplace.
      if (this.ranks.has(key)) return;
      this.ranks.set(key, rank);
      this.merged[rank] = this.piece(left + right);
    });
    if (this.vocab.size + this.extraTexts.length >= PAIR_SHIFT)
      throw new Error('tokenizer: vocabulary too large');
  }

  /** Whether a piece is a vocabulary entry (its id is then the token id). */
  isToken(piece: number): boolean {
    return piece < this.vocab.size;
  }

  /** The token of a single byte, if the vocabulary has one. */
  byteToken(byte: number): number | undefined {
    const piece = this.bytePiece[byte]!;
    return this.isToken(piece) ? piece : undefined;
  }

  /** The bytes a piece that is not a token stands for. */
  bytesOf(piece: number): Uint8Array {
    return byteLevelToBytes(this.extraTexts[piece - this.vocab.size]!);
  }

  /** Merges the UTF-8 bytes of one word; returns the final pieces in order. */
  merge(bytes: Uint8Array): number[] {
    const n = bytes.length;
    if (n >= POSITION_SHIFT) throw new Error(`tokenizer: a ${n}-byte word is too long to merge`);
    if (n > this.symbols.length) {
      const size = Math.max(n, this.symbols.length * 2);
      this.symbols = new Int32Array(size);
      this.next = new Int32Array(size);
      this.prev = new Int32Array(size);
    }
    const { symbols, next, prev, heap } = this;
    for (let i = 0; i < n; i++) {
      symbols[i] = this.bytePiece[bytes[i]!]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    heap.clear();
    for (let i = 0; i + 1 < n; i++) this.candidate(i, i + 1);

    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / POSITION_SHIFT);
      const left = key - rank * POSITION_SHIFT;
      if (symbols[left] === -1) continue;
      const right = next[left]!;
      if (right === -1 || this.ranks.get(symbols[left]! * PAIR_SHIFT + symbols[right]!) !== rank) continue;
      symbols[left] = this.merged[rank]!;
      symbols[right] = -1;
      const after = next[right]!;
      next[left] = after;
      if (after !== -1) prev[after] = left;
      if (prev[left] !== -1) this.candidate(prev[left]!, left);
      if (after !== -1) this.candidate(left, after);
    }

    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) out.push(symbols[i]!);
    return out;
  }

  private candidate(left: number, right: number): void {
    const rank = this.ranks.get(this.symbols[left]! * PAIR_SHIFT + this.symbols[right]!);
    if (rank !== undefined) this.heap.push(rank * POSITION_SHIFT + left);
  }

  private piece(text: string): number {
    const id = this.vocab.idOf(text);
    if (id !== undefined) return id;
    let extra = this.extraIds.get(text);
    if (extra === undefined) {
      extra = this.vocab.size + this.extraTexts.length;
      this.extraIds.set(text, extra);
      this.extraTexts.push(text);
    }
    return extra;
  }
}
