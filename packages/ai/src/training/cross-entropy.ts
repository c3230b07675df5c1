import { ModelError } from '../model/model-error.ts';

/**
 * An example for causal language modelling: position i predicts tokens[i + 1]. `mask[i]` says
 * whether tokens[i] counts as a target (index 0 never does); default: every token after the first.
 * A padded example is its tokens plus padding with mask 0: masked targets add nothing to the loss or
 * to any gradient, and causal attention keeps padding at the end from touching earlier positions.
 */
export interface TrainingExample {
  readonly tokens: readonly number[];
  readonly mask?: ArrayLike<number>;
}

/** How many targets of an example count. */
export function targetCount(example: TrainingExample): number {
  let n = 0;
  for (let i = 1; i < example.tokens.length; i++) if ((example.mask?.[i] ?? 1) !== 0) n++;
  return n;
}

/**
 * Cross-entropy of one example's logits (tokens.length rows × vocab), summed over its targets, each
 * weighted by `weight`; writes d(weighted sum)/d(logits) into `dLogits` when given (rows without a
 * target get zeros). Log-sum-exp in float64 with the max subtracted.
 */
export function crossEntropy(
  logits: Float32Array,
  example: TrainingExample,
  vocab: number,
  weight: number,
  dLogits?: Float32Array,
): number {
  const { tokens, mask } = example;
  if (mask !== undefined && mask.length !== tokens.length) {
    throw new ModelError('bad-input', `mask has ${mask.length} entries for ${tokens.length} tokens`);
  }
  let sum = 0;
  for (let i = 0; i + 1 < tokens.length; i++) {
    const at = i * vocab;
    if ((mask?.[i + 1] ?? 1) === 0) continue;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[at + v]!);
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp(logits[at + v]! - max);
    const target = tokens[i + 1]!;
    sum += max + Math.log(z) - logits[at + target]!;
    if (dLogits) {
      for (let v = 0; v < vocab; v++) dLogits[at + v] = (weight * Math.exp(logits[at + v]! - max)) / z;
      dLogits[at + target] = dLogits[at + target]! - weight;
    }
  }
  return sum * weight;
}
