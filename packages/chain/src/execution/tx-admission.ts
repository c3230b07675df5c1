import type { Block } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import type { TypedTransaction } from '@ethereumjs/tx';
import { TransactionType, createTxFromRLP } from '@ethereumjs/tx';
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt } from '@ethereumjs/util';
import { TxPoolError } from '../mempool/errors.ts';

/** EIP-3860. */
const MAX_INITCODE_SIZE = 49_152;
/** geth's txMaxSize: larger transactions are refused before decoding anything else. */
export const MAX_TX_BYTES = 128 * 1024;

/**
 * Decodes a raw transaction and checks everything that does not depend on the sender's account:
 * encoding, type, chain id, signature (recovering the sender once, natively), gas bounds, size.
 * Errors read as geth's, so tools that match on them behave the same.
 */
export function decodeRawTransaction(
  raw: Uint8Array,
  common: Common,
  head: Block,
  senderPublicKey?: Uint8Array,
): TypedTransaction {
  if (raw.length > MAX_TX_BYTES)
    throw new TxPoolError(`oversized data: transaction size ${raw.length}, limit ${MAX_TX_BYTES}`);
  if (raw.length === 0) throw new TxPoolError('typed transaction too short');
  const type = raw[0]! >= 0xc0 ? TransactionType.Legacy : raw[0]!;
  if (type === TransactionType.BlobEIP4844)
    throw new TxPoolError('transaction type not supported: blob transactions need a beacon chain');
  if (type > TransactionType.EOACodeEIP7702) throw new TxPoolError('transaction type not supported');
  let tx: TypedTransaction;
  try {
    tx = createTxFromRLP(raw, { common, allowUnlimitedInitCodeSize: false });
  } catch (error) {
    const claimed = claimedChainId(raw);
    if (claimed !== undefined && claimed !== common.chainId()) {
      throw new TxPoolError(`invalid chain id for signer: have ${claimed} want ${common.chainId()}`);
    }
    throw new TxPoolError(decodeFailure(error));
  }
  if (tx.type !== TransactionType.Legacy || tx.v === undefined || tx.v > 28n) {
    const chainId = (tx as { chainId?: bigint }).chainId ?? chainIdFromV(tx.v);
    if (chainId !== undefined && chainId !== common.chainId()) {
      throw new TxPoolError(`invalid chain id for signer: have ${chainId} want ${common.chainId()}`);
    }
  }
  // A key recovered from these very bytes elsewhere (the RPC front worker) spares the recovery.
  if (senderPublicKey !== undefined && Object.isFrozen(tx)) tx.cache.senderPubKey = senderPublicKey;
  try {
    tx.getSenderAddress();
  } catch {
    throw new TxPoolError('invalid sender');
  }
  if (tx.gasLimit > head.header.gasLimit) throw new TxPoolError('exceeds block gas limit');
  const intrinsic = tx.getIntrinsicGas();
  if (tx.gasLimit < intrinsic) {
    throw new TxPoolError(`intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${intrinsic}`);
  }
  if (tx.to === undefined && tx.data.length > MAX_INITCODE_SIZE) {
    throw new TxPoolError(
      `max initcode size exceeded: code size ${tx.data.length} limit ${MAX_INITCODE_SIZE}`,
    );
  }
  return tx;
}

/** The chain id a raw transaction claims, read without validating anything else. */
function claimedChainId(raw: Uint8Array): bigint | undefined {
  try {
    if (raw[0]! >= 0xc0) {
      const fields = RLP.decode(raw) as Uint8Array[];
      return chainIdFromV(fields[6] && fields[6].length > 0 ? bytesToBigInt(fields[6]) : undefined);
    }
    const fields = RLP.decode(raw.subarray(1)) as Uint8Array[];
    return fields[0] instanceof Uint8Array ? bytesToBigInt(fields[0]) : undefined;
  } catch {
    return undefined;
  }
}

function chainIdFromV(v: bigint | undefined): bigint | undefined {
  if (v === undefined || v < 35n) return undefined;
  return (v - 35n) / 2n;
}

function decodeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/maxFeePerGas cannot be less than maxPriorityFeePerGas/i.test(message)) {
    return 'max priority fee per gas higher than max fee per gas';
  }
  if (/Invalid Signature|s-values greater than/i.test(message)) return 'invalid sender';
  return `rlp: ${message.split(' (')[0]!.trim()}`;
}
