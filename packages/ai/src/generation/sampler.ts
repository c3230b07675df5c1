import type { Rng } from './rng.ts';

export interface SamplingOptions {
  /** 0 (default) picks the most likely token; above 0 samples from softmax(logits / temperature). */
  readonly temperature?: number;
  /** Nucleus sampling: keep the most likely tokens whose probabilities sum to at least topP (default 1). */
  readonly topP?: number;
  /** Keep only the k most likely tokens (default: all). */
  readonly topK?: number;
}

/** The most likely token; the lowest id among equals, so greedy decoding is deterministic. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}

/**
 * Draws the next token from one row of logits: greedy at temperature 0, otherwise top-k, then
 * temperature softmax, then top-p over the survivors, then one uniform draw from `rng`.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 0;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${temperature}`);
  const topP = options.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  if (temperature === 0) return argmax(logits);

  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const k = Math.min(n, Math.max(1, options.topK ?? n));
  const max = logits[order[0]!]!;
  const probs = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) {
    probs[i] = Math.exp((logits[order[i]!]! - max) / temperature);
    total += probs[i]!;
  }
  let keep = k;
  if (topP < 1) {
    let mass = 0;
    for (let i = 0; i < k; i++) {
      mass += probs[i]! / total;
      if (mass >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probs[i]!;
  let u = rng.next() * kept;
  for (let i = 0; i < keep; i++) {
    u -= probs[i]!;
    if (u < 0) return order[i]!;
  }
  return order[keep - 1]!;
}
