/**
 * The tokenizer's public shapes. A {@link TokenizerSpec} is what a GGUF file's `tokenizer.*` metadata holds,
 * passed as a plain object so that this module does not depend on the GGUF reader.
 */

/** `tokenizer.ggml.model`: byte-level BPE (GPT-2, LLaMA-3) or SentencePiece-style BPE (LLaMA-1/2, Mistral). */
export type TokenizerModel = 'gpt2' | 'llama';

export interface TokenizerSpec {
  /** `tokenizer.ggml.model` */
  model: TokenizerModel;
  /** `tokenizer.ggml.pre`: the pre-tokenizer variant of a byte-level BPE model; absent means 'default'. */
  pre?: string;
  /** `tokenizer.ggml.tokens` */
  tokens: string[];
  /** `tokenizer.ggml.scores`: SentencePiece merge priority (higher merges first). */
  scores?: number[];
  /** `tokenizer.ggml.token_type`, see {@link TokenType}. */
  tokenTypes?: number[];
  /** `tokenizer.ggml.merges`: "left right" pairs, highest priority first (byte-level BPE). */
  merges?: string[];
  bosId?: number;
  eosId?: number;
  unkId?: number;
  padId?: number;
  eotId?: number;
  addBos?: boolean;
  addEos?: boolean;
  addSpacePrefix?: boolean;
  /** `tokenizer.chat_template` (Jinja) */
  chatTemplate?: string;
}

/** Values of `tokenizer.ggml.token_type`. */
export const TokenType = {
  Normal: 1,
  Unknown: 2,
  Control: 3,
  UserDefined: 4,
  Unused: 5,
  Byte: 6,
} as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

export interface EncodeOptions {
  /** Prepend BOS. Default: the spec's `addBos`, else the model's default (as llama.cpp decides it). */
  addBos?: boolean;
  /** Append EOS. Default: the spec's `addEos`, else false. */
  addEos?: boolean;
  /**
   * Match control tokens (`<|im_start|>`, `<s>`, …) written verbatim in the text. Default false: their text is
   * tokenized as ordinary text. User-defined tokens are always matched, as in llama.cpp.
   */
  special?: boolean;
}

export interface DecodeOptions {
  /** Render control and unknown tokens as their text. Default false: they decode to nothing. */
  special?: boolean;
  /**
   * Drop the one space that SentencePiece's add-space-prefix put in front of the text, i.e. the leading space
   * of the first piece (after a leading BOS). Default: true in `decode` when the model adds a space prefix,
   * false in `decoder()`, whose stream usually continues a prompt (where that space is real).
   */
  stripLeadingSpace?: boolean;
}

/** Incremental decoding for generation: only ever returns complete characters. */
export interface StreamDecoder {
  /** Feeds one token; returns the text that became complete (possibly ''). */
  push(id: number): string;
  /** Ends the stream; returns what is left, with U+FFFD for a dangling partial UTF-8 sequence. */
  flush(): string;
}

export interface Tokenizer {
  readonly model: TokenizerModel;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  /** Whether `encode` prepends BOS / appends EOS when not told otherwise. */
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly chatTemplate: string | undefined;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  decoder(options?: DecodeOptions): StreamDecoder;
  /** The token's vocabulary entry, as stored (e.g. 'Ġworld', '▁world', '<0x0A>'). */
  tokenText(id: number): string;
  /** The id of a vocabulary entry, if there is one. */
  tokenId(text: string): number | undefined;
  /** The token's {@link TokenType} (0 for a value the spec gave that is not one of them). */
  tokenType(id: number): number;
  /** End of generation: EOS, EOT, and end-of-turn control tokens such as `<|im_end|>` or `<|eot_id|>`. */
  isEog(id: number): boolean;
}
