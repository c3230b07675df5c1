/**
 * The node's books: every channel (payer, this node, modelId) with what it owes and the vouchers
 * that pay for it, plus the quotes of requests being served now. State changes happen here and only
 * here, synchronously, so that a check and the reservation it allows see the same numbers; writes to
 * disk follow (see PaymentStore).
 *
 * Two vouchers are kept per channel: the best (highest) valid one received, which authorizes
 * serving, and the redeemable one, the highest not above `owed`, which is what gets redeemed, so the
 * chain never charges more than was used. A best voucher becomes redeemable once `owed` reaches it.
 */
import { getAddress, type Address, type Hex } from 'viem';
import type { ChannelRecord, PaymentStore } from './payment-store.ts';
import type { ChannelView, RedeemFailure, SignedVoucher } from './types.ts';

/** A request's quote held against its payer until it completes or aborts. */
export interface Reservation {
  readonly payer: Address;
  readonly modelId: bigint;
  readonly quote: bigint;
}

export class ChannelLedger {
  private readonly channels = new Map<string, ChannelRecord>();
  private readonly byPayer = new Map<string, Map<bigint, ChannelRecord>>();
  private readonly reservations = new Map<string, Set<Reservation>>();

  private constructor(
    readonly store: PaymentStore,
    readonly node: Address,
  ) {}

  /** The ledger of `store`'s channels, all loaded into memory. */
  static async open(store: PaymentStore, node: Address): Promise<ChannelLedger> {
    const ledger = new ChannelLedger(store, getAddress(node));
    for (const record of await store.channels()) ledger.add(record);
    return ledger;
  }

  /** The channel, created empty (and not stored until it changes) if it is new. */
  channel(payer: Address, modelId: bigint): ChannelRecord {
    const existing = this.find(payer, modelId);
    if (existing) return existing;
    const record: ChannelRecord = {
      payer: getAddress(payer),
      modelId,
      owed: 0n,
      redeemed: 0n,
      best: undefined,
      redeemable: undefined,
      lastRedeemFailure: undefined,
      lastRedeemTx: undefined,
    };
    this.add(record);
    return record;
  }

  find(payer: Address, modelId: bigint): ChannelRecord | undefined {
    return this.channels.get(keyOf(payer, modelId));
  }

  /** A payer's channels at this node. */
  channelsOf(payer: Address): ChannelRecord[] {
    return [...(this.byPayer.get(payer.toLowerCase())?.values() ?? [])];
  }

  all(): ChannelRecord[] {
    return [...this.channels.values()];
  }

  /**
   * Takes a valid voucher (signature, node and model already checked) into its channel: it becomes
   * the best if higher, and the redeemable one if also not above `owed`. True if anything changed.
   */
  offer(c: ChannelRecord, signed: SignedVoucher): boolean {
    let changed = false;
    if (higher(signed, c.best)) {
      c.best = signed;
      changed = true;
    }
    if (signed.voucher.cumulativeAmount <= c.owed && higher(signed, c.redeemable)) {
      c.redeemable = signed;
      changed = true;
    }
    return changed;
  }

  /** Holds `quote` against the payer and channel until {@link charge} or {@link release}. */
  reserve(payer: Address, modelId: bigint, quote: bigint): Reservation {
    const r: Reservation = { payer: getAddress(payer), modelId, quote };
    const key = payer.toLowerCase();
    let set = this.reservations.get(key);
    if (!set) this.reservations.set(key, (set = new Set()));
    set.add(r);
    return r;
  }

  /** Drops a reservation without charging. */
  release(r: Reservation): void {
    const key = r.payer.toLowerCase();
    const set = this.reservations.get(key);
    set?.delete(r);
    if (set?.size === 0) this.reservations.delete(key);
  }

  /** Ends a reservation with a charge: the channel's `owed` grows by it (in memory; {@link persist} it). */
  charge(r: Reservation, amount: bigint): ChannelRecord {
    this.release(r);
    const c = this.channel(r.payer, r.modelId);
    if (amount === 0n) return c;
    c.owed += amount;
    // A voucher held above `owed` (a prepayment) becomes redeemable once usage reaches it.
    if (c.best && c.best.voucher.cumulativeAmount <= c.owed && higher(c.best, c.redeemable)) {
      c.redeemable = c.best;
    }
    return c;
  }

  /** Writes a channel's state durably. */
  persist(c: ChannelRecord): Promise<void> {
    return this.store.putChannel(c);
  }

  /** Quotes in flight for a payer, on one model or all. */
  inFlightOf(payer: Address, modelId?: bigint): bigint {
    let sum = 0n;
    for (const r of this.reservations.get(payer.toLowerCase()) ?? []) {
      if (modelId === undefined || r.modelId === modelId) sum += r.quote;
    }
    return sum;
  }

  /** Each of the payer's channels' `redeemed` now: taken before reading the chain (see PaymentGate). */
  redeemedSnapshot(payer: Address): Map<bigint, bigint> {
    return new Map(this.channelsOf(payer).map((c) => [c.modelId, c.redeemed]));
  }

  /** Owed but not yet charged on-chain, over the payer's channels, against a `redeemed` snapshot. */
  unredeemedOf(payer: Address, redeemed: ReadonlyMap<bigint, bigint>): bigint {
    let sum = 0n;
    for (const c of this.channelsOf(payer)) sum += positive(c.owed - (redeemed.get(c.modelId) ?? 0n));
    return sum;
  }

  /**
   * What of a channel's `owed` the node can collect: the redeemable voucher while it has not expired
   * at `now` (unix seconds), or what was already redeemed, whichever is more.
   */
  coveredOf(c: ChannelRecord, now: number): bigint {
    const r = c.redeemable;
    const voucher = r && r.voucher.deadline > BigInt(now) ? r.voucher.cumulativeAmount : 0n;
    return voucher > c.redeemed ? voucher : c.redeemed;
  }

  /** Owed and not covered by a redeemable voucher, over the payer's channels. */
  unsettledOf(payer: Address, now: number): bigint {
    let sum = 0n;
    for (const c of this.channelsOf(payer)) sum += positive(c.owed - this.coveredOf(c, now));
    return sum;
  }

  /** Records the chain's `redeemed` for a channel (never lowers it); true if it changed. */
  recordRedeemed(c: ChannelRecord, redeemed: bigint, tx?: Hex): boolean {
    let changed = false;
    if (redeemed > c.redeemed) {
      c.redeemed = redeemed;
      changed = true;
    }
    if (c.lastRedeemFailure && c.redeemable && redeemed >= c.redeemable.voucher.cumulativeAmount) {
      c.lastRedeemFailure = undefined;
      changed = true;
    }
    if (tx && c.lastRedeemTx !== tx) {
      c.lastRedeemTx = tx;
      changed = true;
    }
    return changed;
  }

  recordFailure(c: ChannelRecord, failure: RedeemFailure): void {
    c.lastRedeemFailure = failure;
  }

  /** A channel as the API shows it. */
  view(c: ChannelRecord, now: number): ChannelView {
    const covered = this.coveredOf(c, now);
    return {
      payer: c.payer,
      node: this.node,
      modelId: c.modelId,
      owed: c.owed,
      redeemed: c.redeemed,
      authorized: c.best?.voucher.cumulativeAmount ?? 0n,
      redeemable: c.redeemable?.voucher.cumulativeAmount ?? 0n,
      unsettled: positive(c.owed - covered),
      inFlight: this.inFlightOf(c.payer, c.modelId),
      lastRedeemFailure: c.lastRedeemFailure,
      lastRedeemTx: c.lastRedeemTx,
    };
  }

  private add(record: ChannelRecord): void {
    this.channels.set(keyOf(record.payer, record.modelId), record);
    const payer = record.payer.toLowerCase();
    let mine = this.byPayer.get(payer);
    if (!mine) this.byPayer.set(payer, (mine = new Map()));
    mine.set(record.modelId, record);
  }
}

function keyOf(payer: Address, modelId: bigint): string {
  return `${payer.toLowerCase()}:${modelId}`;
}

const positive = (n: bigint): bigint => (n > 0n ? n : 0n);

/** True if `a` beats `b`: a higher amount, or the same amount lasting longer. */
function higher(a: SignedVoucher, b: SignedVoucher | undefined): boolean {
  if (!b) return true;
  const [x, y] = [a.voucher, b.voucher];
  return (
    x.cumulativeAmount > y.cumulativeAmount ||
    (x.cumulativeAmount === y.cumulativeAmount && x.deadline > y.deadline)
  );
}
