import { Common, createCommonFromGethGenesis } from '@ethereumjs/common';
import { paramsBlock } from '@ethereumjs/block';
import { paramsEVM } from '@ethereumjs/evm';
import { paramsTx } from '@ethereumjs/tx';
import { paramsVM } from '@ethereumjs/vm';
import type { GethGenesis as EthereumjsGethGenesis } from '@ethereumjs/common';
import { nativeCrypto } from '../crypto/native.ts';
import { cacheSenderAddresses } from '../crypto/sender-cache.ts';
import type { GethGenesis } from '../genesis/geth-genesis.ts';
import { parseQuantity } from '../genesis/geth-genesis.ts';
import { quantity } from '../rpc/hex.ts';

/** The rules a chain runs under: its genesis and the hardfork schedule that genesis names. */
export interface ChainConfig {
  genesis: GethGenesis;
  common: Common;
  chainId: bigint;
  /** True when the rules change after genesis, so each block must be handled under its own fork. */
  forkAware: boolean;
}

export function createChainConfig(genesis: GethGenesis): ChainConfig {
  cacheSenderAddresses();
  const timestamp = parseQuantity(genesis.timestamp);
  const common = createCommonFromGethGenesis(toEthereumjsGenesis(genesis), {
    chain: 'openledger',
    customCrypto: nativeCrypto,
  });
  common.setHardforkBy({ blockNumber: 0n, timestamp });
  mergeParamsOnce(common);
  // ethereumjs's EVM table says 8192, but final EIP-2935 (and geth, and the contract's own
  // ring buffer) use 8191: with 8192 the stored hashes go wrong after block 8192.
  common.updateParams({ 2935: { historyServeWindow: HISTORY_SERVE_WINDOW } });
  const forkAware = common
    .hardforks()
    .some(
      (hf) =>
        (hf.block !== null && hf.block > 0) ||
        (hf.timestamp !== undefined && BigInt(hf.timestamp) > timestamp),
    );
  return { genesis, common, chainId: common.chainId(), forkAware };
}

function hex(value: string | number): `0x${string}` {
  return quantity(parseQuantity(value));
}

// ethereumjs wants hex strings where geth files may hold decimal numbers.
function toEthereumjsGenesis(genesis: GethGenesis): EthereumjsGethGenesis {
  const alloc: EthereumjsGethGenesis['alloc'] = {};
  for (const [address, account] of Object.entries(genesis.alloc)) {
    alloc[address] = {
      balance: hex(account.balance),
      ...(account.nonce !== undefined && { nonce: hex(account.nonce) }),
      ...(account.code !== undefined && { code: account.code }),
      ...(account.storage !== undefined && { storage: account.storage }),
    };
  }
  return {
    config: genesis.config as EthereumjsGethGenesis['config'],
    nonce: hex(genesis.nonce),
    timestamp: hex(genesis.timestamp),
    extraData: genesis.extraData,
    gasLimit: hex(genesis.gasLimit),
    difficulty: hex(genesis.difficulty),
    ...(genesis.mixHash !== undefined && { mixHash: genesis.mixHash as `0x${string}` }),
    ...(genesis.coinbase !== undefined && { coinbase: genesis.coinbase as `0x${string}` }),
    ...(genesis.baseFeePerGas != null && { baseFeePerGas: hex(genesis.baseFeePerGas) }),
    ...(genesis.excessBlobGas != null && { excessBlobGas: hex(genesis.excessBlobGas) }),
    alloc,
  };
}

const HISTORY_SERVE_WINDOW = 8191;

const LIBRARY_PARAMS: object[] = [paramsTx, paramsBlock, paramsVM, paramsEVM];

/**
 * Every transaction and header ethereumjs constructs copies the Common and re-merges the same
 * parameter tables into it, rebuilding its parameter cache each time: a large share of block
 * production. Merging them once here and skipping the identical re-merges keeps the rules the same.
 */
function mergeParamsOnce(common: Common): void {
  for (const params of LIBRARY_PARAMS) common.updateParams(params as Parameters<Common['updateParams']>[0]);
  const merge = Common.prototype.updateParams;
  // Enumerable, so Common.copy() (an Object.assign) carries it to every copy.
  Object.defineProperty(common, 'updateParams', {
    enumerable: true,
    writable: true,
    value(this: Common, params: Parameters<Common['updateParams']>[0]) {
      if (LIBRARY_PARAMS.includes(params)) return;
      merge.call(this, params);
    },
  });
}
