/**
 * A request the gate allowed: the HTTP layer serves it and then calls exactly one of `complete`
 * (with the usage it reports to the client) or `abort` (the client went away). The charge is made
 * durable before either resolves, so the response may be sent as complete only after that.
 */
import type { Address } from 'viem';
import { checkTokenCount } from './pricing.ts';
import type { Completion, PaymentMethod, Usage } from './types.ts';

/** What the gate does when a request ends: charge `tokens` (0: nothing) and report. */
export type FinishRequest = (tokens: bigint) => Promise<Completion>;

export class AuthorizedRequest {
  /** Discriminates `PaymentGate.authorize`'s result from a PaymentError. */
  readonly ok = true;
  private finished: Promise<Completion> | undefined;

  constructor(
    readonly method: PaymentMethod,
    readonly payer: Address | undefined,
    readonly modelId: bigint | undefined,
    /** The most this request may cost, in wei: what was checked against the deposit. */
    readonly quote: bigint,
    /** The price the request is charged at (the one quoted, even if the registry changes meanwhile). */
    readonly pricePer1kTokens: bigint,
    private readonly finish: FinishRequest,
  ) {}

  /**
   * Charges the request's usage (prompt plus completion tokens of all choices, capped at the quote)
   * and resolves once the channel's new `owed` is on disk. Calling it again returns the same result.
   */
  complete(usage: Usage): Promise<Completion> {
    checkTokenCount('usage.promptTokens', usage.promptTokens);
    checkTokenCount('usage.completionTokens', usage.completionTokens);
    this.finished ??= this.finish(BigInt(usage.promptTokens) + BigInt(usage.completionTokens));
    return this.finished;
  }

  /**
   * The client disconnected: charges the prompt and the tokens actually generated, or nothing when
   * none were (a request that never produced output costs nothing).
   */
  abort(generated?: Usage): Promise<Completion> {
    if (generated) {
      checkTokenCount('generated.promptTokens', generated.promptTokens);
      checkTokenCount('generated.completionTokens', generated.completionTokens);
    }
    const tokens =
      generated && generated.completionTokens > 0
        ? BigInt(generated.promptTokens) + BigInt(generated.completionTokens)
        : 0n;
    this.finished ??= this.finish(tokens);
    return this.finished;
  }
}
