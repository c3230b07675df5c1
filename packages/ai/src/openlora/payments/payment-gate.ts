/**
 * The paid-query gate of an OpenLoRA node: before a request for an on-chain model is served it
 * decides whether the request is paid for (a voucher in the `OpenLedger-Voucher` header, or an API
 * key bound to a deposit in `Authorization: Bearer`), and after it records the exact charge. The
 * rules are in payment-rules.ts and docs/openlora.md ("Paying for queries").
 *
 * Every decision reads the payer's deposit fresh from the chain, then checks and reserves in one
 * synchronous step against the ledger, so concurrent requests never both spend the same wei.
 */
import { voucherDigest, type Connection } from '@openledger/sdk';
import { getAddress, hashMessage, isAddressEqual, type Address, type Hex } from 'viem';
import {
  apiKeyGrantMessage,
  apiKeyHash,
  apiKeyRevocationMessage,
  isApiKeyFormat,
  type ApiKeyGrant,
  type SignedApiKeyGrant,
  type SignedApiKeyRevocation,
} from './api-key.ts';
import { AuthorizedRequest } from './authorized-request.ts';
import { ChannelLedger, type Reservation } from './channel-ledger.ts';
import { readPayerFunds } from './payer-funds.ts';
import { isPayerSignature } from './payer-signature.ts';
import { PaymentError, type RequiredVoucherJson } from './payment-error.ts';
import {
  checkAgent,
  checkCredit,
  checkDeposit,
  paymentRequired,
  requiredVoucher,
  voucherTermsProblem,
  type DepositTerms,
} from './payment-rules.ts';
import { PaymentStore, type ApiKeyRecord } from './payment-store.ts';
import { PriceBook, type ModelTerms } from './price-book.ts';
import { chargeFor, checkTokenCount, maxTokensOf } from './pricing.ts';
import { bearerOf, headerOf } from './request-headers.ts';
import type { ChannelView, Completion, PaidRequest, RequestHeaders, SignedVoucher } from './types.ts';
import { VOUCHER_HEADER, decodeVoucherHeader, voucherFromJson } from './voucher-header.ts';

/** Optional header naming the payer of a request without a voucher, so that its 402 says the exact amount. */
export const PAYER_HEADER = 'OpenLedger-Payer';
/** Response header with the channel's new `owed`. */
export const OWED_HEADER = 'OpenLedger-Owed';
/** Response header with the request's charge. */
export const CHARGE_HEADER = 'OpenLedger-Charge';

export interface PaymentGateOptions {
  /** Reads the chain (a wallet is not needed here; the Redeemer sends transactions). */
  connection: Connection;
  /** This node's address: vouchers name it and its fee share is credited to it (default: the connection's account). */
  node?: Address;
  /** LevelDB folder of the payment state. */
  dataDir: string;
  /** Serve requests without a model id (unregistered base models) without payment (default false). */
  allowUnpaidBase?: boolean;
  /** A voucher must stay redeemable at least this long, in seconds (default 600). */
  deadlineMarginSeconds?: number;
  /** How long model prices are cached, in ms (default 5,000). */
  priceTtlMs?: number;
  /** Poll interval of the PriceChanged/ModelRetired watch, in ms (default 1,000; 0: no watch). */
  priceWatchIntervalMs?: number;
  /** Longest API key lifetime accepted, in seconds (default 90 days). */
  maxApiKeyLifetimeSeconds?: number;
  /** Unix seconds now (default: the wall clock); tests move it. */
  now?: () => number;
}

/** What `createApiKey` and `apiKeys` report about a key (never the key). */
export interface ApiKeyInfo {
  keyHash: Hex;
  payer: Address;
  creditLimit: bigint;
  /** Empty: any model. */
  models: readonly bigint[];
  expiresAt: bigint;
  revoked: boolean;
}

/** A voucher as `settle` takes it: a header value, a signed voucher, or its JSON (`{voucher, signature}`). */
export type VoucherInput = string | SignedVoucher | { voucher: unknown; signature: unknown };

/** What became of one voucher posted to `settle`. */
export type SettleOutcome =
  { accepted: true; voucher: SignedVoucher; channel: ChannelView } | { accepted: false; error: PaymentError };

export class PaymentGate {
  readonly node: Address;
  readonly chainId: number;
  /** The InferencePayments address vouchers are signed for. */
  readonly payments: Address;
  readonly allowUnpaidBase: boolean;
  readonly deadlineMarginSeconds: number;
  readonly maxApiKeyLifetimeSeconds: number;
  readonly now: () => number;
  private readonly keys = new Map<string, ApiKeyRecord>();

  private constructor(
    readonly connection: Connection,
    readonly ledger: ChannelLedger,
    readonly prices: PriceBook,
    options: PaymentGateOptions,
    node: Address,
  ) {
    this.node = node;
    this.chainId = connection.chainId;
    this.payments = connection.contracts.payments.address;
    this.allowUnpaidBase = options.allowUnpaidBase ?? false;
    this.deadlineMarginSeconds = options.deadlineMarginSeconds ?? 600;
    this.maxApiKeyLifetimeSeconds = options.maxApiKeyLifetimeSeconds ?? 90 * 86_400;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Opens the gate's state in `dataDir` (created if new) and starts watching model prices. */
  static async open(options: PaymentGateOptions): Promise<PaymentGate> {
    const conn = options.connection;
    const node = options.node ?? conn.walletClient?.account.address;
    if (!node) {
      throw new Error(
        'PaymentGate needs the node address: pass `node`, or a connection with the node account',
      );
    }
    const identity = {
      chainId: conn.chainId,
      node: getAddress(node),
      payments: conn.contracts.payments.address,
    };
    const store = await PaymentStore.open(options.dataDir, identity);
    const ledger = await ChannelLedger.open(store, identity.node);
    const prices = new PriceBook(conn, {
      ttlMs: options.priceTtlMs,
      watchIntervalMs: options.priceWatchIntervalMs,
    });
    return new PaymentGate(conn, ledger, prices, options, identity.node);
  }

  /** Stops the price watch and closes the store once its writes are done (requests in flight are not charged after). */
  async close(): Promise<void> {
    this.prices.stop();
    await this.ledger.store.close();
  }

  // ---------------------------------------------------------------- requests

  /**
   * Decides whether a request may be served. An AuthorizedRequest (`ok: true`) must end with
   * `complete` or `abort`; a PaymentError (`ok: false`) is the response to send. Throws only when the
   * chain or the disk cannot be reached (answer 503) or the token counts are not counts (a bug).
   */
  async authorize(req: PaidRequest): Promise<AuthorizedRequest | PaymentError> {
    const n = req.n ?? 1;
    checkTokenCount('promptTokens', req.promptTokens);
    checkTokenCount('maxTokens', req.maxTokens, 1);
    checkTokenCount('n', n, 1);
    if (req.modelId === undefined) {
      if (this.allowUnpaidBase) return this.free();
      return new PaymentError(
        404,
        'model_not_found',
        'this node serves registered models only: name one by its on-chain name (its operator has not enabled unpaid base models)',
        { param: 'model' },
      );
    }
    const modelId = req.modelId;
    const terms = await this.prices.terms(modelId);
    const refused = modelRefusal(terms);
    if (refused) return refused;
    const quote = chargeFor(terms.pricePer1kTokens, maxTokensOf(req.promptTokens, req.maxTokens, n));

    const voucher = headerOf(req.headers, VOUCHER_HEADER);
    if (voucher !== undefined) return this.authorizeVoucher(voucher, terms, quote);
    const bearer = bearerOf(req.headers);
    if (bearer !== undefined) return this.authorizeApiKey(bearer, terms, quote);

    const payer = headerOf(req.headers, PAYER_HEADER);
    const owed =
      payer && /^0x[0-9a-fA-F]{40}$/.test(payer) ? this.requiredAmount(payer as Address, modelId) : 0n;
    return paymentRequired(
      'no_voucher',
      `model ${modelId} is paid per query (${terms.pricePer1kTokens} wei per 1,000 tokens; this request may ` +
        `cost up to ${quote} wei). Send "${VOUCHER_HEADER}: <base64url(voucher JSON)>.<signature>" with a ` +
        `voucher for at least what your channel owes (${owed} wei${payer ? '' : ` for a new channel; send ${PAYER_HEADER} to learn yours`}), ` +
        `or "Authorization: Bearer <API key>" with a key bound to your deposit.`,
      this.required(owed, modelId),
    );
  }

  private async authorizeVoucher(
    value: string,
    terms: ModelTerms,
    quote: bigint,
  ): Promise<AuthorizedRequest | PaymentError> {
    const { modelId } = terms;
    const decoded = decodeVoucherHeader(value);
    if ('error' in decoded) {
      return paymentRequired(
        'malformed_voucher',
        `the ${VOUCHER_HEADER} header is malformed: ${decoded.error}`,
        this.required(0n, modelId),
      );
    }
    const { voucher: v } = decoded;
    const need = this.requiredAmount(v.payer, modelId);
    const owedNow = this.ledger.find(v.payer, modelId)?.owed ?? 0n;
    const problem = voucherTermsProblem(v, this.node, modelId, this.minDeadline());
    if (problem) {
      return paymentRequired(problem.problem, problem.message, this.required(need, modelId), owedNow);
    }
    if (!(await this.isValidVoucher(decoded))) {
      return paymentRequired(
        'bad_signature',
        `the voucher's signature is not ${v.payer}'s: sign the EIP-712 Voucher for InferencePayments ` +
          `${this.payments} on chain ${this.chainId} with the payer's key (or its ERC-1271 wallet)`,
        this.required(need, modelId),
        owedNow,
      );
    }

    // Taken before the chain is read: a redemption landing meanwhile then makes the check stricter, never looser.
    const redeemedBefore = this.ledger.redeemedSnapshot(v.payer);
    const funds = await readPayerFunds(this.connection, v.payer, modelId);

    // From here to the reservation nothing awaits: the checks and the reservation see the same books.
    const existing = this.ledger.find(v.payer, modelId);
    const owed = existing?.owed ?? 0n;
    const required = owed + this.ledger.inFlightOf(v.payer, modelId);
    let refusal: PaymentError | undefined;
    if (v.cumulativeAmount < required) {
      refusal = paymentRequired(
        'below_owed',
        `the voucher is for ${v.cumulativeAmount} wei, but channel ${v.payer} → model ${modelId} owes ${owed} wei` +
          (required > owed ? ` plus ${required - owed} wei of requests still in flight` : '') +
          `: sign a voucher for ${required} wei (the owed amount the last response reported in ${OWED_HEADER})`,
        this.required(required, modelId),
        owed,
      );
    } else if (v.cumulativeAmount > owed && existing && this.ledger.coveredOf(existing, this.now()) < owed) {
      refusal = paymentRequired(
        'unsettled_before_prepayment',
        `the voucher prepays (${v.cumulativeAmount} wei for ${owed} wei owed), but the ${owed} wei already ` +
          `served is not covered by a voucher for exactly what was served: sign one for exactly ${owed} wei ` +
          `(a voucher above usage can never be redeemed)`,
        this.required(owed, modelId),
        owed,
      );
    }
    refusal ??= this.checkFunds(v.payer, modelId, funds, redeemedBefore, quote);
    // A valid voucher pays for past usage even when this request is refused, so it is kept; one for a
    // channel that owes nothing is not, or anyone could fill the disk with signatures of fresh keys.
    if (refusal && owed === 0n) return refusal;
    const channel = existing ?? this.ledger.channel(v.payer, modelId);
    const changed = this.ledger.offer(channel, decoded);
    const reservation = refusal ? undefined : this.ledger.reserve(v.payer, modelId, quote);
    if (changed) {
      try {
        await this.ledger.persist(channel);
      } catch (error) {
        if (reservation) this.ledger.release(reservation);
        throw error;
      }
    }
    if (refusal) return refusal;
    return this.authorized('voucher', reservation!, terms);
  }

  private async authorizeApiKey(
    apiKey: string,
    terms: ModelTerms,
    quote: bigint,
  ): Promise<AuthorizedRequest | PaymentError> {
    const { modelId } = terms;
    const key = await this.activeKey(apiKey);
    if (key instanceof PaymentError) return key;
    const { grant } = key;
    if (grant.models.length > 0 && !grant.models.includes(modelId)) {
      return new PaymentError(
        403,
        'model_not_allowed',
        `this API key may pay for models ${grant.models.join(', ')} only, not model ${modelId}: ` +
          `use a key granted for it, or a voucher`,
        { param: 'model' },
      );
    }
    const payer = grant.payer;
    const redeemedBefore = this.ledger.redeemedSnapshot(payer);
    const funds = await readPayerFunds(this.connection, payer, modelId);

    // No await from here to the reservation (see authorizeVoucher).
    const now = this.now();
    const settle: RequiredVoucherJson[] = this.ledger
      .channelsOf(payer)
      .filter((c) => c.owed > this.ledger.coveredOf(c, now))
      .map((c) => requiredVoucher(c.owed, this.node, c.modelId, this.minDeadline()));
    const refusal =
      checkCredit({
        creditLimit: grant.creditLimit,
        unsettled: this.ledger.unsettledOf(payer, now),
        inFlight: this.ledger.inFlightOf(payer),
        quote,
        settle,
      }) ?? this.checkFunds(payer, modelId, funds, redeemedBefore, quote);
    if (refusal) return refusal;
    return this.authorized('api-key', this.ledger.reserve(payer, modelId, quote), terms);
  }

  private checkFunds(
    payer: Address,
    modelId: bigint,
    funds: DepositTerms['funds'],
    redeemedBefore: ReadonlyMap<bigint, bigint>,
    quote: bigint,
  ): PaymentError | undefined {
    const terms: DepositTerms = {
      payer,
      funds,
      unredeemed: this.ledger.unredeemedOf(payer, redeemedBefore),
      inFlight: this.ledger.inFlightOf(payer),
      quote,
    };
    return checkAgent(terms, modelId) ?? checkDeposit(terms);
  }

  private authorized(method: 'voucher' | 'api-key', r: Reservation, terms: ModelTerms): AuthorizedRequest {
    const price = terms.pricePer1kTokens;
    return new AuthorizedRequest(method, r.payer, r.modelId, r.quote, price, async (tokens) => {
      const charged = chargeFor(price, tokens);
      // The quote is what the deposit was checked against; an engine reporting more is not billed for it.
      const charge = charged < r.quote ? charged : r.quote;
      const channel = this.ledger.charge(r, charge);
      const owed = channel.owed;
      if (charge > 0n) await this.ledger.persist(channel);
      return this.completion(r.payer, r.modelId, charge, owed);
    });
  }

  private free(): AuthorizedRequest {
    const completion: Completion = {
      charge: 0n,
      owed: 0n,
      payer: undefined,
      modelId: undefined,
      headers: {},
      receipt: undefined,
    };
    return new AuthorizedRequest('free', undefined, undefined, 0n, 0n, () => Promise.resolve(completion));
  }

  private completion(payer: Address, modelId: bigint, charge: bigint, owed: bigint): Completion {
    return {
      charge,
      owed,
      payer,
      modelId,
      headers: { [OWED_HEADER]: owed.toString(), [CHARGE_HEADER]: charge.toString() },
      receipt: {
        payer,
        node: this.node,
        modelId: modelId.toString(),
        charge: charge.toString(),
        owed: owed.toString(),
      },
    };
  }

  // ---------------------------------------------------------------- settlement and channels

  /**
   * Takes vouchers posted to settle channels (`POST /v1/payments/vouchers`): each valid one (this
   * node, a registered model, retired or not, a deadline at least the margin ahead, the payer's
   * signature) is kept if it beats the channel's; one for exactly `owed` settles the channel.
   */
  async settle(vouchers: readonly VoucherInput[]): Promise<SettleOutcome[]> {
    const out: SettleOutcome[] = [];
    for (const input of vouchers) out.push(await this.settleOne(input));
    return out;
  }

  private async settleOne(input: VoucherInput): Promise<SettleOutcome> {
    const signed = signedVoucherOf(input);
    if ('error' in signed) {
      return {
        accepted: false,
        error: new PaymentError(400, 'invalid_request', `not a voucher: ${signed.error}`),
      };
    }
    const v = signed.voucher;
    const terms = await this.prices.terms(v.modelId);
    if (!terms.exists) {
      return {
        accepted: false,
        error: new PaymentError(
          404,
          'model_not_found',
          `model ${v.modelId} is not registered on chain ${this.chainId}`,
        ),
      };
    }
    const problem = voucherTermsProblem(v, this.node, v.modelId, this.minDeadline());
    if (problem) {
      const owed = this.ledger.find(v.payer, v.modelId)?.owed ?? 0n;
      return {
        accepted: false,
        error: paymentRequired(problem.problem, problem.message, this.required(owed, v.modelId), owed),
      };
    }
    if (!(await this.isValidVoucher(signed))) {
      return {
        accepted: false,
        error: new PaymentError(401, 'invalid_signature', `the voucher's signature is not ${v.payer}'s`),
      };
    }
    const channel = this.ledger.find(v.payer, v.modelId);
    if (!channel || channel.owed === 0n) {
      return {
        accepted: false,
        error: new PaymentError(
          400,
          'invalid_request',
          `channel ${v.payer} → model ${v.modelId} owes nothing at this node: there is nothing to settle`,
        ),
      };
    }
    if (this.ledger.offer(channel, signed)) await this.ledger.persist(channel);
    return { accepted: true, voucher: signed, channel: this.ledger.view(channel, this.now()) };
  }

  /** The channels of a payer at this node: by address, or by the API key in `headers`. */
  async channels(
    query: { payer: Address } | { headers: RequestHeaders },
  ): Promise<ChannelView[] | PaymentError> {
    let payer: Address;
    if ('payer' in query) {
      payer = query.payer;
    } else {
      const bearer = bearerOf(query.headers);
      if (bearer === undefined) {
        return new PaymentError(
          401,
          'invalid_api_key',
          'send "Authorization: Bearer <API key>" or ask by payer address',
        );
      }
      const key = await this.knownKey(bearer);
      if (key instanceof PaymentError) return key;
      payer = key.grant.payer;
    }
    const now = this.now();
    return this.ledger
      .channelsOf(payer)
      .sort((a, b) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0))
      .map((c) => this.ledger.view(c, now));
  }

  // ---------------------------------------------------------------- API keys

  /** Registers a payer-signed API key grant for this node. */
  async createApiKey(signed: SignedApiKeyGrant): Promise<ApiKeyInfo | PaymentError> {
    const { grant, signature } = signed;
    const now = this.now();
    const invalid = (message: string, param: string) =>
      new PaymentError(400, 'invalid_request', message, { param });
    if (!isAddressEqual(grant.node, this.node))
      return invalid(`the key is granted for node ${grant.node}; this node is ${this.node}`, 'node');
    if (grant.chainId !== this.chainId)
      return invalid(
        `the key is granted on chain ${grant.chainId}; this node is on chain ${this.chainId}`,
        'chainId',
      );
    if (!/^0x[0-9a-f]{64}$/i.test(grant.keyHash)) return invalid('keyHash is not a 32-byte hash', 'keyHash');
    if (grant.creditLimit < 0n) return invalid('creditLimit must not be negative', 'creditLimit');
    if (grant.expiresAt <= BigInt(now)) return invalid(`the key expired at ${grant.expiresAt}`, 'expiresAt');
    if (grant.expiresAt > BigInt(now + this.maxApiKeyLifetimeSeconds)) {
      return invalid(
        `the key must expire within ${this.maxApiKeyLifetimeSeconds} s (by ${now + this.maxApiKeyLifetimeSeconds})`,
        'expiresAt',
      );
    }
    for (const modelId of grant.models) {
      if (!(await this.prices.terms(modelId)).exists)
        return invalid(`model ${modelId} is not registered`, 'models');
    }
    const hash = hashMessage(apiKeyGrantMessage(grant));
    if (!(await isPayerSignature(this.connection.publicClient, grant.payer, hash, signature))) {
      return new PaymentError(
        401,
        'invalid_signature',
        `the grant is not signed by ${grant.payer}: personal_sign the text of apiKeyGrantMessage(grant)`,
      );
    }
    // A key is bound to a deposit; without one it could never be served, only stored.
    if ((await this.connection.contracts.payments.read.balanceOf([grant.payer])) === 0n) {
      return new PaymentError(
        402,
        'insufficient_deposit',
        `${grant.payer} has no deposit in InferencePayments ${this.payments}: deposit first, then create the key`,
      );
    }
    const keyHash = grant.keyHash.toLowerCase() as Hex;
    if (this.keys.has(keyHash) || (await this.ledger.store.apiKey(keyHash))) {
      return new PaymentError(
        409,
        'api_key_exists',
        `a key with hash ${keyHash} is already granted: generate a new key`,
      );
    }
    const record: ApiKeyRecord = {
      grant: {
        ...grant,
        payer: getAddress(grant.payer),
        node: this.node,
        keyHash,
        models: [...grant.models],
      },
      signature,
      createdAt: now,
      revokedAt: undefined,
    };
    await this.ledger.store.putApiKey(record);
    this.keys.set(keyHash, record);
    return infoOf(record);
  }

  /** Revokes a key by its payer's signed revocation; revoking twice is not an error. */
  async revokeApiKey(signed: SignedApiKeyRevocation): Promise<ApiKeyInfo | PaymentError> {
    const { revocation: r, signature } = signed;
    if (!isAddressEqual(r.node, this.node) || r.chainId !== this.chainId) {
      return new PaymentError(
        400,
        'invalid_request',
        `the revocation is for node ${r.node} on chain ${r.chainId}; this node is ${this.node} on chain ${this.chainId}`,
      );
    }
    const keyHash = r.keyHash.toLowerCase() as Hex;
    const record = this.keys.get(keyHash) ?? (await this.ledger.store.apiKey(keyHash));
    if (!record)
      return new PaymentError(404, 'api_key_not_found', `no key with hash ${keyHash} is granted here`);
    if (!isAddressEqual(record.grant.payer, r.payer)) {
      return new PaymentError(
        403,
        'api_key_not_owned',
        `the key was granted by ${record.grant.payer}, not ${r.payer}: only its payer can revoke it`,
      );
    }
    const hash = hashMessage(apiKeyRevocationMessage(r));
    if (!(await isPayerSignature(this.connection.publicClient, r.payer, hash, signature))) {
      return new PaymentError(401, 'invalid_signature', `the revocation is not signed by ${r.payer}`);
    }
    if (record.revokedAt === undefined) {
      record.revokedAt = this.now();
      await this.ledger.store.putApiKey(record);
    }
    this.keys.set(keyHash, record);
    return infoOf(record);
  }

  /** The keys a payer granted here (revoked and expired ones too). */
  async apiKeys(payer: Address): Promise<ApiKeyInfo[]> {
    return (await this.ledger.store.apiKeysOf(payer)).map(infoOf);
  }

  // ---------------------------------------------------------------- internals

  /** The key's record if it is granted, not revoked and not expired; else the 401 to answer. */
  private async activeKey(apiKey: string): Promise<ApiKeyRecord | PaymentError> {
    const record = await this.knownKey(apiKey);
    if (record instanceof PaymentError) return record;
    if (record.revokedAt !== undefined) {
      return new PaymentError(
        401,
        'api_key_revoked',
        `this API key was revoked by its payer at ${record.revokedAt}: use another key or a voucher`,
      );
    }
    if (record.grant.expiresAt <= BigInt(this.now())) {
      return new PaymentError(
        401,
        'api_key_expired',
        `this API key expired at ${record.grant.expiresAt}: have its payer grant a new one`,
      );
    }
    return record;
  }

  private async knownKey(apiKey: string): Promise<ApiKeyRecord | PaymentError> {
    const unknown = new PaymentError(
      401,
      'invalid_api_key',
      'this API key is not granted on this node: its payer creates keys with a signed grant (POST /v1/payments/keys), or pay with a voucher',
    );
    if (!isApiKeyFormat(apiKey)) return unknown;
    const keyHash = apiKeyHash(apiKey);
    let record = this.keys.get(keyHash);
    if (!record) {
      record = await this.ledger.store.apiKey(keyHash);
      if (record) this.keys.set(keyHash, record);
    }
    return record ?? unknown;
  }

  private async isValidVoucher(s: SignedVoucher): Promise<boolean> {
    const digest = voucherDigest(s.voucher, this.chainId, this.payments);
    return isPayerSignature(this.connection.publicClient, s.voucher.payer, digest, s.signature);
  }

  /** What a payer's next voucher on a channel must be for: its owed plus the quotes in flight on it. */
  private requiredAmount(payer: Address, modelId: bigint): bigint {
    const owed = this.ledger.find(payer, modelId)?.owed ?? 0n;
    return owed + this.ledger.inFlightOf(payer, modelId);
  }

  private minDeadline(): number {
    return this.now() + this.deadlineMarginSeconds;
  }

  private required(cumulativeAmount: bigint, modelId: bigint): RequiredVoucherJson {
    return requiredVoucher(cumulativeAmount, this.node, modelId, this.minDeadline());
  }
}

function modelRefusal(terms: ModelTerms): PaymentError | undefined {
  if (!terms.exists) {
    return new PaymentError(
      404,
      'model_not_found',
      `model ${terms.modelId} is not registered on this chain`,
      {
        param: 'model',
      },
    );
  }
  if (!terms.active) {
    return new PaymentError(
      404,
      'model_retired',
      `model ${terms.modelId} was retired by its owner and is no longer served; vouchers for earlier queries stay redeemable`,
      { param: 'model' },
    );
  }
  return undefined;
}

function signedVoucherOf(input: VoucherInput): SignedVoucher | { error: string } {
  if (typeof input === 'string') return decodeVoucherHeader(input);
  const voucher = voucherFromJson(input.voucher);
  if ('error' in voucher) return voucher;
  const signature = input.signature;
  if (typeof signature !== 'string' || !/^0x([0-9a-fA-F]{2})+$/.test(signature)) {
    return { error: 'signature is not 0x-prefixed hex bytes' };
  }
  return { voucher, signature: signature as Hex };
}

function infoOf(record: ApiKeyRecord): ApiKeyInfo {
  const g: ApiKeyGrant = record.grant;
  return {
    keyHash: g.keyHash,
    payer: g.payer,
    creditLimit: g.creditLimit,
    models: g.models,
    expiresAt: g.expiresAt,
    revoked: record.revokedAt !== undefined,
  };
}
