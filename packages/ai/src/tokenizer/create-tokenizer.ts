/** The entry point: a tokenizer for whatever model a GGUF's metadata describes. */
import { ByteLevelBpeTokenizer } from './byte-level-bpe.ts';
import { SentencePieceBpeTokenizer } from './sentencepiece-bpe.ts';
import type { Tokenizer, TokenizerSpec } from './types.ts';

export function createTokenizer(spec: TokenizerSpec): Tokenizer {
  switch (spec.model) {
    case 'gpt2':
      return new ByteLevelBpeTokenizer(spec);
    case 'llama':
      return new SentencePieceBpeTokenizer(spec);
    default:
      throw new Error(
        `tokenizer: unsupported tokenizer model ${JSON.stringify(spec.model)}; supported: gpt2 (byte-level BPE), llama (SentencePiece BPE)`,
      );
  }
}
