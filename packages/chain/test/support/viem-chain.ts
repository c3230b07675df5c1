import { defineChain } from 'viem';

/**
 * The devnet as viem sees it. Tests pass each node's URL to the transport; the chain's own
 * rpcUrls entry is only the default endpoint.
 */
export const devnetChain = defineChain({
  id: 1612,
  name: 'OpenLedger devnet',
  nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
  rpcUrls: { default: { http: ['http://127.0.0.1:8545'] } },
});
