import type { Address, Hex } from 'viem';

/** How the contributors' share of one query was divided. Amounts are wei, as decimal strings in JSON. */
export interface Allocation {
  readonly contributor: Address;
  readonly amount: bigint;
}

/**
 * The stored outcome of Proof of Attribution for one paid answer: who is owed what of the
 * contributors' share of its fee. `allocations` plus `unattributed` equal `contributorsShare`
 * exactly; `unattributed` is what the base model knew, and goes to the treasury.
 */
export interface AttributionRecord {
  /** The response's attribution id (the OpenAI-compatible API's `attribution_id`). */
  readonly id: string;
  readonly modelId: bigint;
  /**
   * AttributionSettlement's epoch when the record was logged: the epoch whose settlement first
   * considers it (it is only ever paid from that epoch's collection or later ones).
   */
  readonly epoch: bigint;
  /** Unix seconds. */
  readonly servedAt: number;
  readonly payer: Address;
  /** The query's fee, wei. */
  readonly charge: bigint;
  /** The contributors' part of the fee (the fee shares in force when it was charged). */
  readonly contributorsShare: bigint;
  readonly allocations: readonly Allocation[];
  readonly unattributed: bigint;
  readonly method: 'span' | 'gradient' | 'none';
  /** Method-specific evidence for people and the web app: top rows, spans, scores. */
  readonly evidence?: unknown;
  /** keccak256 of the completion text, binding the record to the answer it explains. */
  readonly completionHash?: Hex;
}

export class AttributionRecordError extends Error {
  override name = 'AttributionRecordError';
}

/** Checks the invariants a record must hold before it is logged or replayed. */
export function assertValidRecord(r: AttributionRecord): void {
  const fail = (why: string): never => {
    throw new AttributionRecordError(`attribution record ${r.id}: ${why}`);
  };
  if (r.id.length === 0 || r.id.length > 128) fail('the id must be 1 to 128 characters');
  if (r.charge < 0n || r.contributorsShare < 0n || r.unattributed < 0n) fail('amounts cannot be negative');
  if (r.contributorsShare > r.charge) fail('the contributors share exceeds the charge');
  const seen = new Set<string>();
  let sum = r.unattributed;
  for (const a of r.allocations) {
    if (a.amount <= 0n) fail(`the allocation to ${a.contributor} is not positive`);
    const key = a.contributor.toLowerCase();
    if (seen.has(key)) fail(`${a.contributor} is allocated twice`);
    seen.add(key);
    sum += a.amount;
  }
  if (sum !== r.contributorsShare) {
    fail(`allocations and the unattributed remainder add up to ${sum}, not the share ${r.contributorsShare}`);
  }
}

/** The record as JSON (bigints as decimal strings). */
export function recordToJson(r: AttributionRecord): Record<string, unknown> {
  return {
    ...r,
    modelId: r.modelId.toString(),
    epoch: r.epoch.toString(),
    charge: r.charge.toString(),
    contributorsShare: r.contributorsShare.toString(),
    unattributed: r.unattributed.toString(),
    allocations: r.allocations.map((a) => ({ contributor: a.contributor, amount: a.amount.toString() })),
  };
}

/** Reads a record back from its JSON form, checking its invariants. */
export function recordFromJson(json: unknown): AttributionRecord {
  const j = json as Record<string, unknown>;
  const big = (v: unknown, what: string): bigint => {
    if (typeof v !== 'string' || !/^[0-9]{1,78}$/.test(v))
      throw new AttributionRecordError(`${what} is not a decimal amount`);
    return BigInt(v);
  };
  if (typeof j.id !== 'string') throw new AttributionRecordError('a record has no id');
  if (!Array.isArray(j.allocations)) throw new AttributionRecordError(`record ${j.id} has no allocations`);
  const record: AttributionRecord = {
    id: j.id,
    modelId: big(j.modelId, 'modelId'),
    epoch: big(j.epoch, 'epoch'),
    servedAt: Number(j.servedAt),
    payer: j.payer as Address,
    charge: big(j.charge, 'charge'),
    contributorsShare: big(j.contributorsShare, 'contributorsShare'),
    allocations: (j.allocations as Record<string, unknown>[]).map((a) => ({
      contributor: a.contributor as Address,
      amount: big(a.amount, 'an allocation'),
    })),
    unattributed: big(j.unattributed, 'unattributed'),
    method: j.method as AttributionRecord['method'],
    ...(j.evidence !== undefined && { evidence: j.evidence }),
    ...(typeof j.completionHash === 'string' && { completionHash: j.completionHash as Hex }),
  };
  assertValidRecord(record);
  return record;
}
