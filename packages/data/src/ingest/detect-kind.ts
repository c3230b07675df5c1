/**
 * File type detection: the extension names the kind, the first bytes must agree with it.
 *
 * - `.pdf` must start with `%PDF-`.
 * - `.docx` must start with a zip local file header (`PK\x03\x04`) and be a Word document: the
 *   `word/document.xml` entry is looked for among the local headers inside `firstBytes` (and in the central
 *   directory when `firstBytes` holds the whole file). When the sniffed bytes end before that question is
 *   settled the file is accepted here and `parseFile` settles it from the central directory.
 * - `.txt .md .jsonl .csv` must be UTF-8 (a UTF-8 byte order mark is allowed) without NUL bytes and must not
 *   be a PDF or a zip. Only `firstBytes` is checked here; the parsers check the rest of the file as they
 *   stream it. A multi-byte character cut by the end of `firstBytes` is not an error.
 */
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { IngestError, type FileKind } from '../types.ts';

/** How many leading bytes {@link detectFileKind} reads. */
export const SNIFF_BYTES = 64 * 1024;

export const EXTENSION_KINDS: Readonly<Record<string, FileKind>> = {
  '.txt': 'txt',
  '.md': 'md',
  '.jsonl': 'jsonl',
  '.csv': 'csv',
  '.pdf': 'pdf',
  '.docx': 'docx',
};

export const TEXT_KINDS: ReadonlySet<FileKind> = new Set<FileKind>(['txt', 'md', 'jsonl', 'csv']);

const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // %PDF-
const ZIP_LOCAL_HEADER = [0x50, 0x4b, 0x03, 0x04]; // PK\x03\x04
const DOCX_MAIN_PART = 'word/document.xml';

/** The kind an extension names (case-insensitive); anything else is `IngestError('unsupported-type')`. */
export function kindFromFileName(fileName: string): FileKind {
  const ext = extname(fileName).toLowerCase();
  const kind = EXTENSION_KINDS[ext];
  if (!kind) {
    throw new IngestError(
      'unsupported-type',
      `${fileName}: unsupported file type ${ext ? `"${ext}"` : '(no extension)'}; expected one of ${Object.keys(EXTENSION_KINDS).join(' ')}`,
    );
  }
  return kind;
}

/**
 * The kind of a file from its name, confirmed by its first bytes (see the module comment).
 * Throws `IngestError` with code `empty-file`, `unsupported-type`, `type-mismatch` or `invalid-utf8`.
 */
export function detectKind(fileName: string, firstBytes: Uint8Array): FileKind {
  const kind = kindFromFileName(fileName);
  if (firstBytes.length === 0) throw new IngestError('empty-file', `${fileName}: the file is empty`);
  const isPdf = startsWith(firstBytes, PDF_MAGIC);
  const isZip = startsWith(firstBytes, ZIP_LOCAL_HEADER);
  if (kind === 'pdf') {
    if (!isPdf)
      throw new IngestError('type-mismatch', `${fileName}: named .pdf but does not start with %PDF-`);
    return kind;
  }
  if (kind === 'docx') {
    if (!isZip) {
      throw new IngestError(
        'type-mismatch',
        `${fileName}: named .docx but is not a zip archive (no PK\\x03\\x04)`,
      );
    }
    if (sniffZipFor(firstBytes, DOCX_MAIN_PART) === false) {
      throw new IngestError(
        'type-mismatch',
        `${fileName}: a zip archive without ${DOCX_MAIN_PART}, not a Word document`,
      );
    }
    return kind;
  }
  // Text kinds.
  if (isPdf) throw new IngestError('type-mismatch', `${fileName}: named .${kind} but is a PDF`);
  if (isZip) throw new IngestError('type-mismatch', `${fileName}: named .${kind} but is a zip archive`);
  const bad = invalidUtf8Offset(firstBytes, true);
  if (bad >= 0) {
    throw new IngestError('invalid-utf8', `${fileName}: not valid UTF-8 at byte offset ${bad}`);
  }
  const nul = firstBytes.indexOf(0);
  if (nul >= 0) {
    throw new IngestError(
      'type-mismatch',
      `${fileName}: NUL byte at offset ${nul}; binary data, not .${kind} text`,
    );
  }
  return kind;
}

/** Reads the first {@link SNIFF_BYTES} of a file and calls {@link detectKind} (`fileName` defaults to the path's). */
export async function detectFileKind(path: string, fileName: string = basename(path)): Promise<FileKind> {
  kindFromFileName(fileName); // the cheap check first
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return detectKind(fileName, buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  if (bytes.length < magic.length) return false;
  return magic.every((b, i) => bytes[i] === b);
}

/**
 * Looks for an entry name among the zip local headers within `bytes`: true if found, false if the local
 * headers provably end (the central directory starts) without it, undefined when the bytes run out first or a
 * local header uses a data descriptor (whose size is not known up front).
 */
function sniffZipFor(bytes: Uint8Array, name: string): boolean | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + 30 <= bytes.length) {
    const sig = view.getUint32(pos, true);
    if (sig === 0x02014b50 || sig === 0x06054b50) return false; // central directory: no more local entries
    if (sig !== 0x04034b50) return undefined;
    const flags = view.getUint16(pos + 6, true);
    const compressedSize = view.getUint32(pos + 18, true);
    const nameLen = view.getUint16(pos + 26, true);
    const extraLen = view.getUint16(pos + 28, true);
    if (pos + 30 + nameLen > bytes.length) return undefined;
    const entryName = Buffer.from(bytes.buffer, bytes.byteOffset + pos + 30, nameLen).toString('utf8');
    if (entryName === name) return true;
    if (flags & 0x08 || compressedSize === 0xffffffff) return undefined;
    pos += 30 + nameLen + extraLen + compressedSize;
  }
  return undefined;
}

/** The length in bytes of a UTF-8 sequence with this lead byte, or 0 if it cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and code points above U+10FFFF are
 * invalid), or -1. With `allowTruncatedEnd`, a sequence cut short by the end of `bytes` is not an error.
 */
export function invalidUtf8Offset(bytes: Uint8Array, allowTruncatedEnd = false): number {
  if (isUtf8(bytes)) return -1;
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    const len = sequenceLength(b);
    if (len === 0) return i;
    // The allowed range of the second byte depends on the lead byte (no overlongs, no surrogates, ≤ U+10FFFF).
    const lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
    const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < len; k++) {
      if (i + k >= n) return allowTruncatedEnd ? -1 : i;
      const c = bytes[i + k]!;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}

/**
 * Where a chunk can be cut so that no UTF-8 sequence is split: the start of an incomplete sequence at the end
 * of `bytes`, or `bytes.length`.
 */
export function utf8CompletePrefix(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = n - 1; i >= 0 && i >= n - 3; i--) {
    const b = bytes[i]!;
    if (b < 0x80) return n;
    if (b >= 0xc0) {
      const len = sequenceLength(b);
      return len > 0 && n - i < len ? i : n;
    }
  }
  return n;
}
