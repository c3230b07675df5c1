/**
 * - `no-binary`: node-llama-cpp found no prebuilt llama.cpp binary it could load (this module never
 *   lets it build one or download one).
 * - `load-failed`: llama.cpp refused the model or an adapter; the message carries its reason.
 * - `evaluation-failed`: llama.cpp returned no logits or no token.
 * - `bad-input`: tokens outside the vocabulary or beyond the context.
 */
export type LlamaCppErrorCode = 'no-binary' | 'load-failed' | 'evaluation-failed' | 'bad-input';

export class LlamaCppError extends Error {
  override readonly name = 'LlamaCppError';

  constructor(
    readonly code: LlamaCppErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
