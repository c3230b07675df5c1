/**
 * SentencePiece-style BPE (`tokenizer.ggml.model` = 'llama': LLaMA-1/2, Mistral, …), as llama.cpp's
 * `llm_tokenizer_spm`:
 *  - spaces become '▁' (U+2581), and a space is put in front of the text (and of any text that follows a
 *    special token) when add-space-prefix is on (the default);
 *  - the text starts as one symbol per character; the adjacent pair whose concatenation is a vocabulary
 *    entry with the highest score merges first (the leftmost on a tie), until no pair is an entry;
 *  - a symbol left that is not an entry becomes its UTF-8 bytes as `<0xXX>` tokens (byte fallback), or
 *    `<unk>` where the vocabulary has no such byte token.
 * There is no pre-tokenization: the whole fragment is one sequence, so the queue keeps long inputs
 * O(n log n).
 */
import { BaseTokenizer, parseByteToken } from './base-tokenizer.ts';
import { PriorityQueue } from './priority-queue.ts';
import type { TokenizerSpec } from './types.ts';
import { Vocab } from './vocab.ts';

const SPACE_MARK = '\u2581';
const utf8 = new TextEncoder();

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** The merged length; a mismatch on pop means one side has grown since, so the candidate is stale. */
  size: number;
}

const better = (a: Bigram, b: Bigram): boolean =>
  a.score > b.score || (a.score === b.score && a.left < b.left);

export class SentencePieceBpeTokenizer extends BaseTokenizer {
  readonly model = 'llama' as const;
  private readonly addSpacePrefix: boolean;
  /** byte → its fallback token (or unk), undefined where the vocabulary has neither */
  private readonly byteTokens: (number | undefined)[] = [];
  private readonly typesGiven: boolean;

  constructor(spec: TokenizerSpec) {
    // llama.cpp's defaults for an SPM vocabulary: <unk> 0, <s> 1, </s> 2, BOS added, space prefix added.
    const vocab = new Vocab(spec, { unkId: 0, bosId: 1, eosId: 2 });
    const addSpacePrefix = spec.addSpacePrefix ?? true;
    super(vocab, spec, { addBosDefault: true, stripsLeadingSpace: addSpacePrefix });
    this.addSpacePrefix = addSpacePrefix;
    this.typesGiven = spec.tokenTypes !== undefined;
    for (let byte = 0; byte < 256; byte++) {
      const hex = byte.toString(16).toUpperCase().padStart(2, '0');
      // As llama.cpp's byte_to_token: `<0xXX>`, else the byte itself as a one-character entry.
      const id =
        vocab.idOf(`<0x${hex}>`) ?? (byte < 0x80 ? vocab.idOf(String.fromCharCode(byte)) : undefined);
      this.byteTokens.push(id ?? vocab.unkId);
    }
  }

  protected encodeText(fragment: string, out: number[], afterSpecial: boolean): void {
    const text = (this.addSpacePrefix && afterSpecial ? ' ' + fragment : fragment).replaceAll(
      ' ',
      SPACE_MARK,
    );
    // One symbol per code point: its start in `text`, its length (in UTF-16 units), and the chain.
    const start: number[] = [];
    const length: number[] = [];
    for (let i = 0; i < text.length;) {
      const units = text.codePointAt(i)! > 0xffff ? 2 : 1;
      start.push(i);
      length.push(units);
      i += units;
    }
    const n = start.length;
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const queue = new PriorityQueue<Bigram>(better);
    const candidate = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const size = length[left]! + length[right]!;
      const id = this.vocab.idOf(text.slice(start[left], start[left]! + size));
      if (id !== undefined) queue.push({ left, right, score: this.vocab.scores?.[id] ?? 0, size });
    };
    for (let i = 1; i < n; i++) candidate(i - 1, i);

    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const { left, right } = bigram;
      if (length[left] === 0 || length[right] === 0 || length[left]! + length[right]! !== bigram.size)
        continue;
      length[left] = bigram.size;
      length[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      candidate(prev[left]!, left);
      candidate(left, next[left]!);
    }

    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]!) {
      const piece = text.slice(start[i], start[i]! + length[i]!);
      const id = this.vocab.idOf(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of utf8.encode(piece)) {
        const fallback = this.byteTokens[byte];
        if (fallback === undefined) {
          throw new Error(`tokenizer: no byte-fallback token for 0x${byte.toString(16)} and no <unk>`);
        }
        out.push(fallback);
      }
    }
  }

  protected normalBytes(_id: number, text: string): Uint8Array {
    // Without token types every entry counts as normal; byte-fallback entries still have to decode as bytes.
    const byte = this.typesGiven ? undefined : parseByteToken(text);
    return byte === undefined ? utf8.encode(text.replaceAll(SPACE_MARK, ' ')) : Uint8Array.of(byte);
  }
}
