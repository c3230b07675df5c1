/** Chain-level helpers shared by the workloads: connection facts, fees, nonces, receipts. */
import type { Address, Hex } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { deriveRecipients, deriveSenders } from './accounts.ts';
import { hexToNumber, RpcClient } from './rpc.ts';
import type { Fees } from './workload.ts';

export const GWEI = 1_000_000_000n;

export interface ChainContext {
  readonly url: string;
  /** For setup and checks (not the measured submit loop, which opens its own connections). */
  readonly rpc: RpcClient;
  readonly chainId: number;
  readonly clientVersion: string;
  readonly senders: readonly HDAccount[];
  readonly recipients: readonly Address[];
  /** CPU seconds used so far by the node, when the harness spawned it. */
  readonly nodeCpuSeconds: () => number | undefined;
}

export async function connect(
  url: string,
  nodeCpuSeconds: () => number | undefined = () => undefined,
): Promise<ChainContext> {
  const rpc = new RpcClient(url, { maxSockets: 4 });
  const chainId = hexToNumber(await rpc.callString('eth_chainId'), 'eth_chainId');
  const clientVersion = await rpc.callString('web3_clientVersion').catch(() => 'unknown');
  return {
    url,
    rpc,
    chainId,
    clientVersion,
    senders: deriveSenders(),
    recipients: deriveRecipients(),
    nodeCpuSeconds,
  };
}

/**
 * Generous EIP-1559 fees: maxFeePerGas = max(10 × latest base fee, 10 gwei) + tip, so that the
 * pre-signed transactions stay valid while full blocks push the base fee up (+12.5% per block).
 */
export async function generousFees(rpc: RpcClient): Promise<Fees> {
  const block = await rpc.call('eth_getBlockByNumber', ['latest', false]);
  const baseFeeHex =
    typeof block === 'object' && block !== null && 'baseFeePerGas' in block ? block.baseFeePerGas : undefined;
  if (typeof baseFeeHex !== 'string') throw new Error('latest block has no baseFeePerGas: EIP-1559 required');
  const baseFee = BigInt(baseFeeHex);
  const maxPriorityFeePerGas = 1n * GWEI;
  const tenX = baseFee * 10n;
  return {
    maxFeePerGas: (tenX > 10n * GWEI ? tenX : 10n * GWEI) + maxPriorityFeePerGas,
    maxPriorityFeePerGas,
  };
}

export async function pendingNonces(
  rpc: RpcClient,
  accounts: readonly { address: Address }[],
): Promise<number[]> {
  const nonce = async (address: Address): Promise<number> => {
    let hex: string;
    try {
      hex = await rpc.callString('eth_getTransactionCount', [address, 'pending']);
    } catch {
      hex = await rpc.callString('eth_getTransactionCount', [address, 'latest']); // no 'pending' tag support
    }
    return hexToNumber(hex, 'nonce');
  };
  return Promise.all(accounts.map((a) => nonce(a.address)));
}

export async function getBalance(rpc: RpcClient, address: Address): Promise<bigint> {
  return BigInt(await rpc.callString('eth_getBalance', [address, 'latest']));
}

/** Fails early (with a clear message) when a sender cannot pay for what it is about to sign. */
export async function assertFunded(
  rpc: RpcClient,
  senders: readonly { address: Address }[],
  costPerSender: readonly bigint[],
): Promise<void> {
  for (const [i, sender] of senders.entries()) {
    const balance = await getBalance(rpc, sender.address);
    const needed = costPerSender[i] ?? 0n;
    if (balance < needed) {
      throw new Error(
        `sender ${i} (${sender.address}) has ${balance} wei, needs ${needed} wei for the workload`,
      );
    }
  }
}

export interface Receipt {
  readonly status: string;
  readonly blockNumber: string;
  readonly contractAddress: Address | null;
  readonly gasUsed: string;
}

function asReceipt(value: unknown, hash: Hex): Receipt | null {
  if (value === null) return null;
  if (
    typeof value !== 'object' ||
    !('status' in value) ||
    !('blockNumber' in value) ||
    !('gasUsed' in value)
  ) {
    throw new Error(`eth_getTransactionReceipt(${hash}): malformed receipt`);
  }
  const { status, blockNumber, gasUsed } = value;
  const contractAddress = 'contractAddress' in value ? value.contractAddress : null;
  if (typeof status !== 'string' || typeof blockNumber !== 'string' || typeof gasUsed !== 'string') {
    throw new Error(`eth_getTransactionReceipt(${hash}): malformed receipt`);
  }
  return {
    status,
    blockNumber,
    gasUsed,
    contractAddress: typeof contractAddress === 'string' ? (contractAddress as Address) : null,
  };
}

export async function getReceipt(rpc: RpcClient, hash: Hex): Promise<Receipt | null> {
  return asReceipt(await rpc.call('eth_getTransactionReceipt', [hash]), hash);
}

/** Polls for a receipt and requires status 1. */
export async function waitForSuccess(
  rpc: RpcClient,
  hash: Hex,
  what: string,
  timeoutMs = 60_000,
): Promise<Receipt> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const receipt = await getReceipt(rpc, hash);
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error(`${what} (${hash}) reverted`);
      return receipt;
    }
    if (performance.now() > deadline)
      throw new Error(`${what} (${hash}) not mined within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function estimateGas(
  rpc: RpcClient,
  tx: { from: Address; to?: Address; data?: Hex; value?: bigint },
): Promise<bigint> {
  const params: Record<string, string> = { from: tx.from };
  if (tx.to) params.to = tx.to;
  if (tx.data) params.data = tx.data;
  if (tx.value !== undefined) params.value = `0x${tx.value.toString(16)}`;
  return BigInt(await rpc.callString('eth_estimateGas', [params]));
}
