/** Why a training job could not start or stopped; `code` is stable, for APIs and tests. */
export type FactoryErrorCode =
  | 'bad-request'
  | 'version-not-found'
  | 'empty-version'
  | 'too-few-rows'
  | 'no-access'
  | 'export-failed'
  | 'data-plane-unavailable'
  | 'verification-failed'
  | 'bad-base-model'
  | 'job-not-found'
  | 'queue-full'
  | 'training-failed'
  | 'registration-failed';

export class FactoryError extends Error {
  override name = 'FactoryError';
  constructor(
    readonly code: FactoryErrorCode,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
