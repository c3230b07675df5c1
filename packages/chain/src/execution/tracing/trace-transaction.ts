import type { Block } from '@ethereumjs/block';
import { runTx } from '@ethereumjs/vm';
import type { Chain } from '../../chain.ts';
import { applyPreBlockSystemCalls } from '../system-calls.ts';
import type { Tracer } from './tracer.ts';

/** Where a mined transaction lies: its block and its index there. */
export interface MinedTx {
  block: Block;
  index: number;
}

/** The canonical block and index of a mined transaction, or undefined (pending, unknown, rewound). */
export async function findMinedTx(chain: Chain, hash: Uint8Array): Promise<MinedTx | undefined> {
  const location = await chain.store.getTxLocation(hash);
  if (!location) return undefined;
  const block = await chain.store.getBlock(location.blockHash);
  return block ? { block, index: location.index } : undefined;
}

/**
 * Re-executes a mined transaction under `tracer`: the block's system calls and the transactions
 * before it replay untraced on the parent's state, in the block's own context (header, base fee,
 * fork), then the transaction itself runs with the tracer attached. Everything happens on a
 * scratch copy of the state, so the chain is untouched.
 */
export async function traceTransaction(
  chain: Chain,
  { block, index }: MinedTx,
  tracer: Tracer,
): Promise<unknown> {
  const parent = await chain.store.getBlock(block.header.parentHash);
  if (!parent) throw new Error(`parent of block ${block.header.number} is missing`);
  const vm = await chain.vmAt(parent);
  // vmAt picks the fork of the block after `parent` by number but with the parent's timestamp.
  if (chain.config.forkAware)
    vm.common.setHardforkBy({ blockNumber: block.header.number, timestamp: block.header.timestamp });
  await applyPreBlockSystemCalls(vm, block.header);
  let blockGasUsed = 0n;
  for (const tx of block.transactions.slice(0, index)) {
    const result = await runTx(vm, { tx, block, blockGasUsed, skipHardForkValidation: true });
    blockGasUsed += result.blockGasSpent;
  }
  const tx = block.transactions[index];
  if (!tx) throw new Error(`block ${block.header.number} has no transaction ${index}`);
  tracer.attach(vm);
  const result = await runTx(vm, { tx, block, blockGasUsed, skipHardForkValidation: true });
  return tracer.result({ gasLimit: tx.gasLimit, result });
}
