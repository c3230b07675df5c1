import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Chain, exportChain, exportGenesis } from '@openledger/chain';

interface ExportFlags {
  datadir: string;
  genesisOut?: string;
  from?: bigint;
  to?: bigint;
}

export function exportCommand(): Command {
  return new Command('export')
    .description("write the chain in a data directory as consecutive RLP blocks, geth's `export` format")
    .argument('<out.rlp>', 'the file to write')
    .option(
      '--datadir <dir>',
      'the data directory holding the chain (the node must be stopped)',
      './.openledger/devnet',
    )
    .option('--genesis-out <file>', "also write the chain's genesis as a geth-style genesis.json")
    .option('--from <n>', 'first block (default 1: the genesis is defined by genesis.json)', blockNumber)
    .option('--to <n>', 'last block (default: the head)', blockNumber)
    .action(async (out: string, flags: ExportFlags) => {
      const dataDir = resolve(flags.datadir);
      try {
        await access(join(dataDir, 'chaindata'));
      } catch {
        throw new Error(`${dataDir} holds no chain`);
      }
      const chain = await openStopped(dataDir);
      try {
        const result = await exportChain(chain, resolve(out), {
          ...(flags.from !== undefined && { from: flags.from }),
          ...(flags.to !== undefined && { to: flags.to }),
        });
        if (flags.genesisOut) await exportGenesis(chain, resolve(flags.genesisOut));
        process.stderr.write(
          `exported ${result.blocks} blocks (${result.from} to ${result.to}, ${result.bytes} bytes) to ${out}\n`,
        );
      } finally {
        await chain.close();
      }
    });
}

/** LevelDB allows one process per directory; say so rather than echo LevelDB's lock error. */
async function openStopped(dataDir: string): Promise<Chain> {
  try {
    return await Chain.openExisting(dataDir);
  } catch (error) {
    const code = (error as { code?: unknown; cause?: { code?: unknown } }).cause?.code;
    if (code === 'LEVEL_LOCKED')
      throw new Error(`${dataDir} is in use by a running node; stop it before exporting`, { cause: error });
    throw error;
  }
}

function blockNumber(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a block number, got "${value}"`);
  return BigInt(value);
}
