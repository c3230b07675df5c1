/**
 * DOCX: the zip is inspected before mammoth sees it, then mammoth gives the text (via `convertToHtml` and
 * {@link htmlToText}: mammoth's `extractRawText` drops line breaks inside paragraphs, gluing words).
 *
 * The file is read into memory (up to `maxDocumentBytes`). The inspection reads the central directory and
 * refuses (`IngestError('zip-bomb')`) more than `maxZipEntries` entries, or a total uncompressed size above
 * `min(maxZipRatio × file size, maxZipBytes)`. Declared sizes are not trusted: every entry is inflated with
 * an output cap (its declared size), so an entry that inflates past what it declares is caught too, and its
 * output is dropped at once. ZIP64, multi-disk and encrypted archives, compression methods other than
 * stored/deflate, entries outside the file and size mismatches are `IngestError('corrupt-file')`; an
 * archive without `word/document.xml` is `IngestError('type-mismatch')`.
 *
 * A segment per paragraph (headings, list items and table cells are paragraphs too; footnotes and endnotes
 * come last), or per line with `line` granularity. DOCX has no pages: `source.record` is the 1-based paragraph number.
 */
import { inflateRawSync } from 'node:zlib';
import mammoth from 'mammoth';
import { IngestError } from '../../types.ts';
import type { ParseItem, ResolvedParseOptions, Segment } from '../parse-file.ts';
import { readDocument } from './pdf.ts';

export interface ZipLimits {
  maxEntries: number;
  /** Largest total uncompressed size, in bytes. */
  maxUncompressedBytes: number;
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
}

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/** Checks a zip archive against the limits (see the module comment) and lists its entries. */
export function inspectZip(buf: Buffer, limits: ZipLimits, fileName = 'file'): ZipEntry[] {
  const corrupt = (why: string): IngestError =>
    new IngestError('corrupt-file', `${fileName}: corrupt zip: ${why}`);
  const bomb = (why: string): IngestError =>
    new IngestError('zip-bomb', `${fileName}: refused as a zip bomb: ${why}`);

  // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the end of the file.
  let eocd = -1;
  for (let i = buf.length - 22; i >= 0 && i >= buf.length - 22 - 0xffff; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('end of central directory not found');
  const disk = buf.readUInt16LE(eocd + 4);
  const cdDisk = buf.readUInt16LE(eocd + 6);
  const diskEntries = buf.readUInt16LE(eocd + 8);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff)
    throw corrupt('ZIP64 is not supported');
  if (disk !== 0 || cdDisk !== 0 || diskEntries !== count)
    throw corrupt('multi-disk archives are not supported');
  if (count > limits.maxEntries) throw bomb(`${count} entries, over the limit of ${limits.maxEntries}`);
  if (cdOffset + cdSize > eocd) throw corrupt('central directory outside the file');

  const entries: (ZipEntry & { localOffset: number })[] = [];
  let total = 0;
  let pos = cdOffset;
  for (let n = 0; n < count; n++) {
    if (pos + 46 > eocd || buf.readUInt32LE(pos) !== CENTRAL_SIG)
      throw corrupt(`bad central directory entry ${n}`);
    const flags = buf.readUInt16LE(pos + 8);
    const method = buf.readUInt16LE(pos + 10);
    const compressedSize = buf.readUInt32LE(pos + 20);
    const uncompressedSize = buf.readUInt32LE(pos + 24);
    const nameLen = buf.readUInt16LE(pos + 28);
    const extraLen = buf.readUInt16LE(pos + 30);
    const commentLen = buf.readUInt16LE(pos + 32);
    const localOffset = buf.readUInt32LE(pos + 42);
    const name = buf.toString('utf8', pos + 46, pos + 46 + nameLen);
    pos += 46 + nameLen + extraLen + commentLen;
    if (pos > eocd) throw corrupt(`central directory entry ${n} runs past its end`);
    if (flags & 0x01) throw corrupt(`entry ${name} is encrypted`);
    if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localOffset === 0xffffffff) {
      throw corrupt('ZIP64 is not supported');
    }
    if (method !== 0 && method !== 8)
      throw corrupt(`entry ${name} uses unsupported compression method ${method}`);
    total += uncompressedSize;
    if (total > limits.maxUncompressedBytes) {
      throw bomb(`entries declare more than ${limits.maxUncompressedBytes} bytes uncompressed`);
    }
    entries.push({ name, method, compressedSize, uncompressedSize, localOffset });
  }

  // Inflate every entry, capped at its declared size: sizes that lie are caught here.
  for (const e of entries) {
    const at = e.localOffset;
    if (at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL_SIG)
      throw corrupt(`bad local header for ${e.name}`);
    const start = at + 30 + buf.readUInt16LE(at + 26) + buf.readUInt16LE(at + 28);
    const end = start + e.compressedSize;
    if (end > buf.length) throw corrupt(`entry ${e.name} runs past the end of the file`);
    let size = e.compressedSize;
    if (e.method === 8) {
      try {
        size = inflateRawSync(buf.subarray(start, end), {
          maxOutputLength: Math.max(1, e.uncompressedSize),
        }).length;
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
          throw bomb(`entry ${e.name} inflates past its declared ${e.uncompressedSize} bytes`);
        }
        throw corrupt(`entry ${e.name}: ${(err as Error).message}`);
      }
    }
    if (size !== e.uncompressedSize) {
      throw corrupt(`entry ${e.name} holds ${size} bytes, declares ${e.uncompressedSize}`);
    }
  }
  return entries.map(({ name, method, compressedSize, uncompressedSize }) => ({
    name,
    method,
    compressedSize,
    uncompressedSize,
  }));
}

export async function* parseDocx(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  const buf = await readDocument(path, opts);
  const entries = inspectZip(
    buf,
    {
      maxEntries: opts.maxZipEntries,
      maxUncompressedBytes: Math.min(opts.maxZipRatio * buf.length, opts.maxZipBytes),
    },
    opts.fileName,
  );
  if (!entries.some((e) => e.name === 'word/document.xml')) {
    throw new IngestError(
      'type-mismatch',
      `${opts.fileName}: a zip archive without word/document.xml, not a Word document`,
    );
  }
  let text: string;
  try {
    // convertToHtml rather than extractRawText: the latter drops line breaks (<w:br/>), gluing the words on
    // either side together. Images are not read (empty src).
    const result = await mammoth.convertToHtml(
      { buffer: buf },
      { convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })) },
    );
    text = htmlToText(result.value);
  } catch (e) {
    throw new IngestError(
      'corrupt-file',
      `${opts.fileName}: unreadable DOCX: ${(e as Error).message ?? String(e)}`,
    );
  }
  let record = 0;
  for (const para of text.split(/\n[^\S\n]*\n\s*/)) {
    if (!para.trim()) continue;
    record++;
    const source = { file: opts.fileName, record };
    if (opts.granularity === 'line') {
      for (const line of para.split('\n')) if (line.trim()) yield segment(line, source, opts);
    } else {
      yield segment(para, source, opts);
    }
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00A0' };

/**
 * mammoth's HTML → text: block elements (paragraphs, headings, list items, table cells…) end paragraphs
 * (a blank line), `<br>` is a line break, footnote/endnote/comment back-links are dropped, other tags are
 * removed and entities decoded.
 */
export function htmlToText(html: string): string {
  return html
    .replace(/<a href="#(?:footnote|endnote|comment)-ref-[^"]*">[^<]*<\/a>/g, '')
    .replace(/<br\s*\/?>/g, '\n')
    .replace(
      /<\/?(?:p|h[1-6]|li|ul|ol|table|thead|tbody|tr|td|th|blockquote|pre|dl|dt|dd)(?:\s[^>]*)?>/g,
      '\n\n',
    )
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
      if (e[0] === '#') {
        const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[e] ?? m;
    });
}

function segment(text: string, source: Segment['source'], opts: ResolvedParseOptions): Segment {
  if (text.length > opts.maxSegmentChars) return { text: '', source, kind: 'docx', oversized: text.length };
  return { text, source, kind: 'docx' };
}
