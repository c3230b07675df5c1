import { versionTree, type VersionEntry } from '@openledger/sdk';
import type { Hash } from '../hash.ts';
import type { DataPlane } from '../service/data-plane.ts';
import type { MaterializedEntry, MaterializedVersion, MissingContribution } from './version-store.ts';

/** A `VersionPublished` event, as the follower found it. */
export interface PublishedVersion {
  datanetId: bigint;
  version: bigint;
  root: Hash;
  rowCount: bigint;
  byteSize: bigint;
  /** Number of contributions in the version. */
  contributions: bigint;
  blockNumber: bigint;
  blockHash: Hash;
  transactionHash: Hash;
}

/** The chain's view of a version does not add up (its listing, its event and its root disagree). */
export class VersionVerificationError extends Error {
  override name = 'VersionVerificationError';
  constructor(
    readonly datanetId: string,
    readonly version: number,
    message: string,
  ) {
    super(`Datanet ${datanetId} version ${version}: ${message}`);
  }
}

/**
 * Reads a published version's contributions from DatanetRegistry (`versionContributions`, then
 * `contribution(id)` for each), checks them against the event and the version root (`versionTree`
 * over (id, dataRoot, rowOffset, rowCount) in leaf order must give the root `versionInfo` and the
 * event name; the row ranges must be contiguous and add up to the version's rows), and maps each to
 * the local record with the same data root, whose rows must still hash to it
 * (`ingestor.verifiedRowHashes`). A contribution with no such record, or whose rows no longer match,
 * is listed in `missing` and the version is `incomplete`; anything inconsistent on the chain side
 * throws a VersionVerificationError.
 */
export async function materializeVersion(
  plane: DataPlane,
  published: PublishedVersion,
): Promise<MaterializedVersion> {
  const datanetId = published.datanetId.toString();
  const version = Number(published.version);
  const fail = (message: string) => new VersionVerificationError(datanetId, version, message);
  const registry = plane.chain.contracts.datanets;

  const [root, rowCount, byteSize, publishedAt] = await registry.read.versionInfo([
    published.datanetId,
    published.version,
  ]);
  if (root.toLowerCase() !== published.root.toLowerCase())
    throw fail(`versionInfo root ${root} differs from the VersionPublished root ${published.root}`);
  if (rowCount !== published.rowCount || byteSize !== published.byteSize)
    throw fail('versionInfo rows or bytes differ from the VersionPublished event');

  const ids = await registry.read.versionContributions([published.datanetId, published.version]);
  if (BigInt(ids.length) !== published.contributions)
    throw fail(
      `versionContributions lists ${ids.length} contributions, the event ${published.contributions}`,
    );
  const chainEntries: VersionEntry[] = [];
  const contributors: `0x${string}`[] = [];
  for (const id of ids) {
    const c = await registry.read.contribution([id]);
    if (c.datanetId !== published.datanetId || c.version !== published.version)
      throw fail(`contribution ${id} belongs to Datanet ${c.datanetId} version ${c.version}`);
    chainEntries.push({
      contributionId: id,
      dataRoot: c.dataRoot,
      rowOffset: c.rowOffset,
      rowCount: c.rowCount,
    });
    contributors.push(c.contributor);
  }
  if (chainEntries.length === 0) throw fail('a published version has no contributions');

  const firstRow = chainEntries[0]!.rowOffset;
  let next = firstRow;
  for (const e of chainEntries) {
    if (e.rowOffset !== next)
      throw fail(`contribution ${e.contributionId} starts at row ${e.rowOffset}, expected ${next}`);
    next += e.rowCount;
  }
  if (next - firstRow !== rowCount)
    throw fail(`the contributions hold ${next - firstRow} rows, the version ${rowCount}`);
  const computed = versionTree(chainEntries).root;
  if (computed.toLowerCase() !== root.toLowerCase())
    throw fail(`the version tree over its contributions has root ${computed}, the chain ${root}`);

  const { entries, missing } = await resolveLocal(
    plane,
    datanetId,
    chainEntries.map((e, i) => ({
      contributionId: e.contributionId.toString(),
      contributor: contributors[i]!,
      rowOffset: Number(e.rowOffset),
      rowCount: Number(e.rowCount),
      dataRoot: e.dataRoot.toLowerCase() as Hash,
    })),
  );

  return {
    datanetId,
    version,
    root: root.toLowerCase() as Hash,
    rowCount: Number(rowCount),
    byteSize: Number(byteSize),
    firstRow: Number(firstRow),
    publishBlock: Number(published.blockNumber),
    publishBlockHash: published.blockHash,
    publishTx: published.transactionHash,
    publishedAt: Number(publishedAt),
    status: missing.length === 0 ? 'complete' : 'incomplete',
    missing,
    entries,
  };
}

/**
 * Maps a version's (chain-verified) contributions to local records again, without reading the chain:
 * for a version that was incomplete, once rows may have arrived. Returns the version unchanged (the
 * same object) when nothing changed.
 */
export async function refreshLocal(
  plane: DataPlane,
  version: MaterializedVersion,
): Promise<MaterializedVersion> {
  const { entries, missing } = await resolveLocal(plane, version.datanetId, version.entries);
  if (
    JSON.stringify(entries) === JSON.stringify(version.entries) &&
    JSON.stringify(missing) === JSON.stringify(version.missing)
  )
    return version;
  return { ...version, entries, missing, status: missing.length === 0 ? 'complete' : 'incomplete' };
}

/**
 * Finds each contribution's local record by data root and checks its rows still hash to it
 * (`ingestor.verifiedRowHashes`); the ones without a usable record are `missing`.
 */
async function resolveLocal(
  plane: DataPlane,
  datanetId: string,
  onchain: readonly Omit<MaterializedEntry, 'recordId'>[],
): Promise<{ entries: MaterializedEntry[]; missing: MissingContribution[] }> {
  const entries: MaterializedEntry[] = [];
  const missing: MissingContribution[] = [];
  for (const e of onchain) {
    const { contributionId, dataRoot } = e;
    const record = await plane.records.byDataRoot(datanetId, dataRoot);
    let recordId: string | null = null;
    if (!record) {
      missing.push({
        contributionId,
        dataRoot,
        reason: 'not-stored',
        message: `no stored contribution has data root ${dataRoot}`,
      });
    } else if (record.rowCount !== e.rowCount) {
      missing.push({
        contributionId,
        dataRoot,
        reason: 'corrupt',
        message: `local record ${record.id} holds ${record.rowCount} rows, the chain says ${e.rowCount}`,
      });
    } else {
      try {
        await plane.ingestor.verifiedRowHashes(record);
        recordId = record.id;
      } catch (error) {
        missing.push({ contributionId, dataRoot, reason: 'corrupt', message: (error as Error).message });
      }
    }
    entries.push({
      contributionId,
      recordId,
      contributor: e.contributor,
      rowOffset: e.rowOffset,
      rowCount: e.rowCount,
      dataRoot,
    });
  }
  return { entries, missing };
}

/** The version's entries as the SDK's `versionTree` takes them. */
export function versionEntries(version: Pick<MaterializedVersion, 'entries'>): VersionEntry[] {
  return version.entries.map((e) => ({
    contributionId: BigInt(e.contributionId),
    dataRoot: e.dataRoot,
    rowOffset: BigInt(e.rowOffset),
    rowCount: BigInt(e.rowCount),
  }));
}
