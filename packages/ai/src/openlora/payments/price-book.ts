/**
 * Model prices and status from ModelRegistry, cached for a few seconds (a request should not wait
 * on three RPC calls) and dropped as soon as PriceChanged or ModelRetired is seen, so a new price or
 * a retirement applies within one event poll rather than one cache lifetime.
 */
import type { Connection } from '@openledger/sdk';

/** What the registry says about a model. */
export interface ModelTerms {
  modelId: bigint;
  exists: boolean;
  /** Registered and not retired: may be served. */
  active: boolean;
  /** Wei per 1,000 tokens (0 for an unknown model). */
  pricePer1kTokens: bigint;
}

export interface PriceBookOptions {
  /** How long terms are reused, in ms (default 5,000). */
  ttlMs?: number;
  /** Poll interval of the PriceChanged/ModelRetired watch, in ms (default 1,000); 0 disables the watch. */
  watchIntervalMs?: number;
}

export class PriceBook {
  private readonly cache = new Map<bigint, { terms: Promise<ModelTerms>; at: number }>();
  private readonly ttlMs: number;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly conn: Connection,
    options: PriceBookOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5_000;
    const interval = options.watchIntervalMs ?? 1_000;
    if (interval > 0) this.watch(interval);
  }

  /** The model's terms, from the cache when fresh. */
  terms(modelId: bigint): Promise<ModelTerms> {
    const hit = this.cache.get(modelId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.terms;
    const terms = this.read(modelId);
    this.cache.set(modelId, { terms, at: Date.now() });
    // A failed read must not be served from the cache.
    terms.catch(() => this.cache.delete(modelId));
    return terms;
  }

  /** Forgets one model's terms (all when undefined). */
  invalidate(modelId?: bigint): void {
    if (modelId === undefined) this.cache.clear();
    else this.cache.delete(modelId);
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async read(modelId: bigint): Promise<ModelTerms> {
    const { models } = this.conn.contracts;
    if (!(await models.read.exists([modelId])))
      return { modelId, exists: false, active: false, pricePer1kTokens: 0n };
    const [active, pricePer1kTokens] = await Promise.all([
      models.read.isActive([modelId]),
      models.read.pricePer1kTokens([modelId]),
    ]);
    return { modelId, exists: true, active, pricePer1kTokens };
  }

  private watch(pollingInterval: number): void {
    const { models } = this.conn.contracts;
    const stops = (['PriceChanged', 'ModelRetired'] as const).map((eventName) =>
      this.conn.publicClient.watchContractEvent({
        address: models.address,
        abi: models.abi,
        eventName,
        pollingInterval,
        onLogs: (logs) => {
          for (const log of logs) {
            const modelId = (log.args as { modelId?: bigint }).modelId;
            this.invalidate(modelId);
          }
        },
        // A failed poll only delays invalidation until the cache expires; the next poll retries.
        onError: () => undefined,
      }),
    );
    this.unwatch = () => stops.forEach((stop) => stop());
  }
}
