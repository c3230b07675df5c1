import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
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

describe('mempool bookkeeping under random operations', () => {
  // Transactions are signed once up front: a (sender, nonce, tip) grid to draw from.
  const grid = new Map<string, ReturnType<typeof transfer>>();
  const signed = (sender: number, nonce: number, tip: number) => {
    const key = `${sender}:${nonce}:${tip}`;
    if (!grid.has(key)) grid.set(key, transfer(sender, BigInt(nonce), BigInt(tip), 1000n * BigInt(tip)));
    return grid.get(key)!;
  };

  it('keeps pending nonces and the pending/queued split consistent', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        sender: fc.integer({ min: 0, max: 2 }),
        nonce: fc.integer({ min: 0, max: 8 }),
        tip: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('mine' as const), count: fc.integer({ min: 0, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const pool = new Mempool();
        const stateNonce = [0n, 0n, 0n];
        for (const o of ops) {
          if (o.kind === 'add') {
            try {
              pool.add(
                signed(o.sender, o.nonce, o.tip),
                { nonce: stateNonce[o.sender]!, balance: 10n ** 24n },
                1n,
              );
            } catch (error) {
              expect(error).toBeInstanceOf(TxPoolError);
            }
          } else {
            const selection = pool.selection(1n);
            const mined = [];
            for (let tx = selection.peek(); tx && mined.length < o.count; tx = selection.peek()) {
              mined.push(tx);
              selection.accept();
            }
            for (const tx of mined) {
              const sender = accounts.findIndex((a) => a.address === tx.getSenderAddress().toString());
              stateNonce[sender] = tx.nonce + 1n;
            }
            pool.onBlockTransactions(mined);
          }
          const { pending } = pool.content();
          accounts.forEach((account, i) => {
            const run = pending.get(account.address) ?? [];
            expect(pool.pendingNonce(account.address, stateNonce[i])).toBe(
              stateNonce[i]! + BigInt(run.length),
            );
            run.forEach((ptx, j) => expect(ptx.nonce).toBe(stateNonce[i]! + BigInt(j)));
          });
        }
      }),
      { numRuns: 300 },
    );
  });
});
