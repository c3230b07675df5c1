import { keccak256 as hashRow } from '@openledger/data';
import { rowTree, versionTree, type Connection, type VersionEntry } from '@openledger/sdk';
import type { Address, Hex } from 'viem';
import { FactoryError } from './factory-error.ts';

/** One training row, as the data plane exports it and the chain commits to it. */
export interface TrainingRow {
  /** Datanet-wide row index: the contribution's on-chain rowOffset + offsetInContribution. */
  readonly row: number;
  readonly version: number;
  readonly text: string;
  readonly hash: Hex;
  readonly contributor: Address;
  readonly contributionId: bigint;
  readonly offsetInContribution: number;
}

export interface VerifiedVersion {
  readonly datanetId: bigint;
  readonly version: number;
  /** The version root on-chain (DatanetRegistry.versionInfo). */
  readonly root: Hex;
  /** Every row of the version, in version order, each checked against the chain. */
  readonly rows: readonly TrainingRow[];
  /** Contributions slashed after publication: their rows are in `rows` but must not be trained on. */
  readonly slashed: ReadonlySet<bigint>;
}

export interface FetchVersionOptions {
  /** A read connection to the chain (only `contracts.datanets.read` is used). */
  readonly chain: Pick<Connection, 'contracts'>;
  readonly dataPlaneUrl: string;
  readonly datanetId: bigint;
  readonly version: number;
  /** The `Authorization: OpenLedger …` header of the owner, a curator or a licence holder. */
  readonly authorization: string;
  /** A DataMarket licence, when the caller reads as a licence holder. */
  readonly purchaseId?: bigint;
  readonly signal?: AbortSignal;
}

const SLASHED = 5;

interface ExpectedContribution extends VersionEntry {
  contributor: Address;
  slashed: boolean;
}

/**
 * Downloads a published Datanet version from the data plane and proves every row against the chain
 * before anything is trained on it: each row hashes to its committed hash, each contribution's rows
 * rebuild its on-chain dataRoot (in order, none missing), and the contributions rebuild the version
 * root. The data plane is not trusted; a row that fails any check fails the whole export.
 */
export async function fetchVerifiedVersion(o: FetchVersionOptions): Promise<VerifiedVersion> {
  const expected = await versionCommitment(o);
  const url = new URL(`/datanets/${o.datanetId}/versions/${o.version}/export`, o.dataPlaneUrl);
  if (o.purchaseId !== undefined) url.searchParams.set('purchaseId', o.purchaseId.toString());
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: o.authorization }, signal: o.signal });
  } catch (error) {
    throw new FactoryError(
      'data-plane-unavailable',
      `cannot reach the data plane at ${o.dataPlaneUrl}`,
      error,
    );
  }
  if (!response.ok || !response.body) {
    const body = await response.text().catch(() => '');
    const code = /"code"\s*:\s*"([a-z-]+)"/.exec(body)?.[1];
    throw new FactoryError(
      response.status === 401 || response.status === 403 ? 'no-access' : 'export-failed',
      `the data plane refused the export of Datanet ${o.datanetId} version ${o.version}: ${response.status}${code ? ` ${code}` : ''}`,
    );
  }
  const rows = await verifyExport(response.body, expected, o);
  return {
    datanetId: o.datanetId,
    version: o.version,
    root: expected.root,
    rows,
    slashed: new Set(expected.contributions.filter((c) => c.slashed).map((c) => c.contributionId)),
  };
}

async function versionCommitment(o: FetchVersionOptions) {
  const registry = o.chain.contracts.datanets.read;
  let info: readonly [Hex, bigint, bigint, bigint];
  try {
    info = await registry.versionInfo([o.datanetId, BigInt(o.version)]);
  } catch {
    throw new FactoryError(
      'version-not-found',
      `Datanet ${o.datanetId} has no published version ${o.version}`,
    );
  }
  const [root, rowCount] = info;
  if (rowCount === 0n) {
    throw new FactoryError('empty-version', `Datanet ${o.datanetId} version ${o.version} holds no rows`);
  }
  const ids = await registry.versionContributions([o.datanetId, BigInt(o.version)]);
  const contributions: ExpectedContribution[] = [];
  for (const id of ids) {
    const c = await registry.contribution([id]);
    contributions.push({
      contributionId: id,
      dataRoot: c.dataRoot,
      rowOffset: c.rowOffset,
      rowCount: c.rowCount,
      contributor: c.contributor,
      slashed: c.status === SLASHED,
    });
  }
  if (versionTree(contributions).root !== root) {
    throw new FactoryError(
      'verification-failed',
      `the contributions of Datanet ${o.datanetId} version ${o.version} do not rebuild its on-chain root`,
    );
  }
  return { root, rowCount: Number(rowCount), contributions };
}

async function verifyExport(
  body: ReadableStream<Uint8Array>,
  expected: Awaited<ReturnType<typeof versionCommitment>>,
  o: FetchVersionOptions,
): Promise<TrainingRow[]> {
  const fail = (why: string): never => {
    throw new FactoryError(
      'verification-failed',
      `Datanet ${o.datanetId} version ${o.version} failed verification: ${why}`,
    );
  };
  const rows: TrainingRow[] = [];
  let index = 0;
  let hashes: Hex[] = [];
  const closeContribution = () => {
    const c = expected.contributions[index]!;
    if (BigInt(hashes.length) !== c.rowCount) {
      fail(`contribution ${c.contributionId} has ${hashes.length} rows, ${c.rowCount} on-chain`);
    }
    if (rowTree(hashes).root !== c.dataRoot) {
      fail(`the rows of contribution ${c.contributionId} do not rebuild its on-chain dataRoot`);
    }
    hashes = [];
    index++;
  };
  for await (const line of lines(body)) {
    const row = parseLine(line, fail);
    // Contributions arrive in leaf order; a row of the next one closes the current one.
    while (
      index < expected.contributions.length &&
      expected.contributions[index]!.contributionId !== row.contributionId
    ) {
      closeContribution();
    }
    const c =
      expected.contributions[index] ??
      fail(`row ${row.row} names contribution ${row.contributionId}, not in this version`);
    if (row.offsetInContribution !== hashes.length) fail(`row ${row.row} is out of order`);
    if (BigInt(row.row) !== c.rowOffset + BigInt(row.offsetInContribution))
      fail(`row ${row.row} has the wrong index`);
    if (row.contributor.toLowerCase() !== c.contributor.toLowerCase())
      fail(`row ${row.row} names the wrong contributor`);
    if (hashRow(row.text) !== row.hash) fail(`row ${row.row} does not hash to its committed hash`);
    hashes.push(row.hash);
    rows.push({ ...row, version: o.version, contributor: c.contributor });
  }
  while (index < expected.contributions.length) closeContribution();
  if (rows.length !== expected.rowCount) fail(`${rows.length} rows arrived, ${expected.rowCount} on-chain`);
  return rows;
}

function parseLine(line: string, fail: (why: string) => never) {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return fail('a line of the export is not JSON');
  }
  const v = value as Record<string, unknown>;
  if (
    typeof v.row !== 'number' ||
    typeof v.text !== 'string' ||
    typeof v.hash !== 'string' ||
    typeof v.contributor !== 'string' ||
    typeof v.contributionId !== 'string' ||
    !/^[0-9]+$/.test(v.contributionId) ||
    typeof v.offsetInContribution !== 'number'
  ) {
    return fail('a line of the export lacks a field');
  }
  return {
    row: v.row,
    text: v.text,
    hash: v.hash as Hex,
    contributor: v.contributor as Address,
    contributionId: BigInt(v.contributionId),
    offsetInContribution: v.offsetInContribution,
  };
}

async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n', start)) {
      if (newline > start) yield pending.slice(start, newline);
      start = newline + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending;
}
