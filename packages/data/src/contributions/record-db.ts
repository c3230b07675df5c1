import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import type { Hash } from '../hash.ts';
import type { ContributionRecord } from './contribution-record.ts';

/**
 * Contribution records on LevelDB: `c:<id>` → record JSON, `r:<datanetId>:<dataRoot>` → id, and
 * `d:<datanetId>:<createdAt>:<id>` for listing a Datanet's contributions in arrival order. Every write
 * is one synced batch, so a record and its lookups appear together or not at all.
 */
export class RecordDb {
  private constructor(private readonly db: ClassicLevel<string, string>) {}

  static async open(dir: string): Promise<RecordDb> {
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    return new RecordDb(db);
  }

  async put(record: ContributionRecord): Promise<void> {
    await this.db.batch(
      [
        { type: 'put', key: `c:${record.id}`, value: JSON.stringify(record) },
        { type: 'put', key: rootKey(record.datanetId, record.dataRoot), value: record.id },
        { type: 'put', key: listKey(record), value: record.id },
      ],
      { sync: true },
    );
  }

  async get(id: string): Promise<ContributionRecord | undefined> {
    const value = await this.db.get(`c:${id}`);
    return value === undefined ? undefined : (JSON.parse(value) as ContributionRecord);
  }

  async byDataRoot(datanetId: string, dataRoot: Hash): Promise<ContributionRecord | undefined> {
    const id = await this.db.get(rootKey(datanetId, dataRoot));
    return id === undefined ? undefined : this.get(id);
  }

  async list(datanetId: string): Promise<ContributionRecord[]> {
    const records: ContributionRecord[] = [];
    for await (const id of this.db.values({ gte: `d:${datanetId}:`, lt: `d:${datanetId};` })) {
      const record = await this.get(id);
      if (record) records.push(record);
    }
    return records;
  }

  async all(): Promise<ContributionRecord[]> {
    const records: ContributionRecord[] = [];
    for await (const value of this.db.values({ gte: 'c:', lt: 'c;' })) {
      records.push(JSON.parse(value) as ContributionRecord);
    }
    return records;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function rootKey(datanetId: string, dataRoot: Hash): string {
  return `r:${datanetId}:${dataRoot}`;
}

function listKey(record: ContributionRecord): string {
  return `d:${record.datanetId}:${String(record.createdAt).padStart(15, '0')}:${record.id}`;
}
