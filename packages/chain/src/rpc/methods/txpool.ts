import { toChecksumAddress } from '@ethereumjs/util';
import type { PoolTx } from '../../mempool/pool-tx.ts';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { formatTransaction } from '../format.ts';
import { quantity } from '../hex.ts';
import { address } from '../params.ts';

// geth's txpool namespace (internal/ethapi: TxPoolAPI). Pending means executable now (nonces in
// line with the sender's account), queued means held back behind a nonce gap.

type BySender = Map<string, PoolTx[]>;

/** `{ address: { nonce: entry } }`, addresses checksummed and nonces in decimal, as geth keys them. */
function bySenderAndNonce<T>(groups: BySender, entry: (ptx: PoolTx) => T): Record<string, Record<string, T>> {
  const out: Record<string, Record<string, T>> = {};
  for (const [sender, txs] of groups) out[toChecksumAddress(sender)] = byNonce(txs, entry);
  return out;
}

function byNonce<T>(txs: PoolTx[], entry: (ptx: PoolTx) => T): Record<string, T> {
  return Object.fromEntries(txs.map((ptx) => [ptx.nonce.toString(10), entry(ptx)]));
}

/** A pending transaction as geth shows it: no block, `gasPrice` the fee cap. */
function content(ptx: PoolTx): Record<string, unknown> {
  return formatTransaction(ptx.tx);
}

/** geth's one-line summary; `tx.GasPrice()` there is the fee cap for EIP-1559 transactions. */
function summary({ tx, feeCap }: PoolTx): string {
  const costs = `${tx.value} wei + ${tx.gasLimit} gas × ${feeCap} wei`;
  return tx.to ? `${toChecksumAddress(tx.to.toString())}: ${costs}` : `contract creation: ${costs}`;
}

function count(groups: BySender): number {
  let n = 0;
  for (const txs of groups.values()) n += txs.length;
  return n;
}

export function txpoolMethods(node: Node): Record<string, Method> {
  return {
    txpool_status: method([], () => {
      const { pending, queued } = node.mempool.content();
      return { pending: quantity(count(pending)), queued: quantity(count(queued)) };
    }),
    txpool_content: method([], () => {
      const { pending, queued } = node.mempool.content();
      return { pending: bySenderAndNonce(pending, content), queued: bySenderAndNonce(queued, content) };
    }),
    txpool_contentFrom: method([address], ([from]) => {
      const { pending, queued } = node.mempool.content();
      return {
        pending: byNonce(pending.get(from) ?? [], content),
        queued: byNonce(queued.get(from) ?? [], content),
      };
    }),
    txpool_inspect: method([], () => {
      const { pending, queued } = node.mempool.content();
      return { pending: bySenderAndNonce(pending, summary), queued: bySenderAndNonce(queued, summary) };
    }),
  };
}
