import type { Block } from '@ethereumjs/block';
import { createBlock } from '@ethereumjs/block';
import type { MerkleStateManager } from '@ethereumjs/statemanager';
import {
  Account,
  createAddressFromString,
  hexToBytes,
  setLengthLeft,
  type PrefixedHexString,
} from '@ethereumjs/util';
import type { ChainConfig } from '../config/chain-config.ts';
import { parseQuantity } from './geth-genesis.ts';

/** Writes the genesis allocation into `state` and returns its root. */
export async function writeGenesisState(state: MerkleStateManager, config: ChainConfig): Promise<Uint8Array> {
  for (const [addressHex, alloc] of Object.entries(config.genesis.alloc)) {
    const address = createAddressFromString(addressHex.startsWith('0x') ? addressHex : `0x${addressHex}`);
    const nonce = alloc.nonce === undefined ? 0n : parseQuantity(alloc.nonce);
    await state.putAccount(address, new Account(nonce, parseQuantity(alloc.balance)));
    if (alloc.code !== undefined && alloc.code !== '0x')
      await state.putCode(address, hexToBytes(alloc.code as PrefixedHexString));
    for (const [slot, value] of Object.entries(alloc.storage ?? {})) {
      const key = setLengthLeft(hexToBytes(slot as PrefixedHexString), 32);
      await state.putStorage(address, key, hexToBytes(value as PrefixedHexString));
    }
  }
  return state.getStateRoot();
}

export function createGenesisBlock(config: ChainConfig, stateRoot: Uint8Array): Block {
  const g = config.genesis;
  return createBlock(
    {
      header: {
        number: 0n,
        stateRoot,
        gasLimit: parseQuantity(g.gasLimit),
        timestamp: parseQuantity(g.timestamp),
        difficulty: parseQuantity(g.difficulty),
        nonce: setLengthLeft(hexToBytes(`0x${parseQuantity(g.nonce).toString(16).padStart(2, '0')}`), 8),
        extraData: hexToBytes(g.extraData as PrefixedHexString),
        ...(g.mixHash !== undefined && { mixHash: hexToBytes(g.mixHash as PrefixedHexString) }),
        ...(g.coinbase !== undefined && { coinbase: createAddressFromString(ensure0x(g.coinbase)) }),
        ...(g.baseFeePerGas != null && { baseFeePerGas: parseQuantity(g.baseFeePerGas) }),
        ...(g.excessBlobGas != null && { excessBlobGas: parseQuantity(g.excessBlobGas) }),
        ...(g.blobGasUsed != null && { blobGasUsed: parseQuantity(g.blobGasUsed) }),
      },
    },
    { common: config.common },
  );
}

function ensure0x(value: string): `0x${string}` {
  return (value.startsWith('0x') ? value : `0x${value}`) as `0x${string}`;
}
