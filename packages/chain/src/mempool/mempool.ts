import { EventEmitter } from 'node:events';
import type { TypedTransaction } from '@ethereumjs/tx';
import type { TxSelection } from '../execution/tx-selection.ts';
import { TxPoolError } from './errors.ts';
import { Heap } from './heap.ts';
import type { PoolTx } from './pool-tx.ts';
import { effectiveTip, toPoolTx } from './pool-tx.ts';

export interface MempoolLimits {
  /** Transactions one sender may hold in the pool, executable and future together. */
  maxPerSender: number;
  /** Future (gapped) transactions one sender may hold. */
  maxQueuedPerSender: number;
  /** Transactions in the whole pool; beyond it the cheapest are evicted for better-paying ones. */
  maxTotal: number;
  /** Minimum fee increase, in percent, for a transaction to replace one with the same nonce. */
  priceBumpPercent: number;
}

export const DEFAULT_MEMPOOL_LIMITS: MempoolLimits = {
  maxPerSender: 4096,
  maxQueuedPerSender: 64,
  maxTotal: 16384,
  priceBumpPercent: 10,
};

interface SenderQueue {
  txs: Map<bigint, PoolTx>;
  /** The sender's nonce in the head state: the next transaction that can execute. */
  stateNonce: bigint;
  /** The first nonce from stateNonce on that the pool lacks: where the executable run ends. */
  next: bigint;
}

export interface SenderAccount {
  nonce: bigint;
  balance: bigint;
}

interface MempoolEvents {
  added: [PoolTx];
}

/**
 * Transactions waiting for a block: per sender in nonce order, future nonces held back until the
 * gap fills, best effective tip first when a block is built.
 */
export class Mempool {
  readonly events = new EventEmitter<MempoolEvents>();
  private readonly senders = new Map<string, SenderQueue>();
  private readonly byHash = new Map<string, PoolTx>();
  private seq = 0;

  constructor(private readonly limits: MempoolLimits = DEFAULT_MEMPOOL_LIMITS) {}

  get size(): number {
    return this.byHash.size;
  }

  get(hash: string): PoolTx | undefined {
    return this.byHash.get(hash);
  }

  /**
   * Admits `tx` given its sender's account in the head state, or throws a TxPoolError with geth's
   * wording. The sender must already be recovered and the transaction statically valid.
   */
  add(tx: TypedTransaction, account: SenderAccount, baseFee: bigint): PoolTx {
    const ptx = toPoolTx(tx, this.seq);
    if (this.byHash.has(ptx.hash)) throw new TxPoolError(`already known`);
    if (ptx.nonce < account.nonce) {
      throw new TxPoolError(`nonce too low: address ${ptx.sender}, tx: ${ptx.nonce} state: ${account.nonce}`);
    }
    const cost = tx.value + tx.gasLimit * ptx.feeCap;
    if (account.balance < cost) {
      throw new TxPoolError(
        `insufficient funds for gas * price + value: address ${ptx.sender} have ${account.balance} want ${cost}`,
      );
    }
    const existing = this.senders.get(ptx.sender)?.txs.get(ptx.nonce);
    if (existing) {
      const bump = BigInt(100 + this.limits.priceBumpPercent);
      if (ptx.feeCap * 100n < existing.feeCap * bump || ptx.tipCap * 100n < existing.tipCap * bump) {
        throw new TxPoolError('replacement transaction underpriced');
      }
      this.remove(existing);
    }
    const queue = this.queueOf(ptx.sender, account.nonce);
    if (!existing) {
      if (queue.txs.size >= this.limits.maxPerSender) {
        throw new TxPoolError(`account limit exceeded: ${ptx.sender} holds ${queue.txs.size} transactions`);
      }
      if (ptx.nonce > queue.next && this.queuedCount(queue) >= this.limits.maxQueuedPerSender) {
        throw new TxPoolError(
          `future transaction limit exceeded: ${ptx.sender} holds ${this.limits.maxQueuedPerSender} transactions with nonce gaps`,
        );
      }
      if (this.byHash.size >= this.limits.maxTotal) this.evictCheaperThan(ptx, baseFee);
    }
    this.seq++;
    queue.txs.set(ptx.nonce, ptx);
    if (ptx.nonce === queue.next) advance(queue);
    this.byHash.set(ptx.hash, ptx);
    this.events.emit('added', ptx);
    return ptx;
  }

  /** The nonce a sender's next transaction should carry: after its executable run in the pool. */
  pendingNonce(sender: string, stateNonce?: bigint): bigint {
    const queue = this.senders.get(sender);
    if (!queue) return stateNonce ?? 0n;
    if (stateNonce !== undefined) raiseStateNonce(queue, stateNonce);
    return queue.next;
  }

  /** True when some transaction can execute now (nonce in line and fee cap over the base fee). */
  hasExecutable(baseFee: bigint): boolean {
    for (const queue of this.senders.values()) {
      const next = queue.txs.get(queue.stateNonce);
      if (next && next.feeCap >= baseFee) return true;
    }
    return false;
  }

  /** Executable and future transactions per sender, in nonce order (txpool_content). */
  content(): { pending: Map<string, PoolTx[]>; queued: Map<string, PoolTx[]> } {
    const pending = new Map<string, PoolTx[]>();
    const queued = new Map<string, PoolTx[]>();
    for (const [sender, queue] of this.senders) {
      const sorted = [...queue.txs.values()].sort((a, b) => (a.nonce < b.nonce ? -1 : 1));
      let expected = queue.stateNonce;
      for (const ptx of sorted) {
        const target = ptx.nonce === expected ? pending : queued;
        if (ptx.nonce === expected) expected++;
        const list = target.get(sender) ?? [];
        list.push(ptx);
        target.set(sender, list);
      }
    }
    return { pending, queued };
  }

  /** Best-paying executable transactions first, each sender's in nonce order (see TxSelection). */
  selection(baseFee: bigint, onReject?: (ptx: PoolTx, reason: string) => void): TxSelection {
    const heap = new Heap<PoolTx>((a, b) => {
      const ta = effectiveTip(a, baseFee);
      const tb = effectiveTip(b, baseFee);
      return ta !== tb ? ta > tb : a.seq < b.seq;
    });
    const pushIfExecutable = (ptx: PoolTx | undefined) => {
      if (ptx && ptx.feeCap >= baseFee) heap.push(ptx);
    };
    for (const queue of this.senders.values()) pushIfExecutable(queue.txs.get(queue.stateNonce));
    return {
      peek: () => heap.peek()?.tx,
      accept: () => {
        const taken = heap.pop()!;
        pushIfExecutable(this.senders.get(taken.sender)?.txs.get(taken.nonce + 1n));
      },
      defer: () => void heap.pop(),
      reject: (reason) => {
        const rejected = heap.pop()!;
        this.remove(rejected);
        onReject?.(rejected, reason);
      },
    };
  }

  /** Drops what a new block included, and whatever its senders' new nonces made stale. */
  onBlockTransactions(txs: readonly TypedTransaction[]): void {
    const nextNonce = new Map<string, bigint>();
    for (const tx of txs) {
      const sender = tx.getSenderAddress().toString();
      const after = tx.nonce + 1n;
      if ((nextNonce.get(sender) ?? -1n) < after) nextNonce.set(sender, after);
    }
    for (const [sender, nonce] of nextNonce) {
      const queue = this.senders.get(sender);
      if (!queue) continue;
      raiseStateNonce(queue, nonce);
      for (const ptx of queue.txs.values()) if (ptx.nonce < nonce) this.remove(ptx);
    }
  }

  clear(): void {
    this.senders.clear();
    this.byHash.clear();
  }

  private queueOf(sender: string, stateNonce: bigint): SenderQueue {
    let queue = this.senders.get(sender);
    if (!queue) {
      queue = { txs: new Map(), stateNonce, next: stateNonce };
      this.senders.set(sender, queue);
    } else {
      raiseStateNonce(queue, stateNonce);
    }
    return queue;
  }

  private queuedCount(queue: SenderQueue): number {
    return queue.txs.size - Number(queue.next - queue.stateNonce);
  }

  private remove(ptx: PoolTx): void {
    this.byHash.delete(ptx.hash);
    const queue = this.senders.get(ptx.sender);
    if (!queue) return;
    queue.txs.delete(ptx.nonce);
    if (ptx.nonce >= queue.stateNonce && ptx.nonce < queue.next) queue.next = ptx.nonce;
    if (queue.txs.size === 0) this.senders.delete(ptx.sender);
  }

  /**
   * Makes room for `incoming` by evicting the pool's cheapest transaction (the last of its sender's
   * run, so no gap is left behind), or refuses it when nothing pays less.
   */
  private evictCheaperThan(incoming: PoolTx, baseFee: bigint): void {
    let cheapest: PoolTx | undefined;
    for (const ptx of this.byHash.values()) {
      if (ptx.sender === incoming.sender) continue;
      if (!cheapest || effectiveTip(ptx, baseFee) < effectiveTip(cheapest, baseFee)) cheapest = ptx;
    }
    if (!cheapest || effectiveTip(cheapest, baseFee) >= effectiveTip(incoming, baseFee)) {
      throw new TxPoolError('txpool is full');
    }
    const queue = this.senders.get(cheapest.sender)!;
    let last = cheapest;
    for (const ptx of queue.txs.values()) if (ptx.nonce > last.nonce) last = ptx;
    this.remove(last);
  }
}

function advance(queue: SenderQueue): void {
  while (queue.txs.has(queue.next)) queue.next++;
}

function raiseStateNonce(queue: SenderQueue, stateNonce: bigint): void {
  if (stateNonce <= queue.stateNonce) return;
  queue.stateNonce = stateNonce;
  if (queue.next < stateNonce) queue.next = stateNonce;
  advance(queue);
}
