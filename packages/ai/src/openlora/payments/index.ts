/**
 * OpenLoRA paid queries: the gate the HTTP layer asks before and after serving a request, the
 * redeemer that charges served queries on-chain, and the client helpers that pay. The protocol is
 * in docs/openlora.md ("Paying for queries").
 */
export {
  PaymentGate,
  PAYER_HEADER,
  OWED_HEADER,
  CHARGE_HEADER,
  type ApiKeyInfo,
  type PaymentGateOptions,
  type SettleOutcome,
  type VoucherInput,
} from './payment-gate.ts';
export { AuthorizedRequest } from './authorized-request.ts';
export {
  PaymentError,
  type PaymentErrorBody,
  type PaymentErrorCode,
  type PaymentErrorStatus,
  type RequiredVoucherJson,
  type VoucherProblem,
} from './payment-error.ts';
export {
  Redeemer,
  type NotRedeemed,
  type RedeemReport,
  type Redeemed,
  type RedeemerOptions,
} from './redeemer.ts';
export { PayingClient, type PayingClientOptions } from './paying-client.ts';
export {
  VOUCHER_HEADER,
  decodeVoucherHeader,
  encodeVoucherHeader,
  voucherFromJson,
  voucherToJson,
} from './voucher-header.ts';
export {
  API_KEY_PREFIX,
  apiKeyGrantMessage,
  apiKeyHash,
  apiKeyRevocationMessage,
  generateApiKey,
  isApiKeyFormat,
  signApiKeyGrant,
  signApiKeyRevocation,
  type ApiKeyGrant,
  type ApiKeyRevocation,
  type MessageSigner,
  type SignedApiKeyGrant,
  type SignedApiKeyRevocation,
} from './api-key.ts';
export { chargeFor, maxTokensOf } from './pricing.ts';
export { ChannelLedger, type Reservation } from './channel-ledger.ts';
export { PaymentStore, type ApiKeyRecord, type ChannelRecord, type StoreIdentity } from './payment-store.ts';
export { PriceBook, type ModelTerms, type PriceBookOptions } from './price-book.ts';
export { readPayerFunds, type PayerFunds } from './payer-funds.ts';
export { isPayerSignature } from './payer-signature.ts';
export {
  channelToJson,
  type ChannelJson,
  type ChannelView,
  type Completion,
  type PaidRequest,
  type PaymentMethod,
  type PaymentReceiptJson,
  type RedeemFailure,
  type RequestHeaders,
  type SignedVoucher,
  type Usage,
} from './types.ts';
