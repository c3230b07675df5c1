import { open, writeFile } from 'node:fs/promises';
import type { Chain } from '../chain.ts';

export interface ExportRange {
  /** First block (default 1: geth's import skips the genesis, which the genesis.json defines). */
  from?: bigint;
  /** Last block (default: the head). */
  to?: bigint;
}

export interface ExportResult {
  from: bigint;
  to: bigint;
  blocks: number;
  bytes: number;
}

// Blocks are gathered into writes of about this size rather than one write per block.
const WRITE_BATCH = 1 << 20;

/**
 * Writes canonical blocks `from`..`to` in geth's `export` format: each block's RLP, one after the
 * other, with no outer list, the format `geth import` and `openledger import` read.
 */
export async function exportChain(
  chain: Chain,
  file: string,
  range: ExportRange = {},
): Promise<ExportResult> {
  const head = chain.head.header.number;
  const from = range.from ?? 1n;
  const to = range.to ?? head;
  // A chain of the genesis alone exports as an empty file; an explicit empty range is a mistake.
  if (from < 0n || (range.to !== undefined && to < from))
    throw new Error(`invalid block range ${from} to ${to}`);
  if (to > head) throw new Error(`block ${to} does not exist: the chain ends at block ${head}`);
  const out = await open(file, 'w');
  let bytes = 0;
  try {
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await out.write(Buffer.concat(pending, pendingBytes));
      bytes += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    for (let n = from; n <= to; n++) {
      const block = await chain.store.getBlockByNumber(n);
      if (!block) throw new Error(`canonical block ${n} is missing from the database`);
      const rlp = block.serialize();
      pending.push(rlp);
      pendingBytes += rlp.length;
      if (pendingBytes >= WRITE_BATCH) await flush();
    }
    await flush();
  } finally {
    await out.close();
  }
  return { from, to, blocks: to >= from ? Number(to - from + 1n) : 0, bytes };
}

/** The chain's genesis as a geth-style genesis.json, the file `openledger import --genesis` (and geth init) take. */
export async function exportGenesis(chain: Chain, file: string): Promise<void> {
  await writeFile(file, `${JSON.stringify(chain.config.genesis, null, 2)}\n`);
}
