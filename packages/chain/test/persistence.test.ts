import { afterEach, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, http, parseEther } from 'viem';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { rm } from 'node:fs/promises';
import { startDevnetProcess, DEV_KEYS } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
const running: DevnetProcess[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    await p.kill();
    await rm(p.dataDir, { recursive: true, force: true });
  }
});

function clients(url: string) {
  const chain = devnetChain;
  return {
    pub: createPublicClient({ chain, transport: http(url) }),
    wallet: createWalletClient({ account: alice, chain, transport: http(url) }),
  };
}

async function start(dataDir?: string) {
  const p = await startDevnetProcess({ keepData: true, ...(dataDir && { dataDir }) });
  running.push(p);
  return p;
}

describe('persistence', () => {
  it('comes back after a clean restart with the same head, state root and receipts', async () => {
    const first = await start();
    const a = clients(first.url);
    const hash = await a.wallet.sendTransaction({ to: bob.address, value: parseEther('2') });
    await a.pub.waitForTransactionReceipt({ hash });
    const head = await a.pub.getBlock();
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const second = await start(first.dataDir);
    const b = clients(second.url);
    const again = await b.pub.getBlock();
    expect(again.number).toBe(head.number);
    expect(again.hash).toBe(head.hash);
    expect(again.stateRoot).toBe(head.stateRoot);
    expect((await b.pub.getTransactionReceipt({ hash })).status).toBe('success');
    // The chain keeps going from there.
    const next = await b.wallet.sendTransaction({ to: bob.address, value: 1n });
    expect((await b.pub.waitForTransactionReceipt({ hash: next })).blockNumber).toBe(head.number + 1n);
  });

  it('loses no acknowledged transaction when killed with SIGKILL under load', async () => {
    const first = await start();
    const a = clients(first.url);
    const acknowledged: { hash: Hex; block: bigint }[] = [];
    let nonce = await a.pub.getTransactionCount({ address: alice.address });
    // Keep sending; record every transaction whose receipt the node returned, then kill mid-stream.
    const sender = (async () => {
      for (;;) {
        const hash = await a.wallet
          .sendTransaction({ to: bob.address, value: 1n, nonce: nonce++ })
          .catch(() => undefined);
        if (!hash) return;
        const receipt = await a.pub
          .waitForTransactionReceipt({ hash, pollingInterval: 20, timeout: 5_000 })
          .catch(() => undefined);
        if (!receipt) return;
        acknowledged.push({ hash, block: receipt.blockNumber });
      }
    })();
    while (acknowledged.length < 15) await new Promise((r) => setTimeout(r, 20));
    await first.kill();
    running.splice(running.indexOf(first), 1);
    await sender;

    const second = await start(first.dataDir);
    const b = clients(second.url);
    const head = await b.pub.getBlock();
    for (const { hash, block } of acknowledged) {
      const receipt = await b.pub.getTransactionReceipt({ hash });
      expect(receipt.blockNumber).toBe(block);
      expect(receipt.status).toBe('success');
    }
    // The restarted head is internally consistent: its state root is the one the node executes on.
    const balance = await b.pub.getBalance({ address: bob.address, blockNumber: head.number });
    expect(balance).toBeGreaterThan(0n);
    const next = await b.wallet.sendTransaction({
      to: bob.address,
      value: 1n,
      nonce: await b.pub.getTransactionCount({ address: alice.address }),
    });
    expect((await b.pub.waitForTransactionReceipt({ hash: next })).status).toBe('success');
  });

  it('refuses a data directory that holds a chain with another genesis', async () => {
    const first = await start();
    await first.stop();
    running.splice(running.indexOf(first), 1);
    await expect(
      startDevnetProcess({ dataDir: first.dataDir, args: ['--chain-id', '77'], keepData: true }),
    ).rejects.toThrow(/different genesis/);
    await rm(first.dataDir, { recursive: true, force: true });
  });
});
