import { SimpleMerkleTree, StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';

/**
 * The Merkle trees the protocol commits to, built exactly as the contracts check them
 * (OpenZeppelin's commutative keccak256 trees).
 */

/** A contribution's rows: leaves are the rows' content hashes, in row order. */
export function rowTree(rowHashes: readonly Hex[]): SimpleMerkleTree {
  return SimpleMerkleTree.of([...rowHashes], { sortLeaves: false });
}

export interface VersionEntry {
  contributionId: bigint;
  dataRoot: Hex;
  rowOffset: bigint;
  rowCount: bigint;
}

/** The leaf of one contribution in a Datanet version (DatanetRegistry.publishVersion). */
export function versionLeaf(e: VersionEntry): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
      [e.contributionId, e.dataRoot, e.rowOffset, e.rowCount],
    ),
  );
}

/** A Datanet version: its contributions in the order the version lists them. */
export function versionTree(entries: readonly VersionEntry[]): SimpleMerkleTree {
  return SimpleMerkleTree.of(entries.map(versionLeaf), { sortLeaves: false });
}

export interface RewardEntry {
  account: Address;
  amount: bigint;
}

export const REWARD_LEAF_ENCODING = ['uint256', 'address', 'uint256'] as const;

/** An epoch's contributor rewards for one model (AttributionSettlement): leaf i = (i, account, amount). */
export function rewardTree(rewards: readonly RewardEntry[]): StandardMerkleTree<[bigint, Address, bigint]> {
  return StandardMerkleTree.of(
    rewards.map((r, i): [bigint, Address, bigint] => [BigInt(i), r.account, r.amount]),
    [...REWARD_LEAF_ENCODING],
  );
}

/** The proof of leaf `index` of a reward tree, with the fields a claim needs. */
export function rewardClaim(tree: StandardMerkleTree<[bigint, Address, bigint]>, index: number) {
  const [leafIndex, account, amount] = tree.at(index)!;
  return { index: leafIndex, account, amount, proof: tree.getProof(index) as Hex[] };
}
