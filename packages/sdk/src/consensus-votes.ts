import { hashTypedData, type Account, type Address, type Hex, type WalletClient } from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';

/** Consensus steps a validator signs (Tendermint): a prevote or a precommit. */
export const VoteStep = { prevote: 1, precommit: 2 } as const;

/** A consensus vote as validators sign it; two for the same height/round/step and different blocks are double-signing. */
export interface ConsensusVote {
  height: bigint;
  round: number;
  step: number;
  blockHash: Hex;
}

export const consensusVoteTypes = {
  Vote: [
    { name: 'height', type: 'uint64' },
    { name: 'round', type: 'uint32' },
    { name: 'step', type: 'uint8' },
    { name: 'blockHash', type: 'bytes32' },
  ],
} as const;

/** Votes are bound to the chain and to the Staking contract that slashes their double-signing. */
export function consensusDomain(chainId: number, verifyingContract: Address = PREDEPLOYS.Staking) {
  return { name: 'OpenLedger Consensus', version: '1', chainId, verifyingContract } as const;
}

export function consensusVoteDigest(vote: ConsensusVote, chainId: number, verifyingContract?: Address): Hex {
  return hashTypedData({
    domain: consensusDomain(chainId, verifyingContract),
    types: consensusVoteTypes,
    primaryType: 'Vote',
    message: vote,
  });
}

export async function signConsensusVote(
  wallet: WalletClient,
  account: Account | Address,
  vote: ConsensusVote,
  chainId: number,
  verifyingContract?: Address,
): Promise<Hex> {
  return wallet.signTypedData({
    account,
    domain: consensusDomain(chainId, verifyingContract),
    types: consensusVoteTypes,
    primaryType: 'Vote',
    message: vote,
  });
}
