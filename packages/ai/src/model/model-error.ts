/** What is wrong with a model file or model input, as a stable string to branch on. */
export type ModelErrorCode =
  | 'unsupported-architecture'
  | 'missing-key'
  | 'bad-hparams'
  | 'missing-tensor'
  | 'unexpected-tensor'
  | 'bad-shape'
  | 'unsupported-tensor-type'
  | 'bad-input'
  | 'context-overflow';

/**
 * A model that cannot be loaded, built or run as asked. Loading checks everything (architecture,
 * hyperparameters, every tensor's presence, type and shape) before reading any weight, so a bad file
 * fails in milliseconds with the first problem named.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';

  constructor(
    readonly code: ModelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
