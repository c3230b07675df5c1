import type { Block } from '@ethereumjs/block';
import { createBlockFromRLP } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, bytesToInt, intToBytes } from '@ethereumjs/util';
import type { Database, KeyValueBatchOp } from './database.ts';
import { keys } from './keys.ts';
import { LruCache } from './lru-cache.ts';
import type { StoredReceipt } from './receipt-codec.ts';
import { decodeReceipts, encodeReceipts } from './receipt-codec.ts';

export interface TxLocation {
  blockHash: Uint8Array;
  index: number;
}

const HEAD = keys.meta('head');

/** Blocks, receipts and indexes on disk, with the canonical chain and its head. */
export class ChainStore {
  private readonly blocks = new LruCache<string, Block>(256);
  private readonly receipts = new LruCache<string, StoredReceipt[]>(256);

  constructor(
    private readonly db: Database,
    private readonly common: Common,
    // Chains whose rules change at a block or timestamp need each block decoded under its own fork.
    private readonly forkAware: boolean,
  ) {}

  async getHeadHash(): Promise<Uint8Array | undefined> {
    return this.db.get(HEAD);
  }

  async getCanonicalHash(number: bigint): Promise<Uint8Array | undefined> {
    return this.db.get(keys.canonical(number));
  }

  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    const id = bytesToHex(hash);
    const cached = this.blocks.get(id);
    if (cached) return cached;
    const bytes = await this.db.get(keys.block(hash));
    if (!bytes) return undefined;
    const block = createBlockFromRLP(bytes, { common: this.common, setHardfork: this.forkAware });
    this.blocks.set(id, block);
    return block;
  }

  async getBlockByNumber(number: bigint): Promise<Block | undefined> {
    const hash = await this.getCanonicalHash(number);
    return hash ? this.getBlock(hash) : undefined;
  }

  async getReceipts(blockHash: Uint8Array): Promise<StoredReceipt[] | undefined> {
    const id = bytesToHex(blockHash);
    const cached = this.receipts.get(id);
    if (cached) return cached;
    const bytes = await this.db.get(keys.receipts(blockHash));
    if (!bytes) return undefined;
    const receipts = decodeReceipts(bytes);
    this.receipts.set(id, receipts);
    return receipts;
  }

  async getTxLocation(txHash: Uint8Array): Promise<TxLocation | undefined> {
    const bytes = await this.db.get(keys.txLookup(txHash));
    if (!bytes) return undefined;
    const [blockHash, index] = RLP.decode(bytes) as Uint8Array[];
    return { blockHash: blockHash!, index: index!.length === 0 ? 0 : bytesToInt(index!) };
  }

  /**
   * Makes `block` the new canonical head, together with `extra` (the trie nodes of its state), in one
   * synced batch: when this resolves the block survives kill -9 and power loss alike.
   */
  async commitBlock(block: Block, receipts: StoredReceipt[], extra: KeyValueBatchOp[] = []): Promise<void> {
    const hash = block.hash();
    const ops: KeyValueBatchOp[] = [...extra];
    ops.push({ type: 'put', key: keys.block(hash), value: block.serialize() });
    ops.push({ type: 'put', key: keys.receipts(hash), value: encodeReceipts(receipts) });
    block.transactions.forEach((tx, index) => {
      ops.push({ type: 'put', key: keys.txLookup(tx.hash()), value: RLP.encode([hash, intToBytes(index)]) });
    });
    ops.push({ type: 'put', key: keys.canonical(block.header.number), value: hash });
    ops.push({ type: 'put', key: HEAD, value: hash });
    await this.db.write(ops);
    this.blocks.set(bytesToHex(hash), block);
    this.receipts.set(bytesToHex(hash), receipts);
  }

  /** Drops canonical blocks above `target` (the devnet's evm_revert); their bodies stay, unindexed. */
  async rewindTo(target: Block, currentHead: bigint): Promise<void> {
    const ops: KeyValueBatchOp[] = [];
    for (let n = currentHead; n > target.header.number; n--) {
      const block = await this.getBlockByNumber(n);
      if (!block) continue;
      for (const tx of block.transactions) ops.push({ type: 'del', key: keys.txLookup(tx.hash()) });
      ops.push({ type: 'del', key: keys.canonical(n) });
    }
    ops.push({ type: 'put', key: HEAD, value: target.hash() });
    await this.db.write(ops);
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    return this.db.get(keys.meta(name));
  }
}
