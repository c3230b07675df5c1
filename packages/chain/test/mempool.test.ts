import { describe, expect, it } from 'vitest';
import { createFeeMarket1559Tx } from '@ethereumjs/tx';
import { createAddressFromString } from '@ethereumjs/util';
import { createChainConfig } from '../src/config/chain-config.ts';
import { createDevnetGenesis } from '../src/genesis/devnet-genesis.ts';
import { deriveDevAccounts, DEFAULT_MNEMONIC } from '../src/genesis/dev-accounts.ts';
import { Mempool } from '../src/mempool/mempool.ts';
import { TxPoolError } from '../src/mempool/errors.ts';

const accounts = deriveDevAccounts(DEFAULT_MNEMONIC, 3);
const { common } = createChainConfig(
  createDevnetGenesis({ chainId: 1612, accounts: accounts.map((a) => a.address) }),
);
const to = createAddressFromString('0x00000000000000000000000000000000000000aa');
const rich = { nonce: 0n, balance: 10n ** 24n };

function transfer(sender: number, nonce: bigint, tip: bigint, feeCap = 100n * 10n ** 9n) {
  return createFeeMarket1559Tx(
    {
      nonce,
      maxFeePerGas: feeCap,
      maxPriorityFeePerGas: tip,
      gasLimit: 21000n,
      to,
      value: 1n,
      chainId: 1612n,
    },
    { common },
  ).sign(accounts[sender]!.privateKey);
}

function drain(pool: Mempool, baseFee: bigint) {
  const selection = pool.selection(baseFee);
  const out: string[] = [];
  for (let tx = selection.peek(); tx; tx = selection.peek()) {
    out.push(`${accounts.findIndex((a) => a.address === tx.getSenderAddress().toString())}:${tx.nonce}`);
    selection.accept();
  }
  return out;
}

describe('mempool', () => {
  it('orders by effective tip across senders and by nonce within a sender', () => {
    const pool = new Mempool();
    pool.add(transfer(0, 0n, 1n), rich, 1n);
    pool.add(transfer(0, 1n, 50n), rich, 1n);
    pool.add(transfer(1, 0n, 10n), rich, 1n);
    expect(drain(pool, 1n)).toEqual(['1:0', '0:0', '0:1']);
  });

  it('holds gapped nonces back until the gap fills', () => {
    const pool = new Mempool();
    pool.add(transfer(0, 2n, 5n), rich, 1n);
    expect(drain(pool, 1n)).toEqual([]);
    expect(pool.pendingNonce(accounts[0]!.address)).toBe(0n);
    pool.add(transfer(0, 0n, 5n), rich, 1n);
    pool.add(transfer(0, 1n, 5n), rich, 1n);
    expect(drain(pool, 1n)).toEqual(['0:0', '0:1', '0:2']);
    expect(pool.pendingNonce(accounts[0]!.address)).toBe(3n);
  });

  it('replaces only with a fee bump of at least 10%', () => {
    const pool = new Mempool();
    pool.add(transfer(0, 0n, 100n, 1000n), rich, 1n);
    expect(() => pool.add(transfer(0, 0n, 109n, 1100n), rich, 1n)).toThrow(
      'replacement transaction underpriced',
    );
    const replacement = pool.add(transfer(0, 0n, 110n, 1100n), rich, 1n);
    expect(pool.size).toBe(1);
    expect(pool.get(replacement.hash)).toBeDefined();
  });

  it('rejects low nonces and unaffordable transactions with geth wording', () => {
    const pool = new Mempool();
    expect(() => pool.add(transfer(0, 0n, 1n), { nonce: 3n, balance: 10n ** 24n }, 1n)).toThrow(
      /^nonce too low: address 0x[0-9a-f]{40}, tx: 0 state: 3$/,
    );
    expect(() => pool.add(transfer(0, 3n, 1n), { nonce: 3n, balance: 1n }, 1n)).toThrow(
      /^insufficient funds for gas \* price \+ value: address 0x[0-9a-f]{40} have 1 want \d+$/,
    );
    expect(pool.size).toBe(0);
  });

  it('evicts the cheapest transaction when full, and refuses one that pays less', () => {
    const pool = new Mempool({ maxPerSender: 10, maxQueuedPerSender: 10, maxTotal: 2, priceBumpPercent: 10 });
    pool.add(transfer(0, 0n, 5n), rich, 1n);
    pool.add(transfer(1, 0n, 1n), rich, 1n);
    expect(() => pool.add(transfer(2, 0n, 1n), rich, 1n)).toThrow(TxPoolError);
    pool.add(transfer(2, 0n, 9n), rich, 1n);
    expect(drain(pool, 1n)).toEqual(['2:0', '0:0']);
  });

  it('skips transactions whose fee cap is under the base fee', () => {
    const pool = new Mempool();
    pool.add(transfer(0, 0n, 1n, 10n), rich, 1n);
    expect(drain(pool, 11n)).toEqual([]);
    expect(pool.hasExecutable(11n)).toBe(false);
    expect(pool.hasExecutable(10n)).toBe(true);
  });
});

describe('mempool replacement of a lone transaction', () => {
  it('keeps the replacement selectable', () => {
    const pool = new Mempool();
    pool.add(transfer(0, 0n, 100n, 1000n), rich, 1n);
    pool.add(transfer(0, 0n, 200n, 2000n), rich, 1n);
    expect(drain(pool, 1n)).toEqual(['0:0']);
  });
});
