import { RLP } from '@ethereumjs/rlp';
import { keccak256 } from '../crypto/native.ts';

type Nibbles = Uint8Array;

function toNibbles(key: Uint8Array): Nibbles {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i]! >> 4;
    out[2 * i + 1] = key[i]! & 0x0f;
  }
  return out;
}

/** Hex-prefix encoding of a path (Yellow Paper appendix C). */
function hexPrefix(path: Nibbles, leaf: boolean): Uint8Array {
  const odd = path.length % 2;
  const out = new Uint8Array(1 + (path.length >> 1));
  out[0] = ((leaf ? 2 : 0) + odd) << 4;
  let i = 0;
  if (odd) out[0]! |= path[i++]!;
  for (let j = 1; i < path.length; j++, i += 2) out[j] = (path[i]! << 4) | path[i + 1]!;
  return out;
}

/** How a node is referenced from its parent: inline when its encoding is under 32 bytes, else its hash. */
function reference(encoded: Uint8Array): Uint8Array | Uint8Array[] {
  return encoded.length < 32 ? (RLP.decode(encoded) as Uint8Array[]) : keccak256(encoded);
}

function encodeNode(entries: [Nibbles, Uint8Array][], depth: number): Uint8Array {
  if (entries.length === 1) {
    const [path, value] = entries[0]!;
    return RLP.encode([hexPrefix(path.subarray(depth), true), value]);
  }
  // Longest prefix shared by every key below this point: an extension node.
  const first = entries[0]![0];
  let shared = 0;
  while (
    entries.every(([path]) => path.length > depth + shared && path[depth + shared] === first[depth + shared])
  )
    shared++;
  if (shared > 0) {
    const child = encodeNode(entries, depth + shared);
    return RLP.encode([hexPrefix(first.subarray(depth, depth + shared), false), reference(child)]);
  }
  const branch: (Uint8Array | Uint8Array[])[] = Array.from({ length: 17 }, () => new Uint8Array());
  let start = 0;
  if (entries[0]![0].length === depth) {
    branch[16] = entries[0]![1];
    start = 1;
  }
  while (start < entries.length) {
    const nibble = entries[start]![0][depth]!;
    let end = start + 1;
    while (end < entries.length && entries[end]![0][depth] === nibble) end++;
    branch[nibble] = reference(encodeNode(entries.slice(start, end), depth + 1));
    start = end;
  }
  return RLP.encode(branch);
}

/**
 * The root of the Merkle-Patricia trie mapping RLP(index) to `values[index]`: the transactions and
 * receipts roots of a block header. Built bottom-up from the sorted keys, hashing each node once,
 * instead of inserting keys one at a time into a general trie (which rehashes the path each time).
 */
export function orderedTrieRoot(values: Uint8Array[]): Uint8Array {
  if (values.length === 0) return keccak256(RLP.encode(new Uint8Array()));
  const entries: [Nibbles, Uint8Array][] = values.map((value, i) => [toNibbles(RLP.encode(i)), value]);
  entries.sort(([a], [b]) => {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  });
  return keccak256(encodeNode(entries, 0));
}
