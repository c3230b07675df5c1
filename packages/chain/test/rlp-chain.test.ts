import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlock } from '@ethereumjs/block';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, concatBytes } from '@ethereumjs/util';
import { createChainConfig } from '../src/config/chain-config.ts';
import { createDevnetGenesis } from '../src/genesis/devnet-genesis.ts';
import { readBlocks, readRlpItems } from '../src/import/rlp-chain.ts';

const { common } = createChainConfig(createDevnetGenesis({ chainId: 1612, accounts: [] }));
// Blocks of different sizes (different extra data), each a long-form RLP list.
const blocks = [1n, 2n, 3n].map((number) =>
  createBlock(
    { header: { number, timestamp: number, extraData: new Uint8Array(Number(number) * 10).fill(7) } },
    { common },
  ),
);
const encoded = blocks.map((b) => b.serialize());

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-rlp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('reading a geth-exported chain file', () => {
  it('splits consecutive block RLPs whatever the chunk size', async () => {
    const path = await file('chain.rlp', concatBytes(...encoded));
    for (const chunkSize of [1, 7, 64, 1 << 20]) {
      const items = await collect(readRlpItems(path, chunkSize));
      expect(items.map((i) => bytesToHex(i.bytes))).toEqual(encoded.map((e) => bytesToHex(e)));
      expect(items.map((i) => i.offset)).toEqual([
        0,
        encoded[0]!.length,
        encoded[0]!.length + encoded[1]!.length,
      ]);
    }
    const decoded = await collect(readBlocks(path, { common, setHardfork: false, chunkSize: 13 }));
    expect(decoded.map((d) => bytesToHex(d.block.hash()))).toEqual(blocks.map((b) => bytesToHex(b.hash())));
  });

  it('reads an empty file as no blocks', async () => {
    expect(await collect(readRlpItems(await file('empty.rlp', new Uint8Array())))).toEqual([]);
  });

  it('reports a block cut short, with where it starts', async () => {
    const whole = concatBytes(...encoded);
    const path = await file('cut.rlp', whole.subarray(0, whole.length - 5));
    const offset = encoded[0]!.length + encoded[1]!.length;
    await expect(collect(readRlpItems(path, 16))).rejects.toThrow(
      `truncated file: an RLP item of ${encoded[2]!.length} bytes starts at byte ${offset} but only ${encoded[2]!.length - 5} bytes remain`,
    );
    // Cut inside a long-form length prefix: the length itself is incomplete.
    const prefixOnly = await file('prefix.rlp', concatBytes(encoded[0]!, encoded[1]!.subarray(0, 2)));
    await expect(collect(readRlpItems(prefixOnly))).rejects.toThrow(
      /truncated file: an RLP length prefix starts at byte/,
    );
  });

  it('refuses data that is not a list of blocks', async () => {
    const path = await file('string.rlp', concatBytes(encoded[0]!, RLP.encode(new Uint8Array(40))));
    await expect(collect(readRlpItems(path))).rejects.toThrow(
      `byte ${encoded[0]!.length}: expected an RLP list (a block), found prefix 0xa8`,
    );
  });

  it('names the block it cannot decode', async () => {
    const header = blocks[1]!.header.raw();
    header[3] = new Uint8Array(31); // a state root one byte short
    const path = await file('bad.rlp', concatBytes(encoded[0]!, RLP.encode([header, [], [], []])));
    await expect(collect(readBlocks(path, { common, setHardfork: false }))).rejects.toThrow(
      `cannot decode block 2 (byte ${encoded[0]!.length}): stateRoot must be 32 bytes, received 31 bytes`,
    );
  });
});
