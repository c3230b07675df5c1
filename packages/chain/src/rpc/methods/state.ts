import { createAddressFromString, hexToBytes, setLengthLeft, bytesToHex } from '@ethereumjs/util';
import { getMerkleStateProof } from '@ethereumjs/statemanager';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { data, quantity } from '../hex.ts';
import { address, blockRef, hash, isPendingRef, quantity as quantityParam } from '../params.ts';
import { z } from 'zod';

const storageSlot = z.union([
  hash,
  quantityParam
    .refine((n) => n < 2n ** 256n, 'hex string too long, want at most 32 bytes')
    .transform((n) => `0x${n.toString(16).padStart(64, '0')}` as const),
]);

export function stateMethods(node: Node): Record<string, Method> {
  return {
    eth_getBalance: method(
      [address, blockRef],
      async ([addr, ref]) => {
        const block = await node.resolveBlock(ref);
        return quantity((await node.accountAt(createAddressFromString(addr), block)).balance);
      },
      1,
    ),
    eth_getTransactionCount: method(
      [address, blockRef],
      async ([addr, ref]) => {
        const block = await node.resolveBlock(ref);
        const { nonce } = await node.accountAt(createAddressFromString(addr), block);
        if (isPendingRef(ref)) return quantity(node.mempool.pendingNonce(addr, nonce));
        return quantity(nonce);
      },
      1,
    ),
    eth_getCode: method(
      [address, blockRef],
      async ([addr, ref]) => {
        const block = await node.resolveBlock(ref);
        return data(await node.stateAt(block).getCode(createAddressFromString(addr)));
      },
      1,
    ),
    eth_getStorageAt: method(
      [address, storageSlot, blockRef],
      async ([addr, slot, ref]) => {
        const block = await node.resolveBlock(ref);
        const value = await node.stateAt(block).getStorage(createAddressFromString(addr), hexToBytes(slot));
        return data(setLengthLeft(value, 32));
      },
      2,
    ),
    eth_getProof: method([address, z.array(storageSlot).max(1024), blockRef], async ([addr, slots, ref]) => {
      const block = await node.resolveBlock(ref);
      const proof = await getMerkleStateProof(
        node.chain.stateAt(block),
        createAddressFromString(addr),
        slots.map((s) => hexToBytes(s)),
      );
      return {
        address: addr,
        accountProof: proof.accountProof,
        balance: proof.balance,
        codeHash: proof.codeHash,
        nonce: proof.nonce,
        storageHash: proof.storageHash,
        storageProof: proof.storageProof.map((p, i) => ({
          key: slots[i] ?? bytesToHex(hexToBytes(p.key)),
          value: p.value,
          proof: p.proof,
        })),
      };
    }),
  };
}
