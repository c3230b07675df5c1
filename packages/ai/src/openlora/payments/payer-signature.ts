/**
 * Whether a payer signed a hash: ECDSA recovery for an externally owned account, else the payer's
 * ERC-1271 `isValidSignature` through `eth_call`, as InferencePayments' SignatureChecker does, so
 * that the node accepts exactly the signatures the contract will.
 */
import { isAddressEqual, recoverAddress, type Address, type Hex, type PublicClient } from 'viem';

const ERC1271_MAGIC = '0x1626ba7e';

const erc1271Abi = [
  {
    type: 'function',
    name: 'isValidSignature',
    stateMutability: 'view',
    inputs: [
      { name: 'hash', type: 'bytes32' },
      { name: 'signature', type: 'bytes' },
    ],
    outputs: [{ name: '', type: 'bytes4' }],
  },
] as const;

/** True if `signature` is `payer`'s over `hash` (EOA recovery, or the payer contract's ERC-1271 answer). */
export async function isPayerSignature(
  client: Pick<PublicClient, 'getCode' | 'readContract'>,
  payer: Address,
  hash: Hex,
  signature: Hex,
): Promise<boolean> {
  // A 65-byte signature that recovers to the payer needs no chain access (the common case).
  if (signature.length === 132) {
    try {
      if (isAddressEqual(await recoverAddress({ hash, signature }), payer)) return true;
    } catch {
      // Not a valid ECDSA signature: a contract wallet may still accept it.
    }
  }
  const code = await client.getCode({ address: payer });
  if (!code || code === '0x') return false;
  try {
    const answer = await client.readContract({
      address: payer,
      abi: erc1271Abi,
      functionName: 'isValidSignature',
      args: [hash, signature],
    });
    return answer.toLowerCase() === ERC1271_MAGIC;
  } catch {
    // A wallet that reverts or answers garbage did not accept the signature.
    return false;
  }
}
