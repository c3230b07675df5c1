/**
 * Streamed multipart uploads: each file part is written to a spool directory as it arrives (never
 * held in memory whole), cut off at the per-file limit, and the ingestor then reads the spooled files.
 *
 * A request that breaks a limit is still read to its end (without writing anything more) before it
 * is answered, so an ordinary HTTP client, which sends its whole body before it reads the response,
 * gets the 413 instead of a reset connection. What is read is bounded all the same: a body longer
 * than `maxRequestBytes` is cut off by closing the connection.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.ts';

export interface UploadLimits {
  /** Per file, in bytes. */
  maxFileBytes: number;
  /** Files per request. */
  maxFiles: number;
  /** Whole request body, in bytes (default: maxFiles × maxFileBytes plus 1 MiB for fields and framing). */
  maxRequestBytes?: number;
}

export interface SpooledFile {
  /** Where it was written. */
  path: string;
  /** The name the client gave it (only its extension is used, to pick the parser). */
  name: string;
  size: number;
}

export interface SpooledUpload {
  files: SpooledFile[];
  /** The text fields, each at most once. */
  fields: Record<string, string>;
  /** Removes the spooled files. */
  cleanup(): Promise<void>;
}

/** Multipart field names that carry files. */
export const FILE_FIELDS = new Set(['file', 'files']);
const MAX_FIELDS = 16;
const MAX_FIELD_BYTES = 8 * 1024;

/**
 * Reads a multipart request into `root/<uuid>/`. Throws an HttpError (415 not multipart, 413 a file
 * over the limit or too many files, 400 a malformed body or field) after removing what it wrote.
 */
export async function spoolMultipart(
  request: FastifyRequest,
  root: string,
  limits: UploadLimits,
): Promise<SpooledUpload> {
  if (!request.isMultipart()) {
    throw new HttpError(
      415,
      'not-multipart',
      'send the files as multipart/form-data (fields "files" and "contributor")',
    );
  }
  const maxRequestBytes = limits.maxRequestBytes ?? limits.maxFiles * limits.maxFileBytes + (1 << 20);
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > maxRequestBytes) {
    // Closing the connection spares reading a body that is refused anyway.
    throw new HttpError(
      413,
      'request-too-large',
      `the request is ${declared} bytes; the limit is ${maxRequestBytes}`,
      undefined,
      { Connection: 'close' },
    );
  }
  // Chunked bodies declare no length: count what arrives and hang up past the limit (what the parser
  // read before the first part is not counted: a few kilobytes of slack).
  let received = 0;
  const raw = request.raw;
  const count = (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxRequestBytes) {
      raw.off('data', count);
      raw.destroy(new HttpError(413, 'request-too-large', `the request is over ${maxRequestBytes} bytes`));
    }
  };
  // Attached once the parser reads the body: a 'data' listener before that would start the stream
  // flowing with nobody to take the bytes.
  let counting = false;

  const dir = join(root, randomUUID());
  await mkdir(dir, { recursive: true });
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const files: SpooledFile[] = [];
  const fields: Record<string, string> = {};
  // The first problem found; the rest of the body is then only drained.
  let failure: HttpError | undefined;
  try {
    // The plugin is registered with throwFileSizeLimit: false, so a file over the limit is cut off and
    // flagged `truncated` instead of failing the request before its end.
    const parts = request.parts({
      limits: {
        fileSize: limits.maxFileBytes,
        files: limits.maxFiles,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: limits.maxFiles + MAX_FIELDS,
      },
    });
    for await (const part of parts) {
      if (!counting) {
        raw.on('data', count);
        counting = true;
      }
      if (part.type === 'file') {
        if (failure) {
          await drain(part.file);
          continue;
        }
        if (!FILE_FIELDS.has(part.fieldname)) {
          failure = new HttpError(
            400,
            'unexpected-field',
            `files go in the "files" field, not "${part.fieldname}"`,
          );
          await drain(part.file);
          continue;
        }
        const name = safeFileName(part.filename);
        if (!name) {
          failure = new HttpError(
            400,
            'bad-file-name',
            'every file part needs a file name (its extension picks the parser)',
          );
          await drain(part.file);
          continue;
        }
        const path = join(dir, String(files.length));
        await pipeline(part.file, createWriteStream(path, { flags: 'wx' }));
        if (part.file.truncated) {
          failure = new HttpError(
            413,
            'file-too-large',
            `${name} is larger than the ${limits.maxFileBytes}-byte limit per file`,
          );
          await rm(path, { force: true });
          continue;
        }
        files.push({ path, name, size: (await stat(path)).size });
      } else {
        if (failure) continue;
        if (part.valueTruncated || part.fieldnameTruncated) {
          failure = new HttpError(
            400,
            'field-too-large',
            `field "${part.fieldname}" is over ${MAX_FIELD_BYTES} bytes`,
          );
        } else if (Object.hasOwn(fields, part.fieldname)) {
          failure = new HttpError(400, 'repeated-field', `field "${part.fieldname}" is given more than once`);
        } else {
          fields[part.fieldname] = String(part.value);
        }
      }
    }
    if (raw.destroyed && received > maxRequestBytes) {
      throw new HttpError(413, 'request-too-large', `the request is over ${maxRequestBytes} bytes`);
    }
    if (failure) throw failure;
    return { files, fields, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  } finally {
    raw.off('data', count);
  }
}

/** Reads and discards a stream. */
async function drain(stream: Readable): Promise<void> {
  for await (const chunk of stream) void chunk;
}

/**
 * The client's file name reduced to a plain name: no directories, no control characters, at most 255
 * characters (the extension kept). Empty when nothing usable is left.
 */
export function safeFileName(name: string | undefined): string {
  if (!name) return '';
  let clean = [...basename(name.replaceAll('\\', '/'))]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join('')
    .trim();
  if (clean === '.' || clean === '..') return '';
  if (clean.length > 255) {
    const dot = clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    clean = clean.slice(0, 255 - ext.length) + ext;
  }
  return clean;
}
