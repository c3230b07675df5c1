import { evaluateLoss, type LlamaModel, type TrainingExample } from '../../src/index.ts';

export interface HeldOutScore {
  /** Mean negative log-likelihood per target token (nats). */
  readonly loss: number;
  readonly targets: number;
  /** UTF-8 bytes the targets stand for (EOS counts as the document's newline). */
  readonly bytes: number;
  readonly perplexityPerToken: number;
  readonly perplexityPerByte: number;
  readonly bitsPerByte: number;
}

/**
 * The model's loss over `examples` (forward passes only, `batch` windows at a time), as perplexity
 * per token, exp(NLL / targets), and per byte, exp(NLL / bytes): the latter compares across
 * tokenizers.
 */
export function scoreHeldOut(
  model: LlamaModel,
  examples: readonly TrainingExample[],
  byteLengths: Uint8Array,
  batch: number,
): HeldOutScore {
  let nll = 0;
  let targets = 0;
  let bytes = 0;
  for (let i = 0; i < examples.length; i += batch) {
    const part = examples.slice(i, i + batch);
    const result = evaluateLoss(model, part);
    nll += result.loss * result.targets;
    targets += result.targets;
    for (const e of part) {
      for (let t = 1; t < e.tokens.length; t++)
        if ((e.mask?.[t] ?? 1) !== 0) bytes += byteLengths[e.tokens[t]!]!;
    }
  }
  return {
    loss: nll / targets,
    targets,
    bytes,
    perplexityPerToken: Math.exp(nll / targets),
    perplexityPerByte: Math.exp(nll / bytes),
    bitsPerByte: nll / bytes / Math.LN2,
  };
}
