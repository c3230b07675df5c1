import type { ScrubFinding } from '../types.ts';

/** The kinds of personal data the scrubber removes. */
export type ScrubKind = ScrubFinding['kind'];

/** A possible finding, before overlaps between detectors are resolved. */
export interface Candidate {
  kind: ScrubKind;
  /** UTF-16 offsets into the text the detector was given, `end` exclusive. */
  start: number;
  end: number;
  /** How specific the rule that produced it is; breaks ties between equally long overlapping candidates. */
  priority: number;
}

/** One detector: a cheap pre-filter and a linear scan that appends its candidates to `out`. */
export interface Detector {
  readonly kind: ScrubKind;
  /** False when the text cannot contain a match (lets the scan be skipped). May return true spuriously. */
  mayMatch(text: string): boolean;
  detect(text: string, out: Candidate[]): void;
}

/** Specificity of the rules: longer spans win first, these only break ties. */
export const PRIORITY = {
  pemPrivateKey: 100,
  jwt: 90,
  secretShape: 85,
  labelledSecret: 75,
  card: 70,
  iban: 70,
  email: 60,
  ip: 50,
  phone: 40,
  highEntropy: 10,
} as const;

/** The typed placeholder each kind is replaced with. */
export const PLACEHOLDERS: Readonly<Record<ScrubKind, string>> = {
  email: '[EMAIL]',
  phone: '[PHONE]',
  card: '[CARD]',
  iban: '[IBAN]',
  ip: '[IP]',
  secret: '[SECRET]',
};

export const SCRUB_KINDS: readonly ScrubKind[] = ['email', 'phone', 'card', 'iban', 'ip', 'secret'];

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAsciiLetterCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

export function isAsciiAlnumCode(c: number): boolean {
  return isDigitCode(c) || isAsciiLetterCode(c);
}

/** ASCII letters, digits and `_` (what `\w` matches). */
export function isWordCode(c: number): boolean {
  return isAsciiAlnumCode(c) || c === 95;
}
