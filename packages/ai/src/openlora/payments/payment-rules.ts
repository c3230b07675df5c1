/**
 * The serving rules, as pure functions of numbers the gate has gathered: each returns the refusal
 * (a PaymentError saying what to do) or undefined when the request may go ahead.
 *
 * With `owed` a channel's completed charges, `inFlight` the quotes of requests being served and
 * `unredeemed` what is owed but not yet charged on-chain:
 *
 * - voucher terms: for this node and model, lasting at least the margin, signed by the payer;
 * - voucher amount: at least the channel's `owed + inFlight`, so every request but the current
 *   one is paid for and the node risks at most one request per channel;
 * - prepayment: a voucher above `owed` is taken only while all of `owed` is covered by a
 *   redeemable voucher, since a voucher above usage can never be redeemed;
 * - deposit: `balance − pendingWithdrawal − unredeemed − inFlight ≥ quote` over all of the payer's
 *   channels at this node (a withdrawal already requested will leave, so it is not counted);
 * - agents: the owner's rules allow the model, and `remainingInPeriod` covers the same sum;
 * - API keys: `unsettled + inFlight + quote ≤ creditLimit`.
 */
import type { Voucher } from '@openledger/sdk';
import { isAddressEqual, type Address } from 'viem';
import type { PayerFunds } from './payer-funds.ts';
import { PaymentError, type RequiredVoucherJson, type VoucherProblem } from './payment-error.ts';

/** The voucher a channel needs next. */
export function requiredVoucher(
  cumulativeAmount: bigint,
  node: Address,
  modelId: bigint,
  deadlineAtLeast: number,
): RequiredVoucherJson {
  return {
    cumulativeAmount: cumulativeAmount.toString(),
    node,
    modelId: modelId.toString(),
    deadlineAtLeast,
  };
}

/** A 402 asking for a (better) voucher. */
export function paymentRequired(
  problem: VoucherProblem,
  message: string,
  required: RequiredVoucherJson,
  owed?: bigint,
): PaymentError {
  return new PaymentError(402, 'payment_required', message, {
    param: problem === 'no_voucher' ? undefined : 'OpenLedger-Voucher',
    problem,
    required,
    headers: owed === undefined ? {} : { 'OpenLedger-Owed': owed.toString() },
  });
}

/** Why a correctly signed voucher is not for this request's channel, if it is not. */
export function voucherTermsProblem(
  v: Voucher,
  node: Address,
  modelId: bigint,
  minDeadline: number,
): { problem: VoucherProblem; message: string } | undefined {
  if (!isAddressEqual(v.node, node)) {
    return { problem: 'wrong_node', message: `the voucher is for node ${v.node}; this node is ${node}` };
  }
  if (v.modelId !== modelId) {
    return {
      problem: 'wrong_model',
      message: `the voucher is for model ${v.modelId}; this request is for model ${modelId}`,
    };
  }
  if (v.deadline < BigInt(minDeadline)) {
    return {
      problem: 'deadline_too_soon',
      message: `the voucher's deadline ${v.deadline} is too soon: the node needs time to redeem it, so sign one with a deadline of at least ${minDeadline}`,
    };
  }
  return undefined;
}

/** What the deposit rule weighs. */
export interface DepositTerms {
  payer: Address;
  funds: PayerFunds;
  /** Owed on the payer's channels at this node and not yet redeemed. */
  unredeemed: bigint;
  /** Quotes of the payer's requests being served now. */
  inFlight: bigint;
  quote: bigint;
}

/** Wei of the deposit this node may still count on (negative when over-committed). */
export function availableDeposit(t: DepositTerms): bigint {
  const leaving = t.funds.pendingWithdrawal < t.funds.balance ? t.funds.pendingWithdrawal : t.funds.balance;
  return t.funds.balance - leaving - t.unredeemed - t.inFlight;
}

/** The deposit rule. */
export function checkDeposit(t: DepositTerms): PaymentError | undefined {
  const available = availableDeposit(t);
  if (available >= t.quote) return undefined;
  const shortfall = t.quote - available;
  const withdrawing = t.funds.pendingWithdrawal > 0n;
  return new PaymentError(
    402,
    'insufficient_deposit',
    `${t.payer}'s deposit cannot cover this request: it may cost up to ${t.quote} wei, and after ` +
      `${t.unredeemed} wei owed here and not yet redeemed, ${t.inFlight} wei of requests in flight` +
      (withdrawing ? ` and a requested withdrawal of ${t.funds.pendingWithdrawal} wei` : '') +
      ` the deposit of ${t.funds.balance} wei leaves ${available > 0n ? available : 0n}. Deposit at least ` +
      `${shortfall} wei more to InferencePayments` +
      (withdrawing ? ', or cancel the withdrawal (requestWithdrawal(0))' : '') +
      ', or ask for fewer tokens (max_tokens, n).',
    {
      shortfall: shortfall.toString(),
      quote: t.quote.toString(),
      deposit: {
        balance: t.funds.balance.toString(),
        pendingWithdrawal: t.funds.pendingWithdrawal.toString(),
        unredeemed: t.unredeemed.toString(),
        inFlight: t.inFlight.toString(),
        available: (available > 0n ? available : 0n).toString(),
      },
    },
  );
}

/** The agent rule (nothing for a payer that is not an agent). */
export function checkAgent(t: DepositTerms, modelId: bigint): PaymentError | undefined {
  const agent = t.funds.agent;
  if (!agent) return undefined;
  if (!agent.modelAllowed) {
    return new PaymentError(
      403,
      'model_not_allowed',
      `${t.payer} is an agent whose owner does not allow it to pay for model ${modelId} ` +
        `(AgentRegistry): its owner can add the model with updateAgent`,
      { param: 'model' },
    );
  }
  const left = agent.remainingInPeriod - t.unredeemed - t.inFlight;
  if (left >= t.quote) return undefined;
  return new PaymentError(
    402,
    'agent_limit_exceeded',
    `${t.payer} is an agent with ${agent.remainingInPeriod} wei left to spend in its current period, and ` +
      `${t.unredeemed + t.inFlight} wei of it is already owed here or in flight; this request may cost ` +
      `${t.quote} wei. Wait for the next period, ask for fewer tokens, or have its owner raise the limit.`,
    {
      quote: t.quote.toString(),
      remainingInPeriod: agent.remainingInPeriod.toString(),
      shortfall: (t.quote - left).toString(),
    },
  );
}

/** What the API-key credit rule weighs. */
export interface CreditTerms {
  creditLimit: bigint;
  /** Owed on the payer's channels and not covered by a redeemable voucher. */
  unsettled: bigint;
  inFlight: bigint;
  quote: bigint;
  /** The vouchers that would settle the payer's channels: one per channel with something unsettled. */
  settle: RequiredVoucherJson[];
}

/** The credit rule. */
export function checkCredit(t: CreditTerms): PaymentError | undefined {
  if (t.unsettled + t.inFlight + t.quote <= t.creditLimit) return undefined;
  return new PaymentError(
    402,
    'credit_limit_reached',
    `this API key's credit of ${t.creditLimit} wei is used up: ${t.unsettled} wei served is not yet ` +
      `covered by vouchers, ${t.inFlight} wei is in flight, and this request may cost ${t.quote} wei. ` +
      `Settle by posting vouchers for exactly what each channel owes (POST /v1/payments/vouchers; the ` +
      `amounts are under "settle" and in GET /v1/payments/channels), or ask for fewer tokens.`,
    {
      creditLimit: t.creditLimit.toString(),
      unsettled: t.unsettled.toString(),
      inFlight: t.inFlight.toString(),
      quote: t.quote.toString(),
      settle: t.settle,
    },
  );
}
