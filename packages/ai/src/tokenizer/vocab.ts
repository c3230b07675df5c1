/**
 * The vocabulary shared by both tokenizer models: token texts and types, the special ids, which tokens end a
 * generation, and which tokens are split out of the text before tokenization. It resolves a
 * {@link TokenizerSpec} the way llama.cpp's `llama_vocab::load` does, so that a GGUF behaves the same here.
 */
import { TokenType, type TokenizerSpec } from './types.ts';

/**
 * Texts that mean "end of turn" when the GGUF names no EOT id. llama.cpp finds them by scanning a hash map,
 * so with several present its choice is arbitrary; we take the first of this list that the vocab holds.
 */
const EOT_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
/** Every text llama.cpp treats as end of generation, whatever the GGUF's ids say. */
const EOG_TEXTS = new Set([
  ...EOT_TEXTS,
  ...EOM_TEXTS,
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '</s>',
  '[EOS]',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '[e~[',
]);

export interface SpecialToken {
  id: number;
  text: string;
  /** Control and unknown tokens are only matched on request; user-defined ones always. */
  onlyOnRequest: boolean;
}

export interface VocabDefaults {
  bosId?: number;
  eosId?: number;
  unkId?: number;
}

export class Vocab {
  readonly tokens: readonly string[];
  /** Per token, a {@link TokenType} value; 0 where the spec gave something else. */
  readonly types: Uint8Array;
  readonly scores: readonly number[] | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly eotId: number | undefined;
  readonly eomId: number | undefined;
  readonly unkId: number | undefined;
  readonly padId: number | undefined;
  /** Tokens split out of the input before tokenization, longest text first (llama.cpp's matching order). */
  readonly specialTokens: readonly SpecialToken[];
  private readonly ids = new Map<string, number>();
  private readonly eog = new Set<number>();

  constructor(spec: TokenizerSpec, defaults: VocabDefaults) {
    const n = spec.tokens.length;
    if (n === 0) throw new Error('tokenizer: the vocabulary is empty');
    if (spec.scores && spec.scores.length < n) {
      throw new Error(`tokenizer: ${spec.scores.length} scores for ${n} tokens`);
    }
    if (spec.tokenTypes && spec.tokenTypes.length < n) {
      throw new Error(`tokenizer: ${spec.tokenTypes.length} token types for ${n} tokens`);
    }
    const tokens: string[] = [];
    for (let i = 0; i < n; i++) {
      // llama.cpp renames empty entries instead of rejecting the model.
      const text = spec.tokens[i] || `[EMPTY_${i}]`;
      const seen = this.ids.get(text);
      if (seen !== undefined) {
        throw new Error(`tokenizer: duplicate token ${JSON.stringify(text)} has ids ${seen} and ${i}`);
      }
      this.ids.set(text, i);
      tokens.push(text);
    }
    this.tokens = tokens;
    this.scores = spec.scores;
    this.types = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const type = spec.tokenTypes ? spec.tokenTypes[i]! : TokenType.Normal;
      this.types[i] = Number.isInteger(type) && type >= TokenType.Normal && type <= TokenType.Byte ? type : 0;
    }

    // A bad id in the metadata falls back to the default (llama.cpp warns and does the same): real GGUFs
    // carry e.g. a padding id one past the end of the vocabulary.
    const id = (given: number | undefined, fallback: number | undefined): number | undefined => {
      if (given !== undefined && Number.isInteger(given) && given >= 0 && given < n) return given;
      return fallback !== undefined && fallback >= 0 && fallback < n ? fallback : undefined;
    };
    this.bosId = id(spec.bosId, defaults.bosId);
    this.eosId = id(spec.eosId, defaults.eosId);
    this.unkId = id(spec.unkId, defaults.unkId);
    this.padId = id(spec.padId, undefined);
    this.eotId = id(spec.eotId, this.findFirst(EOT_TEXTS));
    this.eomId = this.findFirst(EOM_TEXTS);

    for (const text of EOG_TEXTS) {
      const found = this.ids.get(text);
      if (found !== undefined) this.eog.add(found);
    }
    if (!spec.tokenTypes) {
      // Without token types every entry would count as text, and `<s>` would decode as "<s>".
      for (const special of [this.bosId, this.eosId, this.padId]) {
        if (special !== undefined) this.types[special] = TokenType.Control;
      }
      if (this.unkId !== undefined) this.types[this.unkId] = TokenType.Unknown;
    }
    for (const extra of [this.eosId, this.eotId, this.eomId]) {
      if (extra !== undefined) this.eog.add(extra);
    }
    // Converters sometimes leave these typed as normal text; llama.cpp forces them to control so that they
    // are hidden when decoding and only matched in the input on request.
    for (const eogId of this.eog) {
      if (this.types[eogId] !== TokenType.Control) this.types[eogId] = TokenType.Control;
    }

    const specials: SpecialToken[] = [];
    for (let i = 0; i < n; i++) {
      const type = this.types[i];
      if (type === TokenType.Control || type === TokenType.Unknown || type === TokenType.UserDefined) {
        specials.push({ id: i, text: tokens[i]!, onlyOnRequest: type !== TokenType.UserDefined });
      }
    }
    specials.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    this.specialTokens = specials;
  }

  get size(): number {
    return this.tokens.length;
  }

  idOf(text: string): number | undefined {
    return this.ids.get(text);
  }

  isEog(id: number): boolean {
    return this.eog.has(id);
  }

  /** Throws for anything that is not a token id of this vocabulary. */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new RangeError(
        `tokenizer: token id ${id} is outside the vocabulary (size ${this.tokens.length})`,
      );
    }
  }

  private findFirst(texts: readonly string[]): number | undefined {
    for (const text of texts) {
      const found = this.ids.get(text);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}
