import { SimpleMerkleTree } from '@openzeppelin/merkle-tree';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keccak256 } from '../src/hash.ts';
import { RowTree, verifyRowProof } from '../src/merkle/row-tree.ts';

const leaves = (n: number, salt = '') => Array.from({ length: n }, (_, i) => keccak256(`row ${salt}${i}`));

describe('RowTree', () => {
  it('has the root and proofs of OpenZeppelin SimpleMerkleTree (unsorted) for every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.string(), (n, salt) => {
        const hashes = leaves(n, salt);
        const ours = RowTree.build(hashes);
        const oz = SimpleMerkleTree.of(hashes, { sortLeaves: false });
        expect(ours.root).toBe(oz.root);
        for (let i = 0; i < n; i++) {
          expect(ours.leaf(i)).toBe(hashes[i]);
          expect(ours.proof(i)).toEqual(oz.getProof(i));
          expect(verifyRowProof(ours.root, hashes[i]!, ours.proof(i))).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a proof for another leaf, a tampered sibling or another root', () => {
    const hashes = leaves(9);
    const tree = RowTree.build(hashes);
    const proof = tree.proof(4);
    expect(verifyRowProof(tree.root, hashes[5]!, proof)).toBe(false);
    expect(verifyRowProof(tree.root, hashes[4]!, [keccak256('x'), ...proof.slice(1)])).toBe(false);
    expect(verifyRowProof(RowTree.build(leaves(9, 'other')).root, hashes[4]!, proof)).toBe(false);
  });

  it('round-trips through its serialised nodes', () => {
    const tree = RowTree.build(leaves(13));
    const copy = RowTree.fromNodes(Buffer.from(tree.nodes));
    expect(copy.root).toBe(tree.root);
    expect(copy.proof(12)).toEqual(tree.proof(12));
    expect(() => RowTree.build([])).toThrow(/at least one/);
    expect(() => tree.proof(13)).toThrow(RangeError);
  });
});
