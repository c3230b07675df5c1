import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Block } from '@ethereumjs/block';
import { Block as BlockClass, createBlock, createBlockHeader, genRequestsRoot } from '@ethereumjs/block';
import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { Caches, MerkleStateManager } from '@ethereumjs/statemanager';
import type { TypedTransaction } from '@ethereumjs/tx';
import type { Address, DB } from '@ethereumjs/util';
import { KECCAK256_RLP, ValueEncoding, bytesToHex, equalsBytes } from '@ethereumjs/util';
import type { RunTxResult, VM } from '@ethereumjs/vm';
import { Bloom, createVM, encodeReceipt, runBlock, runTx } from '@ethereumjs/vm';
import type { ChainConfig } from './config/chain-config.ts';
import { createChainConfig } from './config/chain-config.ts';
import { keccak256, sha256 } from './crypto/native.ts';
import { keys } from './storage/keys.ts';
import { applyPreBlockSystemCalls, collectRequests } from './execution/system-calls.ts';
import { orderedTrieRoot } from './execution/ordered-trie-root.ts';
import type { TxSelection } from './execution/tx-selection.ts';
import { createGenesisBlock, writeGenesisState } from './genesis/genesis-block.ts';
import { validateBlock } from './import/header-validation.ts';
import type { GethGenesis } from './genesis/geth-genesis.ts';
import { ChainStore } from './storage/chain-store.ts';
import { Database } from './storage/database.ts';
import type { StoredReceipt } from './storage/receipt-codec.ts';
import { TrieStore } from './storage/trie-store.ts';

export interface CommittedBlock {
  block: Block;
  receipts: StoredReceipt[];
}

export interface BlockTemplate {
  timestamp: bigint;
  coinbase: Address;
  gasLimit?: bigint;
  extraData?: Uint8Array;
  /** prevRandao; defaults to a hash of the parent, so it is deterministic but not constant. */
  mixHash?: Uint8Array;
}

/** What to build on a given parent: the transactions to draw from and the header template. */
export type BlockPlan = (parent: Block) => { selection: TxSelection; template: BlockTemplate };

export interface ExecutedBlock {
  committed: CommittedBlock;
  /** Resolves once the block is on disk and is the head readers see. */
  durable: Promise<CommittedBlock>;
}

interface ChainEvents {
  /** A block was executed on top of the tip; it is not durable yet. */
  executed: [CommittedBlock];
  /** A block is on disk and is the head. */
  block: [CommittedBlock];
  rewind: [Block];
}

const GENESIS_META = 'genesis';

/**
 * The chain: canonical blocks on disk, the world state at the head, and the only code that moves
 * the head. Mutations run through `exclusive`, one at a time. Block production is pipelined: the
 * next block executes on the tip while the previous one is being synced to disk, and readers see
 * a block (the head) only once it is durable.
 */
export class Chain {
  readonly events = new EventEmitter<ChainEvents>();
  private queue: Promise<unknown> = Promise.resolve();
  /** The last executed block, possibly not durable yet: what the next block builds on. */
  private tipBlock: Block;
  /** Block writes, in order; each starts when the previous one is on disk. */
  private persisting: Promise<void> = Promise.resolve();
  /** Set when a block could not be written: the in-memory state is ahead of the disk for good. */
  private failure: Error | undefined;

  private constructor(
    readonly config: ChainConfig,
    readonly store: ChainStore,
    private readonly db: Database,
    private readonly trie: TrieStore,
    private readonly vm: VM,
    private headBlock: Block,
  ) {
    this.tipBlock = headBlock;
  }

  static async open(dataDir: string, genesis: GethGenesis): Promise<Chain> {
    const config = createChainConfig(genesis);
    const db = await Database.open(join(dataDir, 'chaindata'));
    try {
      const store = new ChainStore(db, config.common, config.forkAware);
      const trie = new TrieStore(db);
      const state = new MerkleStateManager({
        trie: new MerklePatriciaTrie({
          db: trie,
          useKeyHashing: true,
          common: config.common,
          valueEncoding: ValueEncoding.Bytes,
        }),
        common: config.common,
        caches: new Caches(),
      });
      const spec = new TextEncoder().encode(JSON.stringify(genesis));
      const headHash = await store.getHeadHash();
      let head: Block;
      if (headHash === undefined) {
        const root = await writeGenesisState(state, config);
        head = createGenesisBlock(config, root);
        const { ops, settle } = trie.drain();
        await db.write([...ops, { type: 'put', key: keys.meta(GENESIS_META), value: spec }]);
        settle();
        await store.commitBlock(head, []);
      } else {
        const stored = await store.getMeta(GENESIS_META);
        if (stored === undefined || !equalsBytes(stored, spec)) {
          throw new Error(
            `the data directory ${dataDir} holds a chain with a different genesis; pass --reset to wipe it or choose another --datadir`,
          );
        }
        const block = await store.getBlock(headHash);
        if (!block) throw new Error(`head block ${bytesToHex(headHash)} is missing from the database`);
        head = block;
        await state.setStateRoot(head.header.stateRoot);
      }
      const vm = await createVM({
        common: config.common,
        stateManager: state,
        blockchain: blockLookup(store),
      });
      return new Chain(config, store, db, trie, vm, head);
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** Opens the chain in `dataDir` under the genesis it was created with (export, inspection). */
  static async openExisting(dataDir: string): Promise<Chain> {
    const db = await Database.open(join(dataDir, 'chaindata'));
    let spec: Uint8Array | undefined;
    try {
      spec = await db.get(keys.meta(GENESIS_META));
    } finally {
      await db.close();
    }
    if (spec === undefined) throw new Error(`${dataDir} holds no chain (no genesis is recorded there)`);
    // The parsed object re-serializes to the same bytes, so open() recognizes it as this chain's.
    return Chain.open(dataDir, JSON.parse(new TextDecoder().decode(spec)) as GethGenesis);
  }

  /** The latest durable block: what every reader sees. */
  get head(): Block {
    return this.headBlock;
  }

  /** The latest executed block, ahead of the head while its write is in flight. */
  get tip(): Block {
    return this.tipBlock;
  }

  get common() {
    return this.config.common;
  }

  /** Runs `fn` after every earlier mutation has finished; mutations never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** A read-only view of the state after `block` (writes stay in memory and vanish). */
  stateAt(block: Block): MerkleStateManager {
    return new MerkleStateManager({
      trie: new MerklePatriciaTrie({
        db: this.trie.scratch() as DB<string, string | Uint8Array>,
        root: block.header.stateRoot,
        useKeyHashing: true,
        common: this.config.common,
        valueEncoding: ValueEncoding.Bytes,
      }),
      common: this.config.common,
      caches: new Caches(),
    });
  }

  /** A VM over a scratch copy of the state after `block`, for calls, estimates and traces. */
  async vmAt(block: Block): Promise<VM> {
    const common = this.config.common.copy();
    if (this.config.forkAware)
      common.setHardforkBy({ blockNumber: block.header.number + 1n, timestamp: block.header.timestamp });
    return createVM({ common, stateManager: this.stateAt(block), blockchain: blockLookup(this.store) });
  }

  /** Builds, executes and commits the next block; resolves once it is durable. */
  async produceBlock(plan: BlockPlan): Promise<CommittedBlock> {
    return (await this.executeBlock(plan)).durable;
  }

  /**
   * Builds the next block on the tip and executes it; resolves as soon as it is executed, with
   * the promise of its durability, so the caller may execute the next one meanwhile.
   */
  executeBlock(plan: BlockPlan): Promise<ExecutedBlock> {
    return this.exclusive(async () => {
      if (this.failure) throw this.failure;
      const parent = this.tipBlock;
      const { selection, template } = plan(parent);
      const common = this.config.common;
      const gasLimit = template.gasLimit ?? parent.header.gasLimit;
      const headerData = {
        parentHash: parent.hash(),
        number: parent.header.number + 1n,
        timestamp: template.timestamp,
        coinbase: template.coinbase,
        gasLimit,
        extraData: template.extraData ?? new Uint8Array(),
        mixHash: template.mixHash ?? keccak256(parent.hash()),
        difficulty: 0n,
        baseFeePerGas: parent.header.calcNextBaseFee(),
        ...(common.isActivatedEIP(4844) && {
          excessBlobGas: parent.header.calcNextExcessBlobGas(common),
          blobGasUsed: 0n,
        }),
        ...(common.isActivatedEIP(4788) && { parentBeaconBlockRoot: new Uint8Array(32) }),
      };
      const context = createBlock({ header: headerData }, { common });
      const vm = this.vm;
      const txs: TypedTransaction[] = [];
      const results: RunTxResult[] = [];
      let gasUsed = 0n;
      let requestsHash: Uint8Array | undefined;
      await vm.evm.journal.checkpoint();
      try {
        await applyPreBlockSystemCalls(vm, headerData);
        for (let tx = selection.peek(); tx !== undefined; tx = selection.peek()) {
          if (gasUsed + tx.gasLimit > gasLimit) {
            selection.defer();
            continue;
          }
          let result: RunTxResult;
          try {
            result = await runTx(vm, {
              tx,
              block: context,
              blockGasUsed: gasUsed,
              skipHardForkValidation: true,
            });
          } catch (error) {
            selection.reject(error instanceof Error ? error.message : String(error));
            continue;
          }
          gasUsed += result.blockGasSpent;
          txs.push(tx);
          results.push(result);
          selection.accept();
        }
        if (common.isActivatedEIP(7685)) {
          requestsHash = genRequestsRoot(await collectRequests(vm), sha256);
        }
        await vm.evm.journal.commit();
      } catch (error) {
        await vm.evm.journal.revert();
        await this.resetState(parent);
        throw error;
      }
      const bloom = new Bloom(undefined, common);
      for (const r of results) bloom.or(r.bloom);
      const header = createBlockHeader(
        {
          ...headerData,
          stateRoot: await vm.stateManager.getStateRoot(),
          transactionsTrie: orderedTrieRoot(txs.map((tx) => tx.serialize())),
          receiptTrie: orderedTrieRoot(results.map((r, i) => encodeReceipt(r.receipt, txs[i]!.type))),
          logsBloom: bloom.bitvector,
          gasUsed,
          ...(common.isActivatedEIP(4895) && { withdrawalsRoot: KECCAK256_RLP }),
          ...(requestsHash !== undefined && { requestsHash }),
        },
        { common },
      );
      const block = new BlockClass(header, txs, [], common.isActivatedEIP(4895) ? [] : undefined, { common });
      return this.advance({ block, receipts: storedReceipts(txs, results) });
    });
  }

  /**
   * Executes an externally produced block (import, sync) under full validation: the header against
   * its parent and its body (header-validation.ts), then every header root must match what
   * executing it yields.
   */
  async importBlock(block: Block): Promise<CommittedBlock> {
    const executed = await this.exclusive(async () => {
      if (this.failure) throw this.failure;
      const parent = this.tipBlock;
      if (!equalsBytes(block.header.parentHash, parent.hash())) {
        throw new Error(`block ${block.header.number} does not extend the head ${parent.header.number}`);
      }
      validateBlock(block, parent.header);
      this.vm.common.setHardforkBy({ blockNumber: block.header.number, timestamp: block.header.timestamp });
      let result;
      try {
        result = await runBlock(this.vm, {
          block,
          clearCache: false,
          generate: false,
          skipHardForkValidation: true,
          // validateBlock above made runBlock's pre-execution checks (header and body).
          skipBlockValidation: true,
        });
      } catch (error) {
        await this.resetState(parent);
        throw error;
      }
      return this.advance({ block, receipts: storedReceipts(block.transactions, result.results) });
    });
    return executed.durable;
  }

  /** Makes `target` (an ancestor of the head) the head again, as `evm_revert` needs. */
  rewindTo(number: bigint): Promise<Block> {
    return this.exclusive(async () => {
      await this.persisting;
      if (this.failure) throw this.failure;
      const target = await this.store.getBlockByNumber(number);
      if (!target) throw new Error(`no canonical block ${number}`);
      await this.store.rewindTo(target, this.headBlock.header.number);
      await this.resetState(target);
      this.headBlock = target;
      this.tipBlock = target;
      this.events.emit('rewind', target);
      return target;
    });
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      await this.persisting;
      await this.db.close();
    });
  }

  /**
   * Makes an executed block the tip and queues its write (block, receipts, indexes and the trie
   * nodes of its state in one synced batch) behind the writes already queued.
   */
  private advance(committed: CommittedBlock): ExecutedBlock {
    const { block, receipts } = committed;
    const { ops, settle } = this.trie.drain();
    this.tipBlock = block;
    this.events.emit('executed', committed);
    const write = this.persisting.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await this.store.commitBlock(block, receipts, ops);
      } catch (error) {
        // Later blocks already executed on top of this one: only a restart from disk is consistent.
        this.failure = new Error(
          `writing block ${block.header.number} failed (${error instanceof Error ? error.message : String(error)}); restart the node`,
        );
        throw this.failure;
      } finally {
        settle();
      }
      this.headBlock = block;
      this.events.emit('block', committed);
    });
    this.persisting = write.catch(() => undefined);
    return { committed, durable: write.then(() => committed) };
  }

  /** Back to the state after `block`, dropping what a failed execution left behind. */
  private async resetState(block: Block): Promise<void> {
    this.trie.discard();
    await this.vm.stateManager.setStateRoot(block.header.stateRoot);
  }
}

function storedReceipts(txs: TypedTransaction[], results: RunTxResult[]): StoredReceipt[] {
  return txs.map((tx, i) => toStoredReceipt(tx, results[i]!));
}

function toStoredReceipt(tx: TypedTransaction, result: RunTxResult): StoredReceipt {
  const receipt = result.receipt as {
    status?: 0 | 1;
    cumulativeBlockGasUsed: bigint;
    logs: StoredReceipt['logs'];
  };
  return {
    txType: tx.type,
    status: receipt.status ?? (result.execResult.exceptionError ? 0 : 1),
    cumulativeGasUsed: receipt.cumulativeBlockGasUsed,
    logs: receipt.logs,
    from: tx.getSenderAddress().bytes,
    contractAddress: result.createdAddress?.bytes,
  };
}

function blockLookup(store: ChainStore) {
  const lookup = {
    async getBlock(number: number) {
      const block = await store.getBlockByNumber(BigInt(number));
      if (!block) throw new Error(`block ${number} not found`);
      return block;
    },
    async putBlock() {},
    shallowCopy: () => lookup,
  };
  return lookup;
}
