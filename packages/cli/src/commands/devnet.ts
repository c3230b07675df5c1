import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
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
import type { Logger } from 'pino';
import type * as DataModule from '@openledger/data';
import { bytesToHex } from '@ethereumjs/util';
import { amountOfOpen, gasAmount, integer, nonNegativeNumber } from '../options.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_DATA_PORT } from './data.ts';
import { DEFAULT_FACTORY_PORT, defaultBaseModels } from './factory.ts';

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
  dataPort: number;
  dataPlane: boolean;
  factoryPort: number;
  factory: boolean;
}

interface RunningDataPlane {
  url: string;
  close(): Promise<void>;
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
    .option(
      '--data-port <port>',
      `data plane HTTP port (default ${DEFAULT_DATA_PORT}; any free port when --port is 0)`,
      integer(0, 65535),
      DEFAULT_DATA_PORT,
    )
    .option('--no-data-plane', 'do not start the data plane (uploads, reports, submission relay, rows)')
    .option(
      '--factory-port <port>',
      `ModelFactory HTTP port (default ${DEFAULT_FACTORY_PORT}; any free port when --port is 0)`,
      integer(0, 65535),
      DEFAULT_FACTORY_PORT,
    )
    .option('--no-factory', 'do not start the ModelFactory (fine-tuning jobs; needs the data plane)')
    .action(async (flags: DevnetFlags, command: Command) => {
      const log = createLogger();
      // Loaded while the node starts: the parsers take a moment to import.
      const dataModule = flags.dataPlane ? import('@openledger/data') : undefined;
      dataModule?.catch(() => undefined);
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
      let data: RunningDataPlane | undefined;
      if (dataModule) {
        // On an ephemeral RPC port (tests, several devnets side by side) the data plane takes one too.
        const port =
          flags.port === 0 && command.getOptionValueSource('dataPort') === 'default' ? 0 : flags.dataPort;
        try {
          data = await startDataPlane(await dataModule, {
            dataDir: join(dataDir, 'data'),
            rpcUrl: running.url,
            relayer: accounts[0],
            host: flags.host,
            port,
            log,
          });
        } catch (error) {
          await running.close();
          throw error;
        }
      }
      let factory: { url: string; close(): Promise<void> } | undefined;
      if (data && flags.factory) {
        const port =
          flags.port === 0 && command.getOptionValueSource('factoryPort') === 'default'
            ? 0
            : flags.factoryPort;
        try {
          factory = await startFactory({
            dataDir: join(dataDir, 'factory'),
            rpcUrl: running.url,
            dataPlaneUrl: data.url,
            // Dev account 9 registers trained models, then hands them to whoever asked for them.
            operator: accounts[9] ?? accounts[0],
            host: flags.host,
            port,
          });
        } catch (error) {
          await data.close();
          await running.close();
          throw error;
        }
      }
      printBanner(flags, accounts, running.url, running.wsUrl, dataDir, genesis, data?.url, factory?.url);
      const shutdown = async () => {
        await factory?.close();
        await data?.close();
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });
}

/**
 * The data plane in this process, over the node's JSON-RPC: its state in `<datadir>/data`, dev
 * account 0 relaying signed submissions (paying their fee and bond).
 */
async function startDataPlane(
  data: typeof DataModule,
  o: {
    dataDir: string;
    rpcUrl: string;
    relayer: DevAccount | undefined;
    host: string;
    port: number;
    log: Logger;
  },
): Promise<RunningDataPlane> {
  const relayer = o.relayer ? privateKeyToAccount(bytesToHex(o.relayer.privateKey)) : undefined;
  const plane = await data.DataPlane.open({ dataDir: o.dataDir, rpcUrl: o.rpcUrl, relayer });
  let server;
  try {
    server = await data.startDataServer(plane, {
      host: o.host,
      port: o.port,
      logger: o.log.child({ service: 'data' }),
    });
  } catch (error) {
    await plane.close();
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `the data plane cannot listen on ${o.host}:${o.port}, which is in use: pass --data-port <port>, or --no-data-plane`,
      );
    }
    throw error;
  }
  return {
    url: server.url,
    async close() {
      await server.close();
      await plane.close();
    },
  };
}

/** The ModelFactory in this process, over the node and the data plane, with the bundled base model. */
async function startFactory(o: {
  dataDir: string;
  rpcUrl: string;
  dataPlaneUrl: string;
  operator: DevAccount | undefined;
  host: string;
  port: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  if (!o.operator)
    throw new Error('the ModelFactory needs a dev account to register models: pass --accounts 1 or more');
  const { startModelFactory } = await import('@openledger/ai/factory');
  try {
    return await startModelFactory({
      dataDir: o.dataDir,
      rpcUrl: o.rpcUrl,
      dataPlaneUrl: o.dataPlaneUrl,
      operator: privateKeyToAccount(bytesToHex(o.operator.privateKey)),
      baseModels: defaultBaseModels(),
      host: o.host,
      port: o.port,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `the ModelFactory cannot listen on ${o.host}:${o.port}, which is in use: pass --factory-port <port>, or --no-factory`,
      );
    }
    throw error;
  }
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
  dataUrl: string | undefined,
  factoryUrl: string | undefined,
): void {
  const lines = [
    '',
    'OpenLedger devnet',
    '=================',
    `Chain id      ${genesis.config.chainId}`,
    `JSON-RPC      ${url}  (WebSocket ${wsUrl})`,
    `Data dir      ${dataDir}`,
    ...(dataUrl ? [`Data plane    ${dataUrl}  (API ${dataUrl}/openapi.json; relayer: account 0)`] : []),
    ...(factoryUrl ? [`ModelFactory  ${factoryUrl}  (registers trained models as account 9)`] : []),
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
