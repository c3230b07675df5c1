/**
 * Charges served queries on-chain: every interval the Redeemer submits `redeemBatch` with the
 * redeemable voucher (the highest not above `owed`) of each channel that is due: its unredeemed
 * amount is above the threshold, its voucher's deadline is near, or its payer has asked to withdraw.
 * `flushNow` (and `stop`) redeem everything redeemable.
 *
 * `redeemBatch` is all or nothing, so a batch that would revert is split in halves until the bad
 * vouchers stand alone: one expired voucher or emptied deposit never blocks the others, and each
 * channel keeps the reason its voucher failed. What was charged is read back from the contract's
 * `redeemed(payer, node, modelId)`, never assumed.
 */
import { ProtocolTxError, redeemVouchers, shortMessage, type Connection } from '@openledger/sdk';
import type { Address, Hex } from 'viem';
import type { ChannelRecord } from './payment-store.ts';
import type { PaymentGate } from './payment-gate.ts';
import type { SignedVoucher } from './types.ts';

export interface RedeemerOptions {
  /** Submits the transactions (normally the node's key; anyone may submit, the node is paid either way). */
  connection: Connection;
  /** Between scheduled runs, in ms (default 30,000). */
  intervalMs?: number;
  /** A channel is due once its unredeemed amount exceeds this many wei (default 0: any). */
  threshold?: bigint;
  /** A channel is due once its voucher expires within this many seconds (default 900, above the gate's 600 s margin). */
  deadlineMarginSeconds?: number;
  /** Most vouchers per transaction (default 50). */
  maxBatch?: number;
  /** Told when a scheduled run fails as a whole (the chain is unreachable); the next run retries. */
  onError?: (error: unknown) => void;
}

/** One channel charged by a run. */
export interface Redeemed {
  payer: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  /** Wei this redemption charged (the voucher minus what was redeemed before). */
  charge: bigint;
  hash: Hex;
}

/** One channel whose voucher could not be redeemed. */
export interface NotRedeemed {
  payer: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  errorName: string;
  message: string;
}

/** What a run did. */
export interface RedeemReport {
  transactions: { hash: Hex; vouchers: number; total: bigint }[];
  redeemed: Redeemed[];
  failed: NotRedeemed[];
}

/** Contract errors that the same voucher will hit again: it is not retried until a better one arrives. */
const PERMANENT = new Set(['InvalidSignature', 'VoucherExpired', 'UnknownModel', 'ZeroAddress']);

export class Redeemer {
  private readonly conn: Connection;
  private readonly intervalMs: number;
  private readonly threshold: bigint;
  private readonly deadlineMarginSeconds: number;
  private readonly maxBatch: number;
  private readonly onError: (error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  /** Runs never overlap: each starts after the previous one ends. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly gate: PaymentGate,
    options: RedeemerOptions,
  ) {
    this.conn = options.connection;
    this.intervalMs = options.intervalMs ?? 30_000;
    this.threshold = options.threshold ?? 0n;
    this.deadlineMarginSeconds = options.deadlineMarginSeconds ?? 900;
    this.maxBatch = options.maxBatch ?? 50;
    this.onError = options.onError ?? (() => undefined);
    if (this.maxBatch < 1) throw new RangeError('maxBatch must be at least 1');
  }

  /** Runs every `intervalMs` until {@link stop}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.runDue().catch(this.onError);
    }, this.intervalMs);
    // A pending run must not keep a process alive that is otherwise done.
    this.timer.unref();
  }

  /** Stops the schedule and redeems everything redeemable one last time. */
  async stop(): Promise<RedeemReport> {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.flushNow();
  }

  /** Redeems every channel that is due (what the schedule runs). */
  runDue(): Promise<RedeemReport> {
    return this.enqueue(() => this.run(false));
  }

  /** Redeems every channel with something redeemable, due or not. */
  flushNow(): Promise<RedeemReport> {
    return this.enqueue(() => this.run(true));
  }

  private enqueue(run: () => Promise<RedeemReport>): Promise<RedeemReport> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async run(all: boolean): Promise<RedeemReport> {
    const report: RedeemReport = { transactions: [], redeemed: [], failed: [] };
    const ledger = this.gate.ledger;
    const head = await this.conn.publicClient.getBlock();
    const chainNow = head.timestamp;

    let candidates = ledger.all().filter(hasSomethingToRedeem);
    await this.reconcile(candidates);
    candidates = candidates.filter(hasSomethingToRedeem).filter((c) => {
      const failure = c.lastRedeemFailure;
      return !(failure && PERMANENT.has(failure.errorName) && failure.cumulativeAmount === amountOf(c));
    });

    // The contract refuses a voucher once block.timestamp passes its deadline; the next block is later than the head.
    const live: ChannelRecord[] = [];
    for (const c of candidates) {
      if (c.redeemable!.voucher.deadline > chainNow) {
        live.push(c);
        continue;
      }
      await this.fail(
        c,
        'VoucherExpired',
        `the voucher expired at ${c.redeemable!.voucher.deadline} before it was redeemed`,
        report,
      );
    }

    const due = all ? live : await this.dueOf(live, chainNow);
    for (let i = 0; i < due.length; i += this.maxBatch) {
      await this.redeemGroup(due.slice(i, i + this.maxBatch), report);
    }
    return report;
  }

  /** The channels worth a transaction now: above the threshold, close to their deadline, or with a withdrawing payer. */
  private async dueOf(channels: ChannelRecord[], chainNow: bigint): Promise<ChannelRecord[]> {
    const due = new Set<ChannelRecord>();
    const rest: ChannelRecord[] = [];
    for (const c of channels) {
      const unredeemed = amountOf(c) - c.redeemed;
      const expiresSoon = c.redeemable!.voucher.deadline - chainNow <= BigInt(this.deadlineMarginSeconds);
      if (unredeemed > this.threshold || expiresSoon) due.add(c);
      else rest.push(c);
    }
    // A payer who asked to withdraw can take its deposit after the delay: charge it before then.
    const payers = [...new Set(rest.map((c) => c.payer))];
    const pending = await Promise.all(
      payers.map((p) => this.conn.contracts.payments.read.pendingWithdrawal([p]).then(([amount]) => amount)),
    );
    const withdrawing = new Set(payers.filter((_, i) => pending[i]! > 0n));
    for (const c of rest) if (withdrawing.has(c.payer)) due.add(c);
    return channels.filter((c) => due.has(c));
  }

  /** Submits one batch; if it would revert, splits it until each bad voucher is alone and records why. */
  private async redeemGroup(group: ChannelRecord[], report: RedeemReport): Promise<void> {
    const vouchers: SignedVoucher[] = group.map((c) => c.redeemable!);
    try {
      const sent = await redeemVouchers(this.conn, { vouchers });
      report.transactions.push({ hash: sent.hash, vouchers: vouchers.length, total: sent.total });
      const before = new Map(group.map((c) => [c, c.redeemed]));
      await this.reconcile(group, sent.hash);
      for (const c of group) {
        report.redeemed.push({
          payer: c.payer,
          modelId: c.modelId,
          cumulativeAmount: amountOf(c),
          charge: c.redeemed - before.get(c)!,
          hash: sent.hash,
        });
      }
    } catch (error) {
      const reverted =
        error instanceof ProtocolTxError && (error.errorName !== undefined || error.hash !== undefined);
      if (reverted && group.length > 1) {
        const half = Math.ceil(group.length / 2);
        await this.redeemGroup(group.slice(0, half), report);
        await this.redeemGroup(group.slice(half), report);
        return;
      }
      // Someone else (the payer, another submitter) may have redeemed it meanwhile: that is not a failure.
      await this.reconcile(group);
      for (const c of group) {
        if (!hasSomethingToRedeem(c)) continue;
        const name = reverted ? (error.errorName ?? 'Reverted') : 'TransactionFailed';
        await this.fail(
          c,
          name,
          error instanceof ProtocolTxError ? error.message : shortMessage(error),
          report,
        );
      }
    }
  }

  /** Reads each channel's `redeemed` from the contract and records it. */
  private async reconcile(channels: ChannelRecord[], tx?: Hex): Promise<void> {
    const { payments } = this.conn.contracts;
    const node = this.gate.node;
    const onChain = await Promise.all(
      channels.map((c) => payments.read.redeemed([c.payer, node, c.modelId])),
    );
    const writes: Promise<void>[] = [];
    channels.forEach((c, i) => {
      if (this.gate.ledger.recordRedeemed(c, onChain[i]!, tx)) writes.push(this.gate.ledger.persist(c));
    });
    await Promise.all(writes);
  }

  private async fail(
    c: ChannelRecord,
    errorName: string,
    message: string,
    report: RedeemReport,
  ): Promise<void> {
    const cumulativeAmount = amountOf(c);
    this.gate.ledger.recordFailure(c, { errorName, message, cumulativeAmount, at: this.gate.now() });
    await this.gate.ledger.persist(c);
    report.failed.push({ payer: c.payer, modelId: c.modelId, cumulativeAmount, errorName, message });
  }
}

const amountOf = (c: ChannelRecord): bigint => c.redeemable?.voucher.cumulativeAmount ?? 0n;

function hasSomethingToRedeem(c: ChannelRecord): boolean {
  return c.redeemable !== undefined && c.redeemable.voucher.cumulativeAmount > c.redeemed;
}
