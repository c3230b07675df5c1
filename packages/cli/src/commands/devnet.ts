import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import {
  DEFAULT_DEV_BALANCE,
  DEFAULT_GAS_LIMIT,
  DEFAULT_MNEMONIC,
  createDevnetGenesis,
  withProtocolContracts,
  deriveDevAccounts,
  parseGethGenesis,
  startDevnet,
} from '@openledger/chain';
import type { DevAccount, GethGenesis } from '@openledger/chain';
import { bytesToHex } from '@ethereumjs/util';
import { amountOfOpen, gasAmount, integer, nonNegativeNumber } from '../options.ts';
import { createLogger } from '../logger.ts';

interface DevnetFlags {
  datadir: string;
  reset: boolean;
  blockTime: number;
  chainId: number;
  accounts: number;
  balance: bigint;
  mnemonic: string;
  port: number;
  host: string;
  genesis?: string;
  gasLimit: bigint;
}

export const DEFAULT_CHAIN_ID = 1612;

export function devnetCommand(): Command {
  return new Command('devnet')
    .description(
      'run a single-validator development chain with prefunded accounts and JSON-RPC on HTTP and WebSocket',
    )
    .option('--datadir <dir>', 'where the chain is stored', './.openledger/devnet')
    .option('--reset', 'wipe the data directory first', false)
    .option(
      '--block-time <seconds>',
      'seconds between blocks; 0 mines as soon as transactions arrive',
      nonNegativeNumber,
      0,
    )
    .option('--chain-id <id>', 'chain id', integer(1, 2 ** 53 - 1), DEFAULT_CHAIN_ID)
    .option('--accounts <n>', 'number of prefunded dev accounts', integer(0, 1000), 10)
    .option('--balance <open>', 'balance of each dev account, in OPEN', amountOfOpen, DEFAULT_DEV_BALANCE)
    .option('--mnemonic <words>', 'BIP-39 mnemonic of the dev accounts', DEFAULT_MNEMONIC)
    .option('--port <port>', 'JSON-RPC port (HTTP and WebSocket)', integer(0, 65535), 8545)
    .option('--host <host>', 'JSON-RPC interface', '127.0.0.1')
    .option('--genesis <file>', 'a geth-style genesis.json to start from instead (its alloc is kept)')
    .option('--gas-limit <gas>', 'block gas limit', gasAmount, DEFAULT_GAS_LIMIT)
    .action(async (flags: DevnetFlags) => {
      const log = createLogger();
      const accounts = deriveDevAccounts(flags.mnemonic, flags.accounts);
      const genesis = flags.genesis
        ? await genesisFromFile(flags, accounts)
        : await devnetGenesis(flags, accounts);
      const dataDir = resolve(flags.datadir);
      const running = await startDevnet({
        dataDir,
        reset: flags.reset,
        genesis,
        accounts,
        blockTime: flags.blockTime,
        host: flags.host,
        port: flags.port,
        log,
      });
      printBanner(flags, accounts, running.url, running.wsUrl, dataDir, genesis);
      const shutdown = async () => {
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });
}

/** The devnet's own genesis: dev accounts, system contracts, and every protocol contract predeployed. */
async function devnetGenesis(flags: DevnetFlags, accounts: DevAccount[]): Promise<GethGenesis> {
  const genesis = createDevnetGenesis({
    chainId: flags.chainId,
    accounts: accounts.map((a) => a.address),
    balance: flags.balance,
    gasLimit: flags.gasLimit,
  });
  return withProtocolContracts(genesis, accounts[0]?.address);
}

/** A user genesis keeps its own alloc and rules; the dev accounts are funded on top of it. */
async function genesisFromFile(flags: DevnetFlags, accounts: DevAccount[]): Promise<GethGenesis> {
  const text = await readFile(flags.genesis!, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${flags.genesis} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const genesis = parseGethGenesis(json);
  const alloc = { ...genesis.alloc };
  const balance = `0x${flags.balance.toString(16)}`;
  for (const a of accounts) {
    const present = Object.keys(alloc).some(
      (k) => k.toLowerCase().replace(/^0x/, '') === a.address.slice(2).toLowerCase(),
    );
    if (!present) alloc[a.address] = { balance };
  }
  return { ...genesis, alloc };
}

function printBanner(
  flags: DevnetFlags,
  accounts: DevAccount[],
  url: string,
  wsUrl: string,
  dataDir: string,
  genesis: GethGenesis,
): void {
  const lines = [
    '',
    'OpenLedger devnet',
    '=================',
    `Chain id      ${genesis.config.chainId}`,
    `JSON-RPC      ${url}  (WebSocket ${wsUrl})`,
    `Data dir      ${dataDir}`,
    `Mining        ${flags.blockTime === 0 ? 'a block as soon as transactions arrive' : `a block every ${flags.blockTime} s`}`,
    '',
    'Mnemonic      ' + flags.mnemonic,
    "Derivation    m/44'/60'/0'/0/{index}",
    '',
    'Dev accounts (prefunded; never use these keys on a real network)',
    ...accounts.map((a, i) => `(${i}) ${a.address}  ${bytesToHex(a.privateKey)}`),
    '',
    'Listening. Ctrl+C stops the node; state is kept in the data directory.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
