import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createLogger } from '../logger.ts';
import { integer, keyFromFlagOrEnv, privateKey } from '../options.ts';
import { DEFAULT_DATA_PLANE, dataPlaneUrl } from './data-plane-client.ts';
import { DEFAULT_RPC } from './protocol.ts';

/** Where `openledger devnet` and `openledger factory serve` listen by default. */
export const DEFAULT_FACTORY_PORT = 8560;

/** The base model that ships with the repository (`npm run model:pretrain` rebuilds it). */
export const BUNDLED_BASE_MODEL = {
  name: 'openledger-base',
  path: fileURLToPath(new URL('../../../ai/models/openledger-base.gguf', import.meta.url)),
};

/** The bundled base model when its file is there (a checkout without it still serves the others). */
export function defaultBaseModels(): { name: string; path: string }[] {
  return existsSync(BUNDLED_BASE_MODEL.path) ? [BUNDLED_BASE_MODEL] : [];
}

function baseModel(value: string, previous: { name: string; path: string }[] | undefined) {
  const match = /^([a-z0-9._-]{1,64})=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected <name>=<file.gguf>, got "${value}"`);
  return [...(previous ?? []), { name: match[1]!, path: resolve(match[2]!) }];
}

interface ServeFlags {
  rpc: string;
  dataPlane: string;
  datadir: string;
  port: number;
  host: string;
  operatorKey?: Hex;
  baseModel?: { name: string; path: string }[];
  concurrency: number;
  jobMemoryMb: number;
}

/** `openledger factory serve`: the ModelFactory's job queue and HTTP API over a node and a data plane. */
export function factoryCommand(): Command {
  const factory = new Command('factory').description(
    'ModelFactory: LoRA fine-tuning jobs on Datanet versions',
  );
  factory.addCommand(
    new Command('serve')
      .description('serve the ModelFactory HTTP API (jobs, SSE progress, model cards, adapters)')
      .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
      .option('--data-plane <url>', 'data plane the rows are exported from', dataPlaneUrl, DEFAULT_DATA_PLANE)
      .option(
        '--datadir <dir>',
        'where jobs, checkpoints and published blobs are kept',
        './.openledger/factory',
      )
      .option('--port <port>', 'HTTP port', integer(0, 65535), DEFAULT_FACTORY_PORT)
      .option('--host <host>', 'HTTP interface', '127.0.0.1')
      .addOption(
        new Option(
          '--operator-key <hex>',
          'registers trained models and pays their fee (default: $OPENLEDGER_OPERATOR_KEY)',
        ).argParser(privateKey),
      )
      .option(
        '--base-model <name=file.gguf>',
        'a base model to offer (repeatable; default: the bundled openledger-base)',
        baseModel,
      )
      .option('--concurrency <n>', 'jobs training at once', integer(1, 64), 2)
      .option('--job-memory-mb <mb>', 'memory one job may use', integer(64, 1 << 20), 2048)
      .action(async (flags: ServeFlags) => {
        const log = createLogger();
        const key = keyFromFlagOrEnv(flags.operatorKey, 'OPENLEDGER_OPERATOR_KEY');
        if (!key)
          throw new Error(
            'the factory needs --operator-key <hex> (or $OPENLEDGER_OPERATOR_KEY) to register models',
          );
        const { startModelFactory } = await import('@openledger/ai/factory');
        const running = await startModelFactory({
          dataDir: resolve(flags.datadir),
          rpcUrl: flags.rpc,
          dataPlaneUrl: flags.dataPlane,
          operator: privateKeyToAccount(key),
          baseModels: flags.baseModel ?? defaultBaseModels(),
          host: flags.host,
          port: flags.port,
          concurrency: flags.concurrency,
          jobMemoryMb: flags.jobMemoryMb,
        });
        log.info({ url: running.url, baseModels: [...running.baseModels.keys()] }, 'ModelFactory listening');
        process.stdout.write(`ModelFactory ${running.url}\n`);
        const shutdown = async () => {
          await running.close();
          process.exit(0);
        };
        process.once('SIGINT', () => void shutdown());
        process.once('SIGTERM', () => void shutdown());
      }),
  );
  return factory;
}
