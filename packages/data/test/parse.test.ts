import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestError, RowError, type FileKind } from '../src/types.ts';
import { detectFileKind, detectKind, invalidUtf8Offset } from '../src/ingest/detect-kind.ts';
import {
  parseFile,
  parseOptionsFor,
  type ParseItem,
  type ParseOptions,
  type Segment,
} from '../src/ingest/parse-file.ts';
import { inspectZip } from '../src/ingest/parsers/docx.ts';
import { splitRows, type SplitItem } from '../src/ingest/split-rows.ts';
import { parseValidationStandard, type ValidationStandard } from '../src/ingest/validation-standard.ts';

// ---------------------------------------------------------------------------------------------------------
// Fixture builders

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ol-parse-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(dir, `${counter++}-${name}`);
  await writeFile(path, content);
  return path;
}

/** A minimal PDF written by hand: Helvetica text, one `Tm`-positioned line per entry, '' = a blank line. */
function makePdf(pages: string[][]): Buffer {
  const objs: string[] = [];
  objs[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objs[2] = `<< /Type /Pages /Kids [${pages.map((_, i) => `${4 + i * 2} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objs[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  pages.forEach((lines, i) => {
    let y = 720;
    let content = 'BT /F1 12 Tf\n';
    for (const line of lines) {
      if (line !== '') content += `1 0 0 1 72 ${y} Tm (${line.replace(/[\\()]/g, (c) => '\\' + c)}) Tj\n`;
      y -= 14;
    }
    content += 'ET';
    objs[4 + i * 2] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`;
    objs[5 + i * 2] = `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let i = 1; i < objs.length; i++) {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i} 0 obj\n${objs[i]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objs.length}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objs.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipInput {
  name: string;
  data: Buffer;
  /** Lie about the uncompressed size. */
  declaredSize?: number;
}

/** A small zip writer (deflate, no data descriptors). */
function makeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const compressed = deflateRawSync(e.data);
    const crc = crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function docxEntries(paragraphs: string[], documentXml?: string): ZipInput[] {
  const body = paragraphs
    .map(
      (p) =>
        `<w:p>${p
          .split('\n')
          .map(
            (l, i) => `${i ? '<w:r><w:br/></w:r>' : ''}<w:r><w:t xml:space="preserve">${xml(l)}</w:t></w:r>`,
          )
          .join('')}</w:p>`,
    )
    .join('');
  return [
    {
      name: '[Content_Types].xml',
      data: Buffer.from(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      ),
    },
    {
      name: '_rels/.rels',
      data: Buffer.from(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      ),
    },
    {
      name: 'word/document.xml',
      data: Buffer.from(
        documentXml ??
          `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`,
      ),
    },
  ];
}

const makeDocx = (paragraphs: string[]): Buffer => makeZip(docxEntries(paragraphs));

// ---------------------------------------------------------------------------------------------------------
// Helpers

async function collect(path: string, kind: FileKind, options: ParseOptions): Promise<ParseItem[]> {
  const out: ParseItem[] = [];
  for await (const item of parseFile(path, kind, options)) out.push(item);
  return out;
}

const segments = (items: ParseItem[]): Segment[] =>
  items.filter((i): i is Segment => !(i instanceof RowError));
const rowErrors = (items: ParseItem[]): RowError[] =>
  items.filter((i): i is RowError => i instanceof RowError);

async function rows(path: string, kind: FileKind, standard: ValidationStandard, fileName?: string) {
  const out: SplitItem[] = [];
  for await (const item of splitRows(parseFile(path, kind, parseOptionsFor(standard, fileName)), standard)) {
    out.push(item);
  }
  return out;
}

/** The IngestError a promise rejects with. */
async function ingestError(p: Promise<unknown>): Promise<IngestError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(IngestError);
    return e as IngestError;
  }
  throw new Error('expected an IngestError');
}

function syncIngestError(f: () => unknown): IngestError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IngestError);
    return e as IngestError;
  }
  throw new Error('expected an IngestError');
}

const textStandard = (over: Partial<Record<string, unknown>> = {}): ValidationStandard =>
  parseValidationStandard({
    kind: 'text',
    granularity: 'paragraph',
    minLength: 1,
    maxLength: 10_000,
    ...over,
  });
const structuredStandard = parseValidationStandard({ kind: 'structured', schema: { type: 'object' } });

// ---------------------------------------------------------------------------------------------------------

describe('detectKind', () => {
  it('accepts each kind when extension and content agree', () => {
    expect(detectKind('a.txt', Buffer.from('hello'))).toBe('txt');
    expect(detectKind('A.MD', Buffer.from('# hi'))).toBe('md');
    expect(detectKind('a.jsonl', Buffer.from('{"a":1}\n'))).toBe('jsonl');
    expect(detectKind('a.csv', Buffer.from('\uFEFFa,b\n1,2\n'))).toBe('csv');
    expect(detectKind('a.pdf', makePdf([['x']]))).toBe('pdf');
    expect(detectKind('a.docx', makeDocx(['x']))).toBe('docx');
  });

  it('rejects unknown or missing extensions', () => {
    expect(syncIngestError(() => detectKind('a.exe', Buffer.from('MZ'))).code).toBe('unsupported-type');
    expect(syncIngestError(() => detectKind('README', Buffer.from('hi'))).code).toBe('unsupported-type');
    expect(syncIngestError(() => detectKind('a.doc', Buffer.from('hi'))).code).toBe('unsupported-type');
  });

  it('rejects an empty file', () => {
    expect(syncIngestError(() => detectKind('a.txt', new Uint8Array())).code).toBe('empty-file');
  });

  it('rejects extension / magic mismatches', () => {
    const mismatch = (name: string, bytes: Uint8Array) => syncIngestError(() => detectKind(name, bytes)).code;
    expect(mismatch('a.pdf', Buffer.from('just text'))).toBe('type-mismatch');
    expect(mismatch('a.docx', Buffer.from('just text'))).toBe('type-mismatch');
    expect(mismatch('a.docx', makePdf([['x']]))).toBe('type-mismatch');
    expect(mismatch('a.txt', makePdf([['x']]))).toBe('type-mismatch');
    expect(mismatch('a.csv', makeDocx(['x']))).toBe('type-mismatch');
    // A zip that is not a Word document.
    expect(mismatch('a.docx', makeZip([{ name: 'hello.txt', data: Buffer.from('hi') }]))).toBe(
      'type-mismatch',
    );
    // Binary data named .txt.
    expect(mismatch('a.txt', Buffer.from([0x61, 0x00, 0x62, 0x00]))).toBe('type-mismatch');
  });

  it('rejects invalid UTF-8 naming the byte offset', () => {
    const e = syncIngestError(() => detectKind('a.txt', Buffer.from([0x61, 0x62, 0x63, 0xff, 0x64])));
    expect(e.code).toBe('invalid-utf8');
    expect(e.message).toContain('offset 3');
    // Overlong encoding, UTF-16 surrogate, above U+10FFFF, bad continuation.
    expect(invalidUtf8Offset(Buffer.from([0x41, 0xc0, 0x80]))).toBe(1);
    expect(invalidUtf8Offset(Buffer.from([0x41, 0x42, 0xed, 0xa0, 0x80]))).toBe(2);
    expect(invalidUtf8Offset(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
    expect(invalidUtf8Offset(Buffer.from([0x41, 0xc3, 0x28]))).toBe(1);
    expect(invalidUtf8Offset(Buffer.from('héllo ✓ 😀'))).toBe(-1);
    // A character cut by the end of the sniffed bytes is fine there, not at the end of a file.
    const cut = Buffer.from('ab😀').subarray(0, 4);
    expect(invalidUtf8Offset(cut, true)).toBe(-1);
    expect(invalidUtf8Offset(cut)).toBe(2);
    expect(detectKind('a.txt', cut)).toBe('txt');
  });

  it('detectFileKind reads the head of a file', async () => {
    expect(await detectFileKind(await file('x.pdf', makePdf([['x']])))).toBe('pdf');
    expect(await detectFileKind(await file('upload.bin', 'text'), 'notes.txt')).toBe('txt');
    expect((await ingestError(detectFileKind(await file('y.pdf', 'hello')))).code).toBe('type-mismatch');
  });
});

describe('parseFile: text', () => {
  it('splits paragraphs (blank-line separated) with their first line', async () => {
    const path = await file(
      'a.txt',
      '\uFEFFFirst paragraph\r\nstill first.\r\n\r\n\r\n  Second one.\n   \nThird\n',
    );
    const items = await collect(path, 'txt', { granularity: 'paragraph', fileName: 'a.txt' });
    expect(items).toEqual([
      { text: 'First paragraph\nstill first.', source: { file: 'a.txt', line: 1 }, kind: 'txt' },
      { text: '  Second one.', source: { file: 'a.txt', line: 5 }, kind: 'txt' },
      { text: 'Third', source: { file: 'a.txt', line: 7 }, kind: 'txt' },
    ]);
  });

  it('splits lines with line granularity', async () => {
    const path = await file('a.txt', 'one\n\ntwo\nthree');
    const items = segments(await collect(path, 'txt', { granularity: 'line' }));
    expect(items.map((s) => [s.text, s.source.line])).toEqual([
      ['one', 1],
      ['two', 3],
      ['three', 4],
    ]);
  });

  it('keeps characters that straddle read chunks', async () => {
    // A 4-byte character across the 64 KiB chunk boundary, and invalid bytes far into the file.
    const head = 'a'.repeat(65_534);
    const path = await file('a.txt', head + '😀 end');
    const [seg] = segments(await collect(path, 'txt', { granularity: 'paragraph' }));
    expect(seg!.text).toBe(head + '😀 end');
  });

  it('rejects invalid UTF-8 anywhere in the file with its byte offset', async () => {
    const bytes = Buffer.concat([
      Buffer.from('x'.repeat(200_000) + 'é'),
      Buffer.from([0xe2, 0x28, 0xa1]),
      Buffer.from('tail'),
    ]);
    const path = await file('bad.txt', bytes);
    const e = await ingestError(collect(path, 'txt', { granularity: 'line' }));
    expect(e.code).toBe('invalid-utf8');
    expect(e.message).toContain('offset 200002');
    // A file that ends inside a character.
    const truncated = await file('cut.txt', Buffer.from('abc😀').subarray(0, 5));
    const e2 = await ingestError(collect(truncated, 'txt', { granularity: 'line' }));
    expect(e2.message).toContain('offset 3');
  });

  it('rejects empty and blank files', async () => {
    expect((await ingestError(collect(await file('e.txt', ''), 'txt', { granularity: 'line' }))).code).toBe(
      'empty-file',
    );
    const blank = await file('b.txt', '\n  \n\t\n');
    expect((await ingestError(collect(blank, 'txt', { granularity: 'paragraph' }))).code).toBe('empty-file');
    expect(
      (await ingestError(collect(await file('e.jsonl', ''), 'jsonl', { granularity: 'record' }))).code,
    ).toBe('empty-file');
  });

  it('reports a line over the segment limit without keeping it', async () => {
    const path = await file('long.txt', 'short\n' + 'x'.repeat(3_000_000) + '\nafter\n');
    const items = segments(await collect(path, 'txt', { granularity: 'line', maxSegmentChars: 1_000_000 }));
    expect(items.map((s) => [s.text, s.oversized, s.source.line])).toEqual([
      ['short', undefined, 1],
      ['', 3_000_000, 2],
      ['after', undefined, 3],
    ]);
  });
});

describe('parseFile: markdown', () => {
  const md = [
    '# The *Title* #',
    '',
    'Some **bold** and _emphasised_ text with a [link](https://example.com "t") and',
    'an ![image alt](pic.png), `inline *code*`, snake_case_name, 2 * 3 * 4 and \\*stars\\*.',
    '',
    'Setext heading',
    '==============',
    '> quoted ~~struck~~ <span class="x">html</span> <https://openledger.xyz>',
    '',
    '- item one',
    '- [x] item two',
    '1. numbered',
    '',
    '| a | b |',
    '|---|:-:|',
    '| 1 | 2 |',
    '',
    '***',
    '[ref]: https://example.com',
    '<!-- a comment -->',
    '```ts',
    'const x = **not bold**;',
    '',
    '# not a heading',
    '```',
    'See [the docs][ref].',
  ].join('\n');

  it('keeps the text and strips the markup, paragraph by paragraph', async () => {
    const path = await file('a.md', md);
    const items = segments(await collect(path, 'md', { granularity: 'paragraph' }));
    expect(items.map((s) => [s.text, s.source.line])).toEqual([
      ['The Title', 1],
      [
        'Some bold and emphasised text with a link and\nan image alt, inline *code*, snake_case_name, 2 * 3 * 4 and *stars*.',
        3,
      ],
      ['Setext heading', 6],
      ['quoted struck html https://openledger.xyz', 8],
      ['item one', 10],
      ['item two', 11],
      ['numbered', 12],
      ['a | b\n1 | 2', 14],
      ['const x = **not bold**;\n\n# not a heading', 22],
      ['See the docs.', 26],
    ]);
    expect(items.every((s) => s.kind === 'md')).toBe(true);
  });

  it('line granularity gives a segment per line', async () => {
    const path = await file('b.md', '## Head\ntext *one*\n\nSetext\n---\n```\ncode\n```\n');
    const items = segments(await collect(path, 'md', { granularity: 'line' }));
    expect(items.map((s) => s.text)).toEqual(['Head', 'text one', 'Setext', 'code']);
  });
});

describe('parseFile: jsonl', () => {
  it('yields one record per line, and RowErrors for bad lines', async () => {
    const path = await file('a.jsonl', '{"b":1,"a":"x"}\n\nnot json\n[1,2]\n{"c":{"d":[1,2]}}\n{"open":');
    const items = await collect(path, 'jsonl', { granularity: 'record', fileName: 'a.jsonl' });
    const segs = segments(items);
    expect(segs.map((s) => [s.structured, s.source])).toEqual([
      [
        { b: 1, a: 'x' },
        { file: 'a.jsonl', line: 1, record: 1 },
      ],
      [{ c: { d: [1, 2] } }, { file: 'a.jsonl', line: 5, record: 4 }],
    ]);
    const errors = rowErrors(items);
    expect(errors.map((e) => [e.code, e.source?.line])).toEqual([
      ['invalid-json', 3],
      ['invalid-json', 4],
      ['invalid-json', 6],
    ]);
    expect(errors[1]!.message).toContain('expected a JSON object, got an array');
  });
});

describe('parseFile: csv', () => {
  it('maps records to the header, handles quotes, and reports ragged rows', async () => {
    const csv =
      'name, age ,note\r\nAda,36,"likes ""math"""\r\n\r\nBob,7\r\nCy,1,"two\nlines"\r\nDi,2,x,extra\r\nEd,3,\r\n';
    const path = await file('a.csv', csv);
    const items = await collect(path, 'csv', { granularity: 'record', fileName: 'a.csv' });
    expect(segments(items).map((s) => [s.structured, s.source])).toEqual([
      [
        { name: 'Ada', age: '36', note: 'likes "math"' },
        { file: 'a.csv', line: 2, record: 1 },
      ],
      [
        { name: 'Cy', age: '1', note: 'two\nlines' },
        { file: 'a.csv', line: 5, record: 3 },
      ],
      [
        { name: 'Ed', age: '3', note: '' },
        { file: 'a.csv', line: 8, record: 5 },
      ],
    ]);
    expect(rowErrors(items).map((e) => [e.code, e.source?.line, e.source?.record])).toEqual([
      ['csv-ragged', 4, 2],
      ['csv-ragged', 7, 4],
    ]);
  });

  it('rejects broken quoting and bad headers', async () => {
    const broken = await file('b.csv', 'a,b\n1,"unterminated\n');
    const e = await ingestError(collect(broken, 'csv', { granularity: 'record' }));
    expect(e.code).toBe('invalid-csv');
    const dup = await file('d.csv', 'a,b,a\n1,2,3\n');
    expect((await ingestError(collect(dup, 'csv', { granularity: 'record' }))).message).toContain(
      '"a" appears twice',
    );
    const headerOnly = await file('h.csv', 'a,b\n');
    expect((await ingestError(collect(headerOnly, 'csv', { granularity: 'record' }))).code).toBe(
      'empty-file',
    );
  });

  it('rejects invalid UTF-8 in a CSV', async () => {
    const path = await file(
      'u.csv',
      Buffer.concat([Buffer.from('a,b\n1,'), Buffer.from([0xc3]), Buffer.from(',2\n')]),
    );
    const e = await ingestError(collect(path, 'csv', { granularity: 'record' }));
    expect(e.code).toBe('invalid-utf8');
    expect(e.message).toContain('offset 6');
  });
});

describe('parseFile: pdf', () => {
  it('extracts text page by page, a segment per paragraph', async () => {
    const pdf = makePdf([
      [
        'Hello world, this is page one.',
        'Second line of the first paragraph.',
        '',
        'Another paragraph (with parens).',
      ],
      ['Page two text.'],
    ]);
    const path = await file('a.pdf', pdf);
    const items = segments(await collect(path, 'pdf', { granularity: 'paragraph', fileName: 'a.pdf' }));
    expect(items).toEqual([
      {
        text: 'Hello world, this is page one.\nSecond line of the first paragraph.',
        source: { file: 'a.pdf', page: 1 },
        kind: 'pdf',
      },
      { text: 'Another paragraph (with parens).', source: { file: 'a.pdf', page: 1 }, kind: 'pdf' },
      { text: 'Page two text.', source: { file: 'a.pdf', page: 2 }, kind: 'pdf' },
    ]);
    const lines = segments(await collect(path, 'pdf', { granularity: 'line' }));
    expect(lines.map((s) => [s.text, s.source.page])).toEqual([
      ['Hello world, this is page one.', 1],
      ['Second line of the first paragraph.', 1],
      ['Another paragraph (with parens).', 1],
      ['Page two text.', 2],
    ]);
  });

  it('rejects a corrupt PDF with the parser reason', async () => {
    const e = await ingestError(
      collect(await file('c.pdf', '%PDF-1.4\nthis is not a pdf body\n'), 'pdf', { granularity: 'line' }),
    );
    expect(e.code).toBe('corrupt-file');
    expect(e.message).toMatch(/Invalid PDF structure/);
    const truncated = await file('t.pdf', makePdf([['x']]).subarray(0, 60));
    expect((await ingestError(collect(truncated, 'pdf', { granularity: 'line' }))).code).toBe('corrupt-file');
  });

  it('a PDF without text is empty; an oversized one is refused', async () => {
    const path = await file('blank.pdf', makePdf([[]]));
    expect((await ingestError(collect(path, 'pdf', { granularity: 'line' }))).code).toBe('empty-file');
    const big = await file('big.pdf', makePdf([['x']]));
    const e = await ingestError(collect(big, 'pdf', { granularity: 'line', maxDocumentBytes: 100 }));
    expect(e.code).toBe('file-too-large');
  });
});

describe('parseFile: docx', () => {
  it('extracts paragraphs with mammoth', async () => {
    const path = await file(
      'a.docx',
      makeDocx(['First paragraph & more.', 'Second\nwith a break.', 'Third']),
    );
    const items = segments(await collect(path, 'docx', { granularity: 'paragraph', fileName: 'a.docx' }));
    expect(items).toEqual([
      { text: 'First paragraph & more.', source: { file: 'a.docx', record: 1 }, kind: 'docx' },
      { text: 'Second\nwith a break.', source: { file: 'a.docx', record: 2 }, kind: 'docx' },
      { text: 'Third', source: { file: 'a.docx', record: 3 }, kind: 'docx' },
    ]);
    const lines = segments(await collect(path, 'docx', { granularity: 'line' }));
    expect(lines.map((s) => s.text)).toEqual(['First paragraph & more.', 'Second', 'with a break.', 'Third']);
  });

  it('reads tables, tabs and escaped characters', async () => {
    const w = (t: string) => `<w:p><w:r><w:t xml:space="preserve">${t}</w:t></w:r></w:p>`;
    const body =
      w('a &lt;b&gt; &amp; "c"') +
      '<w:p><w:r><w:t>left</w:t></w:r><w:r><w:tab/></w:r><w:r><w:t>right</w:t></w:r></w:p>' +
      `<w:tbl><w:tr><w:tc>${w('cell 1')}</w:tc><w:tc>${w('cell 2')}</w:tc></w:tr></w:tbl>`;
    const doc = `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;
    const path = await file('t.docx', makeZip(docxEntries([], doc)));
    const items = segments(await collect(path, 'docx', { granularity: 'paragraph' }));
    expect(items.map((s) => s.text)).toEqual(['a <b> & "c"', 'left\tright', 'cell 1', 'cell 2']);
  });

  it('rejects a corrupt DOCX with the reason', async () => {
    const good = makeDocx(['hello']);
    const truncated = await file('t.docx', good.subarray(0, good.length - 30));
    const e = await ingestError(collect(truncated, 'docx', { granularity: 'line' }));
    expect(e.code).toBe('corrupt-file');
    expect(e.message).toContain('end of central directory not found');
    // A well-formed zip whose document is not XML: mammoth's own reason.
    const badXml = makeZip(docxEntries([], '<w:document><w:body><w:p>unclosed'));
    const e2 = await ingestError(collect(await file('x.docx', badXml), 'docx', { granularity: 'line' }));
    expect(e2.code).toBe('corrupt-file');
    expect(e2.message).toMatch(/unreadable DOCX: .+/);
    // Damaged compressed data.
    const damaged = Buffer.from(good);
    const docAt = damaged.indexOf('word/document.xml') + 'word/document.xml'.length;
    damaged.fill(0xff, docAt, docAt + 20);
    const e3 = await ingestError(collect(await file('d.docx', damaged), 'docx', { granularity: 'line' }));
    expect(e3.code).toBe('corrupt-file');
    // No word/document.xml.
    const notWord = makeZip([{ name: 'a.txt', data: Buffer.from('hello') }]);
    expect(
      (await ingestError(collect(await file('n.docx', notWord), 'docx', { granularity: 'line' }))).code,
    ).toBe('type-mismatch');
  });

  it('refuses zip bombs before mammoth inflates them', async () => {
    // 40 MB of zeros compress to ~40 KB: far over 20× the file.
    const bomb = makeZip([
      ...docxEntries(['hi']),
      { name: 'word/media/pad.bin', data: Buffer.alloc(40 * 1024 * 1024) },
    ]);
    expect(bomb.length).toBeLessThan(100_000);
    const e = await ingestError(collect(await file('bomb.docx', bomb), 'docx', { granularity: 'line' }));
    expect(e.code).toBe('zip-bomb');
    // The same entry declaring a tiny size: caught while inflating.
    const liar = makeZip([
      ...docxEntries(['hi']),
      { name: 'word/media/pad.bin', data: Buffer.alloc(4 * 1024 * 1024), declaredSize: 100 },
    ]);
    const e2 = await ingestError(collect(await file('liar.docx', liar), 'docx', { granularity: 'line' }));
    expect(e2.code).toBe('zip-bomb');
    expect(e2.message).toContain('inflates past its declared 100 bytes');
    // Too many entries.
    const many = makeZip([
      ...docxEntries(['hi']),
      ...Array.from({ length: 50 }, (_, i) => ({ name: `x/${i}`, data: Buffer.from('a') })),
    ]);
    const e3 = syncIngestError(() => inspectZip(many, { maxEntries: 20, maxUncompressedBytes: 1e9 }));
    expect(e3.code).toBe('zip-bomb');
    // The absolute cap applies whatever the ratio.
    const ok = makeDocx(['hello']);
    expect(inspectZip(ok, { maxEntries: 10, maxUncompressedBytes: 1e6 }).map((x) => x.name)).toContain(
      'word/document.xml',
    );
    expect(syncIngestError(() => inspectZip(ok, { maxEntries: 10, maxUncompressedBytes: 100 })).code).toBe(
      'zip-bomb',
    );
  });
});

describe('splitRows', () => {
  it('numbers rows from 0, skips empty ones and reports rows over maxLength', async () => {
    const text = 'para one\n\n\u0007\u200B\n\n' + 'y'.repeat(60) + '\n\npara   three\nwrapped';
    const path = await file('r.txt', text);
    const out = await rows(path, 'txt', textStandard({ maxLength: 50 }), 'r.txt');
    expect(
      out.map((i) =>
        i.ok
          ? ['row', i.row.index, i.row.text, i.row.source.line]
          : ['error', i.error.code, i.error.source?.line],
      ),
    ).toEqual([
      ['row', 0, 'para one', 1],
      // U+200B is not whitespace: that paragraph is a row.
      ['row', 1, '\u200B', 3],
      ['error', 'row-too-long', 5],
      ['row', 2, 'para three wrapped', 7],
    ]);
  });

  it('document granularity makes one row per file, lines kept apart', async () => {
    const path = await file('d.md', '# Title\n\nFirst  line\nsecond line\n\n\nlast');
    const out = await rows(path, 'md', textStandard({ granularity: 'document' }), 'd.md');
    expect(out).toHaveLength(1);
    expect(out[0]!.ok && out[0]!.row).toEqual({
      index: 0,
      text: 'Title\nFirst line\nsecond line\nlast',
      source: { file: 'd.md' },
    });
    const tooLong = await rows(path, 'md', textStandard({ granularity: 'document', maxLength: 10 }));
    expect(tooLong.map((i) => !i.ok && i.error.code)).toEqual(['row-too-long']);
  });

  it('structured rows are canonical JSON, errors pass through', async () => {
    const path = await file('s.jsonl', '{"b":"Cafe\u0301","a":[3,{"z":1,"y":2}]}\nbad\n{"k":1}\n');
    const out = await rows(path, 'jsonl', structuredStandard);
    expect(out.map((i) => (i.ok ? [i.row.index, i.row.text] : i.error.code))).toEqual([
      [0, '{"a":[3,{"y":2,"z":1}],"b":"Café"}'],
      'invalid-json',
      [1, '{"k":1}'],
    ]);
  });

  it('refuses kinds the standard does not accept', async () => {
    const txt = await file('k.txt', 'hello');
    expect((await ingestError(rows(txt, 'txt', structuredStandard))).code).toBe('kind-not-allowed');
    expect((await ingestError(rows(txt, 'txt', textStandard({ allowedKinds: ['md'] })))).code).toBe(
      'kind-not-allowed',
    );
    const jsonl = await file('k.jsonl', '{"a":1}');
    expect((await ingestError(rows(jsonl, 'jsonl', textStandard()))).code).toBe('kind-not-allowed');
  });

  it('an oversized raw segment becomes row-too-long', async () => {
    const path = await file('o.txt', 'ok\n\n' + 'z '.repeat(2_000_000));
    const standard = textStandard({ maxLength: 1000 });
    const out = await rows(path, 'txt', standard);
    expect(out.map((i) => (i.ok ? i.row.text : i.error.code))).toEqual(['ok', 'row-too-long']);
  });
});

describe('streaming', () => {
  it('parses a ~50 MB text file with flat memory', async () => {
    const path = join(dir, 'big.txt');
    const paragraph =
      'OpenLedger datanets collect community data; every row is scrubbed, deduplicated and scored.\n' +
      'A second line keeps the paragraph going with a few more words in it.\n\n';
    const perChunk = 1000;
    const chunk = paragraph.repeat(perChunk);
    const chunks = Math.ceil((50 * 1024 * 1024) / Buffer.byteLength(chunk));
    await new Promise<void>((resolve, reject) => {
      const ws = createWriteStream(path);
      ws.on('error', reject);
      let i = 0;
      const write = (): void => {
        while (i < chunks) {
          i++;
          if (!ws.write(chunk)) {
            ws.once('drain', write);
            return;
          }
        }
        ws.end(resolve);
      };
      write();
    });

    const standard = textStandard({ maxLength: 1000 });
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let count = 0;
    let lastText = '';
    const t0 = performance.now();
    for await (const item of splitRows(parseFile(path, 'txt', parseOptionsFor(standard)), standard)) {
      if (!item.ok) throw item.error;
      count++;
      lastText = item.row.text;
      if (count % 20_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const ms = performance.now() - t0;
    expect(count).toBe(chunks * perChunk);
    expect(lastText).toBe(normalizeExpected(paragraph));
    const grew = (peak - baseline) / 1024 / 1024;
    console.log(
      `streamed ${chunks * Buffer.byteLength(chunk)} bytes, ${count} rows in ${ms.toFixed(0)} ms; heap +${grew.toFixed(1)} MB`,
    );
    expect(grew).toBeLessThan(64);
  }, 120_000);
});

function normalizeExpected(p: string): string {
  return p.trim().replace(/\s+/g, ' ');
}
