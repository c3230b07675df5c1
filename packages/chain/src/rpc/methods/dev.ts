import { createTx } from '@ethereumjs/tx';
import { createAddressFromString, hexToBytes } from '@ethereumjs/util';
import type { TypedDataDefinition } from 'viem';
import { z } from 'zod';
import type { Devnet } from '../../devnet/devnet.ts';
import { signPersonalMessage, signTypedData } from '../../devnet/signer.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { invalidParams, serverError } from '../errors.ts';
import { quantity } from '../hex.ts';
import { address, callRequest, hexData, quantity as quantityParam, quantityOrNumber } from '../params.ts';
import { estimateGas } from './execution.ts';
import { SUGGESTED_TIP } from './fees.ts';

const seconds = quantityOrNumber;
const typedData = z.union([
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'typed data is not valid JSON' });
      return z.NEVER;
    }
  }),
  z.record(z.string(), z.unknown()),
]);

/** Methods only a devnet answers: its accounts sign, and its time and blocks can be steered. */
export function devMethods(devnet: Devnet): Record<string, Method> {
  const node = devnet.node;
  const keyOf = (addr: string) => {
    const key = devnet.keyOf(addr);
    if (!key) throw serverError(`unknown account ${addr}`);
    return key;
  };
  const mineBlocks = method(
    [seconds, seconds],
    async ([blocks, interval]) => {
      let timestamp = node.chain.tip.header.timestamp;
      for (let i = 0n; i < (blocks ?? 1n); i++) {
        if (interval !== undefined && i > 0n) timestamp += interval > 0n ? interval : 1n;
        await devnet.miner.mine(interval !== undefined && i > 0n ? timestamp : undefined);
        timestamp = node.chain.tip.header.timestamp;
      }
      return null;
    },
    0,
  );
  return {
    eth_accounts: method([], () => devnet.addresses),
    eth_sendTransaction: method([callRequest], async ([req]) => {
      if (!req.from) throw invalidParams('invalid argument 0: missing "from"');
      const key = keyOf(req.from);
      const head = node.chain.tip;
      const account = await node.accountAt(createAddressFromString(req.from), head);
      const nonce = req.nonce ?? node.mempool.pendingNonce(req.from, account.nonce);
      const gasLimit = req.gas ?? (await estimateGas(node, req, head, true));
      const common = node.common;
      const base = {
        nonce,
        gasLimit,
        to: req.to ?? undefined,
        value: req.value ?? 0n,
        data: req.input ?? req.data ?? '0x',
        chainId: common.chainId(),
      };
      const baseFee = head.header.calcNextBaseFee();
      const txData =
        req.gasPrice !== undefined
          ? { ...base, type: 0, gasPrice: req.gasPrice }
          : {
              ...base,
              type: 2,
              accessList: req.accessList ?? [],
              maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? SUGGESTED_TIP,
              maxFeePerGas: req.maxFeePerGas ?? 2n * baseFee + (req.maxPriorityFeePerGas ?? SUGGESTED_TIP),
            };
      const tx = createTx(txData as Parameters<typeof createTx>[0], { common }).sign(key);
      return node.sendRawTransaction(tx.serialize());
    }),
    eth_sign: method([address, hexData], ([addr, message]) =>
      signPersonalMessage(hexToBytes(message), keyOf(addr)),
    ),
    personal_sign: method([hexData, address], ([message, addr]) =>
      signPersonalMessage(hexToBytes(message), keyOf(addr)),
    ),
    eth_signTypedData_v4: method([address, typedData], ([addr, td]) => {
      try {
        return signTypedData(td as unknown as TypedDataDefinition, keyOf(addr));
      } catch (error) {
        throw invalidParams(
          `invalid typed data: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
        );
      }
    }),
    evm_mine: method(
      [z.union([seconds, z.object({ timestamp: seconds.optional(), blocks: seconds.optional() })])],
      async ([arg]) => {
        const timestamp = typeof arg === 'bigint' ? arg : arg?.timestamp;
        const blocks = typeof arg === 'object' && arg !== null ? (arg.blocks ?? 1n) : 1n;
        if (timestamp !== undefined && timestamp <= node.chain.tip.header.timestamp) {
          throw invalidParams(
            `timestamp ${timestamp} is not after the head's ${node.chain.tip.header.timestamp}`,
          );
        }
        for (let i = 0n; i < blocks; i++) await devnet.miner.mine(i === 0n ? timestamp : undefined);
        return '0x0';
      },
      0,
    ),
    // viem's test client (hardhat and anvil modes) mines through these.
    hardhat_mine: mineBlocks,
    anvil_mine: mineBlocks,
    evm_increaseTime: method([seconds], ([s]) => Number(devnet.clock.increase(s))),
    evm_setNextBlockTimestamp: method([seconds], ([ts]) => {
      if (ts <= node.chain.tip.header.timestamp) {
        throw invalidParams(`timestamp ${ts} is not after the head's ${node.chain.tip.header.timestamp}`);
      }
      devnet.clock.setNext(ts);
      return null;
    }),
    evm_snapshot: method([], () => quantity(devnet.snapshot())),
    evm_revert: method([quantityParam], ([id]) => devnet.revert(Number(id))),
  };
}
