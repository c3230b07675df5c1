import {
  hashTypedData,
  recoverTypedDataAddress,
  type Account,
  type Address,
  type Hex,
  type WalletClient,
} from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';

/**
 * A payment voucher: the payer authorises `node` to have charged it `cumulativeAmount` in total for
 * queries to `modelId`. Amounts only grow, so a node redeems just the latest voucher of a channel.
 */
export interface Voucher {
  payer: Address;
  node: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  deadline: bigint;
}

export const voucherTypes = {
  Voucher: [
    { name: 'payer', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'modelId', type: 'uint256' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export function voucherDomain(chainId: number, verifyingContract: Address = PREDEPLOYS.InferencePayments) {
  return { name: 'OpenLedger InferencePayments', version: '1', chainId, verifyingContract } as const;
}

/** The EIP-712 digest InferencePayments checks (equal to its `voucherDigest`). */
export function voucherDigest(voucher: Voucher, chainId: number, verifyingContract?: Address): Hex {
  return hashTypedData({
    domain: voucherDomain(chainId, verifyingContract),
    types: voucherTypes,
    primaryType: 'Voucher',
    message: voucher,
  });
}

/** Signs a voucher with the payer's account (which must be `voucher.payer`). */
export async function signVoucher(
  wallet: WalletClient,
  account: Account | Address,
  voucher: Voucher,
  chainId: number,
  verifyingContract?: Address,
): Promise<Hex> {
  return wallet.signTypedData({
    account,
    domain: voucherDomain(chainId, verifyingContract),
    types: voucherTypes,
    primaryType: 'Voucher',
    message: voucher,
  });
}

/** True if `signature` is the payer's signature of `voucher` (EOA payers; contract wallets are checked on-chain). */
export async function verifyVoucher(
  voucher: Voucher,
  signature: Hex,
  chainId: number,
  verifyingContract?: Address,
): Promise<boolean> {
  try {
    const signer = await recoverTypedDataAddress({
      domain: voucherDomain(chainId, verifyingContract),
      types: voucherTypes,
      primaryType: 'Voucher',
      message: voucher,
      signature,
    });
    return signer.toLowerCase() === voucher.payer.toLowerCase();
  } catch {
    return false;
  }
}
