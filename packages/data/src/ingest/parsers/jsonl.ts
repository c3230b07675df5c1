/**
 * JSON Lines (`.jsonl`): streamed; one record per non-blank line, which must hold a JSON object. A line that
 * is not JSON, or is JSON but not an object, is a `RowError('invalid-json')`; a line longer than
 * `maxSegmentChars` is a `RowError('row-too-long')` (not parsed). `record` counts non-blank lines from 1.
 */
import { RowError } from '../../types.ts';
import type { ParseItem, ResolvedParseOptions } from '../parse-file.ts';
import { isBlank, readLines } from './text.ts';

export async function* parseJsonl(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  let record = 0;
  for await (const l of readLines(path, opts.fileName, opts.maxSegmentChars)) {
    if (!l.overflow && isBlank(l.text)) continue;
    record++;
    const source = { file: opts.fileName, line: l.line, record };
    if (l.overflow) {
      yield new RowError(
        'row-too-long',
        `line ${l.line}: ${l.overflow} characters, over the limit of ${opts.maxSegmentChars}`,
        source,
      );
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(l.text);
    } catch (e) {
      yield new RowError('invalid-json', `line ${l.line}: ${(e as Error).message}`, source);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      yield new RowError('invalid-json', `line ${l.line}: expected a JSON object, got ${got}`, source);
      continue;
    }
    yield { text: l.text.trim(), source, kind: 'jsonl', structured: value as Record<string, unknown> };
  }
}
