import { datanetRegistryAbi } from '@openledger/sdk';
import type { Hash } from '../hash.ts';
import type { DataPlane } from '../service/data-plane.ts';
import { materializeVersion, refreshLocal, type PublishedVersion } from './materialize-version.ts';
import { VersionStore, type MaterializedVersion } from './version-store.ts';

/** The node's widest eth_getLogs range (packages/chain `MAX_BLOCK_RANGE`). */
export const DEFAULT_MAX_BLOCK_RANGE = 10_000n;

export interface VersionFollowerOptions {
  /** Where materialised versions go (default: the plane's `<dataDir>/versions`). */
  store?: VersionStore;
  /** First block to scan when no cursor is stored yet (default 0). */
  fromBlock?: bigint;
  /** Between polls when started with `start()` (default 2000 ms). */
  pollIntervalMs?: number;
  /** Blocks per eth_getLogs request (default 10,000, the node's cap). */
  maxBlockRange?: bigint;
  /** Follow only these Datanets (default: every Datanet). */
  datanets?: readonly (bigint | string)[];
  /** Called with each version materialised (new, or re-materialised after it became complete). */
  onVersion?: (version: MaterializedVersion) => void;
  /** Called when a background poll fails (the next poll retries from the stored cursor). */
  onError?: (error: unknown) => void;
}

export interface PollResult {
  /** Versions materialised in this poll, in event order (then re-checked incomplete ones). */
  versions: MaterializedVersion[];
  /** The block the cursor now stands at. */
  cursor: bigint;
}

/**
 * Follows DatanetRegistry's `VersionPublished` events and materialises every new version into the
 * VersionStore. The cursor (last block fully processed) is persisted after each block range, and
 * materialising is idempotent, so a crash or restart at any point replays at most one range and
 * ends in the same state. Versions left `incomplete` (contributions not stored here) are
 * re-materialised on every poll, so they complete once the rows arrive.
 */
export class VersionFollower {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PollResult> | undefined;
  private stopped = true;

  private constructor(
    readonly plane: DataPlane,
    readonly store: VersionStore,
    private readonly options: VersionFollowerOptions,
  ) {}

  static async open(plane: DataPlane, options: VersionFollowerOptions = {}): Promise<VersionFollower> {
    const store = options.store ?? (await VersionStore.forPlane(plane));
    return new VersionFollower(plane, store, options);
  }

  /** One pass: every event from the cursor to the head, then the incomplete versions. Polls never overlap. */
  poll(): Promise<PollResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Polls every `pollIntervalMs` until `stop()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      try {
        await this.poll();
      } catch (error) {
        this.options.onError?.(error);
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.options.pollIntervalMs ?? 2_000);
    };
    void tick();
  }

  /** Stops polling and waits for a poll in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async pass(): Promise<PollResult> {
    const client = this.plane.chain.publicClient;
    const registry = this.plane.chain.contracts.datanets.address;
    const range = this.options.maxBlockRange ?? DEFAULT_MAX_BLOCK_RANGE;
    const filter = this.options.datanets?.map((d) => BigInt(d));
    const head = await client.getBlockNumber();
    const stored = await this.store.cursor();
    let from = stored === undefined ? (this.options.fromBlock ?? 0n) : stored + 1n;
    const versions: MaterializedVersion[] = [];
    while (from <= head) {
      const to = from + range - 1n < head ? from + range - 1n : head;
      const logs = await client.getContractEvents({
        address: registry,
        abi: datanetRegistryAbi,
        eventName: 'VersionPublished',
        fromBlock: from,
        toBlock: to,
        ...(filter && { args: { datanetId: filter } }),
        strict: true,
      });
      logs.sort((a, b) =>
        a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
      );
      for (const log of logs) {
        const published: PublishedVersion = {
          datanetId: log.args.datanetId,
          version: log.args.version,
          root: log.args.root as Hash,
          rowCount: log.args.rowCount,
          byteSize: log.args.byteSize,
          contributions: log.args.contributions,
          blockNumber: log.blockNumber,
          blockHash: log.blockHash as Hash,
          transactionHash: log.transactionHash as Hash,
        };
        const version = await materializeVersion(this.plane, published);
        await this.store.put(version);
        versions.push(version);
        this.options.onVersion?.(version);
      }
      await this.store.setCursor(to);
      from = to + 1n;
    }

    const seen = new Set(versions.map((v) => `${v.datanetId}/${v.version}`));
    for (const summary of await this.store.incomplete()) {
      if (seen.has(`${summary.datanetId}/${summary.version}`)) continue;
      if (filter && !filter.includes(BigInt(summary.datanetId))) continue;
      const previous = await this.store.get(summary.datanetId, summary.version);
      if (!previous) continue;
      // The chain side was verified when it was first materialised: only the local rows can have changed.
      const version = await refreshLocal(this.plane, previous);
      if (version === previous) continue;
      await this.store.put(version);
      versions.push(version);
      this.options.onVersion?.(version);
    }
    return { versions, cursor: (await this.store.cursor()) ?? from - 1n };
  }
}
