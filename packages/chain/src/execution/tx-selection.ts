import type { TypedTransaction } from '@ethereumjs/tx';

/**
 * The block producer's view of the transactions it may include, best first. Mirrors geth's
 * "transactions by price and nonce": after a sender's transaction is taken the sender's next one
 * becomes eligible; a failed transaction removes the sender's remaining ones from this block.
 */
export interface TxSelection {
  peek(): TypedTransaction | undefined;
  /** The peeked transaction was included. */
  accept(): void;
  /** The peeked transaction does not fit this block; keep it for a later one, skip its sender now. */
  defer(): void;
  /** The peeked transaction is invalid against the current state: it is dropped, and its sender skipped in this block. */
  reject(reason: string): void;
}
