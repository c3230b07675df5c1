import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { publishVersion, versionTree, type Connection } from '@openledger/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import type { ContributionRecord } from '../src/contributions/contribution-record.ts';
import { readRows } from '../src/contributions/row-pack.ts';
import { ExportVerificationError, exportVersionJsonl, type ExportedRow } from '../src/export/export-jsonl.ts';
import type { Hash } from '../src/hash.ts';
import { DataPlane } from '../src/service/data-plane.ts';
import { versionEntries } from '../src/versions/materialize-version.ts';
import { VersionFollower } from '../src/versions/version-follower.ts';
import { VersionIncompleteError, VersionStore } from '../src/versions/version-store.ts';
import {
  ACTIONS,
  SUBJECTS,
  account,
  contributeRows,
  standard,
  startVersionsFixture,
  type Contributed,
} from './support/versions-fixture.ts';

const ENDINGS = [
  'before the first snow covered the valley',
  'while the church bells rang across the square',
  'during the longest and hottest week of the summer',
  'as the fog rolled slowly in from the harbour',
  'after the storm had finally passed over the town',
  'when the swallows returned to nest under the roof',
];

/** A distinct English paragraph for every n. */
function paragraph(n: number): string {
  const s = SUBJECTS[n % 10]!;
  const a = ACTIONS[Math.floor(n / 10) % 10]!;
  const e = ENDINGS[Math.floor(n / 100) % 6]!;
  return `${s} ${a} ${e}, and people in the village still tell this story, number ${n}, to their friends.`;
}

let devnet: DevnetProcess;
let dir: string;
let plane: DataPlane;
let datanetId: bigint;
let owner: Connection;
let curator: Connection;
let alice: Connection;
let bob: Connection;
let carol: Connection;

/** Ingests the paragraphs into `into`, submits the contribution as `who` and has the curator approve it. */
async function contribute(who: Connection, texts: string[], into: DataPlane = plane): Promise<Contributed> {
  const path = join(dir, `upload-${Math.random().toString(36).slice(2)}.txt`);
  return contributeRows({ plane: into, datanetId, who, curator, texts, path });
}

function collector(): { out: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

function blobPath(hash: Hash): string {
  return join(dir, 'plane', 'blobs', 'objects', hash.slice(2, 4), hash.slice(4, 6), hash.slice(2));
}

const contributions: Contributed[] = [];

beforeAll(async () => {
  ({
    devnet,
    dir,
    plane,
    datanetId,
    owner,
    curator,
    contributors: [alice, bob, carol],
  } = await startVersionsFixture('openledger-versions-'));

  // Version 1: alice's 12 rows, then bob's 9 (one of them an exact copy of one of alice's).
  contributions.push(
    await contribute(
      alice,
      [...Array(12).keys()].map((i) => paragraph(i)),
    ),
  );
  contributions.push(
    await contribute(bob, [...[...Array(8).keys()].map((i) => paragraph(100 + i)), paragraph(3)]),
  );
  await publishVersion(owner, { datanetId });
  // Version 2: 1,100 rows from carol (more than one read batch).
  contributions.push(
    await contribute(
      carol,
      [...Array(1_100).keys()].map((i) => paragraph(200 + i)),
    ),
  );
  await publishVersion(owner, { datanetId });
}, 120_000);

afterAll(async () => {
  await plane?.close();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('VersionFollower', () => {
  it('materialises both versions, verified against the chain', async () => {
    const follower = await VersionFollower.open(plane);
    const { versions, cursor } = await follower.poll();
    expect(versions.map((v) => [v.datanetId, v.version, v.status])).toEqual([
      [datanetId.toString(), 1, 'complete'],
      [datanetId.toString(), 2, 'complete'],
    ]);
    expect(cursor).toBe(await plane.chain.publicClient.getBlockNumber());

    const [a, b, c] = contributions;
    const [v1, v2] = versions;
    expect(v1!.entries).toEqual([
      {
        contributionId: a!.contributionId.toString(),
        recordId: a!.record.id,
        contributor: alice.walletClient!.account.address,
        rowOffset: 0,
        rowCount: 12,
        dataRoot: a!.record.dataRoot,
      },
      {
        contributionId: b!.contributionId.toString(),
        recordId: b!.record.id,
        contributor: bob.walletClient!.account.address,
        rowOffset: 12,
        rowCount: 9,
        dataRoot: b!.record.dataRoot,
      },
    ]);
    expect(v1).toMatchObject({ rowCount: 21, firstRow: 0, missing: [] });
    expect(v2).toMatchObject({ rowCount: 1_100, firstRow: 21, missing: [] });
    expect(v2!.entries).toMatchObject([{ recordId: c!.record.id, rowOffset: 21, rowCount: 1_100 }]);
    for (const v of versions) {
      const [root] = await plane.chain.contracts.datanets.read.versionInfo([datanetId, BigInt(v.version)]);
      expect(v.root).toBe(root);
      expect(versionTree(versionEntries(v)).root).toBe(root);
      const receipt = await plane.chain.publicClient.getTransactionReceipt({ hash: v.publishTx });
      expect(Number(receipt.blockNumber)).toBe(v.publishBlock);
    }

    const store = await VersionStore.forPlane(plane);
    expect((await store.list(datanetId.toString())).map((s) => [s.version, s.status, s.rowCount])).toEqual([
      [1, 'complete', 21],
      [2, 'complete', 1_100],
    ]);
    expect(await store.get(datanetId.toString(), 2)).toEqual(v2);
  });

  it('is idempotent and restart-safe', async () => {
    const store = await VersionStore.forPlane(plane);
    const before = await store.list(datanetId.toString());
    const again = await (await VersionFollower.open(plane)).poll();
    expect(again.versions).toEqual([]);

    // A restart: a new plane over the same directory picks up at the stored cursor.
    await plane.close();
    plane = await DataPlane.open({
      dataDir: join(dir, 'plane'),
      rpcUrl: devnet.url,
      duplicatePolicy: 'link',
    });
    const restarted = await VersionFollower.open(plane);
    expect((await restarted.poll()).versions).toEqual([]);
    const reopened = await VersionStore.forPlane(plane);
    expect(await reopened.list(datanetId.toString())).toEqual(before);

    // A crash after materialising but before the cursor was saved replays the events: same result.
    await reopened.setCursor(0n);
    const replay = await restarted.poll();
    expect(replay.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(await reopened.list(datanetId.toString())).toEqual(before);
  });
});

describe('exportVersionJsonl', () => {
  async function exportLines(version: number): Promise<ExportedRow[]> {
    const { out, text } = collector();
    const result = await exportVersionJsonl(plane, datanetId, version, out);
    const lines = text().split('\n');
    expect(lines.pop()).toBe('');
    expect(result.rows).toBe(lines.length);
    return lines.map((l) => JSON.parse(l) as ExportedRow);
  }

  it('streams every row of each version exactly once, in order, with global indexes', async () => {
    const v1 = await exportLines(1);
    const v2 = await exportLines(2);
    expect(v1.map((r) => r.row)).toEqual([...Array(21).keys()]);
    expect(v2.map((r) => r.row)).toEqual([...Array(1_100).keys()].map((i) => 21 + i));

    const expected: ExportedRow[] = [];
    let row = 0;
    const owners = [alice, bob, carol];
    for (const [i, { record, contributionId }] of contributions.entries()) {
      for (const stored of await readRows(plane.blobs, record, 0, record.rowCount)) {
        expected.push({
          row: row++,
          text: stored.text,
          hash: stored.hash,
          contributor: owners[i]!.walletClient!.account.address,
          contributionId: contributionId.toString(),
          offsetInContribution: stored.index,
        });
      }
    }
    expect([...v1, ...v2]).toEqual(expected);
    expect(v1[20]!.text).toBe(paragraph(3));
    expect(v2[1_099]!.text).toBe(paragraph(1_299));
  });

  it('aborts with a clear error on a corrupted pack or tree, never writing an unverified row', async () => {
    const bobs = contributions[1]!.record;
    const path = blobPath(bobs.pack);
    const original = await readFile(path);
    // Same length, one byte changed in bob's fourth row.
    const [fourth] = await readRows(plane.blobs, bobs, 3, 1);
    const offset = original.indexOf(Buffer.from(fourth!.text, 'utf8'));
    const corrupted = Buffer.from(original);
    corrupted[offset + 5] = corrupted[offset + 5]! ^ 0x20;
    await writeFile(path, corrupted);
    try {
      const { out, text } = collector();
      const error = await exportVersionJsonl(plane, datanetId, 1, out).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ExportVerificationError);
      expect((error as Error).message).toMatch(
        new RegExp(`export of Datanet ${datanetId} version 1 aborted at row 12: contribution .*corrupt`),
      );
      // Only alice's rows (verified) were written, nothing of bob's batch.
      const written = text()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ExportedRow);
      expect(written.map((r) => r.row)).toEqual([...Array(12).keys()]);
      expect(text()).not.toContain(corrupted.subarray(offset, offset + 20).toString('utf8'));
    } finally {
      await writeFile(path, original);
    }

    // A truncated pack and a corrupted row tree are caught too.
    await writeFile(path, original.subarray(0, original.length - 10));
    try {
      await expect(exportVersionJsonl(plane, datanetId, 1, collector().out)).rejects.toThrow(
        /aborted at row 12/,
      );
    } finally {
      await writeFile(path, original);
    }
    const carols = contributions[2]!.record;
    const treePath = blobPath(carols.tree);
    const tree = await readFile(treePath);
    const handle = await open(treePath, 'r+');
    await handle.write(Buffer.from('corrupt'), 0, 7, 64);
    await handle.close();
    try {
      const { out, text } = collector();
      await expect(exportVersionJsonl(plane, datanetId, 2, out)).rejects.toThrow(
        /version 2 aborted at row 21: contribution \d+: its row tree cannot be read: blob .* is corrupt/,
      );
      expect(text()).toBe('');
    } finally {
      await writeFile(treePath, tree);
    }
    // Restored: the export works again.
    expect((await exportLines(1)).length).toBe(21);
  });
});

describe('incomplete versions', () => {
  it('marks a version with contributions missing here incomplete, and completes it once they arrive', async () => {
    // Dave's rows were uploaded to another data plane only.
    const elsewhere = await DataPlane.open({ dataDir: join(dir, 'elsewhere'), rpcUrl: devnet.url });
    const dave = await account(devnet.url, 5);
    const texts = [...Array(5).keys()].map((i) => paragraph(1_400 + i));
    let missing: { contributionId: bigint; record: ContributionRecord };
    try {
      missing = await contribute(dave, texts, elsewhere);
    } finally {
      await elsewhere.close();
    }
    const present = await contribute(alice, [paragraph(1_500), paragraph(1_501)]);
    await publishVersion(owner, { datanetId });

    const follower = await VersionFollower.open(plane);
    const [v3] = (await follower.poll()).versions;
    expect(v3).toMatchObject({
      version: 3,
      status: 'incomplete',
      missing: [
        {
          contributionId: missing.contributionId.toString(),
          dataRoot: missing.record.dataRoot,
          reason: 'not-stored',
        },
      ],
    });
    expect(v3!.entries.map((e) => e.recordId)).toEqual([null, present.record.id]);
    await expect(exportVersionJsonl(plane, datanetId, 3, collector().out)).rejects.toBeInstanceOf(
      VersionIncompleteError,
    );

    // The rows arrive here too: the next poll completes the version.
    const path = join(dir, 'dave.txt');
    await writeFile(path, texts.join('\n\n') + '\n');
    const { record } = await plane.ingestor.ingest({
      datanetId: datanetId.toString(),
      contributor: dave.walletClient!.account.address,
      files: [{ path, name: 'rows.txt' }],
      standard,
    });
    expect(record.dataRoot).toBe(missing.record.dataRoot);
    const [completed] = (await follower.poll()).versions;
    expect(completed).toMatchObject({ version: 3, status: 'complete', missing: [] });
    const lines = collector();
    expect(await exportVersionJsonl(plane, datanetId, 3, lines.out)).toMatchObject({ rows: 7 });
  });
});
