import { hexToBytes } from '@ethereumjs/util';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { formatReceipt, formatTransaction } from '../format.ts';
import { blockRef, hash, hexData, quantity } from '../params.ts';

export function transactionMethods(node: Node): Record<string, Method> {
  const store = node.chain.store;
  const located = async (txHash: `0x${string}`) => {
    const location = await store.getTxLocation(hexToBytes(txHash));
    if (!location) return undefined;
    const block = await store.getBlock(location.blockHash);
    return block ? { block, index: location.index } : undefined;
  };
  const atIndex = (block: Awaited<ReturnType<typeof store.getBlock>>, index: bigint) => {
    if (!block || index >= BigInt(block.transactions.length)) return null;
    return formatTransaction(block.transactions[Number(index)]!, { block, index: Number(index) });
  };
  return {
    eth_sendRawTransaction: method([hexData], ([raw], ctx) =>
      node.sendRawTransaction(hexToBytes(raw), ctx.senderHints?.get(raw)),
    ),
    eth_getTransactionByHash: method([hash], async ([txHash]) => {
      const found = await located(txHash);
      if (found) return formatTransaction(found.block.transactions[found.index]!, found);
      const pending = node.mempool.get(txHash);
      return pending ? formatTransaction(pending.tx) : null;
    }),
    eth_getTransactionByBlockHashAndIndex: method([hash, quantity], async ([h, index]) =>
      atIndex(await store.getBlock(hexToBytes(h)), index),
    ),
    eth_getTransactionByBlockNumberAndIndex: method([blockRef, quantity], async ([ref, index]) =>
      atIndex(await node.findBlock(ref), index),
    ),
    eth_getRawTransactionByHash: method([hash], async ([txHash]) => {
      const found = await located(txHash);
      const tx = found ? found.block.transactions[found.index] : node.mempool.get(txHash)?.tx;
      return tx ? `0x${Buffer.from(tx.serialize()).toString('hex')}` : null;
    }),
    eth_getTransactionReceipt: method([hash], async ([txHash]) => {
      const found = await located(txHash);
      if (!found) return null;
      const receipts = await store.getReceipts(found.block.hash());
      return receipts ? formatReceipt(found.block, receipts, found.index) : null;
    }),
  };
}
