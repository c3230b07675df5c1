import { PRIORITY, isAsciiAlnumCode, type Candidate, type Detector } from '../detector.ts';
import { IBAN_LENGTHS, ibanChecksumValid } from '../iban.ts';

/** Country code and check digits, at the start of a word. */
const IBAN_START = /(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})/g;

/**
 * IBANs: a country code with an entry in the length table, two check digits and the BBAN, written
 * together or in groups of four separated by single spaces (a space is accepted only after every
 * fourth character), exactly as long as the country's IBANs, not glued to a following letter or
 * digit, and passing the ISO 13616 mod-97 check.
 */
export const ibanDetector: Detector = {
  kind: 'iban',
  mayMatch: (text) => /[A-Za-z]{2}\d{2}/.test(text),
  detect(text: string, out: Candidate[]): void {
    IBAN_START.lastIndex = 0;
    for (let m = IBAN_START.exec(text); m !== null; m = IBAN_START.exec(text)) {
      const length = IBAN_LENGTHS[m[1]!.toUpperCase()];
      if (length === undefined) continue;
      let compact = m[0].toUpperCase();
      let pos = m.index + 4;
      while (compact.length < length && pos < text.length) {
        const c = text.charCodeAt(pos);
        if (isAsciiAlnumCode(c)) {
          compact += text[pos]!.toUpperCase();
          pos++;
        } else if (c === 32 && compact.length % 4 === 0 && isAsciiAlnumCode(text.charCodeAt(pos + 1))) {
          pos++;
        } else break;
      }
      if (compact.length !== length || isAsciiAlnumCode(text.charCodeAt(pos))) continue;
      if (!ibanChecksumValid(compact)) continue;
      out.push({ kind: 'iban', start: m.index, end: pos, priority: PRIORITY.iban });
      IBAN_START.lastIndex = pos;
    }
  },
};
