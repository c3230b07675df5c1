/**
 * Streaming detokenization for generation. A token can end in the middle of a UTF-8 character (byte-level
 * BPE splits emojis and CJK across tokens; SentencePiece falls back to single-byte tokens), so text is only
 * released once its characters are complete. The WHATWG streaming decoder gives exactly that, and the
 * concatenation of its outputs equals a one-shot decode of all the bytes.
 */
import type { StreamDecoder } from './types.ts';

/** A token's bytes given its position in the stream and the stream's first token. */
export type PieceAt = (id: number, index: number, first: number | undefined) => Uint8Array;

export class Utf8StreamDecoder implements StreamDecoder {
  // ignoreBOM: a U+FEFF at the start is text the model produced, not a byte-order mark to swallow.
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  private index = 0;
  private first: number | undefined;

  constructor(private readonly pieceAt: PieceAt) {}

  push(id: number): string {
    const bytes = this.pieceAt(id, this.index, this.first);
    if (this.index === 0) this.first = id;
    this.index++;
    return bytes.length > 0 ? this.utf8.decode(bytes, { stream: true }) : '';
  }

  flush(): string {
    return this.utf8.decode();
  }
}
