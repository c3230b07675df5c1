/**
 * Trains a byte-level BPE vocabulary for our own base model and returns it as the {@link TokenizerSpec} a
 * GGUF would carry. Ids 0–255 are the 256 bytes (so every text is encodable), then the learned merges in
 * order, then the special tokens (typed control).
 *
 * Standard BPE over pre-token words: count each word once with its frequency, repeatedly merge the most
 * frequent adjacent pair (ties: the smaller left id, then the smaller right id, so the result is
 * deterministic). Pair counts are kept incrementally: a merge only revisits the words that contain the pair
 * (found through a pair → words index) and adjusts the counts of the pairs around it. The best pair comes
 * from a heap of (count, pair) entries that may be stale: counts only grow for pairs containing the new
 * symbol, which get a fresh entry, so every pair's largest entry bounds its count, and an entry whose count
 * no longer matches is pushed back with the current count when it surfaces.
 */
import { BYTE_TO_CHAR } from './byte-unicode.ts';
import { getPreTokenizer } from './pre-tokenizer.ts';
import { PriorityQueue } from './priority-queue.ts';
import { splitOnSpecialTokens } from './special-split.ts';
import { TokenType, type TokenizerSpec } from './types.ts';
import type { SpecialToken } from './vocab.ts';

export interface TrainBpeOptions {
  /** Total vocabulary size, bytes and special tokens included. Fewer if the text runs out of pairs. */
  vocabSize: number;
  /** Control tokens appended after the learned ones; occurrences in the training text are left out of it. */
  specialTokens?: readonly string[];
  /** Pre-tokenizer variant (`tokenizer.ggml.pre`); default 'llama3'. */
  pre?: string;
  /** Stop merging when the best pair occurs fewer times than this; default 2. */
  minFrequency?: number;
  /** The BOS / EOS special tokens; default: a conventional name found among `specialTokens`. */
  bosToken?: string;
  eosToken?: string;
}

const BOS_NAMES = ['<|begin_of_text|>', '<|startoftext|>', '<s>', '<bos>'];
const EOS_NAMES = ['<|end_of_text|>', '<|endoftext|>', '</s>', '<eos>'];
const PAIR_SHIFT = 2 ** 21;
const utf8 = new TextEncoder();

interface Entry {
  count: number;
  key: number;
}

export function trainByteLevelBpe(texts: Iterable<string>, options: TrainBpeOptions): TokenizerSpec {
  const specials = [...(options.specialTokens ?? [])];
  const pre = getPreTokenizer(options.pre ?? 'llama3');
  const minFrequency = options.minFrequency ?? 2;
  const learnedSize = options.vocabSize - specials.length;
  if (!Number.isInteger(options.vocabSize) || learnedSize < 256 || options.vocabSize >= PAIR_SHIFT) {
    throw new Error(
      `trainByteLevelBpe: vocabSize must leave room for 256 bytes and ${specials.length} specials`,
    );
  }
  if (specials.some((text) => text.length === 0) || new Set(specials).size !== specials.length) {
    throw new Error('trainByteLevelBpe: special tokens must be distinct and non-empty');
  }

  // 1. Word frequencies, special tokens cut out so that no merge learns them.
  const splitters: SpecialToken[] = specials
    .map((text, id) => ({ id, text, onlyOnRequest: false }))
    .sort((a, b) => b.text.length - a.text.length);
  const frequency = new Map<string, number>();
  for (const text of texts) {
    for (const fragment of splitOnSpecialTokens(text, splitters, true)) {
      if (typeof fragment === 'number') continue;
      for (const word of pre.split(fragment)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
    }
  }

  const tokens = [...BYTE_TO_CHAR];
  const idOf = new Map(tokens.map((text, id) => [text, id]));
  const merges: string[] = [];
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of frequency) {
    const bytes = utf8.encode(word);
    if (bytes.length < 2) continue; // nothing to merge
    words.push(Array.from(bytes));
    counts.push(count);
  }

  // 2. Pair counts, the pair → words index, and the heap.
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const addPair = (key: number, amount: number, word: number, index: boolean): void => {
    const count = (pairCount.get(key) ?? 0) + amount;
    if (count > 0) pairCount.set(key, count);
    else pairCount.delete(key);
    if (index) {
      const list = pairWords.get(key);
      if (list) list.push(word);
      else pairWords.set(key, [word]);
    }
  };
  words.forEach((symbols, w) => {
    for (let i = 0; i + 1 < symbols.length; i++)
      addPair(symbols[i]! * PAIR_SHIFT + symbols[i + 1]!, counts[w]!, w, true);
  });
  const heap = new PriorityQueue<Entry>(
    (a, b) => a.count > b.count || (a.count === b.count && a.key < b.key),
  );
  for (const [key, count] of pairCount) heap.push({ count, key });

  // 3. Merge until the vocabulary is full or no pair is frequent enough.
  const visited = new Int32Array(words.length).fill(-1);
  while (tokens.length < learnedSize) {
    const top = heap.pop();
    if (!top) break;
    const current = pairCount.get(top.key) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push({ count: current, key: top.key });
      continue;
    }
    if (current < minFrequency) break;

    const left = Math.floor(top.key / PAIR_SHIFT);
    const right = top.key - left * PAIR_SHIFT;
    const text = tokens[left]! + tokens[right]!;
    merges.push(`${tokens[left]} ${tokens[right]}`);
    // Two different pairs can spell the same token ('ab'+'c', 'a'+'bc'); both merges lead to one id.
    let merged = idOf.get(text);
    if (merged === undefined) {
      merged = tokens.push(text) - 1;
      idOf.set(text, merged);
    }

    const grown = new Set<number>();
    const list = pairWords.get(top.key) ?? [];
    pairWords.delete(top.key);
    const step = merges.length;
    for (const w of list) {
      if (visited[w] === step) continue;
      visited[w] = step;
      const before = words[w]!;
      const after: number[] = [];
      for (let i = 0; i < before.length;) {
        if (i + 1 < before.length && before[i] === left && before[i + 1] === right) {
          after.push(merged);
          i += 2;
        } else {
          after.push(before[i]!);
          i++;
        }
      }
      if (after.length === before.length) continue; // an index entry left over from an earlier merge
      const count = counts[w]!;
      for (let i = 0; i + 1 < before.length; i++)
        addPair(before[i]! * PAIR_SHIFT + before[i + 1]!, -count, w, false);
      for (let i = 0; i + 1 < after.length; i++) {
        const key = after[i]! * PAIR_SHIFT + after[i + 1]!;
        // Only pairs with the new symbol are new to this word: they alone need an index entry and can grow.
        const isNew = after[i] === merged || after[i + 1] === merged;
        addPair(key, count, w, isNew);
        if (isNew) grown.add(key);
      }
      words[w] = after;
    }
    for (const key of grown) {
      const count = pairCount.get(key);
      if (count !== undefined) heap.push({ count, key });
    }
  }

  // 4. The spec.
  for (const text of specials) {
    if (idOf.has(text))
      throw new Error(
        `trainByteLevelBpe: special token ${JSON.stringify(text)} collides with a learned token`,
      );
  }
  const first = tokens.length;
  const specialId = (
    given: string | undefined,
    names: readonly string[],
    what: string,
  ): number | undefined => {
    if (given !== undefined) {
      const index = specials.indexOf(given);
      if (index < 0)
        throw new Error(`trainByteLevelBpe: ${what} token ${JSON.stringify(given)} is not a special token`);
      return first + index;
    }
    const index = specials.findIndex((text) => names.includes(text));
    return index < 0 ? undefined : first + index;
  };
  const bosId = specialId(options.bosToken, BOS_NAMES, 'BOS');
  const eosId = specialId(options.eosToken, EOS_NAMES, 'EOS');
  return {
    model: 'gpt2',
    pre: pre.name,
    tokens: [...tokens, ...specials],
    tokenTypes: [...tokens.map(() => TokenType.Normal), ...specials.map(() => TokenType.Control)],
    merges,
    ...(bosId !== undefined ? { bosId } : {}),
    ...(eosId !== undefined ? { eosId } : {}),
    addBos: bosId !== undefined,
    addEos: false,
  };
}
