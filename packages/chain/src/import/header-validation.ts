import type { Block, BlockHeader } from '@ethereumjs/block';
import { Hardfork } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { isBlob4844Tx } from '@ethereumjs/tx';
import { KECCAK256_RLP_ARRAY, bytesToHex, equalsBytes } from '@ethereumjs/util';
import { orderedTrieRoot } from '../execution/ordered-trie-root.ts';

/** A block that breaks a consensus rule; the message names the block, the field, expected and actual. */
export class InvalidBlockError extends Error {
  constructor(
    readonly number: bigint,
    readonly field: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`block ${number}: invalid ${field}: expected ${expected}, got ${actual}`);
    this.name = 'InvalidBlockError';
  }
}

/**
 * The consensus checks that `runBlock` leaves to the caller: everything about a block that is
 * decided by its parent or by its own body rather than by executing it. They include what
 * runBlock's own `validateData` would check (so the caller can skip that, and its second, slower
 * transactions trie); runBlock then checks what execution decides (state root, receipts root,
 * bloom, gas used, requests hash).
 */
export function validateBlock(block: Block, parent: BlockHeader): void {
  validateHeader(block.header, parent);
  validateBody(block);
}

/** Checks `header` against its parent, under the rules of the header's own fork. */
export function validateHeader(header: BlockHeader, parent: BlockHeader): void {
  const common = header.common;
  const number = header.number;
  const fail = (field: string, expected: string, actual: string): never => {
    throw new InvalidBlockError(number, field, expected, actual);
  };

  if (!equalsBytes(header.parentHash, parent.hash()))
    fail('parentHash', bytesToHex(parent.hash()), bytesToHex(header.parentHash));
  if (number !== parent.number + 1n) fail('number', String(parent.number + 1n), String(number));
  if (header.timestamp <= parent.timestamp)
    fail('timestamp', `> ${parent.timestamp}`, String(header.timestamp));

  // A proof-of-work seal cannot be checked here (no ethash), so pre-merge blocks are refused rather
  // than accepted unverified.
  if (!common.gteHardfork(Hardfork.Paris))
    fail('consensus', 'a post-merge (proof-of-stake) block', `a block under ${common.hardfork()}`);
  if (header.difficulty !== 0n) fail('difficulty', '0 after the merge', String(header.difficulty));
  if (!equalsBytes(header.nonce, new Uint8Array(8)))
    fail('nonce', '0x0000000000000000 after the merge', bytesToHex(header.nonce));
  if (!equalsBytes(header.uncleHash, KECCAK256_RLP_ARRAY))
    fail(
      'uncleHash',
      `${bytesToHex(KECCAK256_RLP_ARRAY)} (no uncles after the merge)`,
      bytesToHex(header.uncleHash),
    );

  const maxExtra = Number(common.param('maxExtraDataSize'));
  if (header.extraData.length > maxExtra)
    fail('extraData', `at most ${maxExtra} bytes`, `${header.extraData.length} bytes`);

  validateGasLimit(header, parent, fail);
  if (header.gasUsed > header.gasLimit)
    fail('gasUsed', `at most the gas limit ${header.gasLimit}`, String(header.gasUsed));

  if (common.isActivatedEIP(1559)) {
    const expected = isLondonTransition(header) ? common.param('initialBaseFee') : parent.calcNextBaseFee();
    if (header.baseFeePerGas !== expected)
      fail('baseFeePerGas', String(expected), String(header.baseFeePerGas));
  }
  if (common.isActivatedEIP(4844)) {
    // Before Cancun the parent has neither field and counts as 0, as in geth.
    const expected = parent.calcNextExcessBlobGas(common);
    if (header.excessBlobGas !== expected)
      fail('excessBlobGas', String(expected), String(header.excessBlobGas));
  }
}

/** Checks that the header commits to the body it came with, and that each transaction is well formed. */
export function validateBody(block: Block): void {
  const { header } = block;
  const common = header.common;
  const fail = (field: string, expected: string, actual: string): never => {
    throw new InvalidBlockError(header.number, field, expected, actual);
  };

  if (block.uncleHeaders.length > 0)
    fail('uncles', 'none after the merge', `${block.uncleHeaders.length} uncle headers`);
  const txRoot = orderedTrieRoot(block.transactions.map((tx) => tx.serialize()));
  if (!equalsBytes(txRoot, header.transactionsTrie))
    fail(
      'transactionsRoot',
      `${bytesToHex(txRoot)} (root of the body's transactions)`,
      bytesToHex(header.transactionsTrie),
    );
  if (common.isActivatedEIP(4895)) {
    const root = orderedTrieRoot((block.withdrawals ?? []).map((w) => RLP.encode(w.raw())));
    if (header.withdrawalsRoot === undefined || !equalsBytes(root, header.withdrawalsRoot))
      fail(
        'withdrawalsRoot',
        `${bytesToHex(root)} (root of the body's withdrawals)`,
        header.withdrawalsRoot === undefined ? 'none' : bytesToHex(header.withdrawalsRoot),
      );
  }
  if (common.isActivatedEIP(4844)) {
    const perBlob = common.param('blobGasPerBlob');
    let blobGas = 0n;
    for (const tx of block.transactions)
      if (isBlob4844Tx(tx)) blobGas += perBlob * BigInt(tx.blobVersionedHashes.length);
    if (header.blobGasUsed !== blobGas)
      fail('blobGasUsed', `${blobGas} (the blobs of the body's transactions)`, String(header.blobGasUsed));
    const max = common.getBlobGasSchedule().maxBlobGasPerBlock;
    if (blobGas > max) fail('blobGasUsed', `at most ${max}`, String(blobGas));
  }
  // Each transaction on its own: signature, intrinsic gas, a fee cap that covers the base fee.
  const txErrors = block.getTransactionsValidationErrors();
  block.transactions.forEach((tx, i) => {
    if (!tx.isSigned()) txErrors.push(`errors at tx ${i}: unsigned`);
  });
  if (txErrors.length > 0) fail('transactions', 'valid transactions', txErrors.join('; '));
}

/**
 * geth's gas limit rule: strictly within parent ± parent/1024, and at least 5000. On the London
 * block the parent's limit counts double, since London redefined the limit as twice the target.
 */
function validateGasLimit(
  header: BlockHeader,
  parent: BlockHeader,
  fail: (field: string, expected: string, actual: string) => never,
): void {
  const common = header.common;
  const parentLimit = isLondonTransition(header)
    ? parent.gasLimit * common.param('elasticityMultiplier')
    : parent.gasLimit;
  const bound = parentLimit / common.param('gasLimitBoundDivisor');
  const min = common.param('minGasLimit');
  if (header.gasLimit > MAX_GAS_LIMIT) fail('gasLimit', `at most ${MAX_GAS_LIMIT}`, String(header.gasLimit));
  const low = parentLimit - bound + 1n;
  const high = parentLimit + bound - 1n;
  if (header.gasLimit < low || header.gasLimit > high)
    fail('gasLimit', `${low} to ${high} (parent ${parent.gasLimit} ± 1/1024)`, String(header.gasLimit));
  if (header.gasLimit < min) fail('gasLimit', `at least ${min}`, String(header.gasLimit));
}

// geth's params.MaxGasLimit: 2^63 - 1.
const MAX_GAS_LIMIT = 0x7fffffffffffffffn;

function isLondonTransition(header: BlockHeader): boolean {
  const london = header.common.hardforkBlock(Hardfork.London);
  return london !== null && london > 0n && header.number === london;
}
