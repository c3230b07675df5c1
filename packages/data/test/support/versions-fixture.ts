/**
 * Shared setup for the suites that publish Datanet versions on a devnet and follow them with a
 * DataPlane: dev connections, the text validation standard, sample sentence parts, contributing
 * approved rows, and the devnet + DataPlane + Datanet they all start from.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  connect,
  createDatanet,
  stakeAsCurator,
  submitContribution,
  voteOnContribution,
  type Connection,
} from '@openledger/sdk';
import { mnemonicToAccount } from 'viem/accounts';
import { startDevnetProcess, type DevnetProcess } from '../../../chain/test/support/devnet-process.ts';
import type { ContributionRecord } from '../../src/contributions/contribution-record.ts';
import { parseValidationStandard } from '../../src/ingest/validation-standard.ts';
import { DataPlane } from '../../src/service/data-plane.ts';

/** The devnet's well-known development mnemonic; its accounts start funded. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** English paragraphs of 20 to 2,000 characters. */
export const standard = parseValidationStandard({
  kind: 'text',
  granularity: 'paragraph',
  minLength: 20,
  maxLength: 2_000,
  languages: ['eng'],
});

/** Sentence subjects for generated paragraphs. */
export const SUBJECTS = [
  'The old fisherman',
  'A young teacher',
  'The village baker',
  'Our quiet neighbour',
  'The night nurse',
  'A travelling musician',
  'The station master',
  'My grandmother',
  'The school librarian',
  'A careful carpenter',
];

/** Sentence predicates for generated paragraphs. */
export const ACTIONS = [
  'repaired the broken fence behind the chapel',
  'wrote a long letter to her sister in the city',
  'planted a row of apple trees along the road',
  'painted the small boat a bright shade of blue',
  'carried fresh bread to the families near the river',
  'taught the children how to read the old maps',
  'collected rain water in barrels for the garden',
  'sang an old song about the harvest and the sea',
  'counted the sheep that came down from the hills',
  'built a wooden bench for the people at the market',
];

/** An SDK connection at `url` signing as dev account `index`. */
export async function account(url: string, index: number): Promise<Connection> {
  return connect({ url, account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }) });
}

/** A contribution as ingested and submitted. */
export interface Contributed {
  record: ContributionRecord;
  contributionId: bigint;
}

/**
 * Writes the paragraphs to `path`, ingests them into `plane`, submits the contribution as `who`
 * and has `curator` approve it.
 */
export async function contributeRows(options: {
  plane: DataPlane;
  datanetId: bigint;
  who: Connection;
  curator: Connection;
  texts: string[];
  path: string;
}): Promise<Contributed> {
  const { plane, datanetId, who, curator, texts, path } = options;
  await writeFile(path, texts.join('\n\n') + '\n');
  const { record } = await plane.ingestor.ingest({
    datanetId: datanetId.toString(),
    contributor: who.walletClient!.account.address,
    files: [{ path, name: 'rows.txt' }],
    standard,
  });
  const { contributionId } = await submitContribution(who, {
    datanetId,
    dataRoot: record.dataRoot,
    rowCount: BigInt(record.rowCount),
    byteSize: BigInt(record.byteSize),
  });
  await voteOnContribution(curator, { contributionId, approve: true });
  return { record, contributionId };
}

/** What {@link startVersionsFixture} sets up. */
export interface VersionsFixture {
  devnet: DevnetProcess;
  /** A fresh temporary directory; the plane lives in its `plane` folder. */
  dir: string;
  plane: DataPlane;
  datanetId: bigint;
  /** Dev account 0: owns the Datanet. */
  owner: Connection;
  /** Dev account 1: staked as the Datanet's curator. */
  curator: Connection;
  /** Dev accounts 2, 3 and 4. */
  contributors: [Connection, Connection, Connection];
}

/**
 * Starts a devnet, opens a DataPlane on it in a fresh temporary directory (named after
 * `dirPrefix`), creates a Datanet and stakes its curator.
 */
export async function startVersionsFixture(dirPrefix: string): Promise<VersionsFixture> {
  const devnet = await startDevnetProcess();
  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const plane = await DataPlane.open({
    dataDir: join(dir, 'plane'),
    rpcUrl: devnet.url,
    duplicatePolicy: 'link',
  });
  const [owner, curator, ...contributors] = (await Promise.all(
    [0, 1, 2, 3, 4].map((i) => account(devnet.url, i)),
  )) as [Connection, Connection, Connection, Connection, Connection];
  const { datanetId } = await createDatanet(owner, { metadataURI: 'ipfs://stories' });
  await stakeAsCurator(curator, { datanetId });
  return { devnet, dir, plane, datanetId, owner, curator, contributors };
}

/** Waits until the data plane at `dataUrl` serves version `version` of the Datanet (materialised). */
export async function waitForVersion(dataUrl: string, datanetId: bigint, version: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const res = await fetch(`${dataUrl}/datanets/${datanetId}/versions/${version}`);
    if (res.ok && ((await res.json()) as { status: string }).status === 'complete') return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the data plane did not materialise Datanet ${datanetId} version ${version} in 30 s`);
}
