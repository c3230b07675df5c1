import type { Block } from '@ethereumjs/block';
import type { TypedTransaction } from '@ethereumjs/tx';
import { Capability, TransactionType } from '@ethereumjs/tx';
import { bytesToHex } from '@ethereumjs/util';
import { Bloom } from '@ethereumjs/vm';
import type { RawLog, StoredReceipt } from '../storage/receipt-codec.ts';
import type { Hex } from './hex.ts';
import { data, quantity } from './hex.ts';

// Field names and order follow geth, the reference client: blocks and receipts are Go maps, which
// encoding/json writes in key order; transactions and logs are structs, written in field order.

function sortedKeys<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1))) as T;
}

// Re-encoding a full block for its size on every poll of the head costs more than the rest of the
// answer; blocks never change, so their size is remembered.
const sizes = new WeakMap<Block, number>();

function encodedSize(block: Block): number {
  let size = sizes.get(block);
  if (size === undefined) {
    size = block.serialize().length;
    sizes.set(block, size);
  }
  return size;
}

export function formatBlock(block: Block, transactions: 'hashes' | 'full'): Record<string, unknown> {
  const h = block.header;
  const fields: Record<string, unknown> = {
    difficulty: quantity(h.difficulty),
    extraData: data(h.extraData),
    gasLimit: quantity(h.gasLimit),
    gasUsed: quantity(h.gasUsed),
    hash: data(block.hash()),
    logsBloom: data(h.logsBloom),
    miner: h.coinbase.toString(),
    mixHash: data(h.mixHash),
    nonce: data(h.nonce),
    number: quantity(h.number),
    parentHash: data(h.parentHash),
    receiptsRoot: data(h.receiptTrie),
    sha3Uncles: data(h.uncleHash),
    size: quantity(encodedSize(block)),
    stateRoot: data(h.stateRoot),
    timestamp: quantity(h.timestamp),
    transactions:
      transactions === 'full'
        ? block.transactions.map((tx, index) => formatTransaction(tx, { block, index }))
        : block.transactions.map((tx) => data(tx.hash())),
    transactionsRoot: data(h.transactionsTrie),
    uncles: block.uncleHeaders.map((u) => data(u.hash())),
  };
  if (h.baseFeePerGas !== undefined) fields.baseFeePerGas = quantity(h.baseFeePerGas);
  if (h.withdrawalsRoot !== undefined) {
    fields.withdrawalsRoot = data(h.withdrawalsRoot);
    fields.withdrawals = (block.withdrawals ?? []).map((w) => ({
      index: quantity(w.index),
      validatorIndex: quantity(w.validatorIndex),
      address: w.address.toString(),
      amount: quantity(w.amount),
    }));
  }
  if (h.blobGasUsed !== undefined) fields.blobGasUsed = quantity(h.blobGasUsed);
  if (h.excessBlobGas !== undefined) fields.excessBlobGas = quantity(h.excessBlobGas);
  if (h.parentBeaconBlockRoot !== undefined) fields.parentBeaconBlockRoot = data(h.parentBeaconBlockRoot);
  if (h.requestsHash !== undefined) fields.requestsHash = data(h.requestsHash);
  return sortedKeys(fields);
}

export interface TxLocationInBlock {
  block: Block;
  index: number;
}

/** A transaction, mined (with its block) or pending (location undefined). */
export function formatTransaction(
  tx: TypedTransaction,
  location?: TxLocationInBlock,
): Record<string, unknown> {
  const fees = tx as { gasPrice?: bigint; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };
  const baseFee = location?.block.header.baseFeePerGas;
  const out: Record<string, unknown> = {
    blockHash: location ? data(location.block.hash()) : null,
    blockNumber: location ? quantity(location.block.header.number) : null,
    from: tx.getSenderAddress().toString(),
    gas: quantity(tx.gasLimit),
    gasPrice: quantity(effectiveGasPrice(tx, baseFee)),
  };
  if (fees.maxFeePerGas !== undefined) {
    out.maxFeePerGas = quantity(fees.maxFeePerGas);
    out.maxPriorityFeePerGas = quantity(fees.maxPriorityFeePerGas ?? 0n);
  }
  out.hash = data(tx.hash());
  out.input = data(tx.data);
  out.nonce = quantity(tx.nonce);
  out.to = tx.to ? tx.to.toString() : null;
  out.transactionIndex = location ? quantity(location.index) : null;
  out.value = quantity(tx.value);
  out.type = quantity(tx.type);
  if (tx.type !== TransactionType.Legacy) {
    const typed = tx as TypedTransaction & { accessList: [Uint8Array, Uint8Array[]][] };
    out.accessList = typed.accessList.map(([address, keys]) => ({
      address: bytesToHex(address),
      storageKeys: keys.map((k) => bytesToHex(k)),
    }));
  }
  if (tx.type !== TransactionType.Legacy || tx.supports(Capability.EIP155ReplayProtection)) {
    out.chainId = quantity(tx.common.chainId());
  }
  if (tx.type === TransactionType.EOACodeEIP7702) {
    const auths = (tx as unknown as { authorizationList: Uint8Array[][] }).authorizationList;
    out.authorizationList = auths.map(([chainId, address, nonce, yParity, r, s]) => ({
      chainId: quantityOfBytes(chainId!),
      address: bytesToHex(address!),
      nonce: quantityOfBytes(nonce!),
      yParity: quantityOfBytes(yParity!),
      r: quantityOfBytes(r!),
      s: quantityOfBytes(s!),
    }));
  }
  out.v = quantity(tx.v ?? 0n);
  out.r = quantity(tx.r ?? 0n);
  out.s = quantity(tx.s ?? 0n);
  if (tx.type !== TransactionType.Legacy) out.yParity = quantity(tx.v ?? 0n);
  return out;
}

function quantityOfBytes(bytes: Uint8Array): Hex {
  return bytes.length === 0 ? '0x0' : quantity(BigInt(bytesToHex(bytes)));
}

/** What the sender paid per gas: the legacy gas price, or base fee plus the tip the cap allows. */
export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint | undefined): bigint {
  const fees = tx as { gasPrice?: bigint; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint };
  if (fees.maxFeePerGas === undefined) return fees.gasPrice ?? 0n;
  if (baseFee === undefined) return fees.maxFeePerGas;
  const tip = fees.maxPriorityFeePerGas ?? 0n;
  return baseFee + (fees.maxFeePerGas - baseFee < tip ? fees.maxFeePerGas - baseFee : tip);
}

export interface LogContext {
  block: Block;
  txIndex: number;
  txHash: Uint8Array;
  logIndex: number;
}

export function formatLog([address, topics, payload]: RawLog, ctx: LogContext): Record<string, unknown> {
  return {
    address: bytesToHex(address),
    topics: topics.map((t) => bytesToHex(t)),
    data: data(payload),
    blockNumber: quantity(ctx.block.header.number),
    transactionHash: data(ctx.txHash),
    transactionIndex: quantity(ctx.txIndex),
    blockHash: data(ctx.block.hash()),
    blockTimestamp: quantity(ctx.block.header.timestamp),
    logIndex: quantity(ctx.logIndex),
    removed: false,
  };
}

/** The receipt of the transaction at `index` of `block`; `receipts` are the block's stored receipts. */
export function formatReceipt(
  block: Block,
  receipts: StoredReceipt[],
  index: number,
): Record<string, unknown> {
  const tx = block.transactions[index]!;
  const receipt = receipts[index]!;
  const previous = index === 0 ? 0n : receipts[index - 1]!.cumulativeGasUsed;
  let logIndex = 0;
  for (let i = 0; i < index; i++) logIndex += receipts[i]!.logs.length;
  const bloom = new Bloom(undefined, tx.common);
  for (const [address, topics] of receipt.logs) {
    bloom.add(address);
    for (const topic of topics) bloom.add(topic);
  }
  return sortedKeys({
    blockHash: data(block.hash()),
    blockNumber: quantity(block.header.number),
    contractAddress: receipt.contractAddress ? bytesToHex(receipt.contractAddress) : null,
    cumulativeGasUsed: quantity(receipt.cumulativeGasUsed),
    effectiveGasPrice: quantity(effectiveGasPrice(tx, block.header.baseFeePerGas)),
    from: bytesToHex(receipt.from),
    gasUsed: quantity(receipt.cumulativeGasUsed - previous),
    logs: receipt.logs.map((log, i) =>
      formatLog(log, { block, txIndex: index, txHash: tx.hash(), logIndex: logIndex + i }),
    ),
    logsBloom: data(bloom.bitvector),
    status: quantity(receipt.status),
    to: tx.to ? tx.to.toString() : null,
    transactionHash: data(tx.hash()),
    transactionIndex: quantity(index),
    type: quantity(receipt.txType),
  });
}
