import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { isHash, keccak256, keccakStream, type Hash } from '../hash.ts';
import { CorruptBlobError, NotFoundError, type ContentStore } from './content-store.ts';

/**
 * The content store on a local filesystem: `objects/ab/cd/<hash>` (two levels of 256 shards keep
 * directories small at millions of blobs). A blob is written to `tmp/`, fsynced, renamed into place
 * and its directory fsynced, so a crash leaves either the whole blob or none (at most a stray temp
 * file, removed on open).
 */
export class FsContentStore implements ContentStore {
  private constructor(private readonly root: string) {}

  static async open(root: string): Promise<FsContentStore> {
    await rm(join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    await mkdir(join(root, 'objects'), { recursive: true });
    return new FsContentStore(root);
  }

  async put(data: Uint8Array): Promise<Hash> {
    const hash = keccak256(data);
    if (await this.has(hash)) return hash;
    const temp = this.tempPath();
    const file = await open(temp, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.install(temp, hash);
    return hash;
  }

  async putStream(source: AsyncIterable<Uint8Array>): Promise<{ hash: Hash; size: number }> {
    const temp = this.tempPath();
    const hasher = keccakStream();
    let size = 0;
    const file = await open(temp, 'w');
    try {
      for await (const chunk of source) {
        hasher.update(chunk);
        size += chunk.byteLength;
        await file.write(chunk);
      }
      await file.sync();
    } catch (error) {
      await file.close();
      await rm(temp, { force: true });
      throw error;
    }
    await file.close();
    const hash = hasher.digest();
    if (await this.has(hash)) await rm(temp, { force: true });
    else await this.install(temp, hash);
    return { hash, size };
  }

  async get(hash: Hash): Promise<Uint8Array> {
    const data = await this.read(hash);
    const actual = keccak256(data);
    if (actual !== hash) throw new CorruptBlobError(hash, actual);
    return data;
  }

  async getRange(hash: Hash, start: number, length: number): Promise<Uint8Array> {
    let file;
    try {
      file = await open(this.path(hash), 'r');
    } catch (error) {
      throw notFound(error, hash);
    }
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, start);
      if (bytesRead !== length) throw new CorruptBlobError(hash, `0x${'0'.repeat(64)}`);
      return buffer;
    } finally {
      await file.close();
    }
  }

  async has(hash: Hash): Promise<boolean> {
    try {
      return (await stat(this.path(hash))).isFile();
    } catch {
      return false;
    }
  }

  stream(hash: Hash): Readable {
    const path = this.path(hash);
    const hasher = keccakStream();
    const verify = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hasher.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        const actual = hasher.digest();
        done(actual === hash ? null : new CorruptBlobError(hash, actual));
      },
    });
    const source = createReadStream(path);
    source.once('error', (error) => verify.destroy(notFound(error, hash)));
    return Readable.from(source.pipe(verify));
  }

  private async read(hash: Hash): Promise<Uint8Array> {
    try {
      return await readFile(this.path(hash));
    } catch (error) {
      throw notFound(error, hash);
    }
  }

  private async install(temp: string, hash: Hash): Promise<void> {
    const target = this.path(hash);
    await mkdir(dirname(target), { recursive: true });
    await rename(temp, target);
    const dir = await open(dirname(target), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private path(hash: Hash): string {
    if (!isHash(hash)) throw new Error(`not a content hash: ${hash}`);
    return join(this.root, 'objects', hash.slice(2, 4), hash.slice(4, 6), hash.slice(2));
  }

  private tempPath(): string {
    return join(this.root, 'tmp', randomUUID());
  }
}

function notFound(error: unknown, hash: Hash): Error {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFoundError(hash) : (error as Error);
}
