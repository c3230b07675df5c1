import type { Block } from '@ethereumjs/block';
import { z } from 'zod';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { invalidParams } from '../errors.ts';
import { quantity } from '../hex.ts';
import { blockRef, quantityOrNumber } from '../params.ts';
import { effectiveGasPrice } from '../format.ts';

/** The tip suggested to senders: 1 gwei, geth's floor for its gas price oracle on quiet chains. */
export const SUGGESTED_TIP = 1_000_000_000n;
const MAX_FEE_HISTORY_BLOCKS = 1024n;

const blockCount = quantityOrNumber;
const percentiles = z
  .array(z.number().min(0).max(100))
  .max(100)
  .refine((p) => p.every((v, i) => i === 0 || v >= p[i - 1]!), 'reward percentiles must be ascending');

export function feeMethods(node: Node): Record<string, Method> {
  return {
    eth_gasPrice: method([], () => quantity(node.chain.head.header.calcNextBaseFee() + SUGGESTED_TIP)),
    eth_maxPriorityFeePerGas: method([], () => quantity(SUGGESTED_TIP)),
    eth_blobBaseFee: method([], () => quantity(node.chain.head.header.calcNextBlobGasPrice(node.common))),
    eth_feeHistory: method(
      [blockCount, blockRef, percentiles],
      async ([count, ref, rewardPercentiles]) => {
        if (count === 0n) return { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [], reward: [] };
        const newest = await node.resolveBlock(ref);
        const n = count > MAX_FEE_HISTORY_BLOCKS ? MAX_FEE_HISTORY_BLOCKS : count;
        const oldest = newest.header.number + 1n > n ? newest.header.number + 1n - n : 0n;
        const blocks: Block[] = [];
        for (let i = oldest; i <= newest.header.number; i++) {
          const block = await node.chain.store.getBlockByNumber(i);
          if (!block) throw invalidParams(`block ${i} not found`);
          blocks.push(block);
        }
        const result: Record<string, unknown> = {
          oldestBlock: quantity(oldest),
          baseFeePerGas: [
            ...blocks.map((b) => quantity(b.header.baseFeePerGas ?? 0n)),
            quantity(newest.header.calcNextBaseFee()),
          ],
          gasUsedRatio: blocks.map((b) => Number(b.header.gasUsed) / Number(b.header.gasLimit)),
          baseFeePerBlobGas: [
            ...blocks.map((b) => quantity(b.header.getBlobGasPrice())),
            quantity(newest.header.calcNextBlobGasPrice(node.common)),
          ],
          blobGasUsedRatio: blocks.map(() => 0),
        };
        if (rewardPercentiles !== undefined) {
          result.reward = await Promise.all(blocks.map((b) => blockRewards(node, b, rewardPercentiles)));
        }
        return result;
      },
      2,
    ),
  };
}

/** Tips at the requested percentiles of gas used in `block`, as geth computes them. */
async function blockRewards(node: Node, block: Block, percentiles: number[]): Promise<string[]> {
  if (block.transactions.length === 0) return percentiles.map(() => '0x0');
  const receipts = (await node.chain.store.getReceipts(block.hash())) ?? [];
  const baseFee = block.header.baseFeePerGas ?? 0n;
  const sorted = block.transactions
    .map((tx, i) => ({
      tip: effectiveGasPrice(tx, baseFee) - baseFee,
      gas: receipts[i]!.cumulativeGasUsed - (i === 0 ? 0n : receipts[i - 1]!.cumulativeGasUsed),
    }))
    .sort((a, b) => (a.tip < b.tip ? -1 : a.tip > b.tip ? 1 : 0));
  return percentiles.map((p) => {
    const threshold = (Number(block.header.gasUsed) * p) / 100;
    let sum = 0;
    for (const entry of sorted) {
      sum += Number(entry.gas);
      if (sum >= threshold) return quantity(entry.tip);
    }
    return quantity(sorted[sorted.length - 1]!.tip);
  });
}
