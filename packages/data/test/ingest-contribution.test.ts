import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimpleMerkleTree } from '@openzeppelin/merkle-tree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContributionIngestor } from '../src/contributions/ingest-contribution.ts';
import { RecordDb } from '../src/contributions/record-db.ts';
import { readRows } from '../src/contributions/row-pack.ts';
import { DedupStage } from '../src/dedup/dedup-stage.ts';
import { LevelExactIndex } from '../src/dedup/exact-index.ts';
import { LevelLshIndex } from '../src/dedup/lsh-index.ts';
import { keccak256 } from '../src/hash.ts';
import { parseValidationStandard } from '../src/ingest/validation-standard.ts';
import { FsContentStore } from '../src/store/fs-content-store.ts';
import { IngestError } from '../src/types.ts';

const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const bob = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const standard = parseValidationStandard({
  kind: 'text',
  granularity: 'paragraph',
  minLength: 20,
  maxLength: 2_000,
  languages: ['eng'],
});

let dir: string;
let blobs: FsContentStore;
let records: RecordDb;
let ingestor: ContributionIngestor;
const stages = new Map<string, Promise<DedupStage>>();

async function dedupFor(datanetId: string): Promise<DedupStage> {
  if (!stages.has(datanetId)) {
    stages.set(
      datanetId,
      (async () =>
        new DedupStage({
          exact: await LevelExactIndex.open(join(dir, 'dedup', datanetId, 'exact')),
          lsh: await LevelLshIndex.open(join(dir, 'dedup', datanetId, 'lsh')),
        }))(),
    );
  }
  return stages.get(datanetId)!;
}

async function upload(name: string, text: string): Promise<{ path: string; name: string }> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
  await writeFile(path, text);
  return { path, name };
}

const paragraphs = [
  'The river rose slowly through the night, and by morning the low fields near the mill were under water.',
  'Farmers moved their animals to the hills before the bridge closed, while volunteers filled sandbags.',
  'Contact the coordinator at jane.doe@example.org or call +44 20 7946 0958 to offer help with the cleanup.',
  'Donations can be sent by card 4111 1111 1111 1111 until the end of the month, the council announced.',
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-ingest-'));
  blobs = await FsContentStore.open(join(dir, 'blobs'));
  records = await RecordDb.open(join(dir, 'records'));
  ingestor = new ContributionIngestor({ blobs, records, dedup: dedupFor });
});

afterAll(async () => {
  await records.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ContributionIngestor', () => {
  it('stores scrubbed rows with a Merkle root equal to OpenZeppelin’s, and reports what it removed', async () => {
    const file = await upload('flood.txt', paragraphs.join('\n\n') + '\n\ntoo short\n');
    const { record, report } = await ingestor.ingest({
      datanetId: '1',
      contributor: alice,
      files: [file],
      standard,
    });
    expect(record.rowCount).toBe(4);
    expect(report.rowsRejected).toBe(1);
    expect(report.issues[0]).toMatchObject({ code: 'too-short', file: 'flood.txt' });
    expect(report.scrub.counts).toMatchObject({ email: 1, phone: 1, card: 1 });
    expect(JSON.stringify(report)).not.toContain('jane.doe@example.org');

    const rows = await readRows(blobs, record, 0, record.rowCount);
    expect(rows.map((r) => r.text)).toHaveLength(4);
    expect(rows[2]!.text).toContain('[EMAIL]');
    expect(rows[3]!.text).not.toContain('4111');
    const oz = SimpleMerkleTree.of(
      rows.map((r) => keccak256(r.text)),
      { sortLeaves: false },
    );
    expect(record.dataRoot).toBe(oz.root);
    expect(record.indexed).toBe(true);
    expect(await records.byDataRoot('1', record.dataRoot)).toEqual(record);
    expect(await ingestor.verifiedRowHashes(record)).toEqual(rows.map((r) => r.hash));
  });

  it('rejects rows another contributor already gave, and a contribution that is only duplicates', async () => {
    const fresh =
      'A second story about the harvest festival, with music in the square and bread from every village.';
    const file = await upload('mix.txt', `${paragraphs[0]}\n\n${fresh}\n`);
    const { record, report } = await ingestor.ingest({
      datanetId: '1',
      contributor: bob,
      files: [file],
      standard,
    });
    expect(record.rowCount).toBe(1);
    expect(report.duplicates.exact).toBe(1);
    expect(report.issues.map((i) => i.code)).toContain('exact-duplicate');

    const again = await upload('again.txt', `${paragraphs[1]}\n\n${fresh}\n`);
    await expect(
      ingestor.ingest({ datanetId: '1', contributor: bob, files: [again], standard }),
    ).rejects.toMatchObject({ code: 'all-duplicates' });
    // Another Datanet has its own indexes.
    const elsewhere = await ingestor.ingest({ datanetId: '2', contributor: bob, files: [again], standard });
    expect(elsewhere.record.rowCount).toBe(2);
  });

  it('names a duplicate’s original by its stored row, after dropped duplicates are renumbered', async () => {
    const [p0, p1] = [
      paragraphs[0]!.replace('river', 'canal'),
      paragraphs[1]!.replace('Farmers', 'Shepherds'),
    ];
    const first = await upload('first.txt', `${p0}\n\n${p0}\n\n${p1}\n`);
    const a = await ingestor.ingest({ datanetId: '4', contributor: alice, files: [first], standard });
    expect(a.record.rowCount).toBe(2);
    const rows = await readRows(blobs, a.record, 0, 2);
    expect(rows.map((r) => r.text)).toEqual([p0, p1]);
    const fresh =
      'Nothing like the others: a note about bees, clover and the long summer evenings on the hill.';
    const second = await upload('second.txt', `${p1}\n\n${fresh}\n`);
    const b = await ingestor.ingest({ datanetId: '4', contributor: bob, files: [second], standard });
    expect(b.report.issues[0]?.message).toContain(`of row 1 of contribution ${a.record.id}`);
  });

  it('stores nothing for a bad file and keeps serving what was stored', async () => {
    const before = await records.list('1');
    const empty = await upload('empty.txt', '');
    await expect(
      ingestor.ingest({ datanetId: '1', contributor: alice, files: [empty], standard }),
    ).rejects.toBeInstanceOf(IngestError);
    const wrong = await upload('data.exe', 'MZ...');
    await expect(
      ingestor.ingest({ datanetId: '1', contributor: alice, files: [wrong], standard }),
    ).rejects.toMatchObject({
      code: 'unsupported-type',
    });
    const big = await upload('big.txt', 'x'.repeat(2048));
    await expect(
      ingestor.ingest({ datanetId: '1', contributor: alice, files: [big], standard, maxFileBytes: 1024 }),
    ).rejects.toMatchObject({ code: 'file-too-large' });
    expect(await records.list('1')).toEqual(before);
  });

  it('recovers a record whose rows missed the dedup indexes (a crash between the two writes)', async () => {
    const text =
      'An unusual paragraph about lighthouse keepers and their logbooks, kept through many winters.';
    const file = await upload('keepers.txt', `${text}\n`);
    const { record } = await ingestor.ingest({ datanetId: '3', contributor: alice, files: [file], standard });
    // Simulate the crash: the record is durable but says its rows are not indexed, and the indexes are empty.
    await records.put({ ...record, indexed: false });
    const old = await stages.get('3')!;
    await (old.exact as LevelExactIndex).close();
    await (old.lsh as LevelLshIndex).close();
    stages.delete('3');
    await rm(join(dir, 'dedup', '3'), { recursive: true, force: true });
    expect(await ingestor.recover()).toBe(1);
    expect((await records.get(record.id))?.indexed).toBe(true);
    const copy = await upload('copy.txt', `${text}\n`);
    await expect(
      ingestor.ingest({ datanetId: '3', contributor: bob, files: [copy], standard }),
    ).rejects.toMatchObject({ code: 'all-duplicates' });
  });
});

describe('structured rows', () => {
  it('are scrubbed value by value and stay valid records', async () => {
    const records = parseValidationStandard({
      kind: 'structured',
      schema: { type: 'object', required: ['note'], properties: { note: { type: 'string' } } },
    });
    const file = await upload(
      'notes.jsonl',
      `${JSON.stringify({ note: 'first line\nwrite to user@example.com', id: 1 })}\n` +
        `${JSON.stringify({ note: 'call\t+44 20 7946 0958 today', id: 2 })}\n`,
    );
    const { record, report } = await ingestor.ingest({
      datanetId: '5',
      contributor: alice,
      files: [file],
      standard: records,
    });
    const rows = await readRows(blobs, record, 0, record.rowCount);
    const parsed = rows.map((r) => JSON.parse(r.text) as { note: string });
    expect(parsed[0]!.note).toBe('first line\nwrite to [EMAIL]');
    expect(parsed[1]!.note).toBe('call\t[PHONE] today');
    expect(report.scrub.counts).toMatchObject({ email: 1, phone: 1 });
    expect(JSON.stringify(report)).not.toContain('user@example.com');
  });
});
