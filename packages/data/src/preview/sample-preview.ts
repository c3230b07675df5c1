import { versionTree } from '@openledger/sdk';
import type { Address } from 'viem';
import type { ContributionRecord } from '../contributions/contribution-record.ts';
import { readRows } from '../contributions/row-pack.ts';
import type { Hash } from '../hash.ts';
import { RowTree, verifyRowProof } from '../merkle/row-tree.ts';
import type { DataPlane } from '../service/data-plane.ts';
import { versionEntries } from '../versions/materialize-version.ts';
import {
  VersionIncompleteError,
  VersionNotFoundError,
  VersionStore,
  type MaterializedEntry,
  type MaterializedVersion,
} from '../versions/version-store.ts';
import { PREVIEW_SEED_RULE, previewSeed, previewSize, sampleRows } from './preview-seed.ts';
import { versionStats, type VersionStats } from './version-stats.ts';

/** The block whose hash seeds the preview does not exist yet: ask again after the next block. */
export class PreviewNotAvailableError extends Error {
  override name = 'PreviewNotAvailableError';
  readonly code = 'preview-not-available';
  constructor(
    readonly datanetId: string,
    readonly version: number,
    readonly seedBlock: number,
    readonly head: number,
  ) {
    super(
      `the preview of Datanet ${datanetId} version ${version} is seeded by block ${seedBlock}, ` +
        `which does not exist yet (head ${head})`,
    );
  }
}

/** A stored row that fails its own checks: never served. */
export class PreviewIntegrityError extends Error {
  override name = 'PreviewIntegrityError';
  readonly code = 'verification-failed';
}

/** One sampled row with what proves it is in the version. */
export interface PreviewSample {
  /** Datanet-wide row index (the contribution's rowOffset + offset). */
  row: number;
  text: string;
  /** keccak256 of the UTF-8 text: the row's leaf in its contribution's tree. */
  hash: Hash;
  contributor: Address;
  contributionId: string;
  /** Position of the row in its contribution. */
  offset: number;
  /** The contribution's version leaf fields: leaf = keccak256(abi.encode(id, dataRoot, rowOffset, rowCount)). */
  contribution: { dataRoot: Hash; rowOffset: number; rowCount: number };
  /** Row hash → contribution dataRoot (OpenZeppelin MerkleProof, commutative keccak256). */
  rowProof: Hash[];
  /** Contribution leaf → version root. */
  contributionProof: Hash[];
}

/** A verifiable sample of a version (see PREVIEW_SEED_RULE); `verifyPreview` checks it against the chain. */
export interface VersionPreview {
  datanetId: string;
  version: number;
  root: Hash;
  rowCount: number;
  firstRow: number;
  /** Number of contributions in the version (the contribution tree's leaf count). */
  contributions: number;
  publishBlock: number;
  /** publishBlock + 1, whose hash seeds the sample. */
  seedBlock: number;
  seedBlockHash: Hash;
  seed: Hash;
  /** Rows asked for; the sample holds min(n, rowCount). */
  n: number;
  rule: string;
  samples: PreviewSample[];
  stats: VersionStats;
}

/**
 * Draws the verifiable preview of a materialised, complete version: the seed from the hash of the
 * block after the version's publish block (PreviewNotAvailableError until it exists), min(n, rows)
 * distinct rows from it, each with its row proof (from the contribution's stored tree) and its
 * contribution proof (from the version tree), plus the version's statistics. Every row is checked
 * before it is returned (text → hash → leaf of the stored tree whose root is the dataRoot).
 */
export async function samplePreview(
  plane: DataPlane,
  datanetId: string | bigint,
  version: number | bigint,
  options: { n?: number; store?: VersionStore } = {},
): Promise<VersionPreview> {
  const store = options.store ?? (await VersionStore.forPlane(plane));
  const id = datanetId.toString();
  const v = Number(version);
  const n = previewSize(options.n);
  const materialized = await store.get(id, v);
  if (!materialized) throw new VersionNotFoundError(id, v);
  if (materialized.status !== 'complete') throw new VersionIncompleteError(id, v, materialized.missing);

  const client = plane.chain.publicClient;
  const seedBlock = materialized.publishBlock + 1;
  const head = Number(await client.getBlockNumber());
  if (head < seedBlock) throw new PreviewNotAvailableError(id, v, seedBlock, head);
  const block = await client.getBlock({ blockNumber: BigInt(seedBlock) });
  const seedBlockHash = block.hash as Hash;
  const seed = previewSeed(seedBlockHash, BigInt(id), BigInt(v));
  const rows = sampleRows(seed, materialized.firstRow, materialized.rowCount, n);

  const tree = versionTree(versionEntries(materialized));
  if (tree.root.toLowerCase() !== materialized.root)
    throw new PreviewIntegrityError(`the stored entries of version ${v} no longer give its root`);
  const records = new Map<string, { record: ContributionRecord; tree: RowTree }>();
  const samples: PreviewSample[] = [];
  for (const row of rows) {
    const index = entryIndexOf(materialized, row);
    const entry = materialized.entries[index]!;
    const { record, tree: rowTree } = await loadContribution(plane, entry, records);
    const offset = row - entry.rowOffset;
    const [stored] = await readRows(plane.blobs, record, offset, 1);
    if (!stored || rowTree.leaf(offset) !== stored.hash)
      throw new PreviewIntegrityError(
        `row ${row} (contribution ${entry.contributionId}, offset ${offset}) does not match its tree`,
      );
    const rowProof = rowTree.proof(offset);
    if (!verifyRowProof(entry.dataRoot, stored.hash, rowProof))
      throw new PreviewIntegrityError(`row ${row}: its proof does not reach the data root`);
    samples.push({
      row,
      text: stored.text,
      hash: stored.hash,
      contributor: entry.contributor,
      contributionId: entry.contributionId,
      offset,
      contribution: { dataRoot: entry.dataRoot, rowOffset: entry.rowOffset, rowCount: entry.rowCount },
      rowProof,
      contributionProof: tree.getProof(index) as Hash[],
    });
  }

  return {
    datanetId: id,
    version: v,
    root: materialized.root,
    rowCount: materialized.rowCount,
    firstRow: materialized.firstRow,
    contributions: materialized.entries.length,
    publishBlock: materialized.publishBlock,
    seedBlock,
    seedBlockHash,
    seed,
    n,
    rule: PREVIEW_SEED_RULE,
    samples,
    stats: await versionStats(plane, id, v, { store }),
  };
}

/** The index of the entry holding Datanet-wide row `row` (entries are contiguous and ordered). */
export function entryIndexOf(version: Pick<MaterializedVersion, 'entries'>, row: number): number {
  let lo = 0;
  let hi = version.entries.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (version.entries[mid]!.rowOffset <= row) lo = mid;
    else hi = mid - 1;
  }
  const entry = version.entries[lo];
  if (!entry || row < entry.rowOffset || row >= entry.rowOffset + entry.rowCount)
    throw new RangeError(`row ${row} is not in the version`);
  return lo;
}

async function loadContribution(
  plane: DataPlane,
  entry: MaterializedEntry,
  cache: Map<string, { record: ContributionRecord; tree: RowTree }>,
): Promise<{ record: ContributionRecord; tree: RowTree }> {
  const cached = cache.get(entry.contributionId);
  if (cached) return cached;
  const record = entry.recordId === null ? undefined : await plane.records.get(entry.recordId);
  if (!record || record.dataRoot !== entry.dataRoot || record.rowCount !== entry.rowCount)
    throw new PreviewIntegrityError(
      `contribution ${entry.contributionId}: no stored record with data root ${entry.dataRoot}`,
    );
  const tree = RowTree.fromNodes(Buffer.from(await plane.blobs.get(record.tree)));
  if (tree.root !== entry.dataRoot || tree.leafCount !== entry.rowCount)
    throw new PreviewIntegrityError(
      `contribution ${entry.contributionId}: the stored row tree does not have root ${entry.dataRoot}`,
    );
  const loaded = { record, tree };
  cache.set(entry.contributionId, loaded);
  return loaded;
}
