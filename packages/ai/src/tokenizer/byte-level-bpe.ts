/**
 * Byte-level BPE (`tokenizer.ggml.model` = 'gpt2'): GPT-2, LLaMA-3, Qwen2, SmolLM and our own trained
 * models. Text is cut into words by the pre-tokenizer; each word's UTF-8 bytes are merged by rank; a merged
 * piece that is not in the vocabulary falls back to its single-byte tokens (llama.cpp does the same).
 */
import { BaseTokenizer } from './base-tokenizer.ts';
import { bytesToByteLevel, byteLevelToBytes } from './byte-unicode.ts';
import { BpeMerger } from './bpe-merger.ts';
import { getPreTokenizer, type PreTokenizer } from './pre-tokenizer.ts';
import type { TokenizerSpec } from './types.ts';
import { Vocab } from './vocab.ts';

/** Words repeat heavily in real text; past this many cached words the cache starts over. */
const CACHE_LIMIT = 1 << 16;
const utf8 = new TextEncoder();

export class ByteLevelBpeTokenizer extends BaseTokenizer {
  readonly model = 'gpt2' as const;
  private readonly pre: PreTokenizer;
  private readonly merger: BpeMerger;
  private readonly cache = new Map<string, readonly number[]>();

  constructor(spec: TokenizerSpec) {
    if (!spec.merges) throw new Error('tokenizer: a byte-level BPE model needs tokenizer.ggml.merges');
    const pre = getPreTokenizer(spec.pre);
    const vocab = new Vocab(spec, {});
    // Byte-level tokens carry their spaces; there is no space prefix to strip (llama.cpp ignores it for BPE).
    super(vocab, spec, { addBosDefault: pre.addBos, stripsLeadingSpace: false });
    this.pre = pre;
    this.merger = new BpeMerger(vocab, spec.merges);
  }

  /** The pre-tokenizer's words, for inspection and for the trainer's tests. */
  preTokenize(text: string): string[] {
    return this.pre.split(text);
  }

  protected encodeText(text: string, out: number[]): void {
    for (const word of this.pre.split(text)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(word);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  protected normalBytes(_id: number, text: string): Uint8Array {
    return byteLevelToBytes(text);
  }

  private encodeWord(word: string): number[] {
    const bytes = utf8.encode(word);
    if (this.pre.ignoreMerges) {
      const whole = this.vocab.idOf(bytesToByteLevel(bytes));
      if (whole !== undefined) return [whole];
    }
    const out: number[] = [];
    for (const piece of this.merger.merge(bytes)) {
      if (this.merger.isToken(piece)) {
        out.push(piece);
        continue;
      }
      // A vocabulary missing a byte loses that byte, as in llama.cpp; vocabularies have all 256.
      for (const byte of this.merger.bytesOf(piece)) {
        const id = this.merger.byteToken(byte);
        if (id !== undefined) out.push(id);
      }
    }
    return out;
  }
}
