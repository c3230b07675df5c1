/**
 * The durable state of the payment layer, on LevelDB (classic-level):
 *
 *     meta                     → {version, chainId, node, payments}: which node and chain the state is for
 *     ch:<payer>:<modelId>     → a channel: owed, redeemed, its best and redeemable vouchers, last redemption
 *     key:<keyHash>            → an API key grant (the key itself is never stored)
 *
 * Addresses are lower-case in keys; amounts are decimal strings in values. Every write is synced, and
 * writes that arrive while one is in progress go together in the next synced batch (group commit),
 * so a charge is on disk when its write resolves however many requests finish at once.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { getAddress, isAddressEqual, type Address, type Hex } from 'viem';
import type { ApiKeyGrant } from './api-key.ts';
import type { RedeemFailure, SignedVoucher } from './types.ts';
import { voucherFromJson, voucherToJson } from './voucher-header.ts';

const STORE_VERSION = 1;

/** A channel's durable state. */
export interface ChannelRecord {
  payer: Address;
  modelId: bigint;
  /** Exact charges of every completed request. */
  owed: bigint;
  /** The chain's `redeemed` as last reconciled. */
  redeemed: bigint;
  /** The highest valid voucher received. */
  best: SignedVoucher | undefined;
  /** The highest valid voucher whose amount is not above `owed`: the one to redeem. */
  redeemable: SignedVoucher | undefined;
  lastRedeemFailure: RedeemFailure | undefined;
  lastRedeemTx: Hex | undefined;
}

/** A granted API key as stored. */
export interface ApiKeyRecord {
  grant: ApiKeyGrant;
  signature: Hex;
  /** Unix seconds. */
  createdAt: number;
  /** Unix seconds; set once the payer revoked it. */
  revokedAt: number | undefined;
}

/** Which node and chain a store belongs to; a store is never reused for another. */
export interface StoreIdentity {
  chainId: number;
  node: Address;
  /** The InferencePayments address vouchers are signed for. */
  payments: Address;
}

export class PaymentStore {
  private pending = new Map<string, string>();
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;

  private constructor(private readonly db: ClassicLevel<string, string>) {}

  /** Opens (or creates) the store in `dir`; refuses a store written for another node, chain or contract. */
  static async open(dir: string, identity: StoreIdentity): Promise<PaymentStore> {
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<string, string>(dir, { valueEncoding: 'utf8' });
    await db.open();
    const meta = await db.get('meta');
    if (meta === undefined) {
      await db.put(
        'meta',
        JSON.stringify({ version: STORE_VERSION, ...identity, node: getAddress(identity.node) }),
        { sync: true },
      );
    } else {
      const stored = JSON.parse(meta) as StoreIdentity & { version: number };
      const same =
        stored.chainId === identity.chainId &&
        isAddressEqual(stored.node, identity.node) &&
        isAddressEqual(stored.payments, identity.payments);
      if (!same) {
        await db.close();
        throw new Error(
          `the payment store in ${dir} belongs to node ${stored.node} on chain ${stored.chainId} ` +
            `(InferencePayments ${stored.payments}), not node ${identity.node} on chain ${identity.chainId} ` +
            `(${identity.payments}): its channels would be charged to the wrong node; use another folder`,
        );
      }
    }
    return new PaymentStore(db);
  }

  /** Every channel, in key order. */
  async channels(): Promise<ChannelRecord[]> {
    const out: ChannelRecord[] = [];
    for await (const value of this.db.values({ gte: 'ch:', lt: 'ch;' })) out.push(channelFromJson(value));
    return out;
  }

  /** Writes a channel's current state durably. */
  putChannel(c: ChannelRecord): Promise<void> {
    return this.write(channelKey(c.payer, c.modelId), channelToJson(c));
  }

  async apiKey(keyHash: Hex): Promise<ApiKeyRecord | undefined> {
    const value = await this.db.get(`key:${keyHash.toLowerCase()}`);
    return value === undefined ? undefined : apiKeyFromJson(value);
  }

  /** Every key granted by `payer`, revoked and expired ones included. */
  async apiKeysOf(payer: Address): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    for await (const value of this.db.values({ gte: 'key:', lt: 'key;' })) {
      const record = apiKeyFromJson(value);
      if (isAddressEqual(record.grant.payer, payer)) out.push(record);
    }
    return out;
  }

  putApiKey(record: ApiKeyRecord): Promise<void> {
    return this.write(`key:${record.grant.keyHash.toLowerCase()}`, apiKeyToJson(record));
  }

  /** Waits for pending writes, then closes the database. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing.catch(() => undefined);
    await this.db.close();
  }

  /** Queues a put; resolves once a synced batch holding it (or a later value of its key) is on disk. */
  private write(key: string, value: string): Promise<void> {
    this.pending.set(key, value);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.flushing ??= this.flush();
    return done;
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending].map(([key, value]) => ({ type: 'put' as const, key, value }));
        const waiters = this.waiters;
        this.pending = new Map();
        this.waiters = [];
        try {
          await this.db.batch(batch, { sync: true });
          for (const w of waiters) w.resolve();
        } catch (error) {
          for (const w of waiters) w.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }
}

function channelKey(payer: Address, modelId: bigint): string {
  return `ch:${payer.toLowerCase()}:${modelId}`;
}

interface SignedVoucherJson {
  voucher: ReturnType<typeof voucherToJson>;
  signature: Hex;
}

const signedToJson = (s: SignedVoucher | undefined): SignedVoucherJson | undefined =>
  s && { voucher: voucherToJson(s.voucher), signature: s.signature };

function signedFromJson(json: SignedVoucherJson | undefined): SignedVoucher | undefined {
  if (!json) return undefined;
  const voucher = voucherFromJson(json.voucher);
  if ('error' in voucher) throw new Error(`corrupt voucher in the payment store: ${voucher.error}`);
  return { voucher, signature: json.signature };
}

function channelToJson(c: ChannelRecord): string {
  return JSON.stringify({
    payer: c.payer,
    modelId: c.modelId.toString(),
    owed: c.owed.toString(),
    redeemed: c.redeemed.toString(),
    best: signedToJson(c.best),
    redeemable: signedToJson(c.redeemable),
    lastRedeemFailure: c.lastRedeemFailure && {
      ...c.lastRedeemFailure,
      cumulativeAmount: c.lastRedeemFailure.cumulativeAmount.toString(),
    },
    lastRedeemTx: c.lastRedeemTx,
  });
}

function channelFromJson(value: string): ChannelRecord {
  const j = JSON.parse(value) as {
    payer: Address;
    modelId: string;
    owed: string;
    redeemed: string;
    best?: SignedVoucherJson;
    redeemable?: SignedVoucherJson;
    lastRedeemFailure?: Omit<RedeemFailure, 'cumulativeAmount'> & { cumulativeAmount: string };
    lastRedeemTx?: Hex;
  };
  return {
    payer: getAddress(j.payer),
    modelId: BigInt(j.modelId),
    owed: BigInt(j.owed),
    redeemed: BigInt(j.redeemed),
    best: signedFromJson(j.best),
    redeemable: signedFromJson(j.redeemable),
    lastRedeemFailure: j.lastRedeemFailure && {
      ...j.lastRedeemFailure,
      cumulativeAmount: BigInt(j.lastRedeemFailure.cumulativeAmount),
    },
    lastRedeemTx: j.lastRedeemTx,
  };
}

function apiKeyToJson(r: ApiKeyRecord): string {
  const g = r.grant;
  return JSON.stringify({
    grant: {
      payer: g.payer,
      node: g.node,
      chainId: g.chainId,
      keyHash: g.keyHash.toLowerCase(),
      creditLimit: g.creditLimit.toString(),
      models: g.models.map(String),
      expiresAt: g.expiresAt.toString(),
    },
    signature: r.signature,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  });
}

function apiKeyFromJson(value: string): ApiKeyRecord {
  const j = JSON.parse(value) as {
    grant: {
      payer: Address;
      node: Address;
      chainId: number;
      keyHash: Hex;
      creditLimit: string;
      models: string[];
      expiresAt: string;
    };
    signature: Hex;
    createdAt: number;
    revokedAt?: number;
  };
  return {
    grant: {
      ...j.grant,
      creditLimit: BigInt(j.grant.creditLimit),
      models: j.grant.models.map(BigInt),
      expiresAt: BigInt(j.grant.expiresAt),
    },
    signature: j.signature,
    createdAt: j.createdAt,
    revokedAt: j.revokedAt,
  };
}
