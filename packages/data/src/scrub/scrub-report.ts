import type { Row, RowSource, ScrubFinding } from '../types.ts';
import { SCRUB_KINDS, type ScrubKind } from './detector.ts';
import { scrubText } from './scrub-text.ts';

/** A row as it was before scrubbing, with what `scrubText` found in it. */
export interface ScrubbedRowInput {
  index: number;
  /** The row's text before scrubbing: the previews and line numbers are computed from it. */
  text: string;
  source: RowSource;
  findings: readonly ScrubFinding[];
}

/** One removed value, located for the contributor; the value itself is only shown masked. */
export interface ScrubReportEntry {
  /** Row index in the contribution. */
  row: number;
  file: string;
  /** 1-based line in the file: the row's line plus the line breaks before the value in the row. */
  line?: number;
  page?: number;
  record?: number;
  kind: ScrubKind;
  /** UTF-16 offsets in the row's text before scrubbing. */
  start: number;
  end: number;
  /** A masked preview: `j***@example.com`, `**** 1111`, `DE**…3000`, `ghp_… (40 chars)`. */
  preview: string;
}

/** The JSON-serialisable report a contributor gets about what was scrubbed from an upload. */
export interface ScrubReport {
  rowsScanned: number;
  rowsWithFindings: number;
  totalFindings: number;
  counts: Record<ScrubKind, number>;
  /** The findings, in row then offset order, at most `maxEntries` of them. */
  findings: ScrubReportEntry[];
  /** Findings counted but not listed because of `maxEntries`. */
  omitted: number;
}

export interface ScrubReportOptions {
  /** Most findings listed one by one (default 10 000); the counts always cover all of them. */
  maxEntries?: number;
}

/** Well-known, non-secret prefixes of secret shapes, shown in the preview to say what kind of key it was. */
const SECRET_PREFIXES: ReadonlyArray<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----/, (m) => `-----BEGIN ${m[1]}-----`],
  [/^(?:AKIA|ASIA)/, (m) => m[0]],
  [/^(?:gh[pousr]_|github_pat_)/, (m) => m[0]],
  [/^xox[baprs]-/, (m) => m[0]],
  [/^https:\/\/hooks\.slack\.com\//, (m) => m[0]],
  [/^[spr]k_(?:live|test)_/, (m) => m[0]],
  [/^AIza/, (m) => m[0]],
  [/^sk-/, (m) => m[0]],
  [/^eyJ/, () => 'JWT '],
  [/^0x/, (m) => m[0]],
];

function maskDigits(value: string, keep: number): string {
  let seen = 0;
  const total = value.replace(/\D/g, '').length;
  let out = '';
  for (const ch of value) {
    if (ch >= '0' && ch <= '9') {
      seen++;
      out += seen > total - keep ? ch : '*';
    } else out += ch;
  }
  return out;
}

/**
 * A preview of a scrubbed value that tells the contributor what was removed without repeating it:
 * the first letter of an e-mail's local part and its domain, the last 4 digits of a card or IBAN,
 * the last 2 digits of a phone number, the first part of an IP address, and for secrets only the
 * public prefix of a known key shape and the length.
 */
export function maskPreview(kind: ScrubKind, value: string): string {
  switch (kind) {
    case 'email': {
      const at = value.lastIndexOf('@');
      return `${Array.from(value.slice(0, at))[0] ?? ''}***@${value.slice(at + 1)}`;
    }
    case 'card': {
      const digits = value.replace(/\D/g, '');
      return `**** ${digits.slice(-4)}`;
    }
    case 'iban': {
      const compact = value.replace(/\s/g, '').toUpperCase();
      return `${compact.slice(0, 2)}**…${compact.slice(-4)}`;
    }
    case 'phone':
      return maskDigits(value, 2);
    case 'ip': {
      if (value.includes(':')) {
        const first = value.split(':')[0];
        return first ? `${first}:…` : '::…';
      }
      return `${value.split('.')[0]}.*.*.*`;
    }
    case 'secret': {
      const length = `(${value.length} chars)`;
      for (const [pattern, prefix] of SECRET_PREFIXES) {
        const m = pattern.exec(value);
        if (m && m[0].length < value.length) return `${prefix(m)}… ${length}`;
      }
      return `*** ${length}`;
    }
  }
}

function emptyCounts(): Record<ScrubKind, number> {
  return Object.fromEntries(SCRUB_KINDS.map((k) => [k, 0])) as Record<ScrubKind, number>;
}

/**
 * Builds the contributor's report for scrubbed rows as rows stream in: counts per kind and, for each
 * finding, its row, file, line (or page / record) and offsets with a masked preview. Holds only the
 * listed entries (at most `maxEntries`), never a removed value.
 */
export class ScrubReportBuilder {
  private readonly maxEntries: number;
  private readonly counts = emptyCounts();
  private readonly findings: ScrubReportEntry[] = [];
  private total = 0;
  private rowsWithFindings = 0;
  private omitted = 0;
  private lastRow = -1;

  constructor(options: ScrubReportOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Adds what was found in one row (or in one value of a structured row); rows come in index order. */
  add(row: ScrubbedRowInput): void {
    if (row.findings.length === 0) return;
    if (row.index !== this.lastRow) this.rowsWithFindings++;
    this.lastRow = row.index;
    const sorted = [...row.findings].sort((a, b) => a.start - b.start);
    let newlines = 0;
    let scanned = 0;
    for (const f of sorted) {
      this.counts[f.kind]++;
      this.total++;
      if (this.findings.length >= this.maxEntries) {
        this.omitted++;
        continue;
      }
      const entry: ScrubReportEntry = {
        row: row.index,
        file: row.source.file,
        kind: f.kind,
        start: f.start,
        end: f.end,
        preview: maskPreview(f.kind, row.text.slice(f.start, f.end)),
      };
      if (row.source.line !== undefined) {
        for (
          let i = row.text.indexOf('\n', scanned);
          i !== -1 && i < f.start;
          i = row.text.indexOf('\n', i + 1)
        ) {
          newlines++;
          scanned = i + 1;
        }
        entry.line = row.source.line + newlines;
      }
      if (row.source.page !== undefined) entry.page = row.source.page;
      if (row.source.record !== undefined) entry.record = row.source.record;
      this.findings.push(entry);
    }
  }

  report(rowsScanned: number): ScrubReport {
    return {
      rowsScanned,
      rowsWithFindings: this.rowsWithFindings,
      totalFindings: this.total,
      counts: { ...this.counts },
      findings: [...this.findings],
      omitted: this.omitted,
    };
  }
}

/** The report for scrubbed rows held in memory (see {@link ScrubReportBuilder}). */
export function scrubReport(
  rows: readonly ScrubbedRowInput[],
  options: ScrubReportOptions = {},
): ScrubReport {
  const builder = new ScrubReportBuilder(options);
  for (const row of [...rows].sort((a, b) => a.index - b.index)) builder.add(row);
  return builder.report(rows.length);
}

/** Scrubs each row's text and reports what was removed: the rows as they may be stored, and the report. */
export function scrubRows(
  rows: readonly Row[],
  options: ScrubReportOptions = {},
): { rows: Row[]; report: ScrubReport } {
  const scrubbed: Row[] = [];
  const inputs: ScrubbedRowInput[] = [];
  for (const row of rows) {
    const result = scrubText(row.text);
    scrubbed.push(result.findings.length === 0 ? row : { ...row, text: result.text });
    inputs.push({ index: row.index, text: row.text, source: row.source, findings: result.findings });
  }
  return { rows: scrubbed, report: scrubReport(inputs, options) };
}
