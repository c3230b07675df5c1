/**
 * The client side of paid queries: remembers the `owed` each response reported per model and signs
 * the next voucher for exactly that (plus an optional prepayment), grants and revokes API keys, and
 * signs the vouchers that settle what a key ran up. Used by the tests and the CLI.
 */
import { signVoucher, signerOf, type Connection, type Voucher } from '@openledger/sdk';
import { getAddress, type Address, type Hex } from 'viem';
import {
  generateApiKey,
  signApiKeyGrant,
  signApiKeyRevocation,
  type SignedApiKeyGrant,
  type SignedApiKeyRevocation,
} from './api-key.ts';
import type { PaymentErrorBody } from './payment-error.ts';
import { headerOf } from './request-headers.ts';
import type { RequestHeaders, SignedVoucher } from './types.ts';
import { VOUCHER_HEADER, encodeVoucherHeader } from './voucher-header.ts';

export interface PayingClientOptions {
  /** Signs as the payer (or as the signer its ERC-1271 wallet accepts, with `payer` set). */
  connection: Connection;
  /** The node the vouchers are for. */
  node: Address;
  /** A contract-wallet payer; default: the connection's account. */
  payer?: Address;
  /** Voucher lifetime, in seconds (default 3,600; the node wants at least its margin, 600 by default). */
  deadlineSeconds?: number;
  /** Unix seconds now (default: the wall clock). */
  now?: () => number;
}

export class PayingClient {
  readonly payer: Address;
  readonly node: Address;
  private readonly owed = new Map<bigint, bigint>();
  private readonly deadlineSeconds: number;
  private readonly now: () => number;

  constructor(private readonly options: PayingClientOptions) {
    const { address } = signerOf(options.connection);
    this.payer = getAddress(options.payer ?? address);
    this.node = getAddress(options.node);
    this.deadlineSeconds = options.deadlineSeconds ?? 3_600;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** What the node last said this payer's channel for `modelId` owes (0 before any response). */
  owedOf(modelId: bigint): bigint {
    return this.owed.get(modelId) ?? 0n;
  }

  /** Signs the next voucher: for exactly what is owed, plus `prepay` wei (default 0). */
  async voucherFor(
    modelId: bigint,
    o: { prepay?: bigint; cumulativeAmount?: bigint } = {},
  ): Promise<SignedVoucher> {
    const voucher: Voucher = {
      payer: this.payer,
      node: this.node,
      modelId,
      cumulativeAmount: o.cumulativeAmount ?? this.owedOf(modelId) + (o.prepay ?? 0n),
      deadline: BigInt(this.now() + this.deadlineSeconds),
    };
    return { voucher, signature: await this.sign(voucher) };
  }

  /** The request headers that pay for the next request to `modelId`. */
  async headers(modelId: bigint, o: { prepay?: bigint } = {}): Promise<Record<string, string>> {
    const { voucher, signature } = await this.voucherFor(modelId, o);
    return { [VOUCHER_HEADER]: encodeVoucherHeader(voucher, signature) };
  }

  /** Records the `owed` a response reported (its `OpenLedger-Owed` header, or the amount itself). */
  learn(modelId: bigint, reported: RequestHeaders | bigint | string): void {
    const value =
      typeof reported === 'bigint' || typeof reported === 'string'
        ? reported
        : headerOf(reported, 'OpenLedger-Owed');
    if (value === undefined) return;
    this.owed.set(modelId, BigInt(value));
  }

  /** Records what a 402 says the next voucher must be for. */
  learnFromRefusal(body: PaymentErrorBody): void {
    const required = body.error.required as { cumulativeAmount?: string; modelId?: string } | undefined;
    if (required?.cumulativeAmount !== undefined && required.modelId !== undefined) {
      this.owed.set(BigInt(required.modelId), BigInt(required.cumulativeAmount));
    }
  }

  /** Vouchers for exactly what each channel owes (channels owing nothing need none): what settles an API key's credit. */
  async settlementFor(channels: readonly { modelId: bigint; owed: bigint }[]): Promise<SignedVoucher[]> {
    const out: SignedVoucher[] = [];
    for (const c of channels) {
      if (c.owed === 0n) continue;
      this.owed.set(c.modelId, c.owed);
      out.push(await this.voucherFor(c.modelId, { cumulativeAmount: c.owed }));
    }
    return out;
  }

  /** A new API key for this node and its signed grant (post the grant; keep the key, it is shown once). */
  async grantApiKey(o: {
    creditLimit: bigint;
    models?: readonly bigint[];
    ttlSeconds?: number;
  }): Promise<{ apiKey: string; keyHash: Hex; signed: SignedApiKeyGrant }> {
    const { apiKey, keyHash } = generateApiKey();
    const signed = await signApiKeyGrant(this.messageSigner(), {
      payer: this.payer,
      node: this.node,
      chainId: this.options.connection.chainId,
      keyHash,
      creditLimit: o.creditLimit,
      models: o.models ?? [],
      expiresAt: BigInt(this.now() + (o.ttlSeconds ?? 30 * 86_400)),
    });
    return { apiKey, keyHash, signed };
  }

  /** The signed revocation of one of this payer's keys. */
  revokeApiKey(keyHash: Hex): Promise<SignedApiKeyRevocation> {
    return signApiKeyRevocation(this.messageSigner(), {
      payer: this.payer,
      node: this.node,
      chainId: this.options.connection.chainId,
      keyHash,
    });
  }

  private sign(voucher: Voucher): Promise<Hex> {
    const conn = this.options.connection;
    const { wallet, account } = signerOf(conn);
    return signVoucher(wallet, account, voucher, conn.chainId, conn.contracts.payments.address);
  }

  private messageSigner() {
    const { wallet, account } = signerOf(this.options.connection);
    return { signMessage: ({ message }: { message: string }) => wallet.signMessage({ account, message }) };
  }
}
