import { describe, expect, it } from 'vitest';
import { createVM } from '@ethereumjs/vm';
import { createAddressFromString, hexToBytes } from '@ethereumjs/util';
import { createChainConfig } from '../src/config/chain-config.ts';
import { createDevnetGenesis } from '../src/genesis/devnet-genesis.ts';
import { abortAfter } from '../src/execution/call-deadline.ts';

const { common } = createChainConfig(createDevnetGenesis({ chainId: 1612, accounts: [] }));
const looper = createAddressFromString('0x00000000000000000000000000000000000100ff');
// JUMPDEST; PUSH1 0; JUMP — an endless loop that only gas would stop.
const LOOP = hexToBytes('0x5b600056');

describe('call deadline', () => {
  it('aborts a run that outlives its deadline, with geth wording', async () => {
    const vm = await createVM({ common: common.copy() });
    await vm.stateManager.putCode(looper, LOOP);
    abortAfter(vm, 100);
    const started = Date.now();
    const result = await vm.evm.runCall({ to: looper, gasLimit: 10_000_000_000n });
    expect(result.execResult.exceptionError?.error).toBe('execution aborted (timeout = 0.1s)');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('leaves a run within its deadline alone, and other VMs untouched', async () => {
    const vm = await createVM({ common: common.copy() });
    await vm.stateManager.putCode(looper, LOOP);
    const other = await createVM({ common: common.copy() });
    await other.stateManager.putCode(looper, LOOP);
    abortAfter(vm, 60_000);
    const result = await vm.evm.runCall({ to: looper, gasLimit: 100_000n });
    expect(result.execResult.exceptionError?.error).toBe('out of gas');
    const untouched = await other.evm.runCall({ to: looper, gasLimit: 100_000n });
    expect(untouched.execResult.exceptionError?.error).toBe('out of gas');
  });
});
