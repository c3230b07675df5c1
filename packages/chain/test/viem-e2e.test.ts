import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  keccak256,
  parseEther,
  parseGwei,
  toRlp,
  hexToBytes,
} from 'viem';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { loadArtifact } from '@openledger/contracts';
import type { Artifact } from '@openledger/contracts';
import { createMPT, verifyMPTWithMerkleProof } from '@ethereumjs/mpt';
import { startDevnetProcess, DEV_KEYS } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);

let devnet: DevnetProcess;
let playground: Artifact;
const chain = devnetChain;
const makePublicClient = (url: string) => createPublicClient({ chain, transport: http(url) });
let publicClient: ReturnType<typeof makePublicClient>;

beforeAll(async () => {
  [devnet, playground] = await Promise.all([startDevnetProcess(), loadArtifact('Playground')]);
  publicClient = makePublicClient(devnet.url);
});

afterAll(async () => {
  await devnet?.stop();
});

function wallet(account = alice) {
  return createWalletClient({ account, chain, transport: http(devnet.url) });
}

async function deployPlayground(): Promise<Hex> {
  const hash = await wallet().deployContract({ abi: playground.abi, bytecode: playground.bytecode });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
  return receipt.contractAddress!;
}

describe('viem against a devnet process', () => {
  it('answers chain id, block number and the prefunded balances', async () => {
    expect(await publicClient.getChainId()).toBe(1612);
    expect(await publicClient.getBalance({ address: alice.address })).toBeGreaterThan(parseEther('9000'));
  });

  it('sends OPEN with EIP-1559 fees and burns the base fee', async () => {
    const before = await publicClient.getBalance({ address: bob.address });
    const hash = await wallet().sendTransaction({ to: bob.address, value: parseEther('1.5') });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.gasUsed).toBe(21000n);
    expect(receipt.type).toBe('eip1559');
    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
    expect(block.baseFeePerGas).toBeGreaterThan(0n);
    expect(receipt.effectiveGasPrice).toBeGreaterThanOrEqual(block.baseFeePerGas!);
    expect(await publicClient.getBalance({ address: bob.address })).toBe(before + parseEther('1.5'));
    const tx = await publicClient.getTransaction({ hash });
    expect(tx.maxFeePerGas).toBeGreaterThan(0n);
    expect(tx.from.toLowerCase()).toBe(alice.address.toLowerCase());
  });

  it('deploys a solc-compiled contract, calls it, sends to it and decodes its events', async () => {
    const address = await deployPlayground();
    expect((await publicClient.getCode({ address }))?.length).toBeGreaterThan(100);
    const hash = await wallet().writeContract({
      address,
      abi: playground.abi,
      functionName: 'setValue',
      args: [42n],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.logs).toHaveLength(1);
    expect(await publicClient.readContract({ address, abi: playground.abi, functionName: 'value' })).toBe(
      42n,
    );
    const info = (await publicClient.readContract({
      address,
      abi: playground.abi,
      functionName: 'blockInfo',
    })) as readonly unknown[];
    expect(info[4]).toBe(1612n);
  });

  it('surfaces revert reasons and custom errors that viem decodes', async () => {
    const address = await deployPlayground();
    const reason = await publicClient
      .simulateContract({ address, abi: playground.abi, functionName: 'failWithReason', account: alice })
      .catch((e: unknown) => e);
    expect(reason).toBeInstanceOf(BaseError);
    const revert = (reason as BaseError).walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError;
    expect(revert.reason).toBe('playground: failed on purpose');
    const custom = await publicClient
      .simulateContract({
        address,
        abi: playground.abi,
        functionName: 'failWithCustomError',
        args: [7n],
        account: alice,
      })
      .catch((e: unknown) => e);
    const customRevert = (custom as BaseError).walk(
      (e) => e instanceof ContractFunctionRevertedError,
    ) as ContractFunctionRevertedError;
    expect(customRevert.data?.errorName).toBe('PlaygroundError');
    expect(customRevert.data?.args?.[0]).toBe(7n);
    const raw = await fetch(devnet.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'eth_call',
        params: [
          { to: address, data: encodeFunctionData({ abi: playground.abi, functionName: 'failWithReason' }) },
          'latest',
        ],
      }),
    }).then((r) => r.json() as Promise<{ error: { code: number; message: string; data: string } }>);
    expect(raw.error.code).toBe(3);
    expect(raw.error.message).toBe('execution reverted: playground: failed on purpose');
    expect(raw.error.data).toMatch(/^0x08c379a0/);
  });

  it('estimates gas by search, not by the gas a run used', async () => {
    const address = await deployPlayground();
    const estimate = await publicClient.estimateContractGas({
      address,
      abi: playground.abi,
      functionName: 'needsGas',
      args: [100_000n],
      account: alice,
    });
    expect(estimate).toBeGreaterThan(100_000n);
    const hash = await wallet().writeContract({
      address,
      abi: playground.abi,
      functionName: 'needsGas',
      args: [100_000n],
      gas: estimate,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe('success');
    expect(receipt.gasUsed).toBeLessThan(estimate / 2n);
  });

  it('queues a nonce gap, then mines both once it is filled', async () => {
    const nonce = await publicClient.getTransactionCount({ address: bob.address, blockTag: 'pending' });
    const w = wallet(bob);
    const later = await w.sendTransaction({ to: alice.address, value: 1n, nonce: nonce + 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(await publicClient.getTransactionReceipt({ hash: later }).catch(() => null)).toBeNull();
    const first = await w.sendTransaction({ to: alice.address, value: 1n, nonce });
    const [r1, r2] = await Promise.all([
      publicClient.waitForTransactionReceipt({ hash: first }),
      publicClient.waitForTransactionReceipt({ hash: later }),
    ]);
    expect(r1.status).toBe('success');
    expect(r2.status).toBe('success');
    expect(r2.blockNumber).toBeGreaterThanOrEqual(r1.blockNumber);
  });

  it('verifies eth_getProof against the block state root', async () => {
    const address = await deployPlayground();
    await publicClient.waitForTransactionReceipt({
      hash: await wallet().writeContract({
        address,
        abi: playground.abi,
        functionName: 'setValue',
        args: [7n],
      }),
    });
    const block = await publicClient.getBlock();
    const proof = await publicClient.getProof({
      address,
      storageKeys: [`0x${'0'.repeat(64)}`],
      blockNumber: block.number,
    });
    const trie = await createMPT({ useKeyHashing: true });
    const accountRlp = await verifyMPTWithMerkleProof(
      trie,
      hexToBytes(block.stateRoot),
      hexToBytes(address),
      proof.accountProof.map((p) => hexToBytes(p)),
    );
    expect(accountRlp).not.toBeNull();
    const expected = toRlp([
      proof.nonce === 0 ? '0x' : `0x${proof.nonce.toString(16)}`,
      proof.balance === 0n ? '0x' : `0x${proof.balance.toString(16)}`,
      proof.storageHash,
      proof.codeHash,
    ]);
    expect(keccak256(accountRlp!)).toBe(keccak256(expected));
    expect(proof.storageProof[0]!.value).toBe(7n);
  });

  it('accepts a legacy transaction and an EIP-2930 transaction', async () => {
    const legacy = await wallet().sendTransaction({
      to: bob.address,
      value: 1n,
      type: 'legacy',
      gasPrice: parseGwei('5'),
    });
    const accessList = await wallet().sendTransaction({
      to: bob.address,
      value: 1n,
      type: 'eip2930',
      gasPrice: parseGwei('5'),
      accessList: [{ address: bob.address, storageKeys: [] }],
    });
    const [r1, r2] = await Promise.all([
      publicClient.waitForTransactionReceipt({ hash: legacy }),
      publicClient.waitForTransactionReceipt({ hash: accessList }),
    ]);
    expect(r1.type).toBe('legacy');
    expect(r2.type).toBe('eip2930');
  });
});
