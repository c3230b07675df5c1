/**
 * Streaming UTF-8 text: chunks checked for UTF-8 as they are read (invalid bytes → `IngestError('invalid-utf8')`
 * with the byte offset), split into lines with a cap on line length, grouped into paragraphs. Plain-text
 * files (`.txt`) are parsed here; markdown, JSONL and CSV build on the same readers.
 */
import { createReadStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { IngestError } from '../../types.ts';
import { invalidUtf8Offset, utf8CompletePrefix } from '../detect-kind.ts';
import type { ParseItem, ResolvedParseOptions, Segment } from '../parse-file.ts';

/** Size of each read. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * The file as decoded string chunks, never split inside a character. A leading UTF-8 byte order mark is
 * dropped. The whole file is checked: invalid UTF-8 anywhere throws `IngestError('invalid-utf8')` naming the
 * byte offset in the file.
 */
export async function* readUtf8Chunks(path: string, fileName: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  let offset = 0; // file offset of carry[0]
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      if (first) {
        first = false;
        if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
      }
      const cut = utf8CompletePrefix(buf);
      const body = buf.subarray(start, cut);
      if (!isUtf8(body)) throw invalid(fileName, offset + start + invalidUtf8Offset(body));
      if (body.length) yield body.toString('utf8');
      offset += cut;
      carry = Buffer.from(buf.subarray(cut)); // at most 3 bytes; copied so the chunk can be freed
    }
  } finally {
    stream.destroy();
  }
  // An incomplete sequence at the very end of the file.
  if (carry.length) throw invalid(fileName, offset);
}

function invalid(fileName: string, offset: number): IngestError {
  return new IngestError('invalid-utf8', `${fileName}: not valid UTF-8 at byte offset ${offset}`);
}

export interface Line {
  /** The line without its terminator (`\n` or `\r\n`); '' when `overflow` is set. */
  text: string;
  /** 1-based line number. */
  line: number;
  /** When the line was longer than the cap: its length in UTF-16 units; otherwise 0. */
  overflow: number;
}

/** The lines of a UTF-8 file; a line longer than `maxChars` is not kept (only its length, see {@link Line}). */
export async function* readLines(path: string, fileName: string, maxChars: number): AsyncGenerator<Line> {
  let parts: string[] = [];
  let len = 0;
  let overflow = false;
  let line = 1;
  const take = (piece: string): void => {
    len += piece.length;
    if (overflow) return;
    if (len > maxChars) {
      overflow = true;
      parts = [];
    } else {
      parts.push(piece);
    }
  };
  const finish = (): Line => {
    let text = overflow ? '' : parts.length === 1 ? parts[0]! : parts.join('');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const out: Line = { text, line, overflow: overflow ? len : 0 };
    parts = [];
    len = 0;
    overflow = false;
    line++;
    return out;
  };
  for await (const chunk of readUtf8Chunks(path, fileName)) {
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', pos);
      if (nl < 0) {
        if (pos < chunk.length) take(chunk.slice(pos));
        break;
      }
      take(chunk.slice(pos, nl));
      yield finish();
      pos = nl + 1;
    }
  }
  if (len > 0 || parts.length > 0) yield finish();
}

export function isBlank(s: string): boolean {
  return s.trim() === '';
}

/**
 * Groups lines into paragraphs (runs of non-blank lines, joined by `\n`), each at most `maxChars` long
 * (a longer one comes back with `overflow` set and no text), `line` being the paragraph's first line.
 */
export async function* paragraphs(lines: AsyncIterable<Line>, maxChars: number): AsyncGenerator<Line> {
  let parts: string[] = [];
  let len = 0;
  let overflow = false;
  let start = 0;
  const flush = (): Line | undefined => {
    if (start === 0) return undefined;
    const out: Line = { text: overflow ? '' : parts.join('\n'), line: start, overflow: overflow ? len : 0 };
    parts = [];
    len = 0;
    overflow = false;
    start = 0;
    return out;
  };
  for await (const l of lines) {
    if (!l.overflow && isBlank(l.text)) {
      const p = flush();
      if (p) yield p;
      continue;
    }
    if (start === 0) start = l.line;
    len += (parts.length ? 1 : 0) + (l.overflow || l.text.length);
    if (overflow) continue;
    if (l.overflow || len > maxChars) {
      overflow = true;
      parts = [];
    } else {
      parts.push(l.text);
    }
  }
  const p = flush();
  if (p) yield p;
}

function toSegment(l: Line, opts: ResolvedParseOptions): Segment {
  const seg: Segment = { text: l.text, source: { file: opts.fileName, line: l.line }, kind: 'txt' };
  if (l.overflow) seg.oversized = l.overflow;
  return seg;
}

/** `.txt`: a segment per non-blank line (`line` granularity) or per paragraph (otherwise). */
export async function* parseText(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  const lines = readLines(path, opts.fileName, opts.maxSegmentChars);
  if (opts.granularity === 'line') {
    for await (const l of lines) {
      if (l.overflow || !isBlank(l.text)) yield toSegment(l, opts);
    }
    return;
  }
  for await (const p of paragraphs(lines, opts.maxSegmentChars)) yield toSegment(p, opts);
}
