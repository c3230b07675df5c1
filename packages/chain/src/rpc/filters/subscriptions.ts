import type { Block } from '@ethereumjs/block';
import type { Chain, CommittedBlock } from '../../chain.ts';
import type { Mempool } from '../../mempool/mempool.ts';
import type { PoolTx } from '../../mempool/pool-tx.ts';
import type { RequestContext } from '../dispatcher.ts';
import { RpcError, RpcErrorCode } from '../errors.ts';
import { formatBlock, formatTransaction } from '../format.ts';
import type { Hex } from '../hex.ts';
import { randomId } from './filter-registry.ts';
import type { LiveLogFilter } from './log-filter.ts';
import { formatLocatedLog, liveLogs } from './log-filter.ts';

export type Connection = NonNullable<RequestContext['connection']>;

export type SubscriptionKind =
  | { kind: 'newHeads' }
  | { kind: 'logs'; filter: LiveLogFilter }
  | { kind: 'newPendingTransactions'; full: boolean };

type Subscription = SubscriptionKind & { id: Hex; connection: Connection };

/** Subscriptions one WebSocket connection may hold; each costs work on every block. */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000;

// geth's header JSON is the block's minus what only a full block has.
const BODY_FIELDS = ['transactions', 'uncles', 'size', 'withdrawals'];

export function formatHeader(block: Block): Record<string, unknown> {
  const fields = formatBlock(block, 'hashes');
  for (const name of BODY_FIELDS) delete fields[name];
  return fields;
}

/**
 * eth_subscribe over WebSocket: pushes new heads, matching logs and pool arrivals to the
 * connection that asked, until it unsubscribes or goes away. Listens to the chain and mempool only
 * while some subscription exists.
 */
export class SubscriptionManager {
  private readonly subscriptions = new Map<Hex, Subscription>();
  /** Per connection, its subscriptions; the entry lives as long as the connection, so onClose is hooked once. */
  private readonly connections = new Map<number, Set<Hex>>();
  private listening = false;

  constructor(
    private readonly chainEvents: Chain['events'],
    private readonly mempoolEvents: Mempool['events'],
    private readonly maxPerConnection = MAX_SUBSCRIPTIONS_PER_CONNECTION,
  ) {}

  get size(): number {
    return this.subscriptions.size;
  }

  subscribe(connection: Connection, what: SubscriptionKind): Hex {
    let owned = this.connections.get(connection.id);
    if (!owned) {
      const set = new Set<Hex>();
      owned = set;
      this.connections.set(connection.id, set);
      connection.onClose(() => {
        for (const id of set) this.subscriptions.delete(id);
        this.connections.delete(connection.id);
        this.updateListeners();
      });
    }
    if (owned.size >= this.maxPerConnection) {
      throw new RpcError(
        RpcErrorCode.limitExceeded,
        `too many subscriptions on this connection, at most ${this.maxPerConnection}`,
      );
    }
    const id = randomId();
    this.subscriptions.set(id, { ...what, id, connection });
    owned.add(id);
    this.updateListeners();
    return id;
  }

  /** Subscriptions belong to their connection: another connection cannot cancel them. */
  unsubscribe(connection: Connection | undefined, id: Hex): boolean {
    const owned = connection && this.connections.get(connection.id);
    if (!owned?.delete(id)) return false;
    this.subscriptions.delete(id);
    this.updateListeners();
    return true;
  }

  /** Drops every subscription and detaches from the chain (node shutdown, tests). */
  clear(): void {
    this.subscriptions.clear();
    for (const owned of this.connections.values()) owned.clear();
    this.updateListeners();
  }

  private updateListeners(): void {
    const wanted = this.subscriptions.size > 0;
    if (wanted === this.listening) return;
    this.listening = wanted;
    if (wanted) {
      this.chainEvents.on('block', this.onBlock);
      this.mempoolEvents.on('added', this.onPending);
    } else {
      this.chainEvents.off('block', this.onBlock);
      this.mempoolEvents.off('added', this.onPending);
    }
  }

  // These run inside the chain's commit and the mempool's add: a delivery that throws must not fail
  // them, so it ends its own subscription instead.
  private readonly onBlock = ({ block, receipts }: CommittedBlock): void => {
    let header: Record<string, unknown> | undefined;
    this.deliver((sub) => {
      if (sub.kind === 'newHeads') {
        header ??= formatHeader(block);
        notify(sub, header);
      } else if (sub.kind === 'logs') {
        // One notification per log, as geth sends them.
        for (const log of liveLogs(sub.filter, block, receipts)) notify(sub, formatLocatedLog(log));
      }
    });
  };

  private readonly onPending = (ptx: PoolTx): void => {
    let full: Record<string, unknown> | undefined;
    this.deliver((sub) => {
      if (sub.kind !== 'newPendingTransactions') return;
      if (sub.full) notify(sub, (full ??= formatTransaction(ptx.tx)));
      else notify(sub, ptx.hash);
    });
  };

  private deliver(fn: (sub: Subscription) => void): void {
    for (const sub of [...this.subscriptions.values()]) {
      try {
        fn(sub);
      } catch {
        this.unsubscribe(sub.connection, sub.id);
      }
    }
  }
}

function notify(sub: Subscription, result: unknown): void {
  sub.connection.notify({
    jsonrpc: '2.0',
    method: 'eth_subscription',
    params: { subscription: sub.id, result },
  });
}
