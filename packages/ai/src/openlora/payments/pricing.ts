/**
 * Query pricing: a model's on-chain `pricePer1kTokens` times the tokens of a request, rounded up so
 * that a node is never paid less than the price for any request, however short.
 */

/** Wei for `tokens` tokens at `pricePer1kTokens`: ceil(price × tokens / 1000). */
export function chargeFor(pricePer1kTokens: bigint, tokens: bigint): bigint {
  if (pricePer1kTokens < 0n || tokens < 0n) throw new RangeError('price and tokens must not be negative');
  return (pricePer1kTokens * tokens + 999n) / 1000n;
}

/** The most tokens a request may use: its prompt plus `maxTokens` for each of its `n` choices. */
export function maxTokensOf(promptTokens: number, maxTokens: number, n: number): bigint {
  return BigInt(promptTokens) + BigInt(maxTokens) * BigInt(n);
}

/** The tokens a finished request is charged for. */
export function usedTokensOf(promptTokens: number, completionTokens: number): bigint {
  return BigInt(promptTokens) + BigInt(completionTokens);
}

/** Throws a RangeError unless `value` is a non-negative safe integer (at least `min`). */
export function checkTokenCount(name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  }
}
