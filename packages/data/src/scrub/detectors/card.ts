import { PRIORITY, isDigitCode, isWordCode, type Candidate, type Detector } from '../detector.ts';
import { isCardNumber } from '../luhn.ts';

/** Digit groups joined by single spaces or dashes: every place a card number can hide. */
const NUMBER_RUN = /\d+(?:[ -]\d+)*/g;
const HAS_LONG_NUMBER = /\d{4}|\d[ -]\d/;

interface Group {
  start: number;
  end: number;
}

/** The run may start a number here: not glued to a word, and not the fraction of a decimal (`0.4111…`). */
export function numberStartsCleanly(text: string, start: number): boolean {
  if (start === 0) return true;
  const prev = text.charCodeAt(start - 1);
  if (isWordCode(prev)) return false;
  if ((prev === 46 || prev === 44) && isDigitCode(text.charCodeAt(start - 2))) return false;
  return true;
}

/** The run may end a number here: not glued to a word, and not followed by a decimal part. */
export function numberEndsCleanly(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const next = text.charCodeAt(end);
  if (isWordCode(next)) return false;
  if ((next === 46 || next === 44) && isDigitCode(text.charCodeAt(end + 1))) return false;
  return true;
}

/**
 * Payment card numbers: 13-19 digits, written together or in groups of 3-8 digits separated by
 * single spaces or dashes (one kind of separator per number: 4-4-4-4, 4-6-5, 4-4-4-4-3, …), with
 * the IIN and length of a known scheme and a valid Luhn check digit. Inside a longer run of groups
 * every window of whole groups is tried, so a card next to other numbers is still found; every
 * valid window becomes a candidate and the overlap resolution keeps the best.
 */
export const cardDetector: Detector = {
  kind: 'card',
  mayMatch: (text) => HAS_LONG_NUMBER.test(text),
  detect(text: string, out: Candidate[]): void {
    NUMBER_RUN.lastIndex = 0;
    for (let m = NUMBER_RUN.exec(text); m !== null; m = NUMBER_RUN.exec(text)) {
      const run = m[0];
      if (run.length < 13) continue;
      const runStart = m.index;
      const runEnd = runStart + run.length;
      const groups: Group[] = [];
      let digits = 0;
      for (let i = runStart; i < runEnd;) {
        let j = i;
        while (j < runEnd && isDigitCode(text.charCodeAt(j))) j++;
        groups.push({ start: i, end: j });
        digits += j - i;
        i = j + 1;
      }
      if (digits < 13) continue;
      const startOk = numberStartsCleanly(text, runStart);
      const endOk = numberEndsCleanly(text, runEnd);
      for (let i = 0; i < groups.length; i++) {
        if (i === 0 && !startOk) continue;
        const first = groups[i]!;
        let value = '';
        let separator = -1;
        for (let j = i; j < groups.length; j++) {
          const g = groups[j]!;
          const len = g.end - g.start;
          if (j > i) {
            const sep = text.charCodeAt(g.start - 1);
            if (separator === -1) separator = sep;
            else if (sep !== separator) break;
            // Groups of 3-8 digits, except that the last may be 2 (4-4-4-2).
            const prev = groups[j - 1]!;
            const prevLen = prev.end - prev.start;
            if (prevLen < 3 || prevLen > 8 || len < 2 || len > 8) break;
          }
          value += text.slice(g.start, g.end);
          if (value.length > 19) break;
          if (j === groups.length - 1 && !endOk) break;
          if (value.length >= 13 && isCardNumber(value)) {
            out.push({ kind: 'card', start: first.start, end: g.end, priority: PRIORITY.card });
          }
        }
      }
    }
  },
};
