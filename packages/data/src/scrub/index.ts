export { scrubText, detectCandidates, resolveOverlaps, DETECTORS, type ScrubResult } from './scrub-text.ts';
export {
  scrubReport,
  ScrubReportBuilder,
  scrubRows,
  maskPreview,
  type ScrubReport,
  type ScrubReportEntry,
  type ScrubReportOptions,
  type ScrubbedRowInput,
} from './scrub-report.ts';
export { PLACEHOLDERS, SCRUB_KINDS, type Candidate, type Detector, type ScrubKind } from './detector.ts';
export { luhnValid, cardScheme, isCardNumber } from './luhn.ts';
export { IBAN_LENGTHS, ibanChecksumValid, isValidIban } from './iban.ts';
export { shannonEntropy, looksLikeWords } from './entropy.ts';
export { isIPv4, isIPv6 } from './detectors/ip.ts';
export { scrubRow } from './scrub-row.ts';
