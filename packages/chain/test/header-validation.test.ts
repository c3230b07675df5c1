import { describe, expect, it } from 'vitest';
import type { BlockHeader, HeaderData } from '@ethereumjs/block';
import { createBlock, createBlockHeader } from '@ethereumjs/block';
import { createFeeMarket1559Tx } from '@ethereumjs/tx';
import { KECCAK256_RLP, createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { createChainConfig } from '../src/config/chain-config.ts';
import { createDevnetGenesis } from '../src/genesis/devnet-genesis.ts';
import { InvalidBlockError, validateBlock, validateHeader } from '../src/import/header-validation.ts';
import { orderedTrieRoot } from '../src/execution/ordered-trie-root.ts';
import { DEV_KEYS } from './support/devnet-process.ts';

const config = createChainConfig(createDevnetGenesis({ chainId: 1612, accounts: [] }));
const common = config.common;

// A parent that used more than its gas target, so the child's base fee must rise.
const parent = createBlockHeader(
  {
    number: 10n,
    timestamp: 1_000n,
    gasLimit: 30_000_000n,
    gasUsed: 20_000_000n,
    baseFeePerGas: 1_000_000_000n,
    blobGasUsed: 0n,
    excessBlobGas: 0n,
  },
  { common },
);

function childData(): HeaderData {
  return {
    parentHash: parent.hash(),
    number: 11n,
    timestamp: 1_012n,
    gasLimit: 30_000_000n,
    gasUsed: 0n,
    baseFeePerGas: parent.calcNextBaseFee(),
    blobGasUsed: 0n,
    excessBlobGas: parent.calcNextExcessBlobGas(common),
  };
}

/** A child header with some fields made wrong; the decoder's own consensus checks are off, as in import. */
function child(overrides: HeaderData = {}, freeze = true): BlockHeader {
  return createBlockHeader(
    { ...childData(), ...overrides },
    { common, skipConsensusFormatValidation: true, freeze },
  );
}

function failure(header: BlockHeader): InvalidBlockError {
  try {
    validateHeader(header, parent);
  } catch (error) {
    if (error instanceof InvalidBlockError) return error;
    throw error;
  }
  throw new Error('the header was accepted');
}

describe('header validation against the parent', () => {
  it('accepts a correct child', () => {
    expect(() => validateHeader(child(), parent)).not.toThrow();
    expect(parent.calcNextBaseFee()).toBeGreaterThan(parent.baseFeePerGas!);
  });

  it.each<[string, HeaderData, RegExp]>([
    ['parentHash', { parentHash: new Uint8Array(32).fill(1) }, /expected 0x[0-9a-f]{64}, got 0x0101/],
    ['number', { number: 12n }, /expected 11, got 12/],
    ['timestamp', { timestamp: 1_000n }, /expected > 1000, got 1000/],
    [
      'gasLimit',
      { gasLimit: 30_000_000n + 30_000_000n / 1024n },
      /expected 29970705 to 30029295 .*, got 30029296/,
    ],
    [
      'gasLimit',
      { gasLimit: 30_000_000n - 30_000_000n / 1024n },
      /expected 29970705 to 30029295 .*, got 29970704/,
    ],
    ['extraData', { extraData: new Uint8Array(33) }, /expected at most 32 bytes, got 33 bytes/],
    ['difficulty', { difficulty: 1n }, /expected 0 after the merge, got 1/],
    [
      'nonce',
      { nonce: hexToBytes('0x0000000000000001') },
      /expected 0x0000000000000000 .*, got 0x0000000000000001/,
    ],
    ['uncleHash', { uncleHash: KECCAK256_RLP }, /got 0x56e81f/],
    ['baseFeePerGas', { baseFeePerGas: 1_000_000_000n }, /expected 1041666666, got 1000000000/],
    ['excessBlobGas', { excessBlobGas: 131_072n }, /expected 0, got 131072/],
  ])('refuses a wrong %s', (field, overrides, detail) => {
    const header = child(overrides);
    const error = failure(header);
    const number = header.number;
    expect(error.field).toBe(field);
    expect(error.number).toBe(number);
    expect(error.message).toMatch(new RegExp(`^block ${number}: invalid ${field}: `));
    expect(error.message).toMatch(detail);
  });

  it('refuses a gas limit below 5000 even within the bound of a tiny parent', () => {
    const small = createBlockHeader({ ...parent.toJSON(), gasLimit: 5_000n, gasUsed: 0n }, { common });
    const header = createBlockHeader(
      {
        ...childData(),
        parentHash: small.hash(),
        gasLimit: 4_999n,
        baseFeePerGas: small.calcNextBaseFee(),
      },
      { common, skipConsensusFormatValidation: true },
    );
    expect(() => validateHeader(header, small)).toThrow(
      /block 11: invalid gasLimit: expected at least 5000, got 4999/,
    );
  });

  it('refuses a gas limit over 2^63 - 1, as geth does', () => {
    const huge = createBlockHeader({ ...parent.toJSON(), gasLimit: 2n ** 63n, gasUsed: 0n }, { common });
    const header = createBlockHeader(
      { ...childData(), parentHash: huge.hash(), gasLimit: 2n ** 63n, baseFeePerGas: huge.calcNextBaseFee() },
      { common, skipConsensusFormatValidation: true },
    );
    expect(() => validateHeader(header, huge)).toThrow(
      /block 11: invalid gasLimit: expected at most 9223372036854775807, got 9223372036854775808/,
    );
  });

  it('refuses more gas used than the gas limit', () => {
    // The decoder refuses this itself; a header built unfrozen and changed afterwards gets through to us.
    const header = child({}, false);
    Object.assign(header, { gasUsed: header.gasLimit + 1n });
    expect(() => validateHeader(header, parent)).toThrow(
      /block 11: invalid gasUsed: expected at most the gas limit 30000000, got 30000001/,
    );
  });

  it('refuses a pre-merge block, whose proof of work it cannot check', () => {
    const london = createChainConfig({
      ...createDevnetGenesis({ chainId: 1612, accounts: [] }),
      config: { chainId: 1612, homesteadBlock: 0, byzantiumBlock: 0, berlinBlock: 0, londonBlock: 0 },
    });
    const header = createBlockHeader(
      { number: 11n, parentHash: parent.hash(), timestamp: 1_012n, baseFeePerGas: 1n },
      { common: london.common, skipConsensusFormatValidation: true },
    );
    expect(() => validateHeader(header, parent)).toThrow(
      /block 11: invalid consensus: expected a post-merge/,
    );
  });
});

describe('body validation', () => {
  const key = hexToBytes(DEV_KEYS[0]);
  const transfer = (maxFeePerGas: bigint) =>
    createFeeMarket1559Tx(
      {
        chainId: 1612n,
        nonce: 0n,
        gasLimit: 21_000n,
        maxFeePerGas,
        maxPriorityFeePerGas: 1n,
        to: createAddressFromString('0x0000000000000000000000000000000000000001'),
      },
      { common },
    ).sign(key);
  const tx = transfer(2_000_000_000n);

  it('accepts a block whose header commits to its body', async () => {
    const block = createBlock({ header: childData(), transactions: [tx], withdrawals: [] }, { common });
    const fixed = createBlock(
      {
        header: { ...childData(), transactionsTrie: await block.genTxTrie(), withdrawalsRoot: KECCAK256_RLP },
        transactions: [tx],
        withdrawals: [],
      },
      { common },
    );
    expect(() => validateBlock(fixed, parent)).not.toThrow();
  });

  it('refuses transactions the header does not commit to', () => {
    const block = createBlock({ header: childData(), transactions: [tx], withdrawals: [] }, { common });
    expect(() => validateBlock(block, parent)).toThrow(
      /^block 11: invalid transactionsRoot: expected 0x[0-9a-f]{64} \(root of the body's transactions\), got 0x56e81f/,
    );
  });

  it('refuses a transaction that cannot pay the base fee', () => {
    // The child's base fee is 1041666666; this transaction offers at most 1 gwei.
    const cheap = transfer(1_000_000_000n);
    const transactionsTrie = orderedTrieRoot([cheap.serialize()]);
    const block = createBlock(
      {
        header: { ...childData(), transactionsTrie, withdrawalsRoot: KECCAK256_RLP },
        transactions: [cheap],
        withdrawals: [],
      },
      { common },
    );
    expect(() => validateBlock(block, parent)).toThrow(
      /^block 11: invalid transactions: expected valid transactions, got errors at tx 0: tx unable to pay base fee/,
    );
  });

  it('refuses withdrawals the header does not commit to', () => {
    const withdrawal = { index: 0n, validatorIndex: 1n, address: tx.getSenderAddress(), amount: 5n };
    const block = createBlock(
      { header: { ...childData(), withdrawalsRoot: KECCAK256_RLP }, withdrawals: [withdrawal] },
      { common },
    );
    expect(() => validateBlock(block, parent)).toThrow(/^block 11: invalid withdrawalsRoot: expected 0x/);
  });

  it('refuses a blob gas used that the body does not account for', () => {
    const block = createBlock(
      { header: { ...childData(), blobGasUsed: 131_072n, withdrawalsRoot: KECCAK256_RLP }, withdrawals: [] },
      { common },
    );
    expect(() => validateBlock(block, parent)).toThrow(
      /^block 11: invalid blobGasUsed: expected 0 \(the blobs of the body's transactions\), got 131072/,
    );
  });
});
