import { ClassicLevel } from 'classic-level';
import { mkdir } from 'node:fs/promises';

export type KeyValueBatchOp =
  { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/** The node's LevelDB: raw byte keys and values, one keyspace (see keys.ts). */
export class Database {
  private constructor(private readonly level: ClassicLevel<Uint8Array, Uint8Array>) {}

  static async open(dir: string): Promise<Database> {
    await mkdir(dir, { recursive: true });
    const level = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await level.open();
    return new Database(level);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.level.get(key);
  }

  /** Atomic and, when `sync`, durable before the promise resolves (fsync of LevelDB's log). */
  async write(ops: KeyValueBatchOp[], sync = true): Promise<void> {
    if (ops.length === 0) return;
    await this.level.batch(ops, { sync });
  }

  async close(): Promise<void> {
    await this.level.close();
  }
}
