/**
 * What went wrong, as a stable string a caller (or a test) can branch on; the message says where.
 * Reading codes describe the file; `bad-value`, `bad-tensor` and `bad-adapter` are also used for
 * input a writer refuses, so that nothing llama.cpp would reject ever reaches the disk.
 */
export type GgufErrorCode =
  | 'bad-magic'
  | 'unsupported-version'
  | 'truncated'
  | 'too-large'
  | 'bad-key'
  | 'duplicate-key'
  | 'bad-value-type'
  | 'bad-value'
  | 'bad-alignment'
  | 'unsupported-tensor-type'
  | 'bad-tensor'
  | 'duplicate-tensor'
  | 'misaligned'
  | 'out-of-bounds'
  | 'overlap'
  | 'unknown-tensor'
  | 'missing-key'
  | 'wrong-type'
  | 'bad-adapter';

export class GgufError extends Error {
  override readonly name = 'GgufError';

  constructor(
    readonly code: GgufErrorCode,
    message: string,
    /** Absolute byte offset in the file the problem was found at, when there is one. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}
