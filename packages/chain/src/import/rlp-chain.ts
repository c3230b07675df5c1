import { open } from 'node:fs/promises';
import type { Block } from '@ethereumjs/block';
import { createBlockFromRLP } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt } from '@ethereumjs/util';

/** One RLP item of the file and where it starts. */
export interface RlpItem {
  bytes: Uint8Array;
  offset: number;
}

export interface RlpBlock {
  block: Block;
  offset: number;
  size: number;
}

const DEFAULT_CHUNK = 1 << 20;

/**
 * The consecutive RLP items of a file (geth's `export` format: block after block, no outer list),
 * read in chunks so that a chain of any size streams through in bounded memory: only the current
 * chunk and the item being assembled are held.
 */
export async function* readRlpItems(path: string, chunkSize = DEFAULT_CHUNK): AsyncGenerator<RlpItem> {
  const file = await open(path, 'r');
  try {
    let buffer = new Uint8Array(0);
    let bufferOffset = 0; // file offset of buffer[0]
    let eof = false;
    while (true) {
      const need = itemLength(buffer, bufferOffset);
      if (need !== undefined && buffer.length >= need) {
        yield { bytes: buffer.slice(0, need), offset: bufferOffset };
        buffer = buffer.subarray(need);
        bufferOffset += need;
        continue;
      }
      if (eof) {
        if (buffer.length === 0) return;
        const what = need === undefined ? 'an RLP length prefix' : `an RLP item of ${need} bytes`;
        throw new Error(
          `truncated file: ${what} starts at byte ${bufferOffset} but only ${buffer.length} bytes remain`,
        );
      }
      // Read at least the rest of the current item in one go, so a large block is not reassembled
      // from many small reads.
      const want = Math.max(chunkSize, need === undefined ? 0 : need - buffer.length);
      const next = new Uint8Array(buffer.length + want);
      next.set(buffer);
      const { bytesRead } = await file.read(next, buffer.length, want, null);
      if (bytesRead === 0) eof = true;
      buffer = next.subarray(0, buffer.length + bytesRead);
    }
  } finally {
    await file.close();
  }
}

/**
 * Total length (prefix + payload) of the RLP item at the start of `bytes`, or undefined while the
 * prefix itself is incomplete. Only lists are accepted: every block is one.
 */
function itemLength(bytes: Uint8Array, fileOffset: number): number | undefined {
  if (bytes.length === 0) return undefined;
  const first = bytes[0]!;
  if (first < 0xc0)
    throw new Error(
      `byte ${fileOffset}: expected an RLP list (a block), found prefix 0x${first.toString(16)}`,
    );
  if (first <= 0xf7) return 1 + (first - 0xc0);
  const lengthOfLength = first - 0xf7;
  if (bytes.length < 1 + lengthOfLength) return undefined;
  let length = 0;
  for (let i = 1; i <= lengthOfLength; i++) length = length * 256 + bytes[i]!;
  if (bytes[1] === 0 || length < 56 || !Number.isSafeInteger(length))
    throw new Error(`byte ${fileOffset}: malformed RLP list length prefix`);
  return 1 + lengthOfLength + length;
}

export interface ReadBlocksOptions {
  common: Common;
  /** Decode each block under the fork its number and timestamp name (a fork-aware chain). */
  setHardfork: boolean;
  chunkSize?: number;
}

/** The blocks of a geth-exported chain file, in file order. */
export async function* readBlocks(path: string, options: ReadBlocksOptions): AsyncGenerator<RlpBlock> {
  for await (const { bytes, offset } of readRlpItems(path, options.chunkSize)) {
    let block: Block;
    try {
      block = createBlockFromRLP(bytes, {
        common: options.common,
        setHardfork: options.setHardfork,
        // Consensus rules are checked by header-validation.ts, against the parent, with clearer
        // messages than the decoder's.
        skipConsensusFormatValidation: true,
      });
    } catch (error) {
      const number = blockNumberOf(bytes);
      const which = number === undefined ? `the block at byte ${offset}` : `block ${number} (byte ${offset})`;
      throw new Error(`cannot decode ${which}: ${error instanceof Error ? error.message : String(error)}`);
    }
    yield { block, offset, size: bytes.length };
  }
}

/** The header's number field, read without building a block, for error messages. */
function blockNumberOf(bytes: Uint8Array): bigint | undefined {
  try {
    const [header] = RLP.decode(bytes) as unknown[];
    const number = Array.isArray(header) ? (header[8] as unknown) : undefined;
    return number instanceof Uint8Array ? bytesToBigInt(number) : undefined;
  } catch {
    return undefined;
  }
}
