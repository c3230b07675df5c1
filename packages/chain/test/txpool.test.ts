import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, getAddress, http, parseGwei, toHex } from 'viem';
import type { Hex, PrivateKeyAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { DEV_KEYS, startDevnetProcess } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

// The txpool namespace against a devnet that mines only on evm_mine, so transactions stay pooled.

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
const carol = privateKeyToAccount(DEV_KEYS[2]);

type Pool<T> = { pending: Record<string, Record<string, T>>; queued: Record<string, Record<string, T>> };

interface PooledTx {
  blockHash: null;
  blockNumber: null;
  transactionIndex: null;
  from: string;
  hash: Hex;
  nonce: Hex;
  gas: Hex;
  gasPrice: Hex;
  maxFeePerGas: Hex;
  value: Hex;
}

let devnet: DevnetProcess;
let clients: ReturnType<typeof connect>;

function connect(url: string) {
  const chain = devnetChain;
  return {
    public: createPublicClient({ chain, transport: http(url) }),
    wallet: (account: PrivateKeyAccount) => createWalletClient({ account, chain, transport: http(url) }),
  };
}

async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(devnet.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
  return body.result as T;
}

const maxFeePerGas = parseGwei('20');

function send(account: PrivateKeyAccount, nonce: number, value = 1n): Promise<Hex> {
  return clients.wallet(account).sendTransaction({
    to: carol.address,
    value,
    nonce,
    gas: 21_000n,
    maxFeePerGas,
    maxPriorityFeePerGas: parseGwei('1'),
  });
}

beforeAll(async () => {
  devnet = await startDevnetProcess({ args: ['--block-time', '3600'] });
  clients = connect(devnet.url);
});

afterAll(async () => {
  await devnet?.stop();
});

describe('txpool', () => {
  it('separates executable transactions from those behind a nonce gap, in geth’s layout', async () => {
    expect(await rpc('txpool_status')).toEqual({ pending: '0x0', queued: '0x0' });
    const base = await clients.public.getTransactionCount({ address: alice.address });
    const a0 = await send(alice, base, 10n);
    const a1 = await send(alice, base + 1);
    const a3 = await send(alice, base + 3);
    const b0 = await send(bob, await clients.public.getTransactionCount({ address: bob.address }));
    expect(await rpc('txpool_status')).toEqual({ pending: '0x3', queued: '0x1' });

    const content = await rpc<Pool<PooledTx>>('txpool_content');
    const [aliceKey, bobKey] = [getAddress(alice.address), getAddress(bob.address)];
    expect(Object.keys(content.pending).sort()).toEqual([aliceKey, bobKey].sort());
    expect(Object.keys(content.pending[aliceKey]!)).toEqual([String(base), String(base + 1)]);
    expect(content.pending[aliceKey]![String(base)]).toMatchObject({
      hash: a0,
      from: alice.address.toLowerCase(),
      nonce: toHex(base),
      value: '0xa',
      gas: toHex(21_000),
      blockHash: null,
      blockNumber: null,
      transactionIndex: null,
      // A pending transaction's gasPrice is its fee cap, as in geth.
      gasPrice: toHex(maxFeePerGas),
      maxFeePerGas: toHex(maxFeePerGas),
    });
    expect(content.pending[aliceKey]![String(base + 1)]!.hash).toBe(a1);
    expect(content.pending[bobKey]![Object.keys(content.pending[bobKey]!)[0]!]!.hash).toBe(b0);
    expect(content.queued).toEqual({
      [aliceKey]: { [String(base + 3)]: expect.objectContaining({ hash: a3 }) },
    });

    const from = await rpc<{ pending: Record<string, PooledTx>; queued: Record<string, PooledTx> }>(
      'txpool_contentFrom',
      [alice.address],
    );
    expect(Object.keys(from.pending)).toEqual([String(base), String(base + 1)]);
    expect(Object.keys(from.queued)).toEqual([String(base + 3)]);

    const inspect = await rpc<Pool<string>>('txpool_inspect');
    expect(inspect.pending[aliceKey]![String(base)]).toBe(
      `${getAddress(carol.address)}: 10 wei + 21000 gas × ${maxFeePerGas} wei`,
    );
    expect(inspect.queued[aliceKey]![String(base + 3)]).toBe(
      `${getAddress(carol.address)}: 1 wei + 21000 gas × ${maxFeePerGas} wei`,
    );

    // Mining takes the executable ones; the gapped one stays queued until the gap is filled.
    await rpc('evm_mine');
    expect(await rpc('txpool_status')).toEqual({ pending: '0x0', queued: '0x1' });
    const a2 = await send(alice, base + 2);
    expect(await rpc('txpool_status')).toEqual({ pending: '0x2', queued: '0x0' });
    expect(Object.keys((await rpc<Pool<PooledTx>>('txpool_content')).pending[aliceKey]!)).toEqual([
      String(base + 2),
      String(base + 3),
    ]);
    await rpc('evm_mine');
    expect(await rpc('txpool_status')).toEqual({ pending: '0x0', queued: '0x0' });
    expect(await rpc('txpool_content')).toEqual({ pending: {}, queued: {} });
    const receipts = await Promise.all(
      [a0, a1, a2, a3, b0].map((hash) => clients.public.getTransactionReceipt({ hash })),
    );
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
  });
});
