/** A transaction the pool refuses; the message is geth's, so clients that match on it keep working. */
export class TxPoolError extends Error {
  override readonly name = 'TxPoolError';
}
