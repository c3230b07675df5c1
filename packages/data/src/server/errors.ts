import { BaseError, HttpRequestError, TimeoutError } from 'viem';
import { ValidationStandardError } from '../ingest/validation-standard.ts';
import { StandardError } from '../service/standards.ts';
import { SubmissionError } from '../service/submission.ts';
import { IngestError, RowError } from '../types.ts';
import { HttpError } from './http-error.ts';

export { HttpError };

/** What an upload's file-level problems answer (every other IngestError code is a 400). */
const INGEST_STATUS: Record<string, number> = {
  'file-too-large': 413,
  'no-valid-rows': 422,
  'all-duplicates': 422,
  'duplicate-contribution': 409,
  'corrupt-contribution': 500,
};

const STANDARD_STATUS: Record<StandardError['code'], number> = {
  'unknown-datanet': 404,
  'standard-mismatch': 400,
  'no-standard': 409,
  'standard-not-registered': 409,
};

const SUBMISSION_STATUS: Record<SubmissionError['code'], number> = {
  'bad-signature': 401,
  'deadline-passed': 400,
  'already-submitted': 409,
  'already-onchain': 409,
  'submission-in-progress': 409,
  'terms-changed': 409,
  'no-relayer': 503,
  'relayer-unfunded': 503,
  'unknown-transaction': 404,
  'not-mined': 409,
  'transaction-reverted': 422,
  'event-mismatch': 422,
  'submission-failed': 502,
};

/** Fastify's own errors, by their code, as this API names them. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty-body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad-content-length',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'not-multipart',
  FST_FILES_LIMIT: 'too-many-files',
  FST_PARTS_LIMIT: 'too-many-parts',
  FST_FIELDS_LIMIT: 'too-many-fields',
  FST_PROTO_VIOLATION: 'bad-request',
};

/** Maps anything a handler threw to the HTTP answer; `undefined` status codes mean a server fault. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof IngestError)
    return new HttpError(INGEST_STATUS[error.code] ?? 400, error.code, error.message);
  // The dedup stage reports an upload that is only duplicates as a row error.
  if (error instanceof RowError) return new HttpError(422, error.code, error.message);
  if (error instanceof ValidationStandardError)
    return new HttpError(400, 'invalid-standard', error.message, { issues: error.issues });
  if (error instanceof StandardError)
    return new HttpError(STANDARD_STATUS[error.code], error.code, error.message);
  if (error instanceof SubmissionError)
    return new HttpError(SUBMISSION_STATUS[error.code], error.code, error.message);
  if (error instanceof BaseError) {
    const unreachable = error.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError);
    if (unreachable) return new HttpError(502, 'chain-unavailable', 'the chain node did not answer');
  }
  const fastify = error as { statusCode?: unknown; code?: unknown; validation?: unknown; message?: unknown };
  if (fastify && typeof fastify === 'object') {
    if (fastify.validation) return new HttpError(400, 'bad-request', String(fastify.message));
    const status = typeof fastify.statusCode === 'number' ? fastify.statusCode : 0;
    if (status >= 400 && status < 500) {
      const code =
        typeof fastify.code === 'string' ? (FASTIFY_CODES[fastify.code] ?? 'bad-request') : 'bad-request';
      // The multipart plugin says 406 for a request that is not multipart; 415 is the status for it.
      return new HttpError(code === 'not-multipart' ? 415 : status, code, String(fastify.message));
    }
    // Busboy's complaints about a malformed body carry no status.
    if (
      typeof fastify.message === 'string' &&
      /multipart|boundary|part (header|terminated)/i.test(fastify.message)
    )
      return new HttpError(400, 'bad-multipart', fastify.message);
  }
  return new HttpError(500, 'internal-error', 'internal error');
}
