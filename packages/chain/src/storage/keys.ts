import { bigIntToBytes, concatBytes, hexToBytes, setLengthLeft } from '@ethereumjs/util';

// One LevelDB keyspace, partitioned by a one-byte prefix, so that a block, its receipts, its indexes,
// the trie nodes it created and the new head pointer commit together in a single atomic batch.
const PREFIX = {
  canonical: 0x6e, // 'n' + number (8 bytes BE) -> block hash
  block: 0x62, // 'b' + hash -> block RLP
  receipts: 0x72, // 'r' + hash -> stored receipts RLP
  txLookup: 0x78, // 'x' + tx hash -> RLP [block hash, index]
  trie: 0x74, // 't' + node hash -> trie node
  meta: 0x6d, // 'm' + name -> metadata
} as const;

function prefixed(prefix: number, key: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(prefix), key);
}

export const keys = {
  canonical: (number: bigint) => prefixed(PREFIX.canonical, setLengthLeft(bigIntToBytes(number), 8)),
  block: (hash: Uint8Array) => prefixed(PREFIX.block, hash),
  receipts: (hash: Uint8Array) => prefixed(PREFIX.receipts, hash),
  txLookup: (txHash: Uint8Array) => prefixed(PREFIX.txLookup, txHash),
  trieNode: (hexKey: string) => prefixed(PREFIX.trie, hexToBytes(`0x${hexKey}`)),
  meta: (name: string) => prefixed(PREFIX.meta, new TextEncoder().encode(name)),
};
