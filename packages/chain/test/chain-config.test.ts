import { describe, expect, it } from 'vitest';
import { createVM } from '@ethereumjs/vm';
import { createChainConfig } from '../src/config/chain-config.ts';
import { createDevnetGenesis } from '../src/genesis/devnet-genesis.ts';

describe('chain config', () => {
  const config = createChainConfig(createDevnetGenesis({ chainId: 1612, accounts: [] }));

  it('runs Prague from genesis with the chain id of the genesis', () => {
    expect(config.common.hardfork()).toBe('prague');
    expect(config.chainId).toBe(1612n);
    expect(config.forkAware).toBe(false);
  });

  it('uses EIP-2935 history window 8191, also in copies and VMs built from it', async () => {
    expect(config.common.param('historyServeWindow')).toBe(8191n);
    expect(config.common.copy().param('historyServeWindow')).toBe(8191n);
    const vm = await createVM({ common: config.common.copy() });
    expect(vm.common.param('historyServeWindow')).toBe(8191n);
  });
});
