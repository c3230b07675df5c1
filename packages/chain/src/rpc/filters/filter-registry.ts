import { randomBytes } from 'node:crypto';
import type { Chain, CommittedBlock } from '../../chain.ts';
import type { Mempool } from '../../mempool/mempool.ts';
import type { PoolTx } from '../../mempool/pool-tx.ts';
import { RpcError, RpcErrorCode, serverError } from '../errors.ts';
import { formatTransaction } from '../format.ts';
import type { Hex } from '../hex.ts';
import { data } from '../hex.ts';
import type { LiveLogFilter, LocatedLog, LogFilterSpec } from './log-filter.ts';
import { formatLocatedLog, liveLogs } from './log-filter.ts';

export interface FilterLimits {
  /** Filters installed at once, across all clients. */
  maxFilters: number;
  /** Changes one filter holds between polls; past it the oldest are dropped. */
  maxChanges: number;
  /** A filter not polled for this long is removed (geth's deadline: 5 minutes). */
  timeoutMs: number;
}

export const DEFAULT_FILTER_LIMITS: FilterLimits = {
  maxFilters: 1000,
  maxChanges: 10_000,
  timeoutMs: 5 * 60_000,
};

/** A log filter keeps what it was installed with: eth_getFilterLogs reruns it as a range query. */
export interface InstalledLogFilter<S extends LogFilterSpec = LogFilterSpec> {
  kind: 'logs';
  spec: S;
  live: LiveLogFilter;
  changes: LocatedLog[];
  polled: number;
}

type InstalledFilter<S extends LogFilterSpec> =
  | InstalledLogFilter<S>
  | { kind: 'blocks'; changes: Hex[]; polled: number }
  | { kind: 'pendingTransactions'; full: boolean; changes: PoolTx[]; polled: number };

/** geth's rpc.NewID: 16 random bytes as a hex quantity (leading zeros trimmed). */
export function randomId(): Hex {
  return `0x${randomBytes(16).toString('hex').replace(/^0+/, '') || '0'}`;
}

export const filterNotFound = () => serverError('filter not found');

/**
 * Poll filters (eth_newFilter and friends): what happened since a client last asked, queued per
 * filter. Listens to the chain and mempool only while some filter is installed, and forgets
 * filters their clients stopped polling, so abandoned filters cannot pile up.
 */
export class FilterRegistry<S extends LogFilterSpec = LogFilterSpec> {
  private readonly filters = new Map<Hex, InstalledFilter<S>>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly chainEvents: Chain['events'],
    private readonly mempoolEvents: Mempool['events'],
    private readonly limits: FilterLimits = DEFAULT_FILTER_LIMITS,
  ) {}

  get size(): number {
    return this.filters.size;
  }

  installLogs(spec: S, live: LiveLogFilter): Hex {
    return this.install({ kind: 'logs', spec, live, changes: [], polled: Date.now() });
  }

  installBlocks(): Hex {
    return this.install({ kind: 'blocks', changes: [], polled: Date.now() });
  }

  installPendingTransactions(full: boolean): Hex {
    return this.install({ kind: 'pendingTransactions', full, changes: [], polled: Date.now() });
  }

  /** Everything queued since the last poll, formatted; throws geth's "filter not found". */
  takeChanges(id: Hex): unknown[] {
    const filter = this.lookup(id);
    switch (filter.kind) {
      case 'logs':
        return take(filter).map(formatLocatedLog);
      case 'blocks':
        return take(filter);
      case 'pendingTransactions':
        return take(filter).map((ptx) => (filter.full ? formatTransaction(ptx.tx) : ptx.hash));
    }
  }

  /** The log filter `id`, counting as a poll; block and transaction filters are "not found", as in geth. */
  logFilter(id: Hex): InstalledLogFilter<S> {
    const filter = this.lookup(id);
    if (filter.kind !== 'logs') throw filterNotFound();
    return filter;
  }

  uninstall(id: Hex): boolean {
    const found = this.filters.delete(id);
    if (found && this.filters.size === 0) this.stop();
    return found;
  }

  /** Drops every filter and detaches from the chain (node shutdown, tests). */
  clear(): void {
    this.filters.clear();
    this.stop();
  }

  private install(filter: InstalledFilter<S>): Hex {
    this.sweep();
    if (this.filters.size >= this.limits.maxFilters) {
      throw new RpcError(
        RpcErrorCode.limitExceeded,
        `too many filters installed, at most ${this.limits.maxFilters}`,
      );
    }
    if (this.filters.size === 0) this.start();
    const id = randomId();
    this.filters.set(id, filter);
    return id;
  }

  private lookup(id: Hex): InstalledFilter<S> {
    const filter = this.filters.get(id);
    if (!filter || this.expired(filter, Date.now())) {
      if (filter) this.uninstall(id);
      throw filterNotFound();
    }
    filter.polled = Date.now();
    return filter;
  }

  private expired(filter: InstalledFilter<S>, now: number): boolean {
    return now - filter.polled >= this.limits.timeoutMs;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, filter] of this.filters) if (this.expired(filter, now)) this.uninstall(id);
  }

  private start(): void {
    this.chainEvents.on('block', this.onBlock);
    this.mempoolEvents.on('added', this.onPending);
    // The sweep only frees memory; it must never keep the process alive on its own.
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.limits.timeoutMs, 60_000)).unref();
  }

  private stop(): void {
    this.chainEvents.off('block', this.onBlock);
    this.mempoolEvents.off('added', this.onPending);
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private readonly onBlock = ({ block, receipts }: CommittedBlock): void => {
    const hash = data(block.hash());
    for (const filter of this.filters.values()) {
      if (filter.kind === 'logs') this.enqueue(filter, liveLogs(filter.live, block, receipts));
      else if (filter.kind === 'blocks') this.enqueue(filter, [hash]);
    }
  };

  private readonly onPending = (ptx: PoolTx): void => {
    for (const filter of this.filters.values()) {
      if (filter.kind === 'pendingTransactions') this.enqueue(filter, [ptx]);
    }
  };

  /** Appends, keeping only the newest `maxChanges`: a client that stops reading loses the oldest. */
  private enqueue<T>(filter: { changes: T[] }, items: T[]): void {
    const max = this.limits.maxChanges;
    if (items.length >= max) {
      filter.changes = items.slice(items.length - max);
      return;
    }
    for (const item of items) filter.changes.push(item);
    const excess = filter.changes.length - max;
    if (excess > 0) filter.changes.splice(0, excess);
  }
}

function take<T>(filter: { changes: T[] }): T[] {
  const taken = filter.changes;
  filter.changes = [];
  return taken;
}
