/**
 * Shingling for near-duplicate detection: a row becomes the set of 32-bit hashes of its word k-grams.
 *
 * - Text is lower-cased and split into tokens: maximal runs of letters, digits and combining marks
 *   (`[\p{L}\p{N}\p{M}]+`). Punctuation, symbols and whitespace only separate tokens, so case and
 *   punctuation edits do not change the shingle set (they still change the exact content hash).
 * - Rows with at least `k` tokens (default 5) use word k-grams.
 * - Rows with fewer than `k` tokens, and rows written mostly in scripts without spaces between words
 *   (Han, Kana, Thai, Lao, Khmer, Myanmar), use character `charK`-grams (default 5) of the tokens joined
 *   by single spaces; a non-empty text shorter than `charK` is one shingle.
 * - A row with no tokens has no shingles; it can only be an exact duplicate.
 *
 * Each token is hashed once (FNV-1a over UTF-16 code units, finished by MurmurHash3's fmix32) and a
 * shingle's hash mixes its k token hashes with MurmurHash3's block step, so no k-gram string is built.
 * The two kinds of shingle use different seeds, so a word shingle never equals a character shingle.
 */

export interface ShingleOptions {
  /** Tokens per word shingle (default 5). */
  k?: number;
  /** Characters per character shingle, for rows shorter than `k` tokens (default 5). */
  charK?: number;
}

export const DEFAULT_SHINGLE_SIZE = 5;
export const DEFAULT_CHAR_SHINGLE_SIZE = 5;

const TOKEN = /[\p{L}\p{N}\p{M}]+/gu;
const NON_ASCII = /[\u0080-\uffff]/;
const UNSPACED_SCRIPT =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/gu;
const WORD_SEED = 0x9747b28c;
const CHAR_SEED = 0x5bd1e995;

/** MurmurHash3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3's per-block step: folds the 32-bit block `k` into the running hash `h`. */
export function murmurStep(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** 32-bit hash of a string's UTF-16 code units in [start, end). */
export function hashString(s: string, start = 0, end = s.length, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h ^ (end - start));
}

/** The lower-cased tokens of a text (runs of letters, digits and combining marks). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/** Whether most letters of the token stream belong to scripts that do not separate words with spaces. */
function mostlyUnspaced(tokens: readonly string[], text: string): boolean {
  if (!NON_ASCII.test(text)) return false;
  let letters = 0;
  for (const t of tokens) letters += t.length;
  const unspaced = text.match(UNSPACED_SCRIPT)?.length ?? 0;
  return unspaced * 2 > letters;
}

/** Sorts in place and drops repeats; returns a view of the unique prefix. */
function sortedUnique(values: Uint32Array): Uint32Array {
  if (values.length < 2) return values;
  values.sort();
  let n = 1;
  for (let i = 1; i < values.length; i++) {
    if (values[i] !== values[n - 1]) values[n++] = values[i]!;
  }
  return values.subarray(0, n);
}

function charShingles(joined: string, charK: number): Uint32Array {
  if (joined.length === 0) return new Uint32Array(0);
  if (joined.length <= charK) return Uint32Array.of(hashString(joined, 0, joined.length, CHAR_SEED));
  const out = new Uint32Array(joined.length - charK + 1);
  for (let i = 0; i < out.length; i++) out[i] = hashString(joined, i, i + charK, CHAR_SEED);
  return sortedUnique(out);
}

/**
 * The shingle set of a text as sorted, unique 32-bit hashes (see the module comment for the rules).
 * The same text always gives the same set.
 */
export function shingleHashes(text: string, options: ShingleOptions = {}): Uint32Array {
  const k = options.k ?? DEFAULT_SHINGLE_SIZE;
  const charK = options.charK ?? DEFAULT_CHAR_SHINGLE_SIZE;
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`shingle size must be a positive integer, got ${k}`);
  if (!Number.isInteger(charK) || charK < 1) {
    throw new RangeError(`character shingle size must be a positive integer, got ${charK}`);
  }
  const tokens = tokenize(text);
  if (tokens.length < k || mostlyUnspaced(tokens, text)) return charShingles(tokens.join(' '), charK);

  const tokenHashes = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) tokenHashes[i] = hashString(tokens[i]!);
  const out = new Uint32Array(tokens.length - k + 1);
  for (let i = 0; i < out.length; i++) {
    let h = WORD_SEED;
    for (let j = 0; j < k; j++) h = murmurStep(h, tokenHashes[i + j]!);
    out[i] = fmix32(h ^ k);
  }
  return sortedUnique(out);
}

/** Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two sorted unique hash sets (1 when both are empty). */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return common / (a.length + b.length - common);
}
