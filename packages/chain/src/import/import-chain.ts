import type { Block } from '@ethereumjs/block';
import { bytesToHex, equalsBytes } from '@ethereumjs/util';
import type { Chain } from '../chain.ts';
import { InvalidBlockError } from './header-validation.ts';
import { readBlocks } from './rlp-chain.ts';

export interface ImportProgress {
  /** Blocks executed and committed by this run. */
  imported: number;
  /** Blocks of the file the data directory already held (an import run again). */
  skipped: number;
  txs: number;
  gasUsed: bigint;
  /** The number of the last block handled. */
  number: bigint;
  elapsedMs: number;
  blocksPerSecond: number;
  mgasPerSecond: number;
  done: boolean;
}

export interface ImportOptions {
  onProgress?: (progress: ImportProgress) => void;
  /** At most one progress report per interval, plus a final one (default 1000 ms). */
  progressIntervalMs?: number;
  chunkSize?: number;
}

/** The import stopped: `number` is the offending block (undefined when the file is unreadable). */
export class ImportError extends Error {
  constructor(
    message: string,
    readonly number: bigint | undefined,
    readonly progress: ImportProgress,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

/**
 * Replays a geth-exported chain file into `chain`: each block is validated against its parent and
 * executed (Chain.importBlock) in file order, and the first invalid block stops the import with the
 * blocks before it kept. Blocks the chain already has are skipped, so an interrupted or repeated
 * import can simply be run again.
 */
export async function importChain(
  chain: Chain,
  file: string,
  options: ImportOptions = {},
): Promise<ImportProgress> {
  const interval = options.progressIntervalMs ?? 1000;
  const started = performance.now();
  let lastReport = started;
  const tally = { imported: 0, skipped: 0, txs: 0, gasUsed: 0n, number: chain.head.header.number };
  const progress = (done: boolean): ImportProgress => {
    const elapsedMs = performance.now() - started;
    const seconds = elapsedMs / 1000;
    return {
      ...tally,
      elapsedMs,
      blocksPerSecond: seconds > 0 ? tally.imported / seconds : 0,
      mgasPerSecond: seconds > 0 ? Number(tally.gasUsed) / 1e6 / seconds : 0,
      done,
    };
  };
  const stop = (message: string, number: bigint | undefined) =>
    new ImportError(message, number, progress(true));

  const blocks = readBlocks(file, {
    common: chain.common,
    setHardfork: chain.config.forkAware,
    ...(options.chunkSize !== undefined && { chunkSize: options.chunkSize }),
  });
  while (true) {
    let next: IteratorResult<{ block: Block }>;
    try {
      next = await blocks.next();
    } catch (error) {
      throw stop(`import stopped after block ${tally.number}: ${reason(error)}`, undefined);
    }
    if (next.done) break;
    const { block } = next.value;
    const number = block.header.number;
    const head = chain.head.header.number;

    if (number <= head) {
      const have = await chain.store.getCanonicalHash(number);
      if (have !== undefined && equalsBytes(have, block.hash())) {
        tally.skipped++;
        tally.number = number;
        continue;
      }
      throw stop(conflict(block, have, head), number);
    }
    if (number > head + 1n) {
      throw stop(
        `import stopped at block ${number}: the chain here ends at block ${head}, so blocks ${head + 1n} to ${number - 1n} are missing from the file`,
        number,
      );
    }
    try {
      await chain.importBlock(block);
    } catch (error) {
      throw stop(
        `import stopped at block ${number} (${bytesToHex(block.hash())}): ${describe(error, block)}; blocks up to ${head} are imported`,
        number,
      );
    }
    tally.imported++;
    tally.txs += block.transactions.length;
    tally.gasUsed += block.header.gasUsed;
    tally.number = number;
    const now = performance.now();
    if (options.onProgress && now - lastReport >= interval) {
      lastReport = now;
      options.onProgress(progress(false));
    }
  }
  const result = progress(true);
  options.onProgress?.(result);
  return result;
}

/** A block the chain already has a different version of (block 0: a different genesis). */
function conflict(block: Block, have: Uint8Array | undefined, head: bigint): string {
  const number = block.header.number;
  const theirs = bytesToHex(block.hash());
  const ours = have === undefined ? 'none' : bytesToHex(have);
  if (number === 0n)
    return `block 0 of the file (${theirs}) is not this chain's genesis (${ours}): the file comes from a chain with a different genesis.json`;
  return `import stopped at block ${number}: the file's block ${theirs} differs from block ${ours} already in the data directory (head ${head}); import into a fresh --datadir or pass --reset`;
}

/** ethereumjs's execution errors, without their debugging suffix and with the values spelled out. */
function describe(error: unknown, block: Block): string {
  if (error instanceof InvalidBlockError) return error.message.replace(/^block \d+: /, '');
  const message = reason(error).replace(/\s*\(vm hf=[^)]*\)\s*$/s, '');
  const stateRoot = /invalid block stateRoot, got: (0x[0-9a-f]+), want: (0x[0-9a-f]+)/.exec(message);
  if (stateRoot)
    return `invalid stateRoot: executing the block gives ${stateRoot[1]}, the header says ${stateRoot[2]}`;
  const { header } = block;
  if (message.startsWith('invalid gasUsed'))
    return `invalid gasUsed: executing the block uses a different amount than the header's ${header.gasUsed}`;
  if (message.startsWith('invalid receiptTrie'))
    return `invalid receiptsRoot: the receipts of executing the block do not hash to the header's ${bytesToHex(header.receiptTrie)}`;
  if (message.startsWith('invalid bloom'))
    return 'invalid logsBloom: the logs of executing the block differ from the header';
  if (message.startsWith('invalid requestsHash'))
    return `invalid requestsHash: the EIP-7685 requests of executing the block do not hash to the header's ${header.requestsHash === undefined ? 'none' : bytesToHex(header.requestsHash)}`;
  return message;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
