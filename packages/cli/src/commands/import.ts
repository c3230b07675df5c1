import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { Chain, importChain, parseGethGenesis, startRpcNode } from '@openledger/chain';
import type { GethGenesis, ImportProgress } from '@openledger/chain';
import { createLogger } from '../logger.ts';
import { integer } from '../options.ts';

interface ImportFlags {
  genesis: string;
  datadir: string;
  reset: boolean;
  serve: boolean;
  port: number;
  host: string;
}

export function importCommand(): Command {
  return new Command('import')
    .description(
      'replay an RLP chain exported by geth (`geth export`) or `openledger export`, validating every block, then optionally serve it over JSON-RPC',
    )
    .argument('<chain.rlp>', 'the exported chain: consecutive RLP-encoded blocks')
    .requiredOption('--genesis <file>', 'the geth-style genesis.json the chain was built from')
    .option('--datadir <dir>', 'where the imported chain is stored', './.openledger/imported')
    .option('--reset', 'wipe the data directory first', false)
    .option('--serve', 'after importing, serve the chain over JSON-RPC (read-only: no mining)', false)
    .option('--port <port>', 'JSON-RPC port (HTTP and WebSocket)', integer(0, 65535), 8545)
    .option('--host <host>', 'JSON-RPC interface', '127.0.0.1')
    .action(async (file: string, flags: ImportFlags) => {
      const genesis = await readGenesis(flags.genesis);
      const dataDir = resolve(flags.datadir);
      if (flags.reset) await rm(dataDir, { recursive: true, force: true });
      const chain = await Chain.open(dataDir, genesis);
      const line = progressLine();
      try {
        const result = await importChain(chain, resolve(file), { onProgress: line.update });
        line.finish(result);
      } catch (error) {
        line.abort();
        throw error;
      } finally {
        await chain.close();
      }
      if (!flags.serve) return;
      const log = createLogger();
      const running = await startRpcNode({ dataDir, genesis, host: flags.host, port: flags.port, log });
      process.stdout.write(
        [
          '',
          'OpenLedger node (imported chain, read-only)',
          `Chain id      ${genesis.config.chainId}`,
          `JSON-RPC      ${running.url}  (WebSocket ${running.wsUrl})`,
          `Data dir      ${dataDir}`,
          `Head          block ${running.node.chain.head.header.number}`,
          '',
          'Listening. Ctrl+C stops the node.',
          '',
        ].join('\n'),
      );
      const shutdown = async () => {
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown());
      process.once('SIGTERM', () => void shutdown());
    });
}

export async function readGenesis(path: string): Promise<GethGenesis> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseGethGenesis(json);
}

/** One progress line on stderr: rewritten in place on a terminal, a line per report otherwise. */
function progressLine() {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  const format = (p: ImportProgress) =>
    `imported ${p.imported} blocks (${p.txs} txs${p.skipped > 0 ? `, ${p.skipped} already present` : ''}) ` +
    `up to block ${p.number} in ${(p.elapsedMs / 1000).toFixed(1)} s: ` +
    `${p.blocksPerSecond.toFixed(1)} blocks/s, ${p.mgasPerSecond.toFixed(2)} Mgas/s`;
  const write = (text: string, end: boolean) => {
    if (tty) process.stderr.write(`\r\x1b[2K${text}${end ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
    shown = !end;
  };
  return {
    update: (p: ImportProgress) => {
      if (!p.done) write(format(p), false);
    },
    finish: (p: ImportProgress) => write(format(p), true),
    abort: () => {
      if (shown && tty) process.stderr.write('\n');
    },
  };
}
