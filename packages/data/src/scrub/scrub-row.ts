import { canonicalJson } from '../ingest/normalize.ts';
import type { Row } from '../types.ts';
import type { ScrubbedRowInput } from './scrub-report.ts';
import { scrubText } from './scrub-text.ts';

/**
 * Scrubs one row. Text rows are scrubbed as they are; a structured row (canonical JSON) is scrubbed
 * value by value and serialised again, so that a placeholder never lands inside a JSON escape and
 * the row stays a valid record. Findings are reported against the text they were found in: the row,
 * or for a record the string value that held them (one report input per such value).
 */
export function scrubRow(row: Row, structured: boolean): { text: string; reports: ScrubbedRowInput[] } {
  if (!structured) {
    const { text, findings } = scrubText(row.text);
    return {
      text,
      reports:
        findings.length > 0 ? [{ index: row.index, text: row.text, source: row.source, findings }] : [],
    };
  }
  const reports: ScrubbedRowInput[] = [];
  const scrubValue = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const { text, findings } = scrubText(value);
      if (findings.length > 0) reports.push({ index: row.index, text: value, source: row.source, findings });
      return text;
    }
    if (Array.isArray(value)) return value.map(scrubValue);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v)]));
    }
    return value;
  };
  const scrubbed = scrubValue(JSON.parse(row.text) as unknown);
  return { text: reports.length > 0 ? canonicalJson(scrubbed) : row.text, reports };
}
