/**
 * parseFile: an uploaded file → a stream of segments (paragraphs, lines, records) with their source.
 *
 * Text kinds (txt, md, jsonl, csv) are streamed in 64 KiB chunks and checked for UTF-8 as they go, so memory
 * stays flat whatever the file size; one segment (a paragraph, a line, a JSON line, a CSV record) is at most
 * `maxSegmentChars` UTF-16 units in memory: a longer one is reported with `oversized` set and empty text
 * (splitRows turns it into a `row-too-long` error). PDF and DOCX cannot be streamed: their parsers need the
 * whole file, so those are read into memory and limited to `maxDocumentBytes` (`file-too-large` otherwise).
 *
 * Row-level problems (a bad JSON line, a ragged CSV row, a JSON line over the limit) are yielded as
 * `RowError`s in order with the segments; file-level problems are thrown as `IngestError`s (`empty-file`,
 * `invalid-utf8`, `corrupt-file`, `zip-bomb`, `encrypted-file`, `file-too-large`, `invalid-csv`,
 * `type-mismatch`). Segment text is raw: splitRows normalises it.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { IngestError, type FileKind, type RowError, type RowGranularity, type RowSource } from '../types.ts';
import type { ValidationStandard } from './validation-standard.ts';
import { parseText } from './parsers/text.ts';
import { parseMarkdown } from './parsers/markdown.ts';
import { parseJsonl } from './parsers/jsonl.ts';
import { parseCsv } from './parsers/csv.ts';
import { parsePdf } from './parsers/pdf.ts';
import { parseDocx } from './parsers/docx.ts';

export interface Segment {
  /** Raw text (not yet normalised); for structured kinds the record's source text (a JSON line, a CSV row). */
  text: string;
  source: RowSource;
  /** The kind of file it came from. */
  kind: FileKind;
  /** The parsed record (jsonl: the JSON object; csv: header → field, all strings). */
  structured?: Record<string, unknown>;
  /** Set when the raw segment was longer than `maxSegmentChars`: its length in UTF-16 units (text is then ''). */
  oversized?: number;
}

/** What parseFile yields: segments, and row-level errors in file order. */
export type ParseItem = Segment | RowError;

export interface ParseOptions {
  /**
   * `line`: a segment per non-blank line; `paragraph` and `document`: a segment per paragraph (blank-line
   * separated; its lines joined by `\n`). Ignored for jsonl/csv (a segment per record).
   */
  granularity: RowGranularity;
  /** The name recorded in each `RowSource.file` (default: the path's base name). */
  fileName?: string;
  /** Longest segment kept in memory, in UTF-16 units (default 1,000,000). */
  maxSegmentChars?: number;
  /** Largest PDF or DOCX accepted, in bytes (default 64 MiB): those are parsed in memory. */
  maxDocumentBytes?: number;
  /** DOCX: most zip entries (default 2,000). */
  maxZipEntries?: number;
  /** DOCX: largest total uncompressed size as a multiple of the file's size (default 20). */
  maxZipRatio?: number;
  /** DOCX: largest total uncompressed size in bytes (default 200 MiB). */
  maxZipBytes?: number;
}

export const PARSE_DEFAULTS = {
  maxSegmentChars: 1_000_000,
  maxDocumentBytes: 64 * 1024 * 1024,
  maxZipEntries: 2_000,
  maxZipRatio: 20,
  maxZipBytes: 200 * 1024 * 1024,
} as const;

export interface ResolvedParseOptions extends Required<ParseOptions> {
  /** The file's size in bytes. */
  size: number;
}

/**
 * Parse options matching a validation standard: its granularity, and a segment limit loose enough that
 * normalisation (which only shrinks text) cannot turn an over-limit raw segment into an acceptable row.
 */
export function parseOptionsFor(standard: ValidationStandard, fileName?: string): ParseOptions {
  if (standard.kind === 'structured') return { granularity: 'record', ...(fileName ? { fileName } : {}) };
  return {
    granularity: standard.granularity,
    // Raw text can shrink a lot under normalisation (whitespace runs, control characters), hence the slack.
    maxSegmentChars: Math.max(PARSE_DEFAULTS.maxSegmentChars, standard.maxLength * 4),
    ...(fileName ? { fileName } : {}),
  };
}

/** Streams the segments of a file of the given kind (see the module comment). */
export async function* parseFile(
  path: string,
  kind: FileKind,
  options: ParseOptions,
): AsyncGenerator<ParseItem> {
  const fileName = options.fileName ?? basename(path);
  const { size } = await stat(path);
  if (size === 0) throw new IngestError('empty-file', `${fileName}: the file is empty`);
  const opts: ResolvedParseOptions = {
    ...PARSE_DEFAULTS,
    ...stripUndefined(options),
    granularity: options.granularity,
    fileName,
    size,
  };
  let produced = false;
  for await (const item of parserFor(kind)(path, opts)) {
    produced = true;
    yield item;
  }
  if (!produced) {
    const what = kind === 'jsonl' || kind === 'csv' ? 'no records' : 'no text';
    throw new IngestError('empty-file', `${fileName}: ${what}`);
  }
}

function parserFor(kind: FileKind): (path: string, opts: ResolvedParseOptions) => AsyncGenerator<ParseItem> {
  switch (kind) {
    case 'txt':
      return parseText;
    case 'md':
      return parseMarkdown;
    case 'jsonl':
      return parseJsonl;
    case 'csv':
      return parseCsv;
    case 'pdf':
      return parsePdf;
    case 'docx':
      return parseDocx;
    default:
      throw new IngestError('unsupported-type', `unsupported file kind ${String(kind)}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
