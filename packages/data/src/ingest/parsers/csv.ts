/**
 * CSV (`.csv`, RFC 4180: comma-separated, `"` quotes, `""` escapes, quoted fields may span lines): streamed
 * through csv-parse. The first record is the header: its names (trimmed) must be non-empty and distinct, else
 * `IngestError('invalid-csv')`. Each later record becomes `{ header[i]: field[i] }`, every value a string (no
 * type guessing: "007" stays "007"; validation may coerce, see validateRow). A record whose field count differs
 * from the header's is a `RowError('csv-ragged')`; blank lines are skipped. Malformed quoting, or a record over
 * `maxSegmentChars`, stops the parse: `IngestError('invalid-csv')` with csv-parse's reason and line.
 * `line` is the record's first line, `record` counts data records from 1.
 */
import { Readable } from 'node:stream';
import { parse, type Info } from 'csv-parse';
import { IngestError, RowError } from '../../types.ts';
import type { ParseItem, ResolvedParseOptions } from '../parse-file.ts';
import { readUtf8Chunks } from './text.ts';

export async function* parseCsv(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  const source = Readable.from(readUtf8Chunks(path, opts.fileName), { objectMode: false });
  const parser = parse({
    relax_column_count: true,
    skip_empty_lines: true,
    max_record_size: opts.maxSegmentChars,
    info: true,
  });
  // Readable.pipe does not forward errors: an invalid-utf8 IngestError from the reader must reach the loop.
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);

  let header: string[] | undefined;
  let record = 0;
  let lastLine = 0; // the last line of the previous record
  let lastEmpty = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: Info }>) {
      const { record: fields, info } = item;
      // The record started after the previous one's last line and any blank lines skipped since.
      const line = lastLine + 1 + (info.empty_lines - lastEmpty);
      lastLine = info.lines;
      lastEmpty = info.empty_lines;
      if (!header) {
        header = checkHeader(fields, opts.fileName);
        continue;
      }
      record++;
      const src = { file: opts.fileName, line, record };
      if (fields.length !== header.length) {
        yield new RowError(
          'csv-ragged',
          `line ${line}: ${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${header.length}`,
          src,
        );
        continue;
      }
      const structured = Object.fromEntries(header.map((h, i) => [h, fields[i]!]));
      yield { text: fields.join(','), source: src, kind: 'csv', structured };
    }
  } catch (e) {
    if (e instanceof IngestError) throw e;
    throw new IngestError('invalid-csv', `${opts.fileName}: ${(e as Error).message}`);
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function checkHeader(fields: string[], fileName: string): string[] {
  const names = fields.map((f) => f.trim());
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n === '') throw new IngestError('invalid-csv', `${fileName}: header column ${i + 1} has no name`);
    if (seen.has(n)) throw new IngestError('invalid-csv', `${fileName}: header column "${n}" appears twice`);
    seen.add(n);
  });
  return names;
}
