/**
 * Refusals of the payment layer, shaped as OpenAI errors so that unchanged OpenAI clients show them:
 * the HTTP layer answers `status` with `body` (and `headers`) as they are.
 */

/** Why a request (or a key or voucher operation) was refused; stable, for clients and tests. */
export type PaymentErrorCode =
  // 401: the API key does not authenticate anyone (any more).
  | 'invalid_api_key'
  | 'api_key_revoked'
  | 'api_key_expired'
  | 'invalid_signature'
  // 402: pay (sign a voucher, deposit, settle) and retry.
  | 'payment_required'
  | 'insufficient_deposit'
  | 'credit_limit_reached'
  | 'agent_limit_exceeded'
  // 403: this payer may not use this model this way, or this key is someone else's.
  | 'model_not_allowed'
  | 'api_key_not_owned'
  // 404: nothing to pay for.
  | 'model_not_found'
  | 'model_retired'
  | 'api_key_not_found'
  // 400 and 409: a malformed or conflicting key or voucher operation.
  | 'invalid_request'
  | 'api_key_exists';

/** The detail of a `payment_required` refusal: what was wrong with the voucher (or that there was none). */
export type VoucherProblem =
  | 'no_voucher'
  | 'malformed_voucher'
  | 'wrong_node'
  | 'wrong_model'
  | 'deadline_too_soon'
  | 'bad_signature'
  | 'below_owed'
  | 'unsettled_before_prepayment';

export type PaymentErrorStatus = 400 | 401 | 402 | 403 | 404 | 409;

/** What the next voucher must say: `cumulativeAmount` at least this, for this node and model, lasting this long. */
export interface RequiredVoucherJson {
  cumulativeAmount: string;
  node: string;
  modelId: string;
  /** Unix seconds: the voucher's deadline must be at least this. */
  deadlineAtLeast: number;
}

/** An OpenAI-style error body, plus payment details under `error`. */
export interface PaymentErrorBody {
  error: {
    message: string;
    type: 'payment_error' | 'authentication_error' | 'permission_error' | 'invalid_request_error';
    code: PaymentErrorCode;
    param: string | null;
    [detail: string]: unknown;
  };
}

const TYPE_OF_STATUS = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'payment_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
} as const;

export class PaymentError extends Error {
  override name = 'PaymentError';
  /** Discriminates `PaymentGate.authorize`'s result from an authorized request. */
  readonly ok = false;
  readonly body: PaymentErrorBody;
  /** Headers to send with the refusal (`OpenLedger-Owed` when the channel is known). */
  readonly headers: Record<string, string>;

  constructor(
    readonly status: PaymentErrorStatus,
    readonly code: PaymentErrorCode,
    message: string,
    details: { param?: string; headers?: Record<string, string>; [detail: string]: unknown } = {},
  ) {
    super(message);
    const { param, headers, ...rest } = details;
    this.headers = headers ?? {};
    this.body = {
      error: {
        message,
        type: TYPE_OF_STATUS[status],
        code,
        param: (param as string | undefined) ?? null,
        ...rest,
      },
    };
  }
}
