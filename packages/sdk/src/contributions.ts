import { keccak256, toBytes, type Account, type Address, type Hex, type WalletClient } from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';

/** What a contributor signs so that a service may submit the contribution for them. */
export interface ContributionSubmission {
  datanetId: bigint;
  dataRoot: Hex;
  rowCount: bigint;
  byteSize: bigint;
  metadataURI: string;
  nonce: bigint;
  deadline: bigint;
}

export const contributionTypes = {
  Contribution: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'dataRoot', type: 'bytes32' },
    { name: 'rowCount', type: 'uint64' },
    { name: 'byteSize', type: 'uint64' },
    { name: 'metadataHash', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export function contributionDomain(chainId: number, verifyingContract: Address = PREDEPLOYS.DatanetRegistry) {
  return { name: 'OpenLedger DatanetRegistry', version: '1', chainId, verifyingContract } as const;
}

/** Signs a contribution for `DatanetRegistry.submitContributionWithSig`. */
export async function signContribution(
  wallet: WalletClient,
  account: Account | Address,
  c: ContributionSubmission,
  chainId: number,
  verifyingContract?: Address,
): Promise<Hex> {
  return wallet.signTypedData({
    account,
    domain: contributionDomain(chainId, verifyingContract),
    types: contributionTypes,
    primaryType: 'Contribution',
    message: {
      datanetId: c.datanetId,
      dataRoot: c.dataRoot,
      rowCount: c.rowCount,
      byteSize: c.byteSize,
      metadataHash: keccak256(toBytes(c.metadataURI)),
      nonce: c.nonce,
      deadline: c.deadline,
    },
  });
}
