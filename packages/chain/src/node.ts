import type { Block } from '@ethereumjs/block';
import type { MerkleStateManager } from '@ethereumjs/statemanager';
import type { Address } from '@ethereumjs/util';
import { hexToBytes } from '@ethereumjs/util';
import type { Logger } from 'pino';
import { Chain } from './chain.ts';
import { decodeRawTransaction } from './execution/tx-admission.ts';
import type { GethGenesis } from './genesis/geth-genesis.ts';
import { TxPoolError } from './mempool/errors.ts';
import { Mempool } from './mempool/mempool.ts';
import type { MempoolLimits } from './mempool/mempool.ts';
import { RpcError, RpcErrorCode, serverError } from './rpc/errors.ts';
import type { Hex } from './rpc/hex.ts';
import { data } from './rpc/hex.ts';
import type { BlockRef } from './rpc/params.ts';

export interface NodeOptions {
  dataDir: string;
  genesis: GethGenesis;
  log: Logger;
  mempoolLimits?: MempoolLimits;
}

/**
 * A running chain node without its transports: the chain, the mempool, and the queries JSON-RPC
 * methods are built on. Transports (RpcServer) and block producers (DevMiner) attach to it.
 */
export class Node {
  private tipStateCache: { block: Block; state: MerkleStateManager } | undefined;

  private constructor(
    readonly chain: Chain,
    readonly mempool: Mempool,
    readonly log: Logger,
  ) {
    // The pool follows the tip, so a block executing while the previous one syncs never redoes its work.
    chain.events.on('executed', ({ block }) => mempool.onBlockTransactions(block.transactions));
    chain.events.on('rewind', () => mempool.clear());
  }

  static async open(options: NodeOptions): Promise<Node> {
    const chain = await Chain.open(options.dataDir, options.genesis);
    return new Node(chain, new Mempool(options.mempoolLimits), options.log);
  }

  get common() {
    return this.chain.common;
  }

  /** The block a tag or number names; throws geth's "header not found" when there is none. */
  async resolveBlock(ref: BlockRef | undefined): Promise<Block> {
    const block = await this.findBlock(ref);
    if (!block) throw serverError('header not found');
    return block;
  }

  async findBlock(ref: BlockRef | undefined): Promise<Block | undefined> {
    if (ref === undefined) return this.chain.head;
    if ('tag' in ref) {
      if (ref.tag === 'earliest') return this.chain.store.getBlockByNumber(0n);
      // The tip: executed, and on disk within milliseconds; what the next transaction builds on.
      if (ref.tag === 'pending') return this.chain.tip;
      return this.chain.head;
    }
    if ('number' in ref) return this.chain.store.getBlockByNumber(ref.number);
    const block = await this.chain.store.getBlock(hexToBytes(ref.hash));
    if (!block) return undefined;
    if (ref.requireCanonical) {
      const canonical = await this.chain.store.getCanonicalHash(block.header.number);
      if (!canonical || data(canonical) !== ref.hash) {
        throw new RpcError(RpcErrorCode.server, `hash ${ref.hash} is not currently canonical`);
      }
    }
    return block;
  }

  /** State after `block`; the tip's is cached until the tip moves, since admission reads it per transaction. */
  stateAt(block: Block): MerkleStateManager {
    if (block !== this.chain.tip) return this.chain.stateAt(block);
    if (this.tipStateCache?.block !== block) this.tipStateCache = { block, state: this.chain.stateAt(block) };
    return this.tipStateCache.state;
  }

  async accountAt(address: Address, block: Block): Promise<{ nonce: bigint; balance: bigint }> {
    const account = await this.stateAt(block).getAccount(address);
    return { nonce: account?.nonce ?? 0n, balance: account?.balance ?? 0n };
  }

  /** Validates and pools a signed transaction; the hash is returned before it is mined. */
  async sendRawTransaction(raw: Uint8Array, senderPublicKey?: Uint8Array): Promise<Hex> {
    // Admission checks against the tip: a block still being written already used its nonces.
    const head = this.chain.tip;
    try {
      const tx = decodeRawTransaction(raw, this.common, head, senderPublicKey);
      const account = await this.accountAt(tx.getSenderAddress(), head);
      return this.mempool.add(tx, account, head.header.calcNextBaseFee()).hash;
    } catch (error) {
      if (error instanceof TxPoolError) throw serverError(error.message);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.chain.close();
  }
}
