import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  webSocket,
  type Account,
  type Chain,
} from 'viem';
import { protocolContracts } from './contracts.ts';

export const DEVNET_CHAIN_ID = 1612;

/** An OpenLedger chain as viem describes chains (OPEN, 18 decimals). */
export function openledgerChain(chainId: number = DEVNET_CHAIN_ID, rpcUrl = 'http://127.0.0.1:8545'): Chain {
  return defineChain({
    id: chainId,
    name: chainId === DEVNET_CHAIN_ID ? 'OpenLedger devnet' : `OpenLedger ${chainId}`,
    nativeCurrency: { name: 'Open', symbol: 'OPEN', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export interface ConnectOptions {
  /** JSON-RPC endpoint, http(s):// or ws(s)://. */
  url: string;
  /** Signs writes; omit for a read-only connection. */
  account?: Account;
  /** Asked from the node when omitted. */
  chainId?: number;
}

/** Clients and typed protocol contracts for one node, optionally with a signing account. */
export async function connect(options: ConnectOptions) {
  const transport = /^wss?:/.test(options.url) ? webSocket(options.url) : http(options.url);
  const probe = createPublicClient({ transport });
  const chainId = options.chainId ?? (await probe.getChainId());
  const chain = openledgerChain(chainId, options.url);
  // Blocks come fast on a devnet; viem's 4 s cache would hand back stale block numbers.
  const publicClient = createPublicClient({ chain, transport, cacheTime: 0 });
  const walletClient = options.account
    ? createWalletClient({ chain, transport, account: options.account })
    : undefined;
  const contracts = protocolContracts({ public: publicClient, wallet: walletClient });
  return { chain, chainId, publicClient, walletClient, contracts };
}

export type Connection = Awaited<ReturnType<typeof connect>>;
