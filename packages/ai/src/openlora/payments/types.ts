import type { Voucher } from '@openledger/sdk';
import type { Address, Hex } from 'viem';

/** A payer's voucher and its signature (65-byte ECDSA for an EOA, anything its ERC-1271 wallet accepts otherwise). */
export interface SignedVoucher {
  voucher: Voucher;
  signature: Hex;
}

/** The headers of an HTTP request: a fetch `Headers`, or Node's `IncomingHttpHeaders` (any name case). */
export type RequestHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the HTTP layer knows about a request before serving it. */
export interface PaidRequest {
  headers: RequestHeaders;
  /** The on-chain model asked for; undefined for an unregistered base model. */
  modelId: bigint | undefined;
  /** Tokens of the prompt as the model's tokenizer counts them. */
  promptTokens: number;
  /** `max_tokens` of the request (the HTTP layer fills in its default when the client gave none). */
  maxTokens: number;
  /** Choices asked for (`n`, default 1); each may generate up to `maxTokens`. */
  n?: number;
}

/** Tokens a request used: OpenAI's `usage.prompt_tokens` and `usage.completion_tokens` (all choices). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** How a request was paid for. */
export type PaymentMethod = 'voucher' | 'api-key' | 'free';

/** What a finished (or aborted) request cost and what its channel owes now. */
export interface Completion {
  /** Wei charged for this request: ceil(price × tokens / 1000), never above the quote. */
  charge: bigint;
  /** The channel's cumulative charges after it: what the client's next voucher must be for. */
  owed: bigint;
  payer: Address | undefined;
  modelId: bigint | undefined;
  /** Response headers to send (`OpenLedger-Owed`, `OpenLedger-Charge`); empty for free requests. */
  headers: Record<string, string>;
  /** The same as JSON for the response body's `openledger` field; undefined for free requests. */
  receipt: PaymentReceiptJson | undefined;
}

/** The `openledger` field of a paid response body. */
export interface PaymentReceiptJson {
  payer: Address;
  node: Address;
  modelId: string;
  /** Wei charged for this request. */
  charge: string;
  /** Everything this channel owes in total: sign the next voucher for this amount. */
  owed: string;
}

/** A channel (payer, this node, modelId) as the node sees it. */
export interface ChannelView {
  payer: Address;
  node: Address;
  modelId: bigint;
  /** Exact charges of every completed request, in total. */
  owed: bigint;
  /** What InferencePayments has charged on this channel, as last reconciled (never above the chain's). */
  redeemed: bigint;
  /** The highest valid voucher received (0 when none). */
  authorized: bigint;
  /** The highest voucher not above `owed`: what the node redeems (0 when none). */
  redeemable: bigint;
  /** `owed` not yet covered by a redeemable voucher: what the payer still has to sign. */
  unsettled: bigint;
  /** Quotes of this channel's requests being served now. */
  inFlight: bigint;
  /** The last failed redemption of this channel, kept until a later one succeeds. */
  lastRedeemFailure: RedeemFailure | undefined;
  /** The transaction that last charged this channel. */
  lastRedeemTx: Hex | undefined;
}

/** Why a channel's voucher could not be redeemed. */
export interface RedeemFailure {
  /** The contract error (`InsufficientDeposit`, `VoucherExpired`, `SpendLimitExceeded`…) or `TransactionFailed`. */
  errorName: string;
  message: string;
  /** The voucher that failed. */
  cumulativeAmount: bigint;
  /** Unix seconds. */
  at: number;
}

/** The JSON of a channel (amounts as decimal strings), for `GET /v1/payments/channels`. */
export interface ChannelJson {
  payer: Address;
  node: Address;
  modelId: string;
  owed: string;
  redeemed: string;
  authorized: string;
  redeemable: string;
  unsettled: string;
  inFlight: string;
  lastRedeemFailure?: { errorName: string; message: string; cumulativeAmount: string; at: number };
  lastRedeemTx?: Hex;
}

/** A channel as JSON. */
export function channelToJson(c: ChannelView): ChannelJson {
  return {
    payer: c.payer,
    node: c.node,
    modelId: c.modelId.toString(),
    owed: c.owed.toString(),
    redeemed: c.redeemed.toString(),
    authorized: c.authorized.toString(),
    redeemable: c.redeemable.toString(),
    unsettled: c.unsettled.toString(),
    inFlight: c.inFlight.toString(),
    ...(c.lastRedeemFailure && {
      lastRedeemFailure: {
        ...c.lastRedeemFailure,
        cumulativeAmount: c.lastRedeemFailure.cumulativeAmount.toString(),
      },
    }),
    ...(c.lastRedeemTx && { lastRedeemTx: c.lastRedeemTx }),
  };
}
