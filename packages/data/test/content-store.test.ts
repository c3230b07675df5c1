import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256 } from '../src/hash.ts';
import { CorruptBlobError, NotFoundError } from '../src/store/content-store.ts';
import { FsContentStore } from '../src/store/fs-content-store.ts';

let root: string;
let store: FsContentStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'openledger-blobs-'));
  store = await FsContentStore.open(root);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function objectPath(hash: string): string {
  return join(root, 'objects', hash.slice(2, 4), hash.slice(4, 6), hash.slice(2));
}

describe('FsContentStore', () => {
  it('stores blobs under their keccak256, sharded, idempotently', async () => {
    const data = new TextEncoder().encode('a row of a Datanet');
    const hash = await store.put(data);
    expect(hash).toBe(keccak256(data));
    expect(await store.put(data)).toBe(hash);
    expect(await store.has(hash)).toBe(true);
    expect(Buffer.from(await store.get(hash)).toString()).toBe('a row of a Datanet');
    expect(await readdir(join(root, 'objects', hash.slice(2, 4), hash.slice(4, 6)))).toEqual([hash.slice(2)]);
    expect(Buffer.from(await store.getRange(hash, 2, 3)).toString()).toBe('row');
  });

  it('streams a large blob in and out without holding it, checking the hash', async () => {
    const chunk = Buffer.alloc(1 << 20, 'x');
    async function* source() {
      for (let i = 0; i < 32; i++) yield chunk;
    }
    const { hash, size } = await store.putStream(source());
    expect(size).toBe(32 << 20);
    let received = 0;
    for await (const part of store.stream(hash)) received += (part as Buffer).length;
    expect(received).toBe(size);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('reports corruption and never serves the bad bytes', async () => {
    const hash = await store.put(new TextEncoder().encode('original content'));
    await writeFile(objectPath(hash), 'tampered content');
    await expect(store.get(hash)).rejects.toBeInstanceOf(CorruptBlobError);
    await expect(text(store.stream(hash))).rejects.toBeInstanceOf(CorruptBlobError);
  });

  it('answers NotFoundError for an unknown hash and refuses malformed ones', async () => {
    const missing = keccak256('never stored');
    await expect(store.get(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(text(store.stream(missing))).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.has(missing)).toBe(false);
    await expect(store.get('0x1234' as `0x${string}`)).rejects.toThrow(/not a content hash/);
  });

  it('leaves nothing behind when a stream fails midway, and clears stray temp files on open', async () => {
    async function* failing() {
      yield Buffer.from('partial');
      throw new Error('upload aborted');
    }
    await expect(store.putStream(failing())).rejects.toThrow('upload aborted');
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    await writeFile(join(root, 'tmp', 'stray'), 'left by a crash');
    await FsContentStore.open(root);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });
});
