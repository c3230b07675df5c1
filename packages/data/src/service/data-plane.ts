import { join } from 'node:path';
import { connect, type Connection } from '@openledger/sdk';
import type { Account } from 'viem';
import { ContributionIngestor } from '../contributions/ingest-contribution.ts';
import { RecordDb } from '../contributions/record-db.ts';
import { DedupStage, type DuplicatePolicy } from '../dedup/dedup-stage.ts';
import { LevelExactIndex } from '../dedup/exact-index.ts';
import { LevelLshIndex } from '../dedup/lsh-index.ts';
import { FsContentStore } from '../store/fs-content-store.ts';

export interface DataPlaneOptions {
  /** Where blobs, records and dedup indexes live. */
  dataDir: string;
  /** The chain node's JSON-RPC endpoint. */
  rpcUrl: string;
  /** Pays for relayed submissions (`submitContributionWithSig`); without one, the service only hands back transactions. */
  relayer?: Account;
  /** What a Datanet does with duplicate rows (default 'reject'). */
  duplicatePolicy?: DuplicatePolicy;
}

/**
 * The data plane's state and its connection to the chain: the content store, the contribution
 * records, one dedup stage per Datanet, and the ingestor over them. The HTTP server, the version
 * follower and the CLI all work through one of these.
 */
export class DataPlane {
  private readonly stages = new Map<string, Promise<DedupStage>>();
  readonly ingestor: ContributionIngestor;

  private constructor(
    readonly options: DataPlaneOptions,
    readonly blobs: FsContentStore,
    readonly records: RecordDb,
    /** Read-only chain connection (typed protocol contracts). */
    readonly chain: Connection,
    /** The relayer's connection, when one is configured. */
    readonly relayer: Connection | undefined,
  ) {
    this.ingestor = new ContributionIngestor({ blobs, records, dedup: (id) => this.dedupFor(id) });
  }

  static async open(options: DataPlaneOptions): Promise<DataPlane> {
    const blobs = await FsContentStore.open(join(options.dataDir, 'blobs'));
    const records = await RecordDb.open(join(options.dataDir, 'records'));
    const chain = await connect({ url: options.rpcUrl });
    const relayer = options.relayer
      ? await connect({ url: options.rpcUrl, account: options.relayer, chainId: chain.chainId })
      : undefined;
    const plane = new DataPlane(options, blobs, records, chain, relayer);
    await plane.ingestor.recover();
    return plane;
  }

  /** The dedup stage of a Datanet, opened once and kept (one writer per Datanet). */
  dedupFor(datanetId: string): Promise<DedupStage> {
    let stage = this.stages.get(datanetId);
    if (!stage) {
      const dir = join(this.options.dataDir, 'dedup', datanetId);
      stage = (async () =>
        new DedupStage({
          policy: this.options.duplicatePolicy ?? 'reject',
          exact: await LevelExactIndex.open(join(dir, 'exact')),
          lsh: await LevelLshIndex.open(join(dir, 'lsh')),
        }))();
      this.stages.set(datanetId, stage);
    }
    return stage;
  }

  async close(): Promise<void> {
    for (const stage of this.stages.values()) {
      const { exact, lsh } = await stage;
      await (exact as LevelExactIndex).close();
      await (lsh as LevelLshIndex).close();
    }
    this.stages.clear();
    await this.records.close();
  }
}
