/**
 * What both tokenizer models share: BOS/EOS, splitting special tokens out of the input, and decoding token
 * pieces to exact bytes. Subclasses only say how a run of plain text becomes ids and how a normal token's
 * vocabulary entry becomes bytes.
 */
import { splitOnSpecialTokens } from './special-split.ts';
import { Utf8StreamDecoder } from './stream-decoder.ts';
import {
  TokenType,
  type DecodeOptions,
  type EncodeOptions,
  type StreamDecoder,
  type Tokenizer,
  type TokenizerModel,
  type TokenizerSpec,
} from './types.ts';
import type { Vocab } from './vocab.ts';

const EMPTY = new Uint8Array(0);
const SPACE = 0x20;
const utf8 = new TextEncoder();

/** `<0x41>` → 0x41, anything else → undefined. */
export function parseByteToken(text: string): number | undefined {
  return /^<0x[0-9A-Fa-f]{2}>$/.test(text) ? parseInt(text.slice(3, 5), 16) : undefined;
}

export interface BaseOptions {
  /** The model's default for `addBos` when the spec does not say. */
  addBosDefault: boolean;
  /** Whether `decode` drops the first piece's leading space by default (SentencePiece add-space-prefix). */
  stripsLeadingSpace: boolean;
}

export abstract class BaseTokenizer implements Tokenizer {
  abstract readonly model: TokenizerModel;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | undefined;
  private readonly stripsLeadingSpace: boolean;
  private readonly pieces: (Uint8Array | undefined)[] = [];
  private readonly specialPieces: (Uint8Array | undefined)[] = [];

  constructor(
    protected readonly vocab: Vocab,
    spec: TokenizerSpec,
    options: BaseOptions,
  ) {
    if (spec.addBos && vocab.bosId === undefined)
      throw new Error('tokenizer: addBos is set but there is no BOS id');
    if (spec.addEos && vocab.eosId === undefined)
      throw new Error('tokenizer: addEos is set but there is no EOS id');
    // A model whose default is to add BOS but that has none simply does not add it.
    this.addBos = (spec.addBos ?? options.addBosDefault) && vocab.bosId !== undefined;
    this.addEos = spec.addEos ?? false;
    this.chatTemplate = spec.chatTemplate;
    this.stripsLeadingSpace = options.stripsLeadingSpace;
  }

  /** Appends the ids of a run of plain text; `afterSpecial` is true at the start and after a special token. */
  protected abstract encodeText(text: string, out: number[], afterSpecial: boolean): void;

  /** The bytes a normal token stands for. */
  protected abstract normalBytes(id: number, text: string): Uint8Array;

  get vocabSize(): number {
    return this.vocab.size;
  }
  get bosId(): number | undefined {
    return this.vocab.bosId;
  }
  get eosId(): number | undefined {
    return this.vocab.eosId;
  }
  get eotId(): number | undefined {
    return this.vocab.eotId;
  }
  get unkId(): number | undefined {
    return this.vocab.unkId;
  }
  get padId(): number | undefined {
    return this.vocab.padId;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addBos ?? this.addBos) out.push(this.required(this.vocab.bosId, 'BOS'));
    let afterSpecial = true;
    for (const fragment of splitOnSpecialTokens(text, this.vocab.specialTokens, options.special ?? false)) {
      if (typeof fragment === 'number') {
        out.push(fragment);
        afterSpecial = true;
      } else {
        this.encodeText(fragment, out, afterSpecial);
        afterSpecial = false;
      }
    }
    if (options.addEos ?? this.addEos) out.push(this.required(this.vocab.eosId, 'EOS'));
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const special = options.special ?? false;
    const strip = options.stripLeadingSpace ?? this.stripsLeadingSpace;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const piece = this.pieceAt(ids[i]!, i, ids[0], special, strip);
      parts.push(piece);
      total += piece.length;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  }

  decoder(options: DecodeOptions = {}): StreamDecoder {
    const special = options.special ?? false;
    const strip = options.stripLeadingSpace ?? false;
    return new Utf8StreamDecoder((id, index, first) => this.pieceAt(id, index, first, special, strip));
  }

  tokenText(id: number): string {
    this.vocab.check(id);
    return this.vocab.tokens[id]!;
  }

  tokenId(text: string): number | undefined {
    return this.vocab.idOf(text);
  }

  tokenType(id: number): number {
    this.vocab.check(id);
    return this.vocab.types[id]!;
  }

  isEog(id: number): boolean {
    return this.vocab.isEog(id);
  }

  /**
   * A token's bytes at a position of a sequence. With `strip`, the first text piece (at the start or right
   * after a leading BOS) loses one leading space: SentencePiece's decoder does this to undo the space that
   * add-space-prefix inserted. llama.cpp keeps that space when the sequence starts with BOS; we follow
   * SentencePiece there so that decode(encode(text)) gives back the text.
   */
  private pieceAt(
    id: number,
    index: number,
    first: number | undefined,
    special: boolean,
    strip: boolean,
  ): Uint8Array {
    const bytes = this.pieceBytes(id, special);
    if (
      strip &&
      bytes[0] === SPACE &&
      this.vocab.types[id] === TokenType.Normal &&
      (index === 0 || (index === 1 && first === this.vocab.bosId))
    ) {
      return bytes.subarray(1);
    }
    return bytes;
  }

  /** As llama.cpp's `token_to_piece`: control and unknown tokens only render on request, unused ones never. */
  private pieceBytes(id: number, special: boolean): Uint8Array {
    this.vocab.check(id);
    const cache = special ? this.specialPieces : this.pieces;
    const cached = cache[id];
    if (cached) return cached;
    const text = this.vocab.tokens[id]!;
    let bytes: Uint8Array;
    switch (this.vocab.types[id]) {
      case TokenType.Control:
      case TokenType.Unknown:
        bytes = special ? utf8.encode(text) : EMPTY;
        break;
      case TokenType.UserDefined:
        bytes = utf8.encode(text);
        break;
      case TokenType.Byte: {
        const byte = parseByteToken(text);
        bytes = byte === undefined ? this.normalBytes(id, text) : Uint8Array.of(byte);
        break;
      }
      case TokenType.Normal:
        bytes = this.normalBytes(id, text);
        break;
      default:
        bytes = EMPTY;
    }
    cache[id] = bytes;
    return bytes;
  }

  private required(id: number | undefined, what: string): number {
    if (id === undefined)
      throw new Error(`tokenizer: ${what} requested but the vocabulary has no ${what} token`);
    return id;
  }
}
