import {
  PRIORITY,
  isAsciiLetterCode,
  isDigitCode,
  isWordCode,
  type Candidate,
  type Detector,
} from '../detector.ts';

/**
 * A run of digit groups joined by the separators phone numbers are written with: a space, a dot, a
 * dash or a slash (optionally with spaces around), or parentheses around a group; optionally led by
 * `+` or `(`. Separators never contain digits, so a run splits into groups one way only and the
 * match is linear.
 */
const PHONE_RUN = /\+?\(?\d+(?:(?: ?[./-] ?| ?\(|\) ?(?:[./-] ?)?| )\d+)*\)?/g;
const LABEL_BEFORE =
  /(?:phone|tel|telephone|mobile|mob|cell|cellphone|fax|whatsapp|sms|call(?: me)?(?: at| on)?)\.?\s*(?:no\.?|nr\.?|number|#)?\s*[:=#.-]?\s*(?:\+|\()?$/i;
const ISBN_BEFORE = /isbn(?:-1[03])?\s*[:#]?\s*$/i;
const DATE_PREFIX = /^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:\d{4}|\d{2}))(?!\d)/;

/** A digit group of the run and the separator text before it ('' for the first). */
interface Group {
  start: number;
  end: number;
  sep: string;
}

function startsCleanly(text: string, start: number): boolean {
  if (start === 0) return true;
  const prev = text.charCodeAt(start - 1);
  if (isWordCode(prev)) return false;
  const before = text.charCodeAt(start - 2);
  // "12:30 …", "3.5 …", "1,000 …": the run continues a number; "a716-4466…", "v1.2…": inside a word or hex.
  if ((prev === 58 || prev === 44 || prev === 46 || prev === 45 || prev === 47) && isDigitCode(before))
    return false;
  if ((prev === 46 || prev === 45 || prev === 47) && isAsciiLetterCode(before)) return false;
  return true;
}

function endsCleanly(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const next = text.charCodeAt(end);
  if (isWordCode(next)) return false;
  const after = text.charCodeAt(end + 1);
  if ((next === 58 || next === 44 || next === 46 || next === 45 || next === 47) && isDigitCode(after))
    return false;
  if ((next === 45 || next === 47) && isAsciiLetterCode(after)) return false;
  return true;
}

function leadsTwoToNine(group: string): boolean {
  const c = group.charCodeAt(0);
  return c >= 50 && c <= 57;
}

/** NANP: [1] NXX NXX XXXX, area code and exchange starting 2-9. */
function isNanp(groups: readonly string[]): boolean {
  if (groups.length === 3) {
    return (
      groups[0]!.length === 3 &&
      groups[1]!.length === 3 &&
      groups[2]!.length === 4 &&
      leadsTwoToNine(groups[0]!) &&
      leadsTwoToNine(groups[1]!)
    );
  }
  if (groups.length === 4) {
    return groups[0] === '1' && isNanp(groups.slice(1));
  }
  return false;
}

/** A national number with a trunk prefix 0 (or international prefix 00): 0xx xxxx xxxx, 06 12 34 56 78, 0171/1234567. */
function isTrunkNumber(groups: readonly string[], digits: string): boolean {
  if (digits[0] !== '0' || digits.length > 13 || groups.length > 6) return false;
  // "00" is the international prefix: a country code (not starting with 0) follows. Rules out "00 00 00 …".
  if (digits[1] === '0' && digits[2] === '0') return false;
  const first = groups[0]!.length;
  if (first < 2 || first > 5) return false;
  let pairs = first === 2 ? 1 : 0;
  for (let i = 1; i < groups.length; i++) {
    const len = groups[i]!.length;
    if (len < 2 || len > 8) return false;
    if (len === 2) pairs++;
  }
  // Numbers written in pairs are "0X XX XX XX XX" (five pairs); other runs of pairs are byte dumps.
  return pairs !== groups.length || groups.length === 5;
}

/** Four dotted groups: an IPv4 address, maybe in octal (`0300.0250.01.01`), or a version. */
function isIpLike(groups: readonly string[], seps: readonly string[]): boolean {
  return groups.length === 4 && seps.every((s) => s === '.');
}

const BYTE_BEFORE = /(?:^|\s|<Buffer)\s?[0-9A-Fa-f]{2}\s$|<Buffer\s$/;
const BYTE_AFTER = /^\s[0-9A-Fa-f]{2}(?:\s|>|$)/;

/** Pairs of digits between other two-character hex bytes: a hex dump (`<Buffer 08 00 00 00 00 …>`), not "06 12 34 56 78". */
function inByteDump(text: string, start: number, end: number): boolean {
  return (
    BYTE_BEFORE.test(text.slice(Math.max(0, start - 10), start)) || BYTE_AFTER.test(text.slice(end, end + 4))
  );
}

/**
 * Whether `text[start, end)` (digit groups, separators, maybe `+` and parentheses) is a phone
 * number. Cheap structural checks come first; the label, date, IP and ISBN tests only for numbers
 * that could be one.
 */
function isPhone(text: string, start: number, end: number, groups: readonly Group[]): boolean {
  const values = groups.map((g) => text.slice(g.start, g.end));
  const digits = values.join('');
  if (text.charCodeAt(start) === 43) return digits.length >= 8 && digits.length <= 15 && digits[0] !== '0';
  if (digits.length < 9 || digits.length > 15) return false;
  const before = text.slice(Math.max(0, start - 32), start);
  const structured = groups.length >= 2 && (isNanp(values) || isTrunkNumber(values, digits));
  if (!structured && !LABEL_BEFORE.test(before)) return false;
  if (values.every((v) => v.length === 2) && inByteDump(text, start, end)) return false;
  const raw = text.slice(text.charCodeAt(start) === 40 ? start + 1 : start, end);
  const seps = groups.slice(1).map((g) => g.sep.trim() || ' ');
  if (DATE_PREFIX.test(raw) || isIpLike(values, seps)) return false;
  return !ISBN_BEFORE.test(before);
}

/** Parentheses must pair up inside the number: drop a stray `(` at the start or `)` at the end. */
function trimParens(text: string, start: number, end: number): [number, number] {
  let open = 0;
  let close = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 40) open++;
    else if (c === 41) close++;
  }
  if (text.charCodeAt(end - 1) === 41 && close > open) end--;
  else if (
    text.charCodeAt(end - 1) === 41 &&
    text.charCodeAt(start) === 40 &&
    text.indexOf(')', start) === end - 1
  ) {
    // "(415 555 2671)": parentheses around the whole number are punctuation.
    start++;
    end--;
  }
  if (text.charCodeAt(start) === 40 && text.indexOf(')', start) === -1) start++;
  else if (text.charCodeAt(start) === 40 && text.indexOf(')', start) >= end) start++;
  return [start, end];
}

function parseGroups(text: string, start: number, end: number): Group[] {
  const groups: Group[] = [];
  let sepStart = start;
  for (let i = start; i < end;) {
    if (!isDigitCode(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < end && isDigitCode(text.charCodeAt(j))) j++;
    groups.push({ start: i, end: j, sep: groups.length === 0 ? '' : text.slice(sepStart, i) });
    sepStart = j;
    i = j;
  }
  return groups;
}

/**
 * Phone numbers. E.164 (`+` and a country code, 8-15 digits, any of the separators) and national
 * formats with separators and at least 9 digits: NANP `(415) 555-2671` / `1-800-555-0199` and trunk
 * prefix numbers `020 7946 0958`, `06 12 34 56 78`, `0171/1234567`; a number without separators only
 * after a label such as `phone:` or `tel:`. Dates, times, versions, decimals, IPv4 addresses, ISBNs
 * and numbers glued to words or hex are refused. A run that is not a phone number as a whole is
 * tried in its space-separated pieces ("I am 25 415 555 2671" still finds the number); runs of more
 * than 15 digits (card numbers, long references) are not phone numbers.
 */
export const phoneDetector: Detector = {
  kind: 'phone',
  mayMatch: (text) => /\d/.test(text),
  detect(text: string, out: Candidate[]): void {
    PHONE_RUN.lastIndex = 0;
    for (let m = PHONE_RUN.exec(text); m !== null; m = PHONE_RUN.exec(text)) {
      if (m[0].length < 9 && m[0].charCodeAt(0) !== 43) continue;
      const [start, end] = trimParens(text, m.index, m.index + m[0].length);
      const groups = parseGroups(text, start, end);
      let digitCount = 0;
      for (const g of groups) digitCount += g.end - g.start;
      if (digitCount < 8) continue;
      // A run glued to a word or to a longer number is a code or a reference, not a phone number.
      if (!startsCleanly(text, start)) continue;
      const endOk = endsCleanly(text, end);
      if (endOk && digitCount <= 15 && isPhone(text, start, end, groups)) {
        out.push({ kind: 'phone', start, end, priority: PRIORITY.phone });
        continue;
      }
      // Pieces between plain-space separators (or a space before "("), longest valid first, left to right.
      const cuts: number[] = [0];
      for (let i = 1; i < groups.length; i++) {
        const sep = groups[i]!.sep;
        if (sep === ' ' || sep === ' (') cuts.push(i);
      }
      if (cuts.length < 2) continue;
      for (let c = 0; c < cuts.length; c++) {
        const gi = cuts[c]!;
        const g0 = groups[gi]!;
        const pieceStart = c === 0 ? start : g0.sep === ' (' ? g0.start - 1 : g0.start;
        let best = -1;
        let digits = 0;
        for (let d = c; d < cuts.length; d++) {
          const lastGroup = d + 1 < cuts.length ? cuts[d + 1]! - 1 : groups.length - 1;
          for (let k = d === c ? gi : cuts[d]!; k <= lastGroup; k++) {
            digits += groups[k]!.end - groups[k]!.start;
          }
          // No format has more than 15 digits or 6 groups.
          if (digits > 15 || lastGroup - gi >= 6) break;
          if (lastGroup === groups.length - 1 && !endOk) break;
          if (c === 0 && d === cuts.length - 1) break; // the whole run, already refused
          const pieceEnd = groups[lastGroup]!.end;
          const pieceGroups = groups.slice(gi, lastGroup + 1);
          if (digits >= 9 && isPhone(text, pieceStart, pieceEnd, pieceGroups)) best = lastGroup;
        }
        if (best >= 0) {
          out.push({ kind: 'phone', start: pieceStart, end: groups[best]!.end, priority: PRIORITY.phone });
          while (c + 1 < cuts.length && cuts[c + 1]! <= best) c++;
        }
      }
    }
  },
};
