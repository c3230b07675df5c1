/**
 * PDF: pdfjs-dist (legacy build, no worker thread, no font loading, no eval), page by page.
 *
 * pdfjs needs the whole file, so it is read into memory (up to `maxDocumentBytes`). Each page's text items
 * are joined into lines (a new line where pdfjs marks an end of line or the baseline moves; a space where two
 * items on a line are apart), and lines into paragraphs: a paragraph ends at a vertical gap clearly larger
 * than the page's usual line spacing (1.5× the median gap, or 1.5 × 1.25 × the font size on pages with
 * fewer than three gaps), at a jump back up the page (a new column) and at the end of the page. With `line`
 * granularity every line is a segment. `source.page` is the 1-based page.
 *
 * Unreadable files → `IngestError('corrupt-file')` with pdfjs's reason; password-protected ones →
 * `IngestError('encrypted-file')`. A PDF with no text at all (e.g. scanned images) ends as `empty-file`.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as PdfJsModule from 'pdfjs-dist/legacy/build/pdf.mjs';
import { IngestError } from '../../types.ts';
import type { ParseItem, ResolvedParseOptions, Segment } from '../parse-file.ts';

type PdfJs = typeof PdfJsModule;
let pdfjsPromise: Promise<PdfJs> | undefined;
/** pdfjs is large: loaded on first use. */
function loadPdfJs(): Promise<PdfJs> {
  pdfjsPromise ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsPromise;
}

const pdfjsRoot = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** Reads a PDF or DOCX into memory, refusing files over the limit. */
export async function readDocument(path: string, opts: ResolvedParseOptions): Promise<Buffer> {
  const { size } = await stat(path);
  if (size > opts.maxDocumentBytes) {
    throw new IngestError(
      'file-too-large',
      `${opts.fileName}: ${size} bytes, over the ${opts.maxDocumentBytes}-byte limit for PDF and DOCX files`,
    );
  }
  return readFile(path);
}

interface Item {
  str: string;
  x: number;
  y: number;
  width: number;
  height: number;
  hasEOL: boolean;
}

interface PdfLine {
  text: string;
  y: number;
  height: number;
}

export async function* parsePdf(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  const bytes = await readDocument(path, opts);
  const pdfjs = await loadPdfJs();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    useWorkerFetch: false,
    isOffscreenCanvasSupported: false,
    enableXfa: false,
    verbosity: 0,
    cMapUrl: join(pdfjsRoot, 'cmaps') + '/',
    cMapPacked: true,
    standardFontDataUrl: join(pdfjsRoot, 'standard_fonts') + '/',
  });
  let doc: Awaited<typeof task.promise>;
  try {
    doc = await task.promise;
  } catch (e) {
    await task.destroy();
    throw pdfError(e, opts.fileName);
  }
  try {
    for (let p = 1; p <= doc.numPages; p++) {
      let items: Item[];
      try {
        const page = await doc.getPage(p);
        const content = await page.getTextContent();
        items = [];
        for (const it of content.items) {
          if (!('str' in it)) continue;
          const [, , , d = 1, x = 0, y = 0] = it.transform as number[];
          items.push({
            str: it.str,
            x,
            y,
            width: it.width,
            height: it.height || Math.abs(d),
            hasEOL: it.hasEOL,
          });
        }
        page.cleanup();
      } catch (e) {
        throw pdfError(e, opts.fileName, p);
      }
      const lines = toLines(items);
      const source = { file: opts.fileName, page: p };
      if (opts.granularity === 'line') {
        for (const l of lines) if (l.text.trim()) yield segment(l.text, source, opts);
      } else {
        for (const para of toParagraphs(lines)) yield segment(para, source, opts);
      }
    }
  } finally {
    await doc.destroy();
  }
}

function segment(text: string, source: Segment['source'], opts: ResolvedParseOptions): Segment {
  if (text.length > opts.maxSegmentChars) return { text: '', source, kind: 'pdf', oversized: text.length };
  return { text, source, kind: 'pdf' };
}

function pdfError(e: unknown, fileName: string, page?: number): IngestError {
  const err = e as { name?: string; message?: string };
  const where = page ? ` (page ${page})` : '';
  if (err.name === 'PasswordException') {
    return new IngestError('encrypted-file', `${fileName}: the PDF is password-protected${where}`);
  }
  return new IngestError('corrupt-file', `${fileName}: unreadable PDF${where}: ${err.message ?? String(e)}`);
}

function toLines(items: Item[]): PdfLine[] {
  const lines: PdfLine[] = [];
  let cur: { parts: string[]; y: number; height: number; endX: number } | undefined;
  let breakNext = false;
  for (const it of items) {
    const h = it.height || 1;
    if (cur && (breakNext || Math.abs(it.y - cur.y) > 0.5 * Math.max(h, cur.height))) {
      lines.push({ text: cur.parts.join(''), y: cur.y, height: cur.height });
      cur = undefined;
    }
    breakNext = it.hasEOL;
    if (it.str === '') continue;
    if (!cur) {
      cur = { parts: [it.str], y: it.y, height: h, endX: it.x + it.width };
      continue;
    }
    const prev = cur.parts[cur.parts.length - 1]!;
    const gap = it.x - cur.endX;
    if (gap > 0.15 * h && !/\s$/.test(prev) && !/^\s/.test(it.str)) cur.parts.push(' ');
    cur.parts.push(it.str);
    cur.endX = it.x + it.width;
    cur.height = Math.max(cur.height, h);
  }
  if (cur) lines.push({ text: cur.parts.join(''), y: cur.y, height: cur.height });
  return lines.filter((l) => l.text.trim() !== '');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function toParagraphs(lines: PdfLine[]): string[] {
  if (lines.length === 0) return [];
  const gaps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const g = lines[i - 1]!.y - lines[i]!.y;
    if (g > 0) gaps.push(g);
  }
  const spacing = gaps.length >= 3 ? median(gaps) : 1.25 * median(lines.map((l) => l.height));
  const threshold = 1.5 * spacing;
  const out: string[] = [];
  let cur: string[] = [lines[0]!.text];
  for (let i = 1; i < lines.length; i++) {
    const g = lines[i - 1]!.y - lines[i]!.y;
    if (g > threshold || g < -lines[i]!.height) {
      out.push(cur.join('\n'));
      cur = [];
    }
    cur.push(lines[i]!.text);
  }
  out.push(cur.join('\n'));
  return out;
}
