/**
 * Splits the input on special tokens written verbatim in it, before any tokenization, as llama.cpp's
 * `tokenizer_st_partition` does: special tokens are taken longest text first, each one cutting every text
 * fragment left so far. (So with specials "ab" and "bcd", "abcd" becomes "a" + bcd, not ab + "cd".)
 */
import type { SpecialToken } from './vocab.ts';

/** A piece of text still to tokenize, or the id of a special token found in the input. */
export type Fragment = string | number;

export function splitOnSpecialTokens(
  text: string,
  specials: readonly SpecialToken[],
  parseControl: boolean,
): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [text] : [];
  for (const special of specials) {
    if (special.onlyOnRequest && !parseControl) continue;
    // Most specials never occur; a single search over the whole input rules them out cheaply.
    if (!text.includes(special.text)) continue;
    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (typeof fragment === 'number') {
        next.push(fragment);
        continue;
      }
      let from = 0;
      for (;;) {
        const at = fragment.indexOf(special.text, from);
        if (at < 0) break;
        if (at > from) next.push(fragment.slice(from, at));
        next.push(special.id);
        from = at + special.text.length;
      }
      if (from < fragment.length) next.push(from === 0 ? fragment : fragment.slice(from));
    }
    fragments = next;
  }
  return fragments;
}
