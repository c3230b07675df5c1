import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  parseEther,
  verifyMessage,
  verifyTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { loadArtifact } from '@openledger/contracts';
import { startDevnetProcess, DEV_KEYS } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

const chain = devnetChain;
const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
const carol = privateKeyToAccount(DEV_KEYS[2]);

let devnet: DevnetProcess;
const clients = (url: string) => ({
  pub: createPublicClient({ chain, transport: http(url), pollingInterval: 50 }),
  test: createTestClient({ chain, mode: 'hardhat', transport: http(url) }),
});
let pub: ReturnType<typeof clients>['pub'];
let test: ReturnType<typeof clients>['test'];

beforeAll(async () => {
  devnet = await startDevnetProcess();
  ({ pub, test } = clients(devnet.url));
});

afterAll(async () => {
  await devnet?.stop();
});

describe('devnet accounts held by the node', () => {
  const nodeWallet = () => createWalletClient({ account: alice.address, chain, transport: http(devnet.url) });

  it('lists the dev accounts', async () => {
    const accounts = await pub.request({ method: 'eth_accounts' } as never);
    expect((accounts as string[]).slice(0, 3)).toEqual(
      [alice.address, bob.address, carol.address].map((a) => a.toLowerCase()),
    );
  });

  it('sends a transaction signed by the node (eth_sendTransaction)', async () => {
    const hash = await nodeWallet().sendTransaction({ to: carol.address, value: parseEther('1') });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.from.toLowerCase()).toBe(alice.address.toLowerCase());
  });

  it('signs messages (personal_sign) and EIP-712 typed data (eth_signTypedData_v4) verifiably', async () => {
    const signature = await nodeWallet().signMessage({ message: 'hello OpenLedger' });
    expect(await verifyMessage({ address: alice.address, message: 'hello OpenLedger', signature })).toBe(
      true,
    );
    const typed = {
      domain: {
        name: 'OpenLedger',
        version: '1',
        chainId: 1612,
        verifyingContract: '0x0000000000000000000000000000000000000001',
      },
      types: {
        Voucher: [
          { name: 'payer', type: 'address' },
          { name: 'amount', type: 'uint256' },
        ],
      },
      primaryType: 'Voucher',
      message: { payer: bob.address, amount: 42n },
    } as const;
    const typedSignature = await nodeWallet().signTypedData(typed);
    expect(await verifyTypedData({ address: alice.address, signature: typedSignature, ...typed })).toBe(true);
  });

  it('refuses to sign for an account it does not hold', async () => {
    const stranger = createWalletClient({
      account: '0x000000000000000000000000000000000000dEaD',
      chain,
      transport: http(devnet.url),
    });
    await expect(stranger.signMessage({ message: 'x' })).rejects.toThrow(/unknown account/);
  });
});

describe('pending nonces', () => {
  it('hands out the next nonce while earlier blocks are still being written', async () => {
    // Each send asks for the pending nonce right after the previous transaction was accepted,
    // while the block holding it may be executed but not yet on disk.
    const wallet = createWalletClient({ account: carol, chain, transport: http(devnet.url) });
    const hashes: `0x${string}`[] = [];
    for (let i = 0; i < 25; i++) hashes.push(await wallet.sendTransaction({ to: bob.address, value: 1n }));
    const receipts = await Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash })));
    expect(receipts.every((r) => r.status === 'success')).toBe(true);
    const nonces = await Promise.all(hashes.map(async (hash) => (await pub.getTransaction({ hash })).nonce));
    expect(new Set(nonces).size).toBe(25);
  });
});

describe('fees', () => {
  it('burns the base fee and pays the tip to the block proposer', async () => {
    const coinbase = (await pub.getBlock()).miner;
    expect(coinbase.toLowerCase()).toBe(alice.address.toLowerCase());
    const wallet = createWalletClient({ account: bob, chain, transport: http(devnet.url) });
    // Uncached: viem reuses a block number for its polling interval, which may predate the last test's blocks.
    const before = await pub.getBlockNumber({ cacheTime: 0 });
    const [bobBefore, carolBefore, minerBefore] = await Promise.all(
      [bob.address, carol.address, coinbase].map((address) =>
        pub.getBalance({ address, blockNumber: before }),
      ),
    );
    const hash = await wallet.sendTransaction({
      to: carol.address,
      value: 1000n,
      maxPriorityFeePerGas: 3_000_000_000n,
      maxFeePerGas: 50_000_000_000n,
    });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber });
    expect(block.transactions).toHaveLength(1);
    const at = receipt.blockNumber;
    const [bobAfter, carolAfter, minerAfter] = await Promise.all(
      [bob.address, carol.address, coinbase].map((address) => pub.getBalance({ address, blockNumber: at })),
    );
    const fee = receipt.gasUsed * receipt.effectiveGasPrice;
    expect(bobBefore! - bobAfter!).toBe(fee + 1000n);
    expect(carolAfter! - carolBefore!).toBe(1000n);
    expect(receipt.effectiveGasPrice).toBe(block.baseFeePerGas! + 3_000_000_000n);
    // The proposer gets only the tip; the base fee part is burned.
    expect(minerAfter! - minerBefore!).toBe(receipt.gasUsed * 3_000_000_000n);
  });
});

describe('transaction types', () => {
  it('executes an EIP-7702 transaction that gives an account code', async () => {
    const { abi, bytecode } = await loadArtifact('Playground');
    const deployer = createWalletClient({ account: alice, chain, transport: http(devnet.url) });
    const deployed = await pub.waitForTransactionReceipt({
      hash: await deployer.deployContract({ abi, bytecode }),
    });
    const delegate = deployed.contractAddress!;
    const wallet = createWalletClient({ account: carol, chain, transport: http(devnet.url) });
    const authorization = await wallet.signAuthorization({ contractAddress: delegate, executor: 'self' });
    const hash = await wallet.writeContract({
      address: carol.address,
      abi,
      functionName: 'setValue',
      args: [5n],
      authorizationList: [authorization],
    });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.type).toBe('eip7702');
    const code = await pub.getCode({ address: carol.address });
    expect(code).toBe(`0xef0100${delegate.slice(2).toLowerCase()}`);
    expect(await pub.readContract({ address: carol.address, abi, functionName: 'value' })).toBe(5n);
  });
});

describe('time and snapshots', () => {
  it('mines on demand, moves time forward and reverts to a snapshot', async () => {
    const start = await pub.getBlock();
    const id = await test.snapshot();
    await test.increaseTime({ seconds: 3600 });
    await test.mine({ blocks: 1 });
    const later = await pub.getBlock();
    expect(later.number).toBe(start.number + 1n);
    // The offset moves the devnet clock, which runs on wall-clock seconds.
    expect(later.timestamp).toBeGreaterThanOrEqual(BigInt(Math.floor(Date.now() / 1000)) + 3600n - 1n);
    await test.setNextBlockTimestamp({ timestamp: later.timestamp + 100n });
    await test.mine({ blocks: 1 });
    expect((await pub.getBlock()).timestamp).toBe(later.timestamp + 100n);
    const wallet = createWalletClient({ account: bob, chain, transport: http(devnet.url) });
    const hash = await wallet.sendTransaction({ to: carol.address, value: 1n });
    await pub.waitForTransactionReceipt({ hash });
    await test.revert({ id });
    expect(await pub.getBlockNumber({ cacheTime: 0 })).toBe(start.number);
    expect(await pub.getTransactionReceipt({ hash }).catch(() => null)).toBeNull();
    expect((await pub.getBlock()).hash).toBe(start.hash);
    // A used-up snapshot cannot be reverted to again.
    expect(await pub.request({ method: 'evm_revert', params: [id] } as never)).toBe(false);
  });
});
