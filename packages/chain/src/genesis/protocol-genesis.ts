import { createBlock } from '@ethereumjs/block';
import { MerkleStateManager } from '@ethereumjs/statemanager';
import {
  Account,
  bigIntToHex,
  bytesToHex,
  createAddressFromString,
  setLengthLeft,
  type Address,
} from '@ethereumjs/util';
import type { InterpreterStep } from '@ethereumjs/evm';
import { createVM, runTx } from '@ethereumjs/vm';
import {
  GENESIS_DEPLOYER,
  loadArtifact,
  predeploySteps,
  type ProtocolGenesisOptions,
} from '@openledger/contracts';
import { encodeDeployData, type Abi, type Hex } from 'viem';
import { createChainConfig } from '../config/chain-config.ts';
import { impersonatedTx } from '../execution/call.ts';
import type { GethAllocAccount, GethGenesis } from './geth-genesis.ts';

const DEPLOY_GAS = 30_000_000n;

/**
 * The genesis allocation of the protocol contracts: their constructors run, in order, in a scratch
 * EVM under the genesis's own rules, and what they leave behind (code, storage, balances, nonces)
 * becomes alloc entries, as if the deployments had happened before block 0.
 *
 * geth's alloc names storage slots by their preimage, while the state trie only keeps hashed
 * keys, so the slots are collected from every SSTORE the constructors execute.
 */
export async function protocolAlloc(
  genesis: GethGenesis,
  options: ProtocolGenesisOptions,
): Promise<Record<string, GethAllocAccount>> {
  const { common } = createChainConfig(genesis);
  const vm = await createVM({ common: common.copy(), stateManager: new MerkleStateManager({ common }) });
  const steps = predeploySteps(options);
  const deployer = createAddressFromString(GENESIS_DEPLOYER);
  const funding = steps.reduce((sum, step) => sum + step.value, 0n);
  await vm.stateManager.putAccount(deployer, new Account(0n, funding));

  const slots = new Map<string, Set<string>>();
  vm.evm.events!.on('step', (step: InterpreterStep, resolve?: (result?: unknown) => void) => {
    if (step.opcode.name === 'SSTORE') {
      const address = step.address.toString();
      const key = bigIntToHex(step.stack[step.stack.length - 1]!);
      (slots.get(address) ?? slots.set(address, new Set()).get(address)!).add(key);
    }
    resolve?.();
  });

  const block = createBlock(
    { header: { number: 0n, timestamp: BigInt(genesis.timestamp), gasLimit: DEPLOY_GAS, baseFeePerGas: 0n } },
    { common: vm.common },
  );
  for (const [nonce, step] of steps.entries()) {
    const artifact = await loadArtifact(step.name);
    const data = encodeDeployData({
      abi: artifact.abi as Abi,
      bytecode: artifact.bytecode as Hex,
      args: step.args,
    });
    const tx = impersonatedTx(
      vm,
      { from: GENESIS_DEPLOYER, data, value: step.value, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
      DEPLOY_GAS,
      BigInt(nonce),
    );
    const result = await runTx(vm, { tx, block, skipHardForkValidation: true });
    const error = result.execResult.exceptionError;
    if (error) throw new Error(`genesis deployment of ${step.name} failed: ${error.error}`);
    const created = result.createdAddress?.toString();
    if (created?.toLowerCase() !== step.address.toLowerCase()) {
      throw new Error(`genesis deployment of ${step.name} landed at ${created}, expected ${step.address}`);
    }
  }

  const alloc: Record<string, GethAllocAccount> = {};
  for (const step of steps) {
    const address = createAddressFromString(step.address);
    alloc[step.address] = await allocEntry(vm.stateManager as MerkleStateManager, address, slots);
  }
  return alloc;
}

async function allocEntry(
  state: MerkleStateManager,
  address: Address,
  slots: Map<string, Set<string>>,
): Promise<GethAllocAccount> {
  const account = (await state.getAccount(address)) ?? new Account();
  const storage: Record<string, string> = {};
  for (const key of [...(slots.get(address.toString()) ?? [])].sort()) {
    const slot = setLengthLeft(hexBytes(key), 32);
    const value = await state.getStorage(address, slot);
    if (value.length > 0) storage[bytesToHex(slot)] = bytesToHex(setLengthLeft(value, 32));
  }
  return {
    balance: bigIntToHex(account.balance),
    nonce: bigIntToHex(account.nonce),
    code: bytesToHex(await state.getCode(address)),
    storage,
  };
}

function hexBytes(hex: string): Uint8Array {
  const digits = hex.slice(2);
  return Uint8Array.from(Buffer.from(digits.length % 2 ? `0${digits}` : digits, 'hex'));
}
