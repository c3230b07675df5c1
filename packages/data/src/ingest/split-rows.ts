/**
 * splitRows: parsed segments → rows, by the standard's granularity.
 *
 * - Text standards: `paragraph` and `line` make a row per segment (parseFile already split by the
 *   granularity), normalised with {@link normalize}; `document` makes one row per file, its segments
 *   normalised and joined by `\n` (lines stay apart, runs of whitespace and blank lines collapse).
 * - Structured standards: a row per record, its text the record's canonical JSON.
 *
 * Rows that normalise to nothing are skipped. Row-level problems are yielded in order as `{ ok: false }`
 * items, never thrown: a row (or the document) over the standard's `maxLength` characters is
 * `RowError('row-too-long')`, as is an `oversized` segment; RowErrors from the parser pass through.
 * Row indexes count the rows yielded, from 0, without gaps. A segment of a kind the standard does not accept
 * (or a text segment under a structured standard and vice versa) throws `IngestError('kind-not-allowed')`.
 *
 * Document granularity keeps at most maxLength characters of text in memory: past that the rest of the
 * file is only drained.
 */
import { IngestError, RowError, type Row } from '../types.ts';
import { canonicalJson, charLength, normalize } from './normalize.ts';
import type { ParseItem, Segment } from './parse-file.ts';
import { assertKindAllowed, type ValidationStandard } from './validation-standard.ts';

export type SplitItem = { ok: true; row: Row; segment: Segment } | { ok: false; error: RowError };

export async function* splitRows(
  segments: AsyncIterable<ParseItem> | Iterable<ParseItem>,
  standard: ValidationStandard,
): AsyncGenerator<SplitItem> {
  let index = 0;
  const checked = new Set<string>();
  const check = (seg: Segment): void => {
    if (checked.has(seg.kind)) return;
    assertKindAllowed(standard, seg.kind, seg.source.file);
    const structured = seg.kind === 'jsonl' || seg.kind === 'csv';
    if (structured !== (standard.kind === 'structured')) {
      throw new IngestError(
        'kind-not-allowed',
        `${seg.source.file}: .${seg.kind} files do not fit a ${standard.kind} standard`,
      );
    }
    checked.add(seg.kind);
  };

  if (standard.kind === 'structured') {
    for await (const item of segments) {
      if (item instanceof RowError) {
        yield { ok: false, error: item };
        continue;
      }
      check(item);
      if (item.oversized) {
        yield { ok: false, error: tooLong(item, item.oversized, undefined, true) };
        continue;
      }
      if (!item.structured) {
        yield { ok: false, error: new RowError('invalid-json', 'a record without data', item.source) };
        continue;
      }
      let text: string;
      try {
        text = canonicalJson(item.structured);
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        yield { ok: false, error: new RowError(e.code, e.message, item.source) };
        continue;
      }
      yield { ok: true, row: { index: index++, text, source: item.source }, segment: item };
    }
    return;
  }

  const max = standard.maxLength;
  if (standard.granularity !== 'document') {
    for await (const item of segments) {
      if (item instanceof RowError) {
        yield { ok: false, error: item };
        continue;
      }
      check(item);
      if (item.oversized) {
        yield { ok: false, error: tooLong(item, item.oversized, max, true) };
        continue;
      }
      const text = normalize(item.text, standard.granularity);
      if (text === '') continue;
      const n = charLength(text);
      if (n > max) {
        yield { ok: false, error: tooLong(item, n, max) };
        continue;
      }
      yield { ok: true, row: { index: index++, text, source: item.source }, segment: item };
    }
    return;
  }

  // document: one row for the whole file.
  const parts: string[] = [];
  let len = 0; // characters so far, separators included
  let over = false;
  let first: Segment | undefined;
  for await (const item of segments) {
    if (item instanceof RowError) {
      yield { ok: false, error: item };
      continue;
    }
    check(item);
    first ??= item;
    if (over) continue;
    if (item.oversized) {
      over = true;
      parts.length = 0;
      continue;
    }
    const text = normalize(item.text, 'document');
    if (text === '') continue;
    len += (parts.length ? 1 : 0) + charLength(text);
    if (len > max) {
      over = true;
      parts.length = 0;
      continue;
    }
    parts.push(text);
  }
  if (!first) return;
  const source = { file: first.source.file };
  if (over) {
    yield {
      ok: false,
      error: new RowError('row-too-long', `the document is over the limit of ${max} characters`, source),
    };
    return;
  }
  if (parts.length === 0) return;
  const text = parts.join('\n');
  yield { ok: true, row: { index: 0, text, source }, segment: { text, source, kind: first.kind } };
}

function tooLong(seg: Segment, length: number, max: number | undefined, raw = false): RowError {
  const where = describe(seg.source);
  const size = raw ? `${length} characters before normalisation` : `${length} characters`;
  const limit = max === undefined ? 'over the parser limit' : `over the limit of ${max}`;
  return new RowError('row-too-long', `${where}${size}, ${limit}`, seg.source);
}

function describe(source: Segment['source']): string {
  if (source.page !== undefined) return `page ${source.page}: `;
  if (source.line !== undefined) return `line ${source.line}: `;
  if (source.record !== undefined) return `record ${source.record}: `;
  return '';
}
