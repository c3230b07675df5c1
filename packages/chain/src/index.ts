export { Chain } from './chain.ts';
export type { CommittedBlock, BlockTemplate } from './chain.ts';
export { createChainConfig } from './config/chain-config.ts';
export type { ChainConfig } from './config/chain-config.ts';
export { deriveDevAccounts, DEFAULT_MNEMONIC } from './genesis/dev-accounts.ts';
export type { DevAccount } from './genesis/dev-accounts.ts';
export {
  createDevnetGenesis,
  withProtocolContracts,
  DEFAULT_DEV_BALANCE,
  DEFAULT_GAS_LIMIT,
  DEVNET_TREASURY_BALANCE,
  DEVNET_VALIDATOR_STAKE,
} from './genesis/devnet-genesis.ts';
export { parseGethGenesis } from './genesis/geth-genesis.ts';
export type { GethGenesis } from './genesis/geth-genesis.ts';
export { Node } from './node.ts';
export { startDevnet } from './devnet/start-devnet.ts';
export type { RunningDevnet, StartDevnetOptions } from './devnet/start-devnet.ts';
export { startRpcNode, type RunningRpcNode, type StartRpcNodeOptions } from './node/start-node.ts';
export { importChain, ImportError, type ImportProgress, type ImportOptions } from './import/import-chain.ts';
export { exportChain, exportGenesis, type ExportRange, type ExportResult } from './export/export-chain.ts';
export * from './consensus/index.ts';
