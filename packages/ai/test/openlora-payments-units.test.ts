/**
 * The chain-free parts of OpenLoRA payments: pricing, the voucher header and API key texts, the
 * deposit rule's arithmetic, and the channel ledger on a real LevelDB store (voucher bookkeeping,
 * group-committed writes, reopening, refusing another node's store).
 */
import fc from 'fast-check';
import { getAddress, type Address, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  apiKeyGrantMessage,
  apiKeyHash,
  generateApiKey,
  isApiKeyFormat,
} from '../src/openlora/payments/api-key.ts';
import { ChannelLedger } from '../src/openlora/payments/channel-ledger.ts';
import { PaymentStore } from '../src/openlora/payments/payment-store.ts';
import { availableDeposit, checkCredit, checkDeposit } from '../src/openlora/payments/payment-rules.ts';
import { chargeFor } from '../src/openlora/payments/pricing.ts';
import type { SignedVoucher } from '../src/openlora/payments/types.ts';
import { decodeVoucherHeader, encodeVoucherHeader } from '../src/openlora/payments/voucher-header.ts';
import { useTempDir } from './support/temp-dir.ts';

const file = useTempDir('openlora-payments-units');
const PAYER = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
const NODE = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
const PAYMENTS = getAddress('0xcdd55899fd15de741c963866302599f8c6fa76c5');
const SIG = `0x${'11'.repeat(65)}` as Hex;

describe('pricing', () => {
  it('charges the smallest whole wei not below price × tokens / 1000', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.bigInt({ min: 0n, max: 10n ** 7n }),
        (price, tokens) => {
          const charge = chargeFor(price, tokens);
          expect(charge * 1000n >= price * tokens).toBe(true);
          expect(charge === 0n || (charge - 1n) * 1000n < price * tokens).toBe(true);
        },
      ),
    );
    expect(chargeFor(1_003n, 1n)).toBe(2n);
    expect(chargeFor(1_000n, 7n)).toBe(7n);
    expect(chargeFor(0n, 1_000n)).toBe(0n);
  });
});

describe('the OpenLedger-Voucher header', () => {
  const uint256 = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(
        uint256,
        uint256,
        uint256,
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        (modelId, amount, deadline, sig) => {
          const voucher = { payer: PAYER, node: NODE, modelId, cumulativeAmount: amount, deadline };
          const signature = `0x${Buffer.from(sig).toString('hex')}` as Hex;
          expect(decodeVoucherHeader(encodeVoucherHeader(voucher, signature))).toEqual({
            voucher,
            signature,
          });
        },
      ),
    );
  });

  it('says what is wrong with a malformed one', () => {
    const json = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const good = { payer: PAYER, node: NODE, modelId: '1', cumulativeAmount: '5', deadline: '9' };
    expect(decodeVoucherHeader('no-dot')).toEqual({ error: expect.stringContaining('expected') });
    expect(decodeVoucherHeader(`${json(good)}.0xzz`)).toEqual({
      error: expect.stringContaining('signature'),
    });
    expect(decodeVoucherHeader(`!!!.${SIG}`)).toEqual({ error: expect.stringContaining('JSON') });
    expect(decodeVoucherHeader(`${json({ ...good, payer: '0x12' })}.${SIG}`)).toEqual({
      error: 'voucher.payer is not an address',
    });
    expect(decodeVoucherHeader(`${json({ ...good, cumulativeAmount: '-1' })}.${SIG}`)).toEqual({
      error: expect.stringContaining('cumulativeAmount'),
    });
    expect(decodeVoucherHeader(`${json({ ...good, deadline: (2n ** 256n).toString() })}.${SIG}`)).toEqual({
      error: expect.stringContaining('deadline'),
    });
  });
});

describe('API keys', () => {
  it('are random, recognisable, and granted by a fixed text', () => {
    const { apiKey, keyHash } = generateApiKey();
    expect(isApiKeyFormat(apiKey)).toBe(true);
    expect(isApiKeyFormat('sk-proj-abc')).toBe(false);
    expect(apiKeyHash(apiKey)).toBe(keyHash);
    expect(generateApiKey().apiKey).not.toBe(apiKey);
    const grant = {
      payer: PAYER,
      node: NODE,
      chainId: 1612,
      keyHash,
      creditLimit: 10n ** 18n,
      expiresAt: 1_900_000_000n,
    };
    expect(apiKeyGrantMessage({ ...grant, models: [3n, 1n] })).toBe(
      [
        'OpenLedger API key',
        `Payer: ${PAYER}`,
        `Node: ${NODE}`,
        'Chain: 1612',
        `Key hash: ${keyHash}`,
        'Credit limit: 1000000000000000000 wei',
        'Models: 1, 3',
        'Expires: 1900000000',
      ].join('\n'),
    );
    expect(apiKeyGrantMessage({ ...grant, models: [] })).toContain('\nModels: any\n');
  });
});

describe('the deposit and credit rules', () => {
  const funds = (balance: bigint, pendingWithdrawal = 0n) => ({
    balance,
    pendingWithdrawal,
    agent: undefined,
  });
  it('counts the deposit less withdrawals requested, unredeemed charges and quotes in flight', () => {
    const terms = { payer: PAYER, funds: funds(1_000n, 100n), unredeemed: 300n, inFlight: 200n, quote: 400n };
    expect(availableDeposit(terms)).toBe(400n);
    expect(checkDeposit(terms)).toBeUndefined();
    const short = checkDeposit({ ...terms, quote: 401n });
    expect(short?.body.error).toMatchObject({ code: 'insufficient_deposit', shortfall: '1' });
    // A withdrawal above the deposit takes at most the deposit.
    expect(availableDeposit({ ...terms, funds: funds(1_000n, 10n ** 30n) })).toBe(-500n);
  });

  it('serves on credit while unsettled, in-flight and quoted wei stay within the limit', () => {
    const terms = { creditLimit: 100n, unsettled: 40n, inFlight: 20n, quote: 40n, settle: [] };
    expect(checkCredit(terms)).toBeUndefined();
    expect(checkCredit({ ...terms, quote: 41n })?.body.error.code).toBe('credit_limit_reached');
  });
});

describe('the channel ledger on LevelDB', () => {
  const identity = { chainId: 1612, node: NODE, payments: PAYMENTS };
  const signed = (cumulativeAmount: bigint, deadline = 2_000_000_000n): SignedVoucher => ({
    voucher: { payer: PAYER, node: NODE, modelId: 7n, cumulativeAmount, deadline },
    signature: SIG,
  });

  it('redeems only vouchers not above owed, promoting a prepayment once usage reaches it', async () => {
    const store = await PaymentStore.open(file('ledger-a'), identity);
    const ledger = await ChannelLedger.open(store, NODE);
    const c = ledger.channel(PAYER, 7n);
    expect(ledger.offer(c, signed(0n))).toBe(true);
    ledger.charge(ledger.reserve(PAYER, 7n, 100n), 60n);
    expect(ledger.offer(c, signed(60n))).toBe(true);
    expect(ledger.offer(c, signed(50n))).toBe(false);
    expect(ledger.offer(c, signed(90n))).toBe(true);
    expect([c.best?.voucher.cumulativeAmount, c.redeemable?.voucher.cumulativeAmount]).toEqual([90n, 60n]);
    ledger.charge(ledger.reserve(PAYER, 7n, 100n), 29n);
    expect(c.redeemable?.voucher.cumulativeAmount).toBe(60n);
    ledger.charge(ledger.reserve(PAYER, 7n, 100n), 1n);
    expect(c.redeemable?.voucher.cumulativeAmount).toBe(90n);
    // An expired voucher covers nothing; what was redeemed still does.
    expect(ledger.coveredOf(c, 1_999_999_999)).toBe(90n);
    expect(ledger.coveredOf(c, 2_000_000_000)).toBe(0n);
    ledger.recordRedeemed(c, 60n);
    expect(ledger.coveredOf(c, 2_000_000_000)).toBe(60n);
    expect(ledger.view(c, 0)).toMatchObject({
      owed: 90n,
      redeemed: 60n,
      authorized: 90n,
      redeemable: 90n,
      unsettled: 0n,
    });
    await store.close();
  });

  it('writes concurrent changes in synced group commits, and reads them back on reopen', async () => {
    const dir = file('ledger-b');
    const store = await PaymentStore.open(dir, identity);
    const ledger = await ChannelLedger.open(store, NODE);
    const payers: Address[] = Array.from({ length: 20 }, (_, i) =>
      getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`),
    );
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => {
        const c = ledger.charge(ledger.reserve(payers[i % 20]!, 1n, 10n), BigInt(i));
        return ledger.persist(c);
      }),
    );
    await store.close();
    const again = await ChannelLedger.open(await PaymentStore.open(dir, identity), NODE);
    for (const [k, payer] of payers.entries()) {
      let owed = 0n;
      for (let i = k; i < 400; i += 20) owed += BigInt(i);
      expect(again.find(payer, 1n)?.owed).toBe(owed);
    }
    await again.store.close();
    await expect(PaymentStore.open(dir, { ...identity, node: PAYER })).rejects.toThrow(/belongs to node/);
  });
});
