import { createAddressFromString } from '@ethereumjs/util';
import type { Logger } from 'pino';
import type { DevAccount } from '../genesis/dev-accounts.ts';
import type { Node } from '../node.ts';
import { DevClock } from './clock.ts';
import { DevMiner } from './miner.ts';

export interface DevnetOptions {
  accounts: DevAccount[];
  /** Seconds between blocks; 0 mines as soon as transactions are executable. */
  blockTime: number;
  coinbase?: string;
}

interface Snapshot {
  blockNumber: bigint;
  clock: ReturnType<DevClock['snapshot']>;
}

/** What a single-validator development chain adds to a node: its miner, clock, keys and snapshots. */
export class Devnet {
  readonly clock = new DevClock();
  readonly miner: DevMiner;
  private readonly keys = new Map<string, Uint8Array>();
  private readonly snapshots = new Map<number, Snapshot>();
  private nextSnapshotId = 1;

  constructor(
    readonly node: Node,
    readonly options: DevnetOptions,
    log: Logger,
  ) {
    for (const account of options.accounts) this.keys.set(account.address.toLowerCase(), account.privateKey);
    const coinbase = createAddressFromString(
      options.coinbase ?? options.accounts[0]?.address ?? `0x${'00'.repeat(20)}`,
    );
    this.miner = new DevMiner(
      node.chain,
      node.mempool,
      this.clock,
      coinbase,
      options.blockTime,
      log.child({ module: 'miner' }),
    );
  }

  get addresses(): string[] {
    return this.options.accounts.map((a) => a.address.toLowerCase());
  }

  keyOf(address: string): Uint8Array | undefined {
    return this.keys.get(address.toLowerCase());
  }

  start(): void {
    this.miner.start();
  }

  async stop(): Promise<void> {
    await this.miner.stop();
  }

  snapshot(): number {
    const id = this.nextSnapshotId++;
    this.snapshots.set(id, { blockNumber: this.node.chain.head.header.number, clock: this.clock.snapshot() });
    return id;
  }

  /** Back to snapshot `id`, which is used up along with every later snapshot, as in Hardhat. */
  async revert(id: number): Promise<boolean> {
    const snapshot = this.snapshots.get(id);
    if (!snapshot) return false;
    for (const other of [...this.snapshots.keys()]) if (other >= id) this.snapshots.delete(other);
    await this.node.chain.rewindTo(snapshot.blockNumber);
    this.clock.restore(snapshot.clock);
    return true;
  }
}
