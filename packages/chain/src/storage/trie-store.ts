import type { BatchDBOp, DB, EncodingOpts } from '@ethereumjs/util';
import type { Database, KeyValueBatchOp } from './database.ts';
import { keys } from './keys.ts';
import { LruCache } from './lru-cache.ts';

const TRIE_NODE_CACHE_ENTRIES = 200_000;

/**
 * The trie's view of the database. Writes stay in memory until `drain()` hands them to the block
 * commit, so trie nodes land in the same atomic batch as the block that references them: after a
 * crash there is never a head whose state is missing.
 */
export class TrieStore implements DB<string, string | Uint8Array> {
  private pending = new Map<string, Uint8Array>();
  // Drained writes whose batch is not on disk yet; readers must still find them.
  private readonly inFlight = new Set<Map<string, Uint8Array>>();
  // Nodes are immutable (keyed by their hash), so recently used ones can be served from memory:
  // every block walks the same upper levels of the state trie.
  private readonly recent = new LruCache<string, Uint8Array>(TRIE_NODE_CACHE_ENTRIES);

  constructor(private readonly db: Database) {}

  async get(key: string, _opts?: EncodingOpts): Promise<Uint8Array | undefined> {
    const value = this.pending.get(key) ?? this.recent.get(key);
    if (value !== undefined) return value;
    for (const writes of this.inFlight) {
      const flying = writes.get(key);
      if (flying !== undefined) return flying;
    }
    const stored = await this.db.get(keys.trieNode(key));
    if (stored !== undefined) this.recent.set(key, stored);
    return stored;
  }

  async put(key: string, value: string | Uint8Array, _opts?: EncodingOpts): Promise<void> {
    this.pending.set(key, toBytes(value));
  }

  // Nodes are content-addressed and shared between versions of the state, so deletes are ignored:
  // historical state stays readable (eth_call at old blocks, tracing, eth_getProof).
  async del(_key: string, _opts?: EncodingOpts): Promise<void> {}

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') this.pending.set(op.key, toBytes(op.value));
  }

  /** Takes the pending writes as database operations; call `settle` once they are on disk (or failed). */
  drain(): { ops: KeyValueBatchOp[]; settle: () => void } {
    const writes = this.pending;
    this.pending = new Map();
    this.inFlight.add(writes);
    const ops: KeyValueBatchOp[] = [];
    for (const [key, value] of writes) ops.push({ type: 'put', key: keys.trieNode(key), value });
    return {
      ops,
      settle: () => {
        this.inFlight.delete(writes);
        for (const [key, value] of writes) this.recent.set(key, value);
      },
    };
  }

  /** Forgets writes that will never be committed (a block that failed to build). */
  discard(): void {
    this.pending.clear();
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return this;
  }

  async open(): Promise<void> {}

  /** A scratch view for speculative execution (eth_call, tracing): reads through, keeps writes to itself. */
  scratch(): DB<string, string | Uint8Array> {
    return new ScratchTrieStore(this);
  }
}

class ScratchTrieStore implements DB<string, string | Uint8Array> {
  private readonly writes = new Map<string, Uint8Array>();

  constructor(private readonly base: TrieStore) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.writes.get(key) ?? this.base.get(key);
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.writes.set(key, toBytes(value));
  }

  async del(_key: string): Promise<void> {}

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === 'put') this.writes.set(op.key, toBytes(op.value));
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return this;
  }

  async open(): Promise<void> {}
}

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Uint8Array.from(Buffer.from(value, 'hex')) : value;
}
