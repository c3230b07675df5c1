/**
 * Text normalisation for a small byte-level-BPE model: one canonical spelling for each character a
 * reader would not tell apart, so the tokenizer does not spend merges on typographic variants.
 */

const REPLACEMENTS: [RegExp, string][] = [
  [/[\u2018\u2019\u201a\u201b\u2032]/g, "'"],
  [/[\u201c\u201d\u201e\u201f\u2033]/g, '"'],
  [/[\u2010\u2011\u2012\u2013\u2014\u2015\u2212]/g, '-'],
  [/\u2026/g, '...'],
  [/\u2022/g, '-'],
  // Control characters other than whitespace (stray bytes in transcripts), and zero-width marks.
  [/(?![\t\n\v\f\r])[\p{Cc}\u200b-\u200d\u2060\ufeff]/gu, ''],
];

/**
 * NFKC, ASCII quotes, dashes and ellipses, no control characters, all whitespace (newlines
 * included) collapsed to single spaces, trimmed: a document becomes one line.
 */
export function normalizeText(text: string): string {
  let out = text.normalize('NFKC');
  for (const [pattern, replacement] of REPLACEMENTS) out = out.replace(pattern, replacement);
  return out.replace(/\s+/gu, ' ').trim();
}
