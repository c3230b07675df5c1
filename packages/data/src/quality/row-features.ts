/**
 * Measurable features of a row's text, the inputs of the quality score (score-row.ts). All are cheap,
 * language-light statistics in the spirit of the C4 and Gopher (MassiveText) quality filters.
 *
 * Units: `chars` are Unicode code points; a word is a whitespace-separated token; "clean" words have
 * leading and trailing punctuation/symbols stripped and are lower-cased (used for stop words, unique
 * words and repetition). Ratios over characters are over `chars` (whitespace included), except
 * `uppercaseRatio`, which is over letters.
 */

export interface RowFeatures {
  /** Length in code points. */
  chars: number;
  /** Whitespace-separated words. */
  words: number;
  /** Non-empty lines (rows of 'document' granularity keep their line breaks). */
  lines: number;
  /** Mean length in code points of the words, surrounding punctuation stripped (0 without words). */
  meanWordLength: number;
  /** Letters / chars. */
  alphaRatio: number;
  /** Digits / chars. */
  digitRatio: number;
  /** Punctuation and symbols (Unicode P and S categories) / chars. */
  punctuationRatio: number;
  /** Upper-case letters / letters (0 without letters). */
  uppercaseRatio: number;
  /** Whitespace / chars. */
  whitespaceRatio: number;
  /** Code points above U+007F / chars. */
  nonAsciiRatio: number;
  /** Gopher's symbol-to-word ratio: ('#' characters + ellipses, "..." or "…") / words. */
  symbolToWordRatio: number;
  /** Fraction of words containing at least one letter (Gopher keeps documents with ≥ 0.8). */
  alphaWordRatio: number;
  /** Fraction of non-empty lines that repeat an earlier line (0 for single-line rows). */
  duplicateLineFraction: number;
  /** Fraction of word 3-gram occurrences that repeat an earlier occurrence (0 below 3 words). */
  duplicateTrigramFraction: number;
  /** Longest run of one repeated non-whitespace character ("!!!!!!" → 6). */
  maxCharRun: number;
  /**
   * Fraction of clean words that are English stop words, or null when the row is not English: its text is
   * mostly in a non-Latin script, the caller said so, or another language's function words clearly
   * outnumber English ones.
   */
  stopWordRatio: number | null;
  /** Distinct clean words / words (1 without words). */
  uniqueWordRatio: number;
  /** Fraction of Latin-script words of ≥ 4 letters without a vowel (a e i o u y, accented too): keyboard mash. */
  vowellessWordRatio: number;
  /**
   * Fraction of letters in scripts written without spaces between words (Han, Hiragana, Katakana, Thai, Lao,
   * Khmer, Myanmar): above 0.5 the word-based length rules do not apply.
   */
  unspacedScriptRatio: number;
  /** The language whose stop words matched best ('en', 'fr', 'de', 'es', 'it', 'pt', 'nl'), or null. */
  language: string | null;
}

export interface RowFeatureOptions {
  /**
   * The Datanet's language, if it declares one (ISO 639-1 or 639-3: 'en' / 'eng' …). English computes the
   * stop-word ratio; any other language skips it. Default: decided per row from function-word counts.
   */
  language?: string;
}

// English stop words (the NLTK list, without contractions).
const EN = `i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
herself it its itself they them their theirs themselves what which who whom this that these those am is are was
were be been being have has had having do does did doing a an the and but if or because as until while of at by
for with about against between into through during before after above below to from up down in out on off over
under again further then once here there when where why how all any both each few more most other some such no
nor not only own same so than too very s t can will just don should now also would could may might must shall
upon us one`;
// The most frequent function words of other languages written in Latin script, to tell them from English.
const OTHER: Record<string, string> = {
  fr: `le la les de des du un une et est en que qui dans pour pas sur au aux avec ce ces il elle ils elles nous vous
    je se sa son ses leur mais ou où donc par plus ne lui y a été être sont cette comme tout`,
  de: `der die das den dem des ein eine einen einem und ist nicht zu mit auf für von sich im auch es ich sie wir
    ihr er dass wie aber oder wird sind war bei aus nach noch nur`,
  es: `el la los las de del un una unos y es en que por con para no se su sus al lo como más pero o este esta
    son fue ha está muy sin sobre también le ya`,
  it: `il lo la gli le di del della dei un una e è che per con non si da in sono al alla come più ma anche nel
    nella questo questa suo sua ha o se io`,
  pt: `o a os as de do da dos das um uma e é que em no na por com para não se seu sua ao mais como mas foi são
    está também ou ele ela isso`,
  nl: `de het een en is van in op te dat die niet met voor zijn er aan ook als maar bij om door naar dan worden
    wordt was ik je wij ze hij zij`,
};

const toSet = (s: string): Set<string> => new Set(s.split(/\s+/).filter((w) => w.length > 0));
const STOP_EN = toSet(EN);
const STOP_OTHER = Object.entries(OTHER).map(([lang, words]) => [lang, toSet(words)] as const);

const LETTER = /\p{L}/u;
const UPPER = /\p{Lu}/u;
const DIGIT = /\p{N}/u;
const PUNCT = /[\p{P}\p{S}]/u;
const SPACE = /\s/u;
const LATIN = /\p{Script=Latin}/u;
const UNSPACED =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;
const EDGE_PUNCT = /^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu;
const HAS_LETTER = /\p{L}/u;
const LATIN_WORD = /^\p{Script=Latin}+$/u;
const VOWEL = /[aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýÿœ]/u;
const ELLIPSIS = /\.\.\.|…/g;

// ASCII character classes: 1 letter, 2 upper-case letter, 4 digit, 8 punctuation/symbol, 16 whitespace.
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[a-z]/.test(ch)) ASCII_CLASS[c] = 1;
  else if (/[A-Z]/.test(ch)) ASCII_CLASS[c] = 3;
  else if (/[0-9]/.test(ch)) ASCII_CLASS[c] = 4;
  else if (/\s/.test(ch)) ASCII_CLASS[c] = 16;
  else if (c > 32 && c < 127) ASCII_CLASS[c] = 8;
}

/** Code points in `s` (as `[...s].length`: a lone surrogate counts as one). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function isEnglish(code: string): boolean {
  return code === 'en' || code === 'eng';
}

export function rowFeatures(text: string, options: RowFeatureOptions = {}): RowFeatures {
  // Character classes, one code point at a time (ASCII through a table).
  let chars = 0;
  let letters = 0;
  let upper = 0;
  let digits = 0;
  let punct = 0;
  let spaces = 0;
  let nonAscii = 0;
  let latin = 0;
  let unspaced = 0;
  let maxRun = 0;
  let run = 0;
  let prev = -1;
  // Indexed rather than `for…of`, so ASCII characters never become one-character strings.
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    chars++;
    let cls: number;
    let ch = '';
    if (cp < 128) cls = ASCII_CLASS[cp]!;
    else {
      ch = String.fromCodePoint(cp);
      nonAscii++;
      cls = LETTER.test(ch)
        ? UPPER.test(ch)
          ? 3
          : 1
        : DIGIT.test(ch)
          ? 4
          : PUNCT.test(ch)
            ? 8
            : SPACE.test(ch)
              ? 16
              : 0;
    }
    if (cls & 1) {
      letters++;
      if (cls & 2) upper++;
      if (cp < 128 || LATIN.test(ch)) latin++;
      else if (UNSPACED.test(ch)) unspaced++;
    } else if (cls & 4) digits++;
    else if (cls & 8) punct++;
    if (cls & 16) {
      spaces++;
      run = 0;
      prev = -1;
    } else {
      run = cp === prev ? run + 1 : 1;
      prev = cp;
      if (run > maxRun) maxRun = run;
    }
  }

  // Words.
  const rawWords = text.split(/\s+/).filter((w) => w.length > 0);
  const words = rawWords.length;
  let wordChars = 0;
  let strippedWords = 0;
  let alphaWords = 0;
  let latinLong = 0;
  let vowelless = 0;
  const clean: string[] = [];
  for (const w of rawWords) {
    if (HAS_LETTER.test(w)) alphaWords++;
    const c = w.replace(EDGE_PUNCT, '').toLowerCase();
    if (c.length === 0) continue;
    clean.push(c);
    strippedWords++;
    wordChars += codePoints(c);
    if (c.length >= 4 && LATIN_WORD.test(c)) {
      latinLong++;
      if (!VOWEL.test(c)) vowelless++;
    }
  }
  const hashes = text.split('#').length - 1;
  const ellipses = text.match(ELLIPSIS)?.length ?? 0;

  // Repetition.
  const lineList = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const seenLines = new Set<string>();
  let dupLines = 0;
  for (const l of lineList) {
    if (seenLines.has(l)) dupLines++;
    else seenLines.add(l);
  }
  const seenTrigrams = new Set<string>();
  let dupTrigrams = 0;
  for (let i = 0; i + 3 <= clean.length; i++) {
    const g = `${clean[i]} ${clean[i + 1]} ${clean[i + 2]}`;
    if (seenTrigrams.has(g)) dupTrigrams++;
    else seenTrigrams.add(g);
  }
  const trigrams = Math.max(0, clean.length - 2);

  // Language and stop words.
  let stopEn = 0;
  for (const w of clean) if (STOP_EN.has(w)) stopEn++;
  let language: string | null = null;
  let stopWordRatio: number | null = null;
  if (options.language !== undefined) {
    language = isEnglish(options.language) ? 'en' : options.language;
  } else if (letters > 0 && latin / letters < 0.5) {
    language = null; // mostly a non-Latin script: not English, language unknown here
  } else {
    language = 'en';
    let best = stopEn;
    for (const [lang, set] of STOP_OTHER) {
      let hits = 0;
      for (const w of clean) if (set.has(w)) hits++;
      // Another language wins only with clearly more function words than English.
      if (hits >= 2 && hits > best * 1.5) {
        best = hits;
        language = lang;
      }
    }
  }
  if (language === 'en') stopWordRatio = clean.length === 0 ? 0 : stopEn / clean.length;

  return {
    chars,
    words,
    lines: lineList.length,
    meanWordLength: strippedWords === 0 ? 0 : wordChars / strippedWords,
    alphaRatio: chars === 0 ? 0 : letters / chars,
    digitRatio: chars === 0 ? 0 : digits / chars,
    punctuationRatio: chars === 0 ? 0 : punct / chars,
    uppercaseRatio: letters === 0 ? 0 : upper / letters,
    whitespaceRatio: chars === 0 ? 0 : spaces / chars,
    nonAsciiRatio: chars === 0 ? 0 : nonAscii / chars,
    symbolToWordRatio: words === 0 ? 0 : (hashes + ellipses) / words,
    alphaWordRatio: words === 0 ? 0 : alphaWords / words,
    duplicateLineFraction: lineList.length === 0 ? 0 : dupLines / lineList.length,
    duplicateTrigramFraction: trigrams === 0 ? 0 : dupTrigrams / trigrams,
    maxCharRun: maxRun,
    stopWordRatio,
    uniqueWordRatio: clean.length === 0 ? 1 : new Set(clean).size / clean.length,
    vowellessWordRatio: latinLong === 0 ? 0 : vowelless / latinLong,
    unspacedScriptRatio: letters === 0 ? 0 : unspaced / letters,
    language,
  };
}
