/**
 * A row's quality score: a transparent, weighted heuristic over its features (row-features.ts), after
 * the C4 (Raffel et al. 2020) and Gopher/MassiveText (Rae et al. 2021) quality filters. Instead of
 * dropping rows, each rule that fails multiplies the score by (1 − weight × severity):
 *
 *     score = Π over rules (1 − weightᵢ · severityᵢ),   severity ∈ [0, 1]
 *
 * Severity is 0 while the rule passes and grows linearly to 1 at "clearly bad"; the weight is the most a
 * single rule can take away. A row failing nothing scores 1; every rule that bites adds a reason.
 *
 * | rule               | fails when                                     | severity reaches 1 at | weight | source              |
 * |--------------------|------------------------------------------------|-----------------------|--------|---------------------|
 * | short              | < 5 words (< 10 chars in unspaced scripts*)    | 1 word (1 char)       | 0.2    | C4 (≥ 3–5 words)    |
 * | mean-word-length   | mean word length outside [3, 10] (not for *)   | 1.5 or 16             | 0.5    | Gopher              |
 * | symbol-to-word     | ('#' + ellipses) / words > 0.1                 | 0.3                   | 0.4    | Gopher              |
 * | alpha-words        | words with a letter < 80 %                     | 30 %                  | 0.6    | Gopher              |
 * | punctuation        | punctuation + symbols > 10 % of chars          | 30 %                  | 0.4    | symbol soup         |
 * | digits             | digits > 25 % of chars                         | 60 %                  | 0.3    | tables, IDs, dumps  |
 * | uppercase          | upper-case > 50 % of letters (≥ 10 letters)    | 80 %                  | 0.6    | all-caps spam       |
 * | duplicate-lines    | repeated lines > 30 % of lines                 | 70 %                  | 0.6    | Gopher              |
 * | duplicate-trigrams | repeated word 3-grams > 20 % of 3-grams        | 60 %                  | 0.5    | Gopher (n-gram dup) |
 * | char-run           | a character repeated > 8 times in a row        | 40 in a row           | 0.3    | "!!!!!!!!", "aaaaa" |
 * | stop-words         | English stop words < 15 % (≥ 8 words)          | 0 %                   | 0.6    | Gopher (≥ 2 stop w.)|
 * | vowelless-words    | Latin words (≥ 4 letters) without vowel > 15 % | 50 %                  | 0.4    | keyboard mash       |
 * | unique-words       | distinct words < 30 % (≥ 20 words)             | 10 %                  | 0.4    | word-salad repeats  |
 * | near-duplicates    | contribution near-dup density > 10 %           | 60 %                  | 0.3    | templated uploads   |
 *
 * (*) Text mostly in scripts without spaces between words (Chinese, Japanese, Thai, …: `unspacedScriptRatio`
 * > 0.5) has no meaningful word count or word length, so it is measured in characters or skipped.
 * The stop-word rule applies to English rows only (`stopWordRatio` is null otherwise). Non-ASCII text is
 * not penalised as such. Structured rows (canonical JSON records) are punctuation-heavy by nature and
 * should be scored with a Datanet-specific validator rather than these prose rules.
 */
import type { RowFeatures } from './row-features.ts';

export interface RowScore {
  /** 0 (worst) … 1 (passes every rule). */
  score: number;
  /** One line per rule that lowered the score, with the measured value and the penalty. */
  reasons: string[];
}

export interface ScoreRowContext {
  /** Fraction of the row's contribution flagged as near duplicates by the dedup stage (0..1). */
  nearDupDensity?: number;
}

interface Rule {
  id: string;
  weight: number;
  /** Severity in [0, 1] (0 = pass) and the measured value shown in the reason. */
  check(f: RowFeatures, ctx: ScoreRowContext): { severity: number; detail: string } | undefined;
}

const clamp01 = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x);
const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
/** Linear ramp: 0 at `from`, 1 at `to` (either direction). */
const ramp = (x: number, from: number, to: number): number => clamp01((x - from) / (to - from));

const NEAR_DUP_WEIGHT = 0.3;
const nearDupSeverity = (density: number): number => (density > 0.1 ? ramp(density, 0.1, 0.6) : 0);

export const RULES: readonly Rule[] = [
  {
    id: 'short',
    weight: 0.2,
    check: (f) => {
      if (f.unspacedScriptRatio > 0.5) {
        return f.chars < 10
          ? { severity: ramp(f.chars, 10, 1), detail: `${f.chars} characters (< 10)` }
          : undefined;
      }
      return f.words < 5 ? { severity: ramp(f.words, 5, 1), detail: `${f.words} words (< 5)` } : undefined;
    },
  },
  {
    id: 'mean-word-length',
    weight: 0.5,
    check: (f) => {
      if (f.words === 0 || f.unspacedScriptRatio > 0.5) return undefined;
      const m = f.meanWordLength;
      if (m < 3) return { severity: ramp(m, 3, 1.5), detail: `mean word length ${m.toFixed(1)} (< 3)` };
      if (m > 10) return { severity: ramp(m, 10, 16), detail: `mean word length ${m.toFixed(1)} (> 10)` };
      return undefined;
    },
  },
  {
    id: 'symbol-to-word',
    weight: 0.4,
    check: (f) =>
      f.symbolToWordRatio > 0.1
        ? {
            severity: ramp(f.symbolToWordRatio, 0.1, 0.3),
            detail: `symbol-to-word ratio ${f.symbolToWordRatio.toFixed(2)} (> 0.1)`,
          }
        : undefined,
  },
  {
    id: 'alpha-words',
    weight: 0.6,
    check: (f) =>
      f.words > 0 && f.alphaWordRatio < 0.8
        ? {
            severity: ramp(f.alphaWordRatio, 0.8, 0.3),
            detail: `${pct(f.alphaWordRatio)} of words have a letter (< 80 %)`,
          }
        : undefined,
  },
  {
    id: 'punctuation',
    weight: 0.4,
    check: (f) =>
      f.punctuationRatio > 0.1
        ? {
            severity: ramp(f.punctuationRatio, 0.1, 0.3),
            detail: `punctuation and symbols ${pct(f.punctuationRatio)} of characters (> 10 %)`,
          }
        : undefined,
  },
  {
    id: 'digits',
    weight: 0.3,
    check: (f) =>
      f.digitRatio > 0.25
        ? {
            severity: ramp(f.digitRatio, 0.25, 0.6),
            detail: `digits ${pct(f.digitRatio)} of characters (> 25 %)`,
          }
        : undefined,
  },
  {
    id: 'uppercase',
    weight: 0.6,
    check: (f) =>
      f.uppercaseRatio > 0.5 && f.alphaRatio * f.chars >= 10
        ? {
            severity: ramp(f.uppercaseRatio, 0.5, 0.8),
            detail: `${pct(f.uppercaseRatio)} of letters upper-case (> 50 %)`,
          }
        : undefined,
  },
  {
    id: 'duplicate-lines',
    weight: 0.6,
    check: (f) =>
      f.duplicateLineFraction > 0.3
        ? {
            severity: ramp(f.duplicateLineFraction, 0.3, 0.7),
            detail: `${pct(f.duplicateLineFraction)} of lines repeated (> 30 %)`,
          }
        : undefined,
  },
  {
    id: 'duplicate-trigrams',
    weight: 0.5,
    check: (f) =>
      f.duplicateTrigramFraction > 0.2
        ? {
            severity: ramp(f.duplicateTrigramFraction, 0.2, 0.6),
            detail: `${pct(f.duplicateTrigramFraction)} of word 3-grams repeated (> 20 %)`,
          }
        : undefined,
  },
  {
    id: 'char-run',
    weight: 0.3,
    check: (f) =>
      f.maxCharRun > 8
        ? { severity: ramp(f.maxCharRun, 8, 40), detail: `a character repeated ${f.maxCharRun} times (> 8)` }
        : undefined,
  },
  {
    id: 'stop-words',
    weight: 0.6,
    check: (f) =>
      f.stopWordRatio !== null && f.words >= 8 && f.stopWordRatio < 0.15
        ? {
            severity: ramp(f.stopWordRatio, 0.15, 0),
            detail: `English stop words ${pct(f.stopWordRatio)} of words (< 15 %)`,
          }
        : undefined,
  },
  {
    id: 'vowelless-words',
    weight: 0.4,
    check: (f) =>
      f.vowellessWordRatio > 0.15
        ? {
            severity: ramp(f.vowellessWordRatio, 0.15, 0.5),
            detail: `${pct(f.vowellessWordRatio)} of words have no vowel (> 15 %)`,
          }
        : undefined,
  },
  {
    id: 'unique-words',
    weight: 0.4,
    check: (f) =>
      f.words >= 20 && f.uniqueWordRatio < 0.3
        ? {
            severity: ramp(f.uniqueWordRatio, 0.3, 0.1),
            detail: `${pct(f.uniqueWordRatio)} distinct words (< 30 %)`,
          }
        : undefined,
  },
  {
    id: 'near-duplicates',
    weight: NEAR_DUP_WEIGHT,
    check: (_f, ctx) => {
      const d = ctx.nearDupDensity ?? 0;
      const severity = nearDupSeverity(d);
      return severity > 0
        ? { severity, detail: `${pct(d)} of the contribution are near duplicates (> 10 %)` }
        : undefined;
    },
  },
];

export function scoreRow(features: RowFeatures, context: ScoreRowContext = {}): RowScore {
  let score = 1;
  const reasons: string[] = [];
  for (const rule of RULES) {
    const hit = rule.check(features, context);
    if (!hit || hit.severity <= 0) continue;
    const penalty = rule.weight * hit.severity;
    score *= 1 - penalty;
    reasons.push(`${rule.id}: ${hit.detail}, −${(penalty * 100).toFixed(0)} %`);
  }
  return { score: Math.max(0, Math.min(1, score)), reasons };
}

/**
 * The factor the contribution-level rule (near-duplicates) applies to every row of a contribution:
 * `scoreRow(f, ctx).score === scoreRow(f).score × contextFactor(ctx)`, so rows can be scored as they
 * stream in and the factor applied once the whole contribution has been deduplicated.
 */
export function contextFactor(context: ScoreRowContext): number {
  return 1 - NEAR_DUP_WEIGHT * nearDupSeverity(context.nearDupDensity ?? 0);
}
