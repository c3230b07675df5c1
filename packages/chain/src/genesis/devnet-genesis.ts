import { quantity } from '../rpc/hex.ts';
import type { GethGenesis } from './geth-genesis.ts';
import { protocolAlloc } from './protocol-genesis.ts';
import { systemContractAlloc } from './system-contracts.ts';

export interface DevnetGenesisOptions {
  chainId: number;
  /** Prefunded addresses. */
  accounts: string[];
  /** Balance of each prefunded account, in wei of OPEN. */
  balance?: bigint;
  gasLimit?: bigint;
  timestamp?: bigint;
}

/** 10,000 OPEN per dev account, as anvil and Hardhat fund theirs with 10,000 ETH. */
export const DEFAULT_DEV_BALANCE = 10_000n * 10n ** 18n;
export const DEFAULT_GAS_LIMIT = 30_000_000n;

/**
 * The devnet's genesis in geth's format (the same format `--genesis` accepts): every fork up to
 * Prague active from block 0, post-merge from the start, with the Cancun/Prague system contracts
 * predeployed as geth's dev mode does, so that every block exercises them.
 */
export function createDevnetGenesis(options: DevnetGenesisOptions): GethGenesis {
  const balance = quantity(options.balance ?? DEFAULT_DEV_BALANCE);
  return {
    config: {
      chainId: options.chainId,
      homesteadBlock: 0,
      eip150Block: 0,
      eip155Block: 0,
      eip158Block: 0,
      byzantiumBlock: 0,
      constantinopleBlock: 0,
      petersburgBlock: 0,
      istanbulBlock: 0,
      muirGlacierBlock: 0,
      berlinBlock: 0,
      londonBlock: 0,
      arrowGlacierBlock: 0,
      grayGlacierBlock: 0,
      mergeNetsplitBlock: 0,
      terminalTotalDifficulty: 0,
      shanghaiTime: 0,
      cancunTime: 0,
      pragueTime: 0,
      blobSchedule: {
        cancun: { target: 3, max: 6, baseFeeUpdateFraction: 3338477 },
        prague: { target: 6, max: 9, baseFeeUpdateFraction: 5007716 },
      },
    },
    nonce: '0x0',
    timestamp: quantity(options.timestamp ?? 0n),
    extraData: '0x',
    gasLimit: quantity(options.gasLimit ?? DEFAULT_GAS_LIMIT),
    difficulty: '0x0',
    baseFeePerGas: '0x3b9aca00',
    alloc: {
      ...systemContractAlloc(),
      ...Object.fromEntries(options.accounts.map((address) => [address, { balance }])),
    },
  };
}

/** The genesis validator's self-bonded stake on a devnet, on top of its balance. */
export const DEVNET_VALIDATOR_STAKE = 10_000n * 10n ** 18n;
/** What the ecosystem fund holds at a devnet's genesis. */
export const DEVNET_TREASURY_BALANCE = 1_000_000n * 10n ** 18n;

/**
 * `genesis` with the protocol contracts predeployed (protocol-genesis.ts): `validator` (the block
 * producer) is the one genesis validator, and the ecosystem fund starts with
 * DEVNET_TREASURY_BALANCE.
 */
export async function withProtocolContracts(genesis: GethGenesis, validator?: string): Promise<GethGenesis> {
  const alloc = await protocolAlloc(genesis, {
    validators: validator ? [{ address: validator as `0x${string}`, stake: DEVNET_VALIDATOR_STAKE }] : [],
    treasuryBalance: DEVNET_TREASURY_BALANCE,
  });
  return { ...genesis, alloc: { ...genesis.alloc, ...alloc } };
}
