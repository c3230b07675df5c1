import type { Writable } from 'node:stream';
import { versionLeaf, versionTree } from '@openledger/sdk';
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

/** Rows read (and verified) per batch before they are written. */
const BATCH_ROWS = 1_024;

/** One JSONL line of an export. */
export interface ExportedRow {
  /** Datanet-wide row index (the contribution's on-chain rowOffset + offsetInContribution). */
  row: number;
  text: string;
  hash: Hash;
  contributor: string;
  contributionId: string;
  offsetInContribution: number;
}

/** The export stopped: something failed verification. Rows before it were verified; none after were written. */
export class ExportVerificationError extends Error {
  override name = 'ExportVerificationError';
  readonly code = 'verification-failed';
  constructor(
    readonly datanetId: string,
    readonly version: number,
    readonly detail: string,
    readonly row?: number,
    options?: { cause?: unknown },
  ) {
    super(
      `export of Datanet ${datanetId} version ${version} aborted` +
        (row === undefined ? '' : ` at row ${row}`) +
        `: ${detail}`,
      options,
    );
  }
}

/** A version checked against the chain and ready to stream (see `prepareVersionExport`). */
export interface VersionExport {
  version: MaterializedVersion;
  /** The on-chain version root every contribution was proven against. */
  onchainRoot: Hash;
}

/**
 * The checks that come before the first row: the version is materialised and complete here, and every
 * contribution's leaf (id, dataRoot, rowOffset, rowCount) is proven against the version root read from
 * the chain now (`versionInfo`). Throws VersionNotFoundError, VersionIncompleteError or
 * ExportVerificationError, so a server can answer with an error status before it streams anything.
 */
export async function prepareVersionExport(
  plane: DataPlane,
  datanetId: string | bigint,
  version: number | bigint,
  options: { store?: VersionStore } = {},
): Promise<VersionExport> {
  const store = options.store ?? (await VersionStore.forPlane(plane));
  const id = datanetId.toString();
  const v = Number(version);
  const materialized = await store.get(id, v);
  if (!materialized) throw new VersionNotFoundError(id, v);
  if (materialized.status !== 'complete') throw new VersionIncompleteError(id, v, materialized.missing);
  const fail = (detail: string) => new ExportVerificationError(id, v, detail);

  const [root] = await plane.chain.contracts.datanets.read.versionInfo([BigInt(id), BigInt(v)]);
  const onchainRoot = root.toLowerCase() as Hash;
  if (onchainRoot !== materialized.root)
    throw fail(`the stored version root ${materialized.root} is not the on-chain root ${onchainRoot}`);
  const entries = versionEntries(materialized);
  const tree = versionTree(entries);
  let next = materialized.firstRow;
  for (const [i, entry] of entries.entries()) {
    const stored = materialized.entries[i]!;
    if (stored.rowOffset !== next)
      throw fail(`contribution ${stored.contributionId} starts at row ${stored.rowOffset}, expected ${next}`);
    next += stored.rowCount;
    if (!verifyRowProof(onchainRoot, versionLeaf(entry) as Hash, tree.getProof(i) as Hash[]))
      throw fail(`contribution ${stored.contributionId} is not in the on-chain version root ${onchainRoot}`);
  }
  if (next - materialized.firstRow !== materialized.rowCount)
    throw fail(
      `the contributions hold ${next - materialized.firstRow} rows, the version ${materialized.rowCount}`,
    );
  return { version: materialized, onchainRoot };
}

/**
 * Streams a prepared version into `out` as JSONL, one ExportedRow per line, in version order (its
 * contributions in leaf order, each contribution's rows in order). Every row is verified before it is
 * written: its bytes hash to the hash in the contribution's row index (`readRows`), and that hash is
 * the leaf at its position of the contribution's stored row tree, whose Merkle proof leads to the
 * contribution's dataRoot (itself proven against the on-chain version root by `prepareVersionExport`).
 * The first failure throws ExportVerificationError; `out` is not ended (the caller ends or destroys it).
 */
export async function writeVersionJsonl(
  plane: DataPlane,
  prepared: VersionExport,
  out: Writable,
): Promise<{ rows: number; bytes: number }> {
  const { version } = prepared;
  let rows = 0;
  let bytes = 0;
  for (const entry of version.entries) {
    const { record, tree } = await openContribution(plane, version, entry);
    for (let from = 0; from < entry.rowCount; from += BATCH_ROWS) {
      let batch;
      try {
        batch = await readRows(plane.blobs, record, from, BATCH_ROWS);
      } catch (error) {
        throw new ExportVerificationError(
          version.datanetId,
          version.version,
          `contribution ${entry.contributionId}, rows ${from}..: ${(error as Error).message}`,
          entry.rowOffset + from,
          { cause: error },
        );
      }
      const lines: string[] = [];
      for (const row of batch) {
        const global = entry.rowOffset + row.index;
        if (
          tree.leaf(row.index) !== row.hash ||
          !verifyRowProof(entry.dataRoot, row.hash, tree.proof(row.index))
        )
          throw new ExportVerificationError(
            version.datanetId,
            version.version,
            `row ${row.index} of contribution ${entry.contributionId} (hash ${row.hash}) is not in its data root ${entry.dataRoot}`,
            global,
          );
        const line: ExportedRow = {
          row: global,
          text: row.text,
          hash: row.hash,
          contributor: entry.contributor,
          contributionId: entry.contributionId,
          offsetInContribution: row.index,
        };
        lines.push(JSON.stringify(line));
      }
      if (batch.length !== Math.min(BATCH_ROWS, entry.rowCount - from))
        throw new ExportVerificationError(
          version.datanetId,
          version.version,
          `contribution ${entry.contributionId} returned ${batch.length} rows at ${from}`,
          entry.rowOffset + from,
        );
      const chunk = `${lines.join('\n')}\n`;
      await write(out, chunk);
      rows += batch.length;
      bytes += Buffer.byteLength(chunk);
    }
  }
  return { rows, bytes };
}

/**
 * Exports a materialised version as JSONL into `out` (see `prepareVersionExport` and
 * `writeVersionJsonl`); any verification failure aborts with ExportVerificationError and no
 * unverified row is ever written. `out` is not ended.
 */
export async function exportVersionJsonl(
  plane: DataPlane,
  datanetId: string | bigint,
  version: number | bigint,
  out: Writable,
  options: { store?: VersionStore } = {},
): Promise<{ rows: number; bytes: number }> {
  return writeVersionJsonl(plane, await prepareVersionExport(plane, datanetId, version, options), out);
}

async function openContribution(
  plane: DataPlane,
  version: MaterializedVersion,
  entry: MaterializedEntry,
): Promise<{ record: ContributionRecord; tree: RowTree }> {
  const fail = (detail: string, cause?: unknown) =>
    new ExportVerificationError(
      version.datanetId,
      version.version,
      `contribution ${entry.contributionId}: ${detail}`,
      entry.rowOffset,
      cause === undefined ? undefined : { cause },
    );
  const record = entry.recordId === null ? undefined : await plane.records.get(entry.recordId);
  if (!record) throw fail('its rows are not stored here');
  if (record.dataRoot !== entry.dataRoot || record.rowCount !== entry.rowCount)
    throw fail(
      `the stored record ${record.id} is not data root ${entry.dataRoot} with ${entry.rowCount} rows`,
    );
  let tree: RowTree;
  try {
    tree = RowTree.fromNodes(Buffer.from(await plane.blobs.get(record.tree)));
  } catch (error) {
    throw fail(`its row tree cannot be read: ${(error as Error).message}`, error);
  }
  if (tree.root !== entry.dataRoot || tree.leafCount !== entry.rowCount)
    throw fail(`its stored row tree has root ${tree.root}, not the data root ${entry.dataRoot}`);
  return { record, tree };
}

function write(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.writableEnded) return Promise.reject(new Error('the export output was closed'));
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      out.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the export output was closed'));
    const onError = (error: Error) => done(error);
    out.on('drain', onDrain);
    out.on('close', onClose);
    out.on('error', onError);
  });
}
