import { RLP } from '@ethereumjs/rlp';
import { bigIntToUnpaddedBytes, bytesToBigInt, bytesToInt, intToBytes } from '@ethereumjs/util';

/** An EVM log as ethereumjs represents it: [address, topics, data]. */
export type RawLog = [address: Uint8Array, topics: Uint8Array[], data: Uint8Array];

/**
 * What the node keeps per transaction beyond the block body: the consensus receipt fields plus the
 * sender (recovered once at admission, never again) and the created contract's address.
 */
export interface StoredReceipt {
  txType: number;
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  logs: RawLog[];
  from: Uint8Array;
  contractAddress: Uint8Array | undefined;
}

export function encodeReceipts(receipts: StoredReceipt[]): Uint8Array {
  return RLP.encode(
    receipts.map((r) => [
      intToBytes(r.txType),
      intToBytes(r.status),
      bigIntToUnpaddedBytes(r.cumulativeGasUsed),
      r.logs,
      r.from,
      r.contractAddress ?? new Uint8Array(),
    ]),
  );
}

export function decodeReceipts(bytes: Uint8Array): StoredReceipt[] {
  const items = RLP.decode(bytes) as unknown as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    RawLog[],
    Uint8Array,
    Uint8Array,
  ][];
  return items.map(([txType, status, cumulativeGasUsed, logs, from, contractAddress]) => ({
    txType: txType.length === 0 ? 0 : bytesToInt(txType),
    status: status.length === 0 ? 0 : (bytesToInt(status) as 0 | 1),
    cumulativeGasUsed: bytesToBigInt(cumulativeGasUsed),
    logs,
    from,
    contractAddress: contractAddress.length === 0 ? undefined : contractAddress,
  }));
}
