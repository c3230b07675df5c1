import type { TypedTransaction } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';

/** A pooled transaction with what ordering and replacement need, computed once on admission. */
export interface PoolTx {
  tx: TypedTransaction;
  hash: `0x${string}`;
  sender: `0x${string}`;
  nonce: bigint;
  /** maxFeePerGas, or gasPrice for legacy and EIP-2930 transactions. */
  feeCap: bigint;
  /** maxPriorityFeePerGas, or gasPrice. */
  tipCap: bigint;
  /** Order of arrival, the tie-breaker between equal tips (first come, first served). */
  seq: number;
}

export function toPoolTx(tx: TypedTransaction, seq: number): PoolTx {
  const fees = tx as { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint; gasPrice?: bigint };
  const feeCap = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  const tipCap = fees.maxPriorityFeePerGas ?? fees.gasPrice ?? 0n;
  return {
    tx,
    hash: bytesToHex(tx.hash()) as `0x${string}`,
    sender: tx.getSenderAddress().toString() as `0x${string}`,
    nonce: tx.nonce,
    feeCap,
    tipCap,
    seq,
  };
}

/** What the proposer earns per gas from `ptx` at `baseFee`; negative when the fee cap is below it. */
export function effectiveTip(ptx: PoolTx, baseFee: bigint): bigint {
  const headroom = ptx.feeCap - baseFee;
  return headroom < ptx.tipCap ? headroom : ptx.tipCap;
}
