import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  AttributionRecordError,
  assertValidRecord,
  recordFromJson,
  recordToJson,
  type AttributionRecord,
} from './attribution-record.ts';

/**
 * Attribution records, append-only: one JSON line each, fsynced before `append` resolves, so a
 * record acknowledged is never lost to a crash. A torn last line (a crash mid-write) is dropped on
 * open and overwritten by the next append; anything else unreadable is corruption and refuses to
 * open. Records are kept in memory by id and by model, in log order (what settlement replays).
 */
export class AttributionLog {
  private readonly byId = new Map<string, AttributionRecord>();
  private readonly byModel = new Map<string, AttributionRecord[]>();
  /** Ids being written: visible to no reader yet, but taken. */
  private readonly pending = new Set<string>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    private size: number,
  ) {}

  static async open(path: string): Promise<AttributionLog> {
    await mkdir(dirname(path), { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const records: AttributionRecord[] = [];
    let valid = 0;
    let offset = 0;
    for (const line of text.split('\n')) {
      const end = offset + Buffer.byteLength(line) + 1;
      if (end > Buffer.byteLength(text)) break; // the last line has no newline: torn
      if (line.length > 0) {
        try {
          records.push(recordFromJson(JSON.parse(line)));
        } catch (error) {
          throw new AttributionRecordError(
            `${path}: line at byte ${offset} is corrupt (${error instanceof Error ? error.message : String(error)})`,
          );
        }
      }
      valid = end;
      offset = end;
    }
    const file = await open(path, 'a+');
    if (valid < Buffer.byteLength(text)) await file.truncate(valid);
    const log = new AttributionLog(file, valid);
    for (const r of records) log.index(r);
    return log;
  }

  /** Logs a record durably; a second record with the same id is refused. */
  async append(record: AttributionRecord): Promise<void> {
    // Everything before the first await runs at once, so two appends of one id cannot both pass.
    assertValidRecord(record);
    if (this.byId.has(record.id) || this.pending.has(record.id)) {
      throw new AttributionRecordError(`attribution ${record.id} is already recorded`);
    }
    this.pending.add(record.id);
    const line = Buffer.from(`${JSON.stringify(recordToJson(record))}\n`);
    const write = this.writing.then(async () => {
      try {
        await this.file.write(line, 0, line.length, this.size);
        await this.file.sync();
        this.size += line.length;
        // Readers see a record only once it is on disk.
        this.index(record);
      } finally {
        this.pending.delete(record.id);
      }
    });
    this.writing = write.catch(() => undefined);
    await write;
  }

  get(id: string): AttributionRecord | undefined {
    return this.byId.get(id);
  }

  /** The model's records in log order. */
  forModel(modelId: bigint): readonly AttributionRecord[] {
    return this.byModel.get(modelId.toString()) ?? [];
  }

  models(): bigint[] {
    return [...this.byModel.keys()].map(BigInt);
  }

  async close(): Promise<void> {
    await this.writing;
    await this.file.close();
  }

  private index(record: AttributionRecord): void {
    this.byId.set(record.id, record);
    const key = record.modelId.toString();
    const list = this.byModel.get(key) ?? [];
    list.push(record);
    this.byModel.set(key, list);
  }
}
