/**
 * The measured part of a workload: pre-signing, submission with eth_sendRawTransaction, and
 * inclusion tracking by polling blocks. Node-agnostic: it only speaks standard Ethereum JSON-RPC.
 */
import { keccak256, type Address, type Hex } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import { hexToNumber, RpcClient, type JsonRpcErrorObject, type JsonRpcResponse } from './rpc.ts';
import { round, summarize, type Distribution } from './stats.ts';

export interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** What one pre-signed transaction does (nonce, chain and fees are filled in by presign). */
export interface TxCall {
  readonly to: Address;
  readonly value: bigint;
  readonly gas: bigint;
  readonly data?: Hex;
}

export interface SignedTx {
  readonly nonce: number;
  readonly raw: Hex;
  readonly hash: Hex;
}

/** One sender's transactions, in nonce order. */
export interface SenderBatch {
  readonly sender: Address;
  readonly txs: readonly SignedTx[];
}

/** Splits `total` into `parts` counts that differ by at most one (the first ones get the extra). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

export interface PresignParams {
  readonly chainId: number;
  readonly senders: readonly LocalAccount[];
  /** Next nonce of each sender (eth_getTransactionCount(sender, 'pending')). */
  readonly startNonces: readonly number[];
  /** Number of transactions for each sender. */
  readonly counts: readonly number[];
  readonly fees: Fees;
  /** The call for the `seq`-th transaction of sender `senderIndex`. */
  readonly build: (senderIndex: number, seq: number) => TxCall;
}

/** Signs every transaction up front (EIP-1559), so that signing is not part of the measurement. */
export async function presign(params: PresignParams): Promise<SenderBatch[]> {
  const { chainId, senders, startNonces, counts, fees, build } = params;
  const batches: SenderBatch[] = [];
  for (const [s, account] of senders.entries()) {
    if (!account.signTransaction) throw new Error(`account ${account.address} cannot sign transactions`);
    const startNonce = startNonces[s];
    const count = counts[s];
    if (startNonce === undefined || count === undefined) throw new Error(`no nonce/count for sender ${s}`);
    const txs: SignedTx[] = [];
    for (let seq = 0; seq < count; seq++) {
      const call = build(s, seq);
      const nonce = startNonce + seq;
      const raw = await account.signTransaction({
        type: 'eip1559',
        chainId,
        nonce,
        to: call.to,
        value: call.value,
        gas: call.gas,
        data: call.data,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      txs.push({ nonce, raw, hash: keccak256(raw) });
    }
    batches.push({ sender: account.address, txs });
  }
  return batches;
}

export interface SubmitOptions {
  /** Name used in progress and error messages. */
  readonly label: string;
  /** Max in-flight eth_sendRawTransaction requests per sender. */
  readonly window: number;
  /**
   * Nodes without a queue for future nonces (Hardhat automine) reject a transaction that arrives
   * ahead of its predecessor, and with several requests in flight some always do (requests on
   * different connections are not handled in send order). When true, the first such rejection
   * switches every sender of the run to one request in flight (nonce order guaranteed); when false,
   * senders keep `window` requests in flight and resend each rejected one after its predecessor.
   */
  readonly serializeOnNonceGap: boolean;
  /** Start with one request in flight per sender (a previous run found that the node needs it). */
  readonly startSerialized?: boolean;
  /** Delay between two inclusion polls (eth_blockNumber). */
  readonly pollMs: number;
  /** CPU seconds used so far by the node under test, when known (for the cpu report). */
  readonly nodeCpuSeconds?: () => number | undefined;
  /** Give up when not everything is included this long after the first submit. */
  readonly timeoutMs: number;
}

export interface Measurement {
  readonly txs: number;
  readonly senders: number;
  readonly window: number;
  /** Time from the first submit to the last inclusion. */
  readonly durationMs: number;
  /** txs / durationMs: the headline throughput. */
  readonly txPerSec: number;
  /** Submit-to-inclusion latency of each transaction. */
  readonly latencyMs: Distribution;
  readonly submit: {
    /** Time from the first submit to the last accepted eth_sendRawTransaction reply. */
    readonly durationMs: number;
    /** Rate at which the RPC accepted the transactions. */
    readonly txPerSec: number;
    /** Submissions repeated because the node rejected a nonce that arrived ahead of its predecessor. */
    readonly nonceGapRetries: number;
    /** Whether the run ended with one request in flight per sender (see serializeOnNonceGap). */
    readonly serialized: boolean;
    /** In-flight requests per sender at the end of the run: `window`, or 1 once serialized. */
    readonly effectiveWindow: number;
  };
  /**
   * CPU used during the run, in % of one core (the machine has os.cpus().length cores): shows
   * whether the node or this harness (signing excluded; submitters + poller) was the busy side.
   */
  readonly cpuPercent: {
    readonly harness: number;
    readonly node: number | null;
  };
  readonly blocks: {
    /** Distinct blocks that contain at least one of the transactions. */
    readonly used: number;
    readonly first: number;
    readonly last: number;
    readonly maxTxsPerBlock: number;
    readonly meanTxsPerBlock: number;
  };
}

/**
 * Rejections meaning "this nonce is ahead of the account's next nonce". Nodes with a queue for
 * future nonces (geth) accept such a transaction; nodes without one (Hardhat automine: "Nonce too
 * high ... transactions can't be queued when automining") reject it. The submitter then resends it
 * once its predecessor has been accepted.
 */
const NONCE_GAP = /nonce too high|nonce gap|future nonce|can'?t be queued|cannot be queued/i;
/** The node already has this transaction (a resend raced with the first attempt). */
const ALREADY_KNOWN = /already known|known transaction|already imported|already in (the )?(mem)?pool/i;
const NONCE_TOO_LOW = /nonce too low/i;
const MAX_ATTEMPTS = 100;
/** Blocks fetched at once: in one JSON-RPC batch, or as parallel requests without batch support. */
const MAX_BLOCKS_PER_BATCH = 64;
const MAX_PARALLEL_BLOCK_REQUESTS = 16;

interface BlockSummary {
  readonly number: number;
  readonly transactions: readonly string[];
}

function parseBlock(result: unknown, requested: number): BlockSummary | null {
  if (result === null) return null;
  if (typeof result !== 'object' || !('transactions' in result) || !('number' in result)) {
    throw new Error(`eth_getBlockByNumber(${requested}): malformed block`);
  }
  const { transactions, number } = result;
  if (typeof number !== 'string' || !Array.isArray(transactions)) {
    throw new Error(`eth_getBlockByNumber(${requested}): malformed block`);
  }
  const hashes: string[] = [];
  for (const tx of transactions as unknown[]) {
    if (typeof tx !== 'string') throw new Error(`eth_getBlockByNumber(${requested}, false): expected hashes`);
    hashes.push(tx.toLowerCase());
  }
  return { number: hexToNumber(number, 'block number'), transactions: hashes };
}

function rpcErrorText(error: JsonRpcErrorObject): string {
  const data = typeof error.data === 'string' ? ` (${error.data})` : '';
  return `${error.message}${data}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls for new blocks and fetches each of them with eth_getBlockByNumber(n, false). */
class BlockPoller {
  private useBatch = true;
  private nextBlock: number;

  constructor(
    private readonly rpc: RpcClient,
    afterBlock: number,
    private readonly pollMs: number,
    private readonly onBlock: (block: BlockSummary, seenAt: number) => void,
  ) {
    this.nextBlock = afterBlock + 1;
  }

  async run(isStopped: () => boolean): Promise<void> {
    while (!isStopped()) {
      const roundStart = performance.now();
      const head = hexToNumber(await this.rpc.callString('eth_blockNumber'), 'eth_blockNumber');
      while (this.nextBlock <= head && !isStopped()) {
        const chunk = this.useBatch ? MAX_BLOCKS_PER_BATCH : MAX_PARALLEL_BLOCK_REQUESTS;
        const last = Math.min(head, this.nextBlock + chunk - 1);
        const blocks = await this.fetch(this.nextBlock, last);
        const seenAt = performance.now();
        let complete = true;
        for (const block of blocks) {
          if (block === null) {
            complete = false; // announced but not served yet: retry next round
            break;
          }
          this.onBlock(block, seenAt);
          this.nextBlock = block.number + 1;
        }
        if (!complete) break;
      }
      const wait = this.pollMs - (performance.now() - roundStart);
      if (wait > 0 && !isStopped()) await sleep(wait);
    }
  }

  private async fetch(first: number, last: number): Promise<(BlockSummary | null)[]> {
    const numbers = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    const params = (n: number): unknown[] => [`0x${n.toString(16)}`, false];
    if (this.useBatch && numbers.length > 1) {
      let replies: JsonRpcResponse[] | undefined;
      try {
        replies = await this.rpc.batch(
          numbers.map((n) => ({ method: 'eth_getBlockByNumber', params: params(n) })),
        );
      } catch {
        this.useBatch = false; // endpoint without batch support: fall back to one request per block
      }
      if (replies) {
        return replies.map((reply, i) => {
          if (reply.error) throw new Error(`eth_getBlockByNumber: ${rpcErrorText(reply.error)}`);
          return parseBlock(reply.result, numbers[i] as number);
        });
      }
    }
    return Promise.all(
      numbers.map(async (n) => parseBlock(await this.rpc.call('eth_getBlockByNumber', params(n)), n)),
    );
  }
}

/**
 * Submits every sender's transactions in nonce order, the senders in parallel, each with at most
 * `window` requests in flight, and waits until every transaction is seen in a block.
 */
export async function submitAndTrack(
  url: string,
  batches: readonly SenderBatch[],
  options: SubmitOptions,
): Promise<Measurement> {
  const offsets: number[] = [];
  let total = 0;
  for (const batch of batches) {
    offsets.push(total);
    total += batch.txs.length;
  }
  if (total === 0) throw new Error(`${options.label}: nothing to submit`);

  const submitAt = new Float64Array(total).fill(Number.NaN);
  const acceptedAt = new Float64Array(total).fill(Number.NaN);
  const includedAt = new Float64Array(total).fill(Number.NaN);
  const includedIn = new Float64Array(total).fill(Number.NaN);
  const indexByHash = new Map<string, number>();
  batches.forEach((batch, s) => {
    batch.txs.forEach((tx, j) => indexByHash.set(tx.hash.toLowerCase(), (offsets[s] as number) + j));
  });

  const pollRpc = new RpcClient(url, { maxSockets: MAX_PARALLEL_BLOCK_REQUESTS });
  const startBlock = hexToNumber(await pollRpc.callString('eth_blockNumber'), 'eth_blockNumber');

  const harnessCpuStart = process.cpuUsage();
  const nodeCpuStart = options.nodeCpuSeconds?.();
  const wallStart = performance.now();
  let stopped = false;
  let includedCount = 0;
  let nonceGapRetries = 0;
  const txsPerBlock = new Map<number, number>();
  const clients: RpcClient[] = [];
  let serialized = options.startSerialized === true;

  const outcome = new Promise<void>((resolve, reject) => {
    const finish = (error?: Error): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };

    const timer = setTimeout(() => {
      let missing = -1;
      for (let i = 0; i < total && missing < 0; i++) if (Number.isNaN(includedAt[i])) missing = i;
      const s = offsets.findLastIndex((o) => o <= missing);
      const tx = batches[s]?.txs[missing - (offsets[s] ?? 0)];
      const state = Number.isNaN(acceptedAt[missing])
        ? 'never accepted by the RPC'
        : 'accepted, not yet seen in a block';
      finish(
        new Error(
          `${options.label}: timed out after ${options.timeoutMs / 1000} s: ${total - includedCount} of ` +
            `${total} transactions not included (e.g. sender ${batches[s]?.sender} nonce ${tx?.nonce} ` +
            `${tx?.hash}: ${state})`,
        ),
      );
    }, options.timeoutMs);

    const poller = new BlockPoller(pollRpc, startBlock, options.pollMs, (block, seenAt) => {
      for (const hash of block.transactions) {
        const i = indexByHash.get(hash);
        if (i === undefined || !Number.isNaN(includedAt[i])) continue;
        includedAt[i] = seenAt;
        includedIn[i] = block.number;
        txsPerBlock.set(block.number, (txsPerBlock.get(block.number) ?? 0) + 1);
        includedCount++;
      }
      if (includedCount === total) finish();
    });
    poller
      .run(() => stopped)
      .catch((error: unknown) => finish(new Error(`${options.label}: ${String(error)}`)));

    batches.forEach((batch, s) => {
      const client = new RpcClient(url, { maxSockets: options.window });
      clients.push(client);
      const base = offsets[s] as number;
      const txs = batch.txs;
      const accepted = new Uint8Array(txs.length);
      const attempts = new Uint32Array(txs.length);
      const retryQueue: number[] = []; // ascending
      let next = 0;
      let inFlight = 0;

      const accept = (j: number): void => {
        accepted[j] = 1;
        acceptedAt[base + j] = performance.now();
      };
      const pump = (): void => {
        while (!stopped && inFlight < (serialized ? 1 : options.window)) {
          let j: number;
          const retryHead = retryQueue[0];
          if (retryHead !== undefined) {
            // A resend waits until its predecessor is accepted; newer nonces wait behind it.
            if (retryHead > 0 && accepted[retryHead - 1] === 0) return;
            j = retryQueue.shift() as number;
          } else if (next < txs.length) {
            j = next++;
          } else {
            return;
          }
          dispatch(j);
        }
      };
      const onReply = (j: number, reply: JsonRpcResponse): void => {
        const tx = txs[j] as SignedTx;
        if (!reply.error) return accept(j);
        const text = rpcErrorText(reply.error);
        const tries = attempts[j] ?? 0;
        if (ALREADY_KNOWN.test(text) || (tries > 1 && NONCE_TOO_LOW.test(text))) return accept(j);
        if (NONCE_GAP.test(text) && tries < MAX_ATTEMPTS) {
          nonceGapRetries++;
          if (options.serializeOnNonceGap && !serialized) {
            serialized = true;
            process.stderr.write(
              `[bench] ${options.label}: the node rejects nonces that arrive early; ` +
                `switching to 1 in-flight request per sender\n`,
            );
          }
          const at = retryQueue.findIndex((k) => k > j);
          retryQueue.splice(at < 0 ? retryQueue.length : at, 0, j);
          return;
        }
        finish(new Error(`${options.label}: sender ${batch.sender} nonce ${tx.nonce} rejected: ${text}`));
      };
      const dispatch = (j: number): void => {
        inFlight++;
        attempts[j] = (attempts[j] ?? 0) + 1;
        if (Number.isNaN(submitAt[base + j])) submitAt[base + j] = performance.now();
        client.send('eth_sendRawTransaction', [(txs[j] as SignedTx).raw]).then(
          (reply) => {
            inFlight--;
            if (stopped) return;
            onReply(j, reply);
            pump();
          },
          (error: unknown) => {
            inFlight--;
            finish(new Error(`${options.label}: eth_sendRawTransaction failed: ${String(error)}`));
          },
        );
      };
      pump();
    });
  });

  try {
    await outcome;
  } finally {
    stopped = true;
    for (const client of clients) client.close();
    pollRpc.close();
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const harnessCpu = process.cpuUsage(harnessCpuStart);
  const nodeCpuEnd = options.nodeCpuSeconds?.();
  const nodeCpu =
    nodeCpuStart !== undefined && nodeCpuEnd !== undefined ? nodeCpuEnd - nodeCpuStart : undefined;

  let firstSubmit = Infinity;
  let lastAccepted = -Infinity;
  let lastIncluded = -Infinity;
  let firstBlock = Infinity;
  let lastBlock = -Infinity;
  const latencies = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    const submitted = submitAt[i] as number;
    const included = includedAt[i] as number;
    const block = includedIn[i] as number;
    firstSubmit = Math.min(firstSubmit, submitted);
    // A transaction can be seen in a block before its RPC reply arrives; count it as accepted then.
    lastAccepted = Math.max(lastAccepted, Number.isNaN(acceptedAt[i]) ? included : (acceptedAt[i] as number));
    lastIncluded = Math.max(lastIncluded, included);
    firstBlock = Math.min(firstBlock, block);
    lastBlock = Math.max(lastBlock, block);
    latencies[i] = included - submitted;
  }
  const latency = summarize(latencies);
  const durationMs = lastIncluded - firstSubmit;
  const submitMs = lastAccepted - firstSubmit;
  const perBlock = [...txsPerBlock.values()];
  const measurement: Measurement = {
    txs: total,
    senders: batches.length,
    window: options.window,
    durationMs: round(durationMs),
    txPerSec: round((total / durationMs) * 1000),
    latencyMs: {
      count: latency.count,
      min: round(latency.min),
      mean: round(latency.mean),
      p50: round(latency.p50),
      p90: round(latency.p90),
      p99: round(latency.p99),
      max: round(latency.max),
    },
    submit: {
      durationMs: round(submitMs),
      txPerSec: round((total / submitMs) * 1000),
      nonceGapRetries,
      serialized,
      effectiveWindow: serialized ? 1 : options.window,
    },
    cpuPercent: {
      harness: round(((harnessCpu.user + harnessCpu.system) / 1e6 / wallSeconds) * 100),
      node: nodeCpu === undefined ? null : round((nodeCpu / wallSeconds) * 100),
    },
    blocks: {
      used: txsPerBlock.size,
      first: firstBlock,
      last: lastBlock,
      maxTxsPerBlock: Math.max(...perBlock),
      meanTxsPerBlock: round(total / txsPerBlock.size, 2),
    },
  };
  return measurement;
}
