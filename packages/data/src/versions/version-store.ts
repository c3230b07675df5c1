import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address } from 'viem';
import type { Hash } from '../hash.ts';
import type { DataPlane } from '../service/data-plane.ts';
import type { ContentStore } from '../store/content-store.ts';
import { NotFoundError } from '../store/content-store.ts';

/** One contribution of a version, in the version's leaf order. */
export interface MaterializedEntry {
  /** DatanetRegistry's contribution id (decimal). */
  contributionId: string;
  /** The local ContributionRecord holding its rows; null when the rows are not available here. */
  recordId: string | null;
  /** The contributor as the chain records it. */
  contributor: Address;
  /** Datanet-wide index of its first row (DatanetRegistry's `rowOffset`). */
  rowOffset: number;
  rowCount: number;
  dataRoot: Hash;
}

/** Why a contribution of a version cannot be served from this data plane. */
export interface MissingContribution {
  contributionId: string;
  dataRoot: Hash;
  /** `not-stored`: no local record has this data root; `corrupt`: the local rows no longer hash to it. */
  reason: 'not-stored' | 'corrupt';
  message: string;
}

/**
 * A published version as this data plane serves it: the chain's commitment (root, rows, bytes, publish
 * block) and its contributions in leaf order, each mapped to the local record with the same data root.
 */
export interface MaterializedVersion {
  datanetId: string;
  version: number;
  /** The version root DatanetRegistry stores (checked against `versionTree` over `entries`). */
  root: Hash;
  rowCount: number;
  byteSize: number;
  /** Datanet-wide index of the version's first row; the version covers [firstRow, firstRow + rowCount). */
  firstRow: number;
  /** Block, block hash and transaction of the `VersionPublished` event. */
  publishBlock: number;
  publishBlockHash: Hash;
  publishTx: Hash;
  /** `versionInfo`'s publishedAt (unix seconds). */
  publishedAt: number;
  /** `complete` when every contribution's rows are stored here and hash to its data root. */
  status: 'complete' | 'incomplete';
  missing: MissingContribution[];
  entries: MaterializedEntry[];
}

/** No materialised version with that number (not published, or not followed yet). */
export class VersionNotFoundError extends Error {
  override name = 'VersionNotFoundError';
  readonly code = 'version-not-found';
  constructor(
    readonly datanetId: string,
    readonly version: number,
  ) {
    super(
      `Datanet ${datanetId} version ${version} is not materialised here (unpublished, or not followed yet)`,
    );
  }
}

/** The version's rows are not all stored here: the listed contributions are missing or corrupt. */
export class VersionIncompleteError extends Error {
  override name = 'VersionIncompleteError';
  readonly code = 'version-incomplete';
  constructor(
    readonly datanetId: string,
    readonly version: number,
    readonly missing: readonly MissingContribution[],
  ) {
    super(
      `Datanet ${datanetId} version ${version} is incomplete here: ` +
        missing.map((m) => `contribution ${m.contributionId} ${m.reason}`).join(', '),
    );
  }
}

/** What the index keeps per version (the full version is a JSON blob in the content store). */
export interface VersionSummary {
  datanetId: string;
  version: number;
  root: Hash;
  rowCount: number;
  byteSize: number;
  firstRow: number;
  contributions: number;
  status: 'complete' | 'incomplete';
  /** Contribution ids that are missing or corrupt locally. */
  missing: string[];
  publishBlock: number;
  publishedAt: number;
  /** Address of the MaterializedVersion JSON in the content store. */
  blob: Hash;
  /** Cached VersionStats blob, valid while `statsFor === blob`. */
  stats?: Hash;
  statsFor?: Hash;
}

/**
 * Materialised versions: each version's JSON is an immutable blob in the content store, and a small
 * index of one JSON file per version (`index/<datanetId>/<version>.json`) points at it; the follower's
 * cursor (last block whose `VersionPublished` events are all processed) is `cursor.json`. Every file
 * is replaced atomically (temp file, fsync, rename), so readers in other processes (the HTTP server)
 * never see a torn write and a crash leaves the previous state. Re-materialising a version rewrites
 * the same blob and index entry, so replaying events after a restart is harmless.
 */
export class VersionStore {
  private static readonly byPlane = new WeakMap<DataPlane, Promise<VersionStore>>();

  private constructor(
    private readonly dir: string,
    readonly blobs: ContentStore,
  ) {}

  static async open(dir: string, blobs: ContentStore): Promise<VersionStore> {
    await mkdir(join(dir, 'index'), { recursive: true });
    await mkdir(join(dir, 'tmp'), { recursive: true });
    // Temp files a crash left behind; recent ones may belong to a writer in another process.
    for (const name of await readdir(join(dir, 'tmp'))) {
      const path = join(dir, 'tmp', name);
      const info = await stat(path).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_TEMP_MS) await rm(path, { force: true });
    }
    return new VersionStore(dir, blobs);
  }

  /** The store under `<dataDir>/versions` of a data plane (one instance per plane). */
  static forPlane(plane: DataPlane): Promise<VersionStore> {
    let store = VersionStore.byPlane.get(plane);
    if (!store) {
      store = VersionStore.open(join(plane.options.dataDir, 'versions'), plane.blobs);
      VersionStore.byPlane.set(plane, store);
    }
    return store;
  }

  /** Stores a materialised version (idempotent) and returns its index entry. */
  async put(version: MaterializedVersion): Promise<VersionSummary> {
    const blob = await this.blobs.put(Buffer.from(JSON.stringify(version)));
    const previous = await this.summary(version.datanetId, version.version);
    const summary: VersionSummary = {
      datanetId: version.datanetId,
      version: version.version,
      root: version.root,
      rowCount: version.rowCount,
      byteSize: version.byteSize,
      firstRow: version.firstRow,
      contributions: version.entries.length,
      status: version.status,
      missing: version.missing.map((m) => m.contributionId),
      publishBlock: version.publishBlock,
      publishedAt: version.publishedAt,
      blob,
      ...(previous?.statsFor === blob && { stats: previous.stats, statsFor: blob }),
    };
    if (JSON.stringify(previous) !== JSON.stringify(summary)) {
      await this.writeAtomic(this.indexPath(version.datanetId, version.version), JSON.stringify(summary));
    }
    return summary;
  }

  async summary(datanetId: string, version: number): Promise<VersionSummary | undefined> {
    const text = await readOptional(this.indexPath(datanetId, version));
    return text === undefined ? undefined : (JSON.parse(text) as VersionSummary);
  }

  async get(datanetId: string, version: number): Promise<MaterializedVersion | undefined> {
    const summary = await this.summary(datanetId, version);
    if (!summary) return undefined;
    return JSON.parse(
      Buffer.from(await this.blobs.get(summary.blob)).toString('utf8'),
    ) as MaterializedVersion;
  }

  /** A Datanet's materialised versions, oldest first. */
  async list(datanetId: string): Promise<VersionSummary[]> {
    checkDatanetId(datanetId);
    let names: string[];
    try {
      names = await readdir(join(this.dir, 'index', datanetId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const versions: VersionSummary[] = [];
    for (const name of names.filter((n) => /^\d+\.json$/.test(n)).sort()) {
      const text = await readOptional(join(this.dir, 'index', datanetId, name));
      if (text !== undefined) versions.push(JSON.parse(text) as VersionSummary);
    }
    return versions;
  }

  /** The Datanets with at least one materialised version. */
  async datanets(): Promise<string[]> {
    const names = await readdir(join(this.dir, 'index'));
    return names.filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
  }

  /** Every version still waiting for some of its contributions. */
  async incomplete(): Promise<VersionSummary[]> {
    const out: VersionSummary[] = [];
    for (const datanetId of await this.datanets()) {
      for (const summary of await this.list(datanetId))
        if (summary.status === 'incomplete') out.push(summary);
    }
    return out;
  }

  /** The last block whose VersionPublished events are all materialised (undefined before the first poll). */
  async cursor(): Promise<bigint | undefined> {
    const text = await readOptional(join(this.dir, 'cursor.json'));
    return text === undefined ? undefined : BigInt((JSON.parse(text) as { block: string }).block);
  }

  async setCursor(block: bigint): Promise<void> {
    await this.writeAtomic(join(this.dir, 'cursor.json'), JSON.stringify({ block: block.toString() }));
  }

  /** Cached statistics of a version's current materialisation, if computed. */
  async cachedStats(summary: VersionSummary): Promise<Uint8Array | undefined> {
    if (!summary.stats || summary.statsFor !== summary.blob) return undefined;
    try {
      return await this.blobs.get(summary.stats);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async putStats(summary: VersionSummary, stats: Uint8Array): Promise<void> {
    const hash = await this.blobs.put(stats);
    const current = await this.summary(summary.datanetId, summary.version);
    // Only for the materialisation the stats were computed from.
    if (!current || current.blob !== summary.blob) return;
    await this.writeAtomic(
      this.indexPath(summary.datanetId, summary.version),
      JSON.stringify({ ...current, stats: hash, statsFor: current.blob }),
    );
  }

  private indexPath(datanetId: string, version: number): string {
    checkDatanetId(datanetId);
    if (!Number.isSafeInteger(version) || version < 1)
      throw new RangeError(`not a version number: ${version}`);
    return join(this.dir, 'index', datanetId, `${String(version).padStart(10, '0')}.json`);
  }

  private async writeAtomic(path: string, text: string): Promise<void> {
    const temp = join(this.dir, 'tmp', randomUUID());
    const file = await open(temp, 'w');
    try {
      await file.writeFile(text);
      await file.sync();
    } finally {
      await file.close();
    }
    const parent = join(path, '..');
    await mkdir(parent, { recursive: true });
    try {
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const dir = await open(parent, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

const STALE_TEMP_MS = 60 * 60 * 1000;

function checkDatanetId(datanetId: string): void {
  if (!/^[1-9]\d*$/.test(datanetId)) throw new RangeError(`not a Datanet id: ${datanetId}`);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
