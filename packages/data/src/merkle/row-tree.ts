import createKeccakHash from 'keccak';
import type { Hash } from '../hash.ts';

const NODE = 32;

/**
 * A contribution's Merkle tree over its row hashes, laid out exactly as @openzeppelin/merkle-tree's
 * `SimpleMerkleTree.of(leaves, { sortLeaves: false })` (the SDK's `rowTree`): a complete binary tree
 * in one array of 2n-1 nodes, leaf i at index 2n-2-i, node i = keccak256 of its two children in
 * ascending order. Here the array is one Buffer of 32-byte nodes hashed with the native keccak, so a
 * million rows take 64 MB and about a second instead of a million JS objects.
 */
export class RowTree {
  private constructor(
    /** The 2n-1 nodes, 32 bytes each; node 0 is the root. */
    readonly nodes: Buffer,
    readonly leafCount: number,
  ) {}

  static build(leaves: readonly Hash[] | Buffer): RowTree {
    const packed = Buffer.isBuffer(leaves)
      ? leaves
      : Buffer.concat(leaves.map((h) => Buffer.from(h.slice(2), 'hex')));
    const n = packed.length / NODE;
    if (!Number.isInteger(n) || n === 0) throw new Error('a row tree needs at least one 32-byte leaf');
    const size = 2 * n - 1;
    const nodes = Buffer.alloc(size * NODE);
    for (let i = 0; i < n; i++) packed.copy(nodes, (size - 1 - i) * NODE, i * NODE, (i + 1) * NODE);
    for (let i = size - 1 - n; i >= 0; i--) {
      hashPair(nodes, (2 * i + 1) * NODE, (2 * i + 2) * NODE, i * NODE);
    }
    return new RowTree(nodes, n);
  }

  /** Rebuilds a tree from its serialised nodes (as stored in the content store). */
  static fromNodes(nodes: Buffer): RowTree {
    const size = nodes.length / NODE;
    if (!Number.isInteger(size) || size % 2 === 0) throw new Error('not a serialised row tree');
    return new RowTree(nodes, (size + 1) / 2);
  }

  get root(): Hash {
    return hex(this.nodes, 0);
  }

  leaf(index: number): Hash {
    return hex(this.nodes, this.leafPosition(index) * NODE);
  }

  /** The sibling hashes from leaf `index` up to the root, as OpenZeppelin's MerkleProof expects. */
  proof(index: number): Hash[] {
    const proof: Hash[] = [];
    for (let i = this.leafPosition(index); i > 0; i = (i - 1) >> 1) {
      const sibling = i % 2 === 1 ? i + 1 : i - 1;
      proof.push(hex(this.nodes, sibling * NODE));
    }
    return proof;
  }

  private leafPosition(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new RangeError(`leaf ${index} out of range (${this.leafCount} leaves)`);
    }
    return 2 * this.leafCount - 2 - index;
  }
}

/** Checks `proof` of `leaf` against `root` (commutative keccak256, OpenZeppelin's MerkleProof.verify). */
export function verifyRowProof(root: Hash, leaf: Hash, proof: readonly Hash[]): boolean {
  let node: Buffer = Buffer.from(leaf.slice(2), 'hex');
  for (const sibling of proof) {
    const s = Buffer.from(sibling.slice(2), 'hex');
    const [lo, hi] = Buffer.compare(node, s) <= 0 ? [node, s] : [s, node];
    node = createKeccakHash('keccak256').update(lo).update(hi).digest();
  }
  return `0x${node.toString('hex')}` === root.toLowerCase();
}

function hashPair(nodes: Buffer, a: number, b: number, out: number): void {
  const left = nodes.subarray(a, a + NODE);
  const right = nodes.subarray(b, b + NODE);
  const [lo, hi] = Buffer.compare(left, right) <= 0 ? [left, right] : [right, left];
  createKeccakHash('keccak256').update(lo).update(hi).digest().copy(nodes, out);
}

function hex(buffer: Buffer, offset: number): Hash {
  return `0x${buffer.toString('hex', offset, offset + NODE)}`;
}
