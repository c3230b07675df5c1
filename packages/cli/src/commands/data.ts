import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { shortMessage } from '@openledger/sdk';
import { createLogger } from '../logger.ts';
import { integer, keyFromFlagOrEnv, privateKey } from '../options.ts';
import { DEFAULT_RPC } from './protocol.ts';

/** Where `openledger devnet` and `openledger data serve` listen by default. */
export const DEFAULT_DATA_PORT = 8550;

interface ServeFlags {
  rpc: string;
  datadir: string;
  port: number;
  host: string;
  relayerKey?: Hex;
  maxFileMb: number;
  duplicates: 'reject' | 'link';
}

/** `openledger data serve`: the data plane's HTTP API over a node. */
export function dataCommand(): Command {
  const data = new Command('data').description(
    'the data plane: contribution uploads, reports, submission relay and row access over HTTP',
  );
  data.addCommand(
    new Command('serve')
      .description('serve the data plane HTTP API (OpenAPI at /openapi.json) over a node')
      .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
      .option(
        '--datadir <dir>',
        'where blobs, contribution records and dedup indexes are kept',
        './.openledger/data',
      )
      .option('--port <port>', 'HTTP port', integer(0, 65535), DEFAULT_DATA_PORT)
      .option('--host <host>', 'HTTP interface', '127.0.0.1')
      .addOption(
        new Option(
          '--relayer-key <hex>',
          'relay signed submissions from this key, which pays their fee and bond (default: $OPENLEDGER_RELAYER_KEY; none: no relaying)',
        ).argParser(privateKey),
      )
      .option('--max-file-mb <mb>', 'upload limit per file, in MB', integer(1, 100_000), 100)
      .addOption(
        new Option('--duplicates <policy>', 'what duplicate rows do: reject them, or store them linked')
          .choices(['reject', 'link'])
          .default('reject'),
      )
      .action(async (flags: ServeFlags) => {
        const log = createLogger();
        const key = keyFromFlagOrEnv(flags.relayerKey, 'OPENLEDGER_RELAYER_KEY');
        const relayer = key ? privateKeyToAccount(key) : undefined;
        // The parsers take a moment to load; only this verb needs them.
        const { DataPlane, startDataServer } = await import('@openledger/data');
        const dataDir = resolve(flags.datadir);
        let plane;
        try {
          plane = await DataPlane.open({
            dataDir,
            rpcUrl: flags.rpc,
            relayer,
            duplicatePolicy: flags.duplicates,
          });
        } catch (error) {
          throw new Error(`cannot open the data plane over ${flags.rpc}: ${shortMessage(error)}`, {
            cause: error,
          });
        }
        let server;
        try {
          server = await startDataServer(plane, {
            host: flags.host,
            port: flags.port,
            maxFileBytes: flags.maxFileMb * 1_000_000,
            logger: log,
          });
        } catch (error) {
          await plane.close();
          if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
            throw new Error(`${flags.host}:${flags.port} is in use: pass --port <port>`);
          throw error;
        }
        process.stdout.write(
          [
            '',
            'OpenLedger data plane',
            '=====================',
            `HTTP          ${server.url}  (OpenAPI ${server.url}/openapi.json)`,
            `Chain         ${flags.rpc}  (chain id ${plane.chain.chainId})`,
            `Data dir      ${dataDir}`,
            `Relayer       ${relayer ? relayer.address : 'none: contributors submit from their own wallets'}`,
            '',
            'Listening. Ctrl+C stops it.',
            '',
          ].join('\n'),
        );
        const shutdown = async () => {
          await server.close();
          await plane.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
      }),
  );
  return data;
}
