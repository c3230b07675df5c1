/** The two workloads (native transfers, ERC-20 transfers): setup, warm-up, measured run, checks. */
import type { Address } from 'viem';
import {
  assertFunded,
  estimateGas,
  generousFees,
  getReceipt,
  pendingNonces,
  type ChainContext,
} from './chain.ts';
import { deployAndDistribute, loadTestToken, transferData } from './token.ts';
import {
  presign,
  splitEvenly,
  submitAndTrack,
  type Measurement,
  type SenderBatch,
  type TxCall,
} from './workload.ts';

export interface WorkloadOptions {
  /** Measured transactions, split evenly over the senders. */
  readonly txs: number;
  /** Unmeasured transactions sent (and fully included) first. */
  readonly warmup: number;
  readonly window: number;
  /** See SubmitOptions.serializeOnNonceGap. */
  readonly serializeOnNonceGap: boolean;
  readonly pollMs: number;
  readonly timeoutMs: number;
}

export type WorkloadName = 'native' | 'erc20';

export interface WorkloadReport extends Measurement {
  /** Gas limit of every measured transaction. */
  readonly gasLimitPerTx: number;
  /** Time spent signing the measured batch before the timer started. */
  readonly presignMs: number;
  /** Extra facts (e.g. the token address). */
  readonly details: Record<string, string>;
}

/** Value of each native transfer. */
const NATIVE_VALUE = 1_000_000_000n;
/** Token units moved by each ERC-20 transfer. */
const TOKEN_AMOUNT = 1n;

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

/** Recipient of the `seq`-th transaction of sender `s`: round-robin over the fixed recipient set. */
function recipientFor(ctx: ChainContext, s: number, seq: number): Address {
  return ctx.recipients[(seq * ctx.senders.length + s) % ctx.recipients.length] as Address;
}

async function signPhase(
  ctx: ChainContext,
  total: number,
  build: (s: number, seq: number) => TxCall,
): Promise<SenderBatch[]> {
  const [startNonces, fees] = await Promise.all([pendingNonces(ctx.rpc, ctx.senders), generousFees(ctx.rpc)]);
  return presign({
    chainId: ctx.chainId,
    senders: ctx.senders,
    startNonces,
    counts: splitEvenly(total, ctx.senders.length),
    fees,
    build,
  });
}

/** Checks that the first and last transaction of every sender succeeded (status 1). */
async function checkReceipts(
  ctx: ChainContext,
  batches: readonly SenderBatch[],
  label: string,
): Promise<void> {
  for (const batch of batches) {
    for (const tx of [batch.txs[0], batch.txs[batch.txs.length - 1]]) {
      if (!tx) continue;
      const receipt = await getReceipt(ctx.rpc, tx.hash);
      if (!receipt) throw new Error(`${label}: no receipt for included tx ${tx.hash}`);
      if (receipt.status !== '0x1') throw new Error(`${label}: tx ${tx.hash} (nonce ${tx.nonce}) reverted`);
    }
  }
}

async function runPhases(
  ctx: ChainContext,
  label: string,
  options: WorkloadOptions,
  build: (s: number, seq: number) => TxCall,
): Promise<{ measurement: Measurement; presignMs: number }> {
  const submitOptions = {
    window: options.window,
    serializeOnNonceGap: options.serializeOnNonceGap,
    nodeCpuSeconds: ctx.nodeCpuSeconds,
    pollMs: options.pollMs,
    timeoutMs: options.timeoutMs,
  };
  // The warm-up also finds out whether the node needs nonces in order (see serializeOnNonceGap).
  let startSerialized = false;
  if (options.warmup > 0) {
    const warm = await signPhase(ctx, options.warmup, build);
    log(`${label}: warm-up, ${options.warmup} txs`);
    const warmup = await submitAndTrack(ctx.url, warm, { ...submitOptions, label: `${label} warm-up` });
    await checkReceipts(ctx, warm, `${label} warm-up`);
    startSerialized = warmup.submit.serialized;
  }
  const signStart = performance.now();
  const batches = await signPhase(ctx, options.txs, build);
  const presignMs = performance.now() - signStart;
  log(`${label}: signed ${options.txs} txs in ${(presignMs / 1000).toFixed(1)} s; submitting`);
  const measurement = await submitAndTrack(ctx.url, batches, { ...submitOptions, startSerialized, label });
  await checkReceipts(ctx, batches, label);
  log(
    `${label}: ${measurement.txPerSec} tx/s, p50 ${measurement.latencyMs.p50} ms, ` +
      `p99 ${measurement.latencyMs.p99} ms, ${measurement.blocks.used} blocks, ` +
      `submit ${measurement.submit.txPerSec} tx/s, ${measurement.submit.nonceGapRetries} nonce-gap retries, window ${measurement.submit.effectiveWindow}, ` +
      `cpu node ${measurement.cpuPercent.node ?? '?'}% harness ${measurement.cpuPercent.harness}%`,
  );
  return { measurement, presignMs: Math.round(presignMs) };
}

export async function runNative(ctx: ChainContext, options: WorkloadOptions): Promise<WorkloadReport> {
  const gas = 21_000n;
  const { maxFeePerGas } = await generousFees(ctx.rpc);
  const perSender = BigInt(Math.ceil((options.txs + options.warmup) / ctx.senders.length));
  await assertFunded(
    ctx.rpc,
    ctx.senders,
    ctx.senders.map(() => perSender * (gas * maxFeePerGas + NATIVE_VALUE)),
  );
  const build = (s: number, seq: number): TxCall => ({
    to: recipientFor(ctx, s, seq),
    value: NATIVE_VALUE,
    gas,
  });
  const { measurement, presignMs } = await runPhases(ctx, 'native', options, build);
  return { ...measurement, gasLimitPerTx: Number(gas), presignMs, details: {} };
}

export async function runErc20(ctx: ChainContext, options: WorkloadOptions): Promise<WorkloadReport> {
  const artifact = await loadTestToken();
  log('erc20: deploying TestToken and distributing it to the senders');
  const token = await deployAndDistribute(ctx, artifact);
  const sampleSender = ctx.senders[1] ?? ctx.senders[0];
  if (!sampleSender) throw new Error('no senders');
  // Worst case: a transfer to a recipient that holds no tokens yet (zero -> non-zero storage write).
  const estimate = await estimateGas(ctx.rpc, {
    from: sampleSender.address,
    to: token,
    data: transferData(artifact, recipientFor(ctx, 1, 0), TOKEN_AMOUNT),
  });
  const gas = (estimate * 12n) / 10n;
  const { maxFeePerGas } = await generousFees(ctx.rpc);
  const perSender = BigInt(Math.ceil((options.txs + options.warmup) / ctx.senders.length));
  await assertFunded(
    ctx.rpc,
    ctx.senders,
    ctx.senders.map(() => perSender * gas * maxFeePerGas),
  );
  // Calldata depends only on the recipient: encode once per recipient.
  const dataByRecipient = new Map(ctx.recipients.map((r) => [r, transferData(artifact, r, TOKEN_AMOUNT)]));
  const build = (s: number, seq: number): TxCall => {
    const to = recipientFor(ctx, s, seq);
    return { to: token, value: 0n, gas, data: dataByRecipient.get(to) };
  };
  const { measurement, presignMs } = await runPhases(ctx, 'erc20', options, build);
  return { ...measurement, gasLimitPerTx: Number(gas), presignMs, details: { token } };
}

export const WORKLOADS: Record<
  WorkloadName,
  (ctx: ChainContext, options: WorkloadOptions) => Promise<WorkloadReport>
> = {
  native: runNative,
  erc20: runErc20,
};
