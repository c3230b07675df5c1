import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractFactory, JsonRpcProvider, Wallet, parseEther } from 'ethers';
import type { InterfaceAbi } from 'ethers';
import type { Contract } from 'ethers';
import { loadArtifact } from '@openledger/contracts';
import { startDevnetProcess, DEV_KEYS } from './support/devnet-process.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

let devnet: DevnetProcess;
let provider: JsonRpcProvider;
let signer: Wallet;

// ethers reuses an identical request's answer for 250 ms by default; on a chain that mines in
// milliseconds that answer (a pending nonce) goes stale, so the cache is off.
beforeAll(async () => {
  devnet = await startDevnetProcess();
  provider = new JsonRpcProvider(devnet.url, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
    cacheTimeout: -1,
  });
  signer = new Wallet(DEV_KEYS[0], provider);
});

afterAll(async () => {
  provider?.destroy();
  await devnet?.stop();
});

async function deploy(): Promise<Contract> {
  const { abi, bytecode } = await loadArtifact('Playground');
  const contract = (await new ContractFactory(abi as InterfaceAbi, bytecode, signer).deploy()) as Contract;
  await contract.waitForDeployment();
  return contract;
}

describe('ethers v6 against a devnet process', () => {
  it('reads the network and fee data', async () => {
    const network = await provider.getNetwork();
    expect(network.chainId).toBe(1612n);
    const fees = await provider.getFeeData();
    expect(fees.maxFeePerGas).toBeGreaterThan(0n);
    expect(fees.maxPriorityFeePerGas).toBeGreaterThan(0n);
  });

  it('sends value and waits for the receipt', async () => {
    const to = Wallet.createRandom().address;
    const tx = await signer.sendTransaction({ to, value: parseEther('0.25') });
    const receipt = await tx.wait();
    expect(receipt?.status).toBe(1);
    expect(await provider.getBalance(to)).toBe(parseEther('0.25'));
  });

  it('deploys, writes, reads and parses events', async () => {
    const contract = await deploy();
    const receipt = await (await contract.getFunction('setValue')(99n)).wait();
    const parsed = receipt!.logs.map((log: { topics: string[]; data: string }) =>
      contract.interface.parseLog(log),
    );
    expect(parsed[0]?.name).toBe('ValueChanged');
    expect(parsed[0]?.args.newValue).toBe(99n);
    expect(await contract.getFunction('value')()).toBe(99n);
  });

  it('decodes a revert reason from estimateGas', async () => {
    const contract = await deploy();
    await expect(contract.getFunction('failWithReason').estimateGas()).rejects.toMatchObject({
      reason: 'playground: failed on purpose',
    });
  });

  it('replaces a pending transaction only with a 10% fee bump', async () => {
    const slow = await startDevnetProcess({ args: ['--block-time', '3600'] });
    try {
      const p = new JsonRpcProvider(slow.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      const w = new Wallet(DEV_KEYS[1], p);
      const nonce = await w.getNonce('pending');
      const base = {
        to: w.address,
        value: 1n,
        nonce,
        gasLimit: 21000n,
        maxPriorityFeePerGas: 2_000_000_000n,
        maxFeePerGas: 20_000_000_000n,
      };
      await w.sendTransaction(base);
      await expect(
        w.sendTransaction({ ...base, maxPriorityFeePerGas: 2_100_000_000n, maxFeePerGas: 21_000_000_000n }),
      ).rejects.toThrow(/replacement transaction underpriced/);
      const replacement = await w.sendTransaction({
        ...base,
        maxPriorityFeePerGas: 2_200_000_000n,
        maxFeePerGas: 22_000_000_000n,
      });
      await p.send('evm_mine', []);
      const receipt = await p.getTransactionReceipt(replacement.hash);
      expect(receipt?.status).toBe(1);
      p.destroy();
    } finally {
      await slow.stop();
    }
  });
});
