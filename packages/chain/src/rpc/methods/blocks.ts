import type { Block } from '@ethereumjs/block';
import { z } from 'zod';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { quantity } from '../hex.ts';
import { blockRef, hash } from '../params.ts';
import { formatBlock, formatReceipt } from '../format.ts';
import { hexToBytes } from '@ethereumjs/util';

const fullTxs = z.boolean();

export function blockMethods(node: Node): Record<string, Method> {
  const byHash = (h: `0x${string}`) => node.chain.store.getBlock(hexToBytes(h));
  const count = (block: Block | undefined) => (block ? quantity(block.transactions.length) : null);
  const uncles = (block: Block | undefined) => (block ? quantity(block.uncleHeaders.length) : null);
  return {
    eth_getBlockByNumber: method([blockRef, fullTxs], async ([ref, full]) => {
      const block = await node.findBlock(ref);
      return block ? formatBlock(block, full ? 'full' : 'hashes') : null;
    }),
    eth_getBlockByHash: method([hash, fullTxs], async ([h, full]) => {
      const block = await byHash(h);
      return block ? formatBlock(block, full ? 'full' : 'hashes') : null;
    }),
    eth_getBlockTransactionCountByNumber: method([blockRef], async ([ref]) =>
      count(await node.findBlock(ref)),
    ),
    eth_getBlockTransactionCountByHash: method([hash], async ([h]) => count(await byHash(h))),
    eth_getUncleCountByBlockNumber: method([blockRef], async ([ref]) => uncles(await node.findBlock(ref))),
    eth_getUncleCountByBlockHash: method([hash], async ([h]) => uncles(await byHash(h))),
    eth_getUncleByBlockNumberAndIndex: method([blockRef, z.string()], () => null),
    eth_getUncleByBlockHashAndIndex: method([hash, z.string()], () => null),
    eth_getBlockReceipts: method([blockRef], async ([ref]) => {
      const block = await node.findBlock(ref);
      if (!block) return null;
      const receipts = (await node.chain.store.getReceipts(block.hash())) ?? [];
      return block.transactions.map((_, i) => formatReceipt(block, receipts, i));
    }),
  };
}
