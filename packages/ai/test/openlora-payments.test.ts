/**
 * The OpenLoRA payment gate against a real devnet child process and real LevelDB: pricing, the
 * voucher and API-key rules, redemption with the fee split, and crash safety of `owed`. There is no
 * inference engine here: the gate only sees token counts, so the tests make them up.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadArtifact } from '@openledger/contracts';
import {
  registerAgent,
  retireModel,
  setModelPrice,
  signVoucher,
  signerOf,
  type Connection,
  type Voucher,
} from '@openledger/sdk';
import { getAddress, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayingClient } from '../src/openlora/payments/paying-client.ts';
import { PaymentGate } from '../src/openlora/payments/payment-gate.ts';
import { Redeemer } from '../src/openlora/payments/redeemer.ts';
import type { ChannelView } from '../src/openlora/payments/types.ts';
import { encodeVoucherHeader } from '../src/openlora/payments/voucher-header.ts';
import {
  expectAuthorized,
  expectRefused,
  expectedCharge,
  startPaymentsFixture,
  type PaymentsFixture,
} from './support/payments-fixture.ts';

const ONE = 10n ** 18n;
/** Odd prices, so that ceil(price × tokens / 1000) rounds almost every time. */
const PRICE_A = 1_003n;
const PRICE_B = 2_500_007n;

let fx: PaymentsFixture;
let gate: PaymentGate;
let modelA: bigint;
let modelB: bigint;
let alice: Connection;
let bob: Connection;
let carol: Connection;

beforeAll(async () => {
  fx = await startPaymentsFixture('openlora-payments');
  modelA = await fx.model('openlora-pay-a', PRICE_A);
  modelB = await fx.model('openlora-pay-b', PRICE_B);
  [alice, bob, carol] = await Promise.all([fx.conn(3), fx.conn(4), fx.conn(5)]);
  await fx.fund(alice, ONE);
  await fx.fund(carol, ONE);
  gate = await fx.gate();
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

const channelOf = async (g: PaymentGate, payer: Address, modelId: bigint): Promise<ChannelView> => {
  const list = await g.channels({ payer });
  if (!Array.isArray(list)) throw new Error(list.message);
  const found = list.find((c) => c.modelId === modelId);
  if (!found) throw new Error(`no channel for ${payer} on model ${modelId}`);
  return found;
};

/** Serves one voucher-paid request with made-up usage and lets the client learn the new owed. */
async function serve(
  client: PayingClient,
  modelId: bigint,
  usage: { promptTokens: number; completionTokens: number },
  g: PaymentGate = gate,
) {
  const result = await g.authorize({
    headers: await client.headers(modelId),
    modelId,
    promptTokens: usage.promptTokens,
    maxTokens: Math.max(usage.completionTokens, 1),
  });
  const done = await expectAuthorized(result).complete(usage);
  client.learn(modelId, done.headers);
  return done;
}

describe('vouchers', () => {
  it('quotes the maximum, charges ceil(price × tokens / 1000) and reports the new owed', async () => {
    const client = new PayingClient({ connection: alice, node: gate.node, now: fx.clock.now });
    const auth = expectAuthorized(
      await gate.authorize({
        headers: await client.headers(modelA),
        modelId: modelA,
        promptTokens: 321,
        maxTokens: 200,
        n: 3,
      }),
    );
    expect(auth.method).toBe('voucher');
    expect(auth.payer).toBe(client.payer);
    expect(auth.quote).toBe(expectedCharge(PRICE_A, 321 + 200 * 3));
    const first = await auth.complete({ promptTokens: 321, completionTokens: 457 });
    expect(first.charge).toBe(expectedCharge(PRICE_A, 321 + 457));
    expect(first.owed).toBe(first.charge);
    expect(first.headers['OpenLedger-Owed']).toBe(first.owed.toString());
    expect(first.receipt).toEqual({
      payer: client.payer,
      node: gate.node,
      modelId: modelA.toString(),
      charge: first.charge.toString(),
      owed: first.owed.toString(),
    });
    client.learn(modelA, first.headers);

    let owed = first.owed;
    for (const [p, c] of [
      [1, 1],
      [999, 0],
      [17, 3_001],
    ] as const) {
      const done = await serve(client, modelA, { promptTokens: p, completionTokens: c });
      expect(done.charge).toBe(expectedCharge(PRICE_A, p + c));
      owed += done.charge;
      expect(done.owed).toBe(owed);
    }
    const channel = await channelOf(gate, client.payer, modelA);
    expect(channel.owed).toBe(owed);
    // The last voucher covered everything before the last request: only that request is unsettled.
    expect(channel.unsettled).toBe(expectedCharge(PRICE_A, 17 + 3_001));
    expect(channel.inFlight).toBe(0n);
  });

  it('charges an aborted request only for what it generated, and nothing if it generated nothing', async () => {
    const client = new PayingClient({ connection: alice, node: gate.node, now: fx.clock.now });
    const request = async () =>
      expectAuthorized(
        await gate.authorize({
          headers: await client.headers(modelB),
          modelId: modelB,
          promptTokens: 40,
          maxTokens: 100,
        }),
      );
    const silent = await (await request()).abort();
    expect(silent.charge).toBe(0n);
    expect(silent.owed).toBe(0n);
    const partial = await (await request()).abort({ promptTokens: 40, completionTokens: 7 });
    expect(partial.charge).toBe(expectedCharge(PRICE_B, 47));
    client.learn(modelB, partial.headers);

    // Completing twice returns the first result; the request is not charged again.
    const auth = await request();
    const once = await auth.complete({ promptTokens: 40, completionTokens: 100 });
    expect(await auth.complete({ promptTokens: 40, completionTokens: 100 })).toBe(once);
    expect(once.owed).toBe(partial.owed + expectedCharge(PRICE_B, 140));
    client.learn(modelB, once.headers);

    // An engine reporting more tokens than quoted is billed the quote, never more.
    const over = await (await request()).complete({ promptTokens: 40, completionTokens: 5_000 });
    expect(over.charge).toBe(expectedCharge(PRICE_B, 140));
    client.learn(modelB, over.headers);
  });

  it('redeems exact vouchers in one batch: redeemed equals owed and the 50/20/20/10 split lands', async () => {
    const client = new PayingClient({ connection: carol, node: gate.node, now: fx.clock.now });
    for (const modelId of [modelA, modelB]) {
      for (let i = 0; i < 3; i++)
        await serve(client, modelId, { promptTokens: 50 + i, completionTokens: 31 * i });
      // One more request whose voucher covers everything served before it.
      await serve(client, modelId, { promptTokens: 0, completionTokens: 0 });
    }
    const { payments, settlement, treasury } = fx.node.contracts;
    const pub = fx.node.publicClient;
    const owner = fx.modelOwner.walletClient!.account.address;
    const before = {
      node: await payments.read.earnings([gate.node]),
      owner: await payments.read.earnings([owner]),
      settlement: await pub.getBalance({ address: settlement.address }),
      treasury: await pub.getBalance({ address: treasury.address }),
    };
    const redeemer = new Redeemer(gate, { connection: fx.node });
    const report = await redeemer.flushNow();
    expect(report.failed).toEqual([]);
    expect(report.transactions).toHaveLength(1);

    let charged = 0n;
    const expected = { node: 0n, owner: 0n, contributors: 0n, protocol: 0n };
    for (const r of report.redeemed) {
      charged += r.charge;
      const contributors = (r.charge * 5_000n) / 10_000n;
      const toOwner = (r.charge * 2_000n) / 10_000n;
      const toNode = (r.charge * 2_000n) / 10_000n;
      expected.contributors += contributors;
      expected.owner += toOwner;
      expected.node += toNode;
      expected.protocol += r.charge - contributors - toOwner - toNode;
    }
    expect(report.transactions[0]!.total).toBe(charged);
    for (const modelId of [modelA, modelB]) {
      const channel = await channelOf(gate, client.payer, modelId);
      const onChain = await payments.read.redeemed([client.payer, gate.node, modelId]);
      // Every voucher was for exactly what was served when it was signed: redeemed = owed.
      expect(onChain).toBe(channel.owed);
      expect(channel.redeemed).toBe(channel.owed);
      expect(channel.unsettled).toBe(0n);
    }
    expect((await payments.read.earnings([gate.node])) - before.node).toBe(expected.node);
    expect((await payments.read.earnings([owner])) - before.owner).toBe(expected.owner);
    expect((await pub.getBalance({ address: settlement.address })) - before.settlement).toBe(
      expected.contributors,
    );
    expect((await pub.getBalance({ address: treasury.address })) - before.treasury).toBe(expected.protocol);
    // A second flush has nothing left to do.
    expect((await redeemer.flushNow()).transactions).toHaveLength(0);
  });
});

async function channelOfOrZero(g: PaymentGate, payer: Address, modelId: bigint): Promise<bigint> {
  const list = await g.channels({ payer });
  return Array.isArray(list) ? (list.find((c) => c.modelId === modelId)?.owed ?? 0n) : 0n;
}

describe('402 and 404 refusals', () => {
  let client: PayingClient;
  /** Signs an arbitrary voucher as Alice (or as `signer`). */
  const header = async (v: Partial<Voucher>, signer: Connection = alice) => {
    const voucher: Voucher = {
      payer: client.payer,
      node: gate.node,
      modelId: modelA,
      cumulativeAmount: client.owedOf(modelA),
      deadline: BigInt(fx.clock.now() + 3_600),
      ...v,
    };
    const { wallet, account } = signerOf(signer);
    const signature = await signVoucher(wallet, account, voucher, gate.chainId, gate.payments);
    return { 'OpenLedger-Voucher': encodeVoucherHeader(voucher, signature) };
  };
  const ask = async (headers: Record<string, string>, modelId = modelA, maxTokens = 10) =>
    gate.authorize({ headers, modelId, promptTokens: 10, maxTokens });

  beforeAll(async () => {
    client = new PayingClient({ connection: alice, node: gate.node, now: fx.clock.now });
    client.learn(modelA, (await channelOfOrZero(gate, client.payer, modelA)).toString());
    // Make sure the channel owes something, so that "below owed" is possible.
    await serve(client, modelA, { promptTokens: 10, completionTokens: 10 });
  });

  it('asks for a voucher when there is none, with the exact amount if the payer is named', async () => {
    const anonymous = expectRefused(await ask({}));
    expect(anonymous.status).toBe(402);
    expect(anonymous.body.error).toMatchObject({
      code: 'payment_required',
      problem: 'no_voucher',
      type: 'payment_error',
    });
    expect(anonymous.body.error.required).toMatchObject({ node: gate.node, modelId: modelA.toString() });
    const before = fx.clock.now();
    const named = expectRefused(await ask({ 'OpenLedger-Payer': client.payer }));
    expect(named.body.error.required).toMatchObject({ cumulativeAmount: client.owedOf(modelA).toString() });
    const { deadlineAtLeast } = named.body.error.required as { deadlineAtLeast: number };
    expect(deadlineAtLeast).toBeGreaterThanOrEqual(before + 600);
    expect(deadlineAtLeast).toBeLessThanOrEqual(fx.clock.now() + 600);
  });

  it('refuses a voucher below owed, and a replayed old one, saying what to sign', async () => {
    const old = await client.headers(modelA);
    await serve(client, modelA, { promptTokens: 5, completionTokens: 5 });
    for (const headers of [old, await header({ cumulativeAmount: client.owedOf(modelA) - 1n })]) {
      const refused = expectRefused(await ask(headers));
      expect(refused.status).toBe(402);
      expect(refused.body.error).toMatchObject({
        code: 'payment_required',
        problem: 'below_owed',
        required: { cumulativeAmount: client.owedOf(modelA).toString() },
      });
      expect(refused.headers['OpenLedger-Owed']).toBe(client.owedOf(modelA).toString());
    }
    // The client can learn the amount from the refusal and go on.
    const fresh = new PayingClient({ connection: alice, node: gate.node, now: fx.clock.now });
    fresh.learnFromRefusal(expectRefused(await ask(old)).body);
    await expectAuthorized(await ask(await fresh.headers(modelA))).abort();
  });

  it.each([
    [
      'an expired deadline',
      (): Partial<Voucher> => ({ deadline: BigInt(fx.clock.now() - 1) }),
      'deadline_too_soon',
    ],
    ['a deadline inside the margin', () => ({ deadline: BigInt(fx.clock.now() + 599) }), 'deadline_too_soon'],
    [
      'another node',
      () => ({ node: getAddress('0x000000000000000000000000000000000000dead') }),
      'wrong_node',
    ],
    ['another model', () => ({ modelId: modelB }), 'wrong_model'],
  ] as const)('refuses a voucher with %s', async (_, change, problem) => {
    const refused = expectRefused(await ask(await header(change())));
    expect(refused.status).toBe(402);
    expect(refused.body.error).toMatchObject({ code: 'payment_required', problem });
  });

  it('refuses a forged signature and a malformed header', async () => {
    const forged = expectRefused(await ask(await header({}, bob)));
    expect(forged.body.error).toMatchObject({ code: 'payment_required', problem: 'bad_signature' });
    const malformed = expectRefused(await ask({ 'OpenLedger-Voucher': 'not-a-voucher' }));
    expect(malformed.body.error).toMatchObject({ code: 'payment_required', problem: 'malformed_voucher' });
  });

  it('keeps nothing for a stranger without a deposit, and grants it no key', async () => {
    const stranger = await fx.conn(9);
    const poor = new PayingClient({ connection: stranger, node: gate.node, now: fx.clock.now });
    const refused = expectRefused(await ask(await poor.headers(modelA)));
    expect(refused.body.error.code).toBe('insufficient_deposit');
    expect(await gate.channels({ payer: poor.payer })).toEqual([]);
    const { signed } = await poor.grantApiKey({ creditLimit: 1n });
    expect(await gate.createApiKey(signed)).toMatchObject({ status: 402, code: 'insufficient_deposit' });
  });

  it('risks at most one request per channel: a second concurrent request needs a voucher covering the first', async () => {
    const owedBefore = client.owedOf(modelA);
    const first = expectAuthorized(await ask(await client.headers(modelA), modelA, 100));
    const same = expectRefused(await ask(await client.headers(modelA), modelA, 100));
    expect(same.body.error).toMatchObject({
      problem: 'below_owed',
      required: { cumulativeAmount: (client.owedOf(modelA) + first.quote).toString() },
    });
    const covering = expectAuthorized(
      await ask(await client.headers(modelA, { prepay: first.quote }), modelA, 100),
    );
    const a = await first.complete({ promptTokens: 10, completionTokens: 3 });
    const b = await covering.complete({ promptTokens: 10, completionTokens: 100 });
    expect(b.owed).toBe(a.owed + b.charge);
    client.learn(modelA, b.headers);
    // The covering voucher was above usage when it came; once owed passed it, it became the redeemable one.
    const channel = await channelOf(gate, client.payer, modelA);
    expect(b.owed).toBeGreaterThanOrEqual(owedBefore + first.quote);
    expect(channel.redeemable).toBe(owedBefore + first.quote);
  });

  it('takes a prepayment only once everything served is covered by an exact voucher', async () => {
    await serve(client, modelA, { promptTokens: 10, completionTokens: 10 });
    const prepaid = expectRefused(await ask(await client.headers(modelA, { prepay: 10n ** 9n })));
    expect(prepaid.body.error).toMatchObject({
      problem: 'unsettled_before_prepayment',
      required: { cumulativeAmount: client.owedOf(modelA).toString() },
    });
    // With an exact voucher for the owed amount settled first, the prepayment is fine.
    expect((await gate.settle([await client.voucherFor(modelA)]))[0]!.accepted).toBe(true);
    await expectAuthorized(await ask(await client.headers(modelA, { prepay: 10n ** 9n }))).abort();
  });

  it('refuses when the deposit, less owed and in-flight quotes, cannot cover the quote', async () => {
    const bobClient = new PayingClient({ connection: bob, node: gate.node, now: fx.clock.now });
    const quoteOf = (maxTokens: number) => expectedCharge(PRICE_B, 10 + maxTokens);
    await fx.fund(bob, quoteOf(1_000) + quoteOf(500));
    const big = expectAuthorized(await ask(await bobClient.headers(modelB), modelB, 1_000));
    // A second request on another channel of the same payer: the first one's quote is still held.
    const bobA = await bobClient.headers(modelA);
    await expectAuthorized(
      await gate.authorize({ headers: bobA, modelId: modelA, promptTokens: 10, maxTokens: 10 }),
    ).abort();
    const concurrent = expectRefused(
      await gate.authorize({
        headers: await bobClient.headers(modelB, { prepay: big.quote }),
        modelId: modelB,
        promptTokens: 10,
        maxTokens: 600,
      }),
    );
    expect(concurrent.status).toBe(402);
    expect(concurrent.body.error).toMatchObject({
      code: 'insufficient_deposit',
      shortfall: (quoteOf(600) - quoteOf(500)).toString(),
      deposit: { inFlight: big.quote.toString() },
    });
    // Once the first completes, only its charge counts against the deposit.
    const done = await big.complete({ promptTokens: 10, completionTokens: 1_000 });
    bobClient.learn(modelB, done.headers);
    const after = expectRefused(await ask(await bobClient.headers(modelB), modelB, 600));
    expect(after.body.error).toMatchObject({
      code: 'insufficient_deposit',
      deposit: { unredeemed: done.owed.toString(), inFlight: '0' },
    });
    await expectAuthorized(await ask(await bobClient.headers(modelB), modelB, 500)).abort();
  });

  it('refuses an unknown model, a retired one, and a request without a model unless unpaid base models are on', async () => {
    const unknown = expectRefused(await ask(await client.headers(999n), 999n));
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'model_not_found']);
    const retiring = await fx.model('openlora-pay-retiring', 5n);
    const retiringClient = new PayingClient({ connection: alice, node: gate.node, now: fx.clock.now });
    await serve(retiringClient, retiring, { promptTokens: 100, completionTokens: 100 });
    await retireModel(fx.modelOwner, { modelId: retiring });
    // The PriceChanged/ModelRetired watch drops the cached terms within a poll.
    await until(async () => {
      const result = await gate.authorize({
        headers: await retiringClient.headers(retiring),
        modelId: retiring,
        promptTokens: 1,
        maxTokens: 1,
      });
      if (result.ok) await result.abort();
      return !result.ok;
    });
    const retired = expectRefused(
      await gate.authorize({
        headers: await retiringClient.headers(retiring),
        modelId: retiring,
        promptTokens: 1,
        maxTokens: 1,
      }),
    );
    expect([retired.status, retired.body.error.code]).toEqual([404, 'model_retired']);
    // What was served before retirement can still be settled.
    expect((await gate.settle([await retiringClient.voucherFor(retiring)]))[0]!.accepted).toBe(true);

    const noModel = expectRefused(
      await gate.authorize({ headers: {}, modelId: undefined, promptTokens: 1, maxTokens: 1 }),
    );
    expect(noModel.status).toBe(404);
    const open = await fx.gate({ allowUnpaidBase: true });
    const free = expectAuthorized(
      await open.authorize({ headers: {}, modelId: undefined, promptTokens: 1, maxTokens: 1 }),
    );
    expect(free.method).toBe('free');
    expect((await free.complete({ promptTokens: 1, completionTokens: 1 })).charge).toBe(0n);
  });

  it('uses a new price once PriceChanged is seen, without waiting for the cache', async () => {
    const priced = await fx.model('openlora-pay-repriced', 1_000n);
    const slow = await fx.gate({ priceTtlMs: 600_000 });
    const c = new PayingClient({ connection: alice, node: slow.node, now: fx.clock.now });
    const quote = async () =>
      expectAuthorized(
        await slow.authorize({
          headers: await c.headers(priced),
          modelId: priced,
          promptTokens: 1_000,
          maxTokens: 1_000,
        }),
      );
    const before = await quote();
    expect(before.quote).toBe(2_000n);
    await before.abort();
    await setModelPrice(fx.modelOwner, { modelId: priced, price: 3_000n });
    await until(async () => {
      const q = await quote();
      await q.abort();
      return q.quote === 6_000n;
    });
  });

  it('holds agents to their owner rules: allowed models and the limit left in the period', async () => {
    const [agent, agentOwner] = await Promise.all([fx.conn(6), fx.conn(7)]);
    const agentAddress = agent.walletClient!.account.address;
    await fx.fund(agent, ONE);
    await registerAgent(agentOwner, {
      agent: agentAddress,
      limitPerPeriod: 5_000n,
      period: 86_400n,
      allowedModels: [modelA],
    });
    const c = new PayingClient({ connection: agent, node: gate.node, now: fx.clock.now });
    const notAllowed = expectRefused(
      await gate.authorize({
        headers: await c.headers(modelB),
        modelId: modelB,
        promptTokens: 1,
        maxTokens: 1,
      }),
    );
    expect([notAllowed.status, notAllowed.body.error.code]).toEqual([403, 'model_not_allowed']);
    // 5,000 wei left at 1,003 wei per 1,000 tokens: 4,000 tokens fit, 5,000 do not.
    await expectAuthorized(
      await gate.authorize({
        headers: await c.headers(modelA),
        modelId: modelA,
        promptTokens: 1_000,
        maxTokens: 3_000,
      }),
    ).abort();
    const over = expectRefused(
      await gate.authorize({
        headers: await c.headers(modelA),
        modelId: modelA,
        promptTokens: 1_000,
        maxTokens: 4_000,
      }),
    );
    expect([over.status, over.body.error.code]).toEqual([402, 'agent_limit_exceeded']);
  });
});

describe('contract-wallet payers (ERC-1271)', () => {
  it('accepts vouchers the wallet validates and redeems them', async () => {
    const owner = await fx.conn(9);
    const { wallet, account } = signerOf(owner);
    const artifact = await loadArtifact('ReentrantReceiver');
    const hash = await wallet.deployContract({
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      args: [gate.payments, account.address],
      chain: owner.chain,
    });
    const receipt = await owner.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    const contractPayer = getAddress(receipt.contractAddress!);
    const depositHash = await wallet.writeContract({
      address: contractPayer,
      abi: artifact.abi,
      functionName: 'deposit',
      value: ONE / 10n,
      chain: owner.chain,
    });
    await owner.publicClient.waitForTransactionReceipt({ hash: depositHash, pollingInterval: 50 });

    const c = new PayingClient({
      connection: owner,
      node: gate.node,
      payer: contractPayer,
      now: fx.clock.now,
    });
    await serve(c, modelA, { promptTokens: 300, completionTokens: 200 });
    const done = await serve(c, modelA, { promptTokens: 1, completionTokens: 0 });
    // A key the wallet does not accept.
    const stranger = new PayingClient({
      connection: bob,
      node: gate.node,
      payer: contractPayer,
      now: fx.clock.now,
    });
    stranger.learn(modelA, done.owed);
    const refused = expectRefused(
      await gate.authorize({
        headers: await stranger.headers(modelA),
        modelId: modelA,
        promptTokens: 1,
        maxTokens: 1,
      }),
    );
    expect(refused.body.error).toMatchObject({ problem: 'bad_signature' });

    const report = await new Redeemer(gate, { connection: fx.node }).flushNow();
    expect(report.redeemed.find((r) => r.payer === contractPayer)?.cumulativeAmount).toBe(
      expectedCharge(PRICE_A, 500),
    );
    expect(await fx.node.contracts.payments.read.redeemed([contractPayer, gate.node, modelA])).toBe(
      expectedCharge(PRICE_A, 500),
    );
  });
});

describe('API keys bound to a deposit', () => {
  it('serves on credit up to the limit, settles with vouchers, and honours the allow-list', async () => {
    const dave = await fx.conn(8);
    await fx.fund(dave, ONE);
    const c = new PayingClient({ connection: dave, node: gate.node, now: fx.clock.now });
    const limit = expectedCharge(PRICE_A, 2_000) + 1n;
    const { apiKey, keyHash, signed } = await c.grantApiKey({
      creditLimit: limit,
      models: [modelA],
      ttlSeconds: 3_600,
    });
    const info = await gate.createApiKey(signed);
    expect(info).toMatchObject({ keyHash, payer: c.payer, creditLimit: limit, revoked: false });
    const headers = { authorization: `Bearer ${apiKey}` };
    const ask = async (modelId: bigint, maxTokens: number) =>
      gate.authorize({ headers, modelId, promptTokens: 500, maxTokens });

    const first = expectAuthorized(await ask(modelA, 500));
    expect(first.method).toBe('api-key');
    const done = await first.complete({ promptTokens: 500, completionTokens: 400 });
    expect(done.charge).toBe(expectedCharge(PRICE_A, 900));
    // 900 tokens owed, unsettled: another 1,000-token quote would exceed the 2,000-token credit.
    await expectAuthorized(await ask(modelA, 500)).abort();
    const full = expectRefused(await ask(modelA, 700));
    expect([full.status, full.body.error.code]).toEqual([402, 'credit_limit_reached']);
    expect(full.body.error.settle).toEqual([
      expect.objectContaining({
        cumulativeAmount: done.owed.toString(),
        modelId: modelA.toString(),
        node: gate.node,
      }),
    ]);

    const denied = expectRefused(await ask(modelB, 1));
    expect([denied.status, denied.body.error.code]).toEqual([403, 'model_not_allowed']);

    // Settle what the channels report; the credit is free again.
    const channels = await gate.channels({ headers });
    if (!Array.isArray(channels)) throw new Error(channels.message);
    expect(channels.map((ch) => [ch.modelId, ch.owed, ch.unsettled])).toEqual([
      [modelA, done.owed, done.owed],
    ]);
    const outcomes = await gate.settle(await c.settlementFor(channels));
    expect(outcomes.map((o) => o.accepted)).toEqual([true]);
    expect((await channelOf(gate, c.payer, modelA)).unsettled).toBe(0n);
    const again = await expectAuthorized(await ask(modelA, 700)).complete({
      promptTokens: 500,
      completionTokens: 700,
    });
    expect(again.owed).toBe(done.owed + expectedCharge(PRICE_A, 1_200));

    // A settlement voucher for someone else's channel, or a forged one, is refused.
    const forged = await new PayingClient({
      connection: bob,
      node: gate.node,
      payer: c.payer,
      now: fx.clock.now,
    }).settlementFor([{ modelId: modelA, owed: again.owed }]);
    const [bad] = await gate.settle(forged);
    expect(bad!.accepted).toBe(false);
  });

  it('refuses unknown, revoked and expired keys, and bad grants', async () => {
    const c = new PayingClient({ connection: carol, node: gate.node, now: fx.clock.now });
    const ask = async (apiKey: string) =>
      gate.authorize({
        headers: { Authorization: `Bearer ${apiKey}` },
        modelId: modelA,
        promptTokens: 1,
        maxTokens: 1,
      });

    const unknown = expectRefused(await ask('sk-not-ours'));
    expect([unknown.status, unknown.body.error.code]).toEqual([401, 'invalid_api_key']);

    const revoked = await c.grantApiKey({ creditLimit: ONE });
    await gate.createApiKey(revoked.signed);
    await expectAuthorized(await ask(revoked.apiKey)).abort();
    // Only the payer can revoke it.
    const notOwner = await new PayingClient({
      connection: bob,
      node: gate.node,
      now: fx.clock.now,
    }).revokeApiKey(revoked.keyHash);
    expect(await gate.revokeApiKey(notOwner)).toMatchObject({ status: 403, code: 'api_key_not_owned' });
    expect(await gate.revokeApiKey(await c.revokeApiKey(revoked.keyHash))).toMatchObject({ revoked: true });
    expect(expectRefused(await ask(revoked.apiKey)).body.error.code).toBe('api_key_revoked');

    const expiring = await c.grantApiKey({ creditLimit: ONE, ttlSeconds: 100 });
    await gate.createApiKey(expiring.signed);
    await expectAuthorized(await ask(expiring.apiKey)).abort();
    fx.clock.advance(101);
    try {
      expect(expectRefused(await ask(expiring.apiKey)).body.error.code).toBe('api_key_expired');
    } finally {
      fx.clock.advance(-101);
    }

    const grant = await c.grantApiKey({ creditLimit: ONE });
    expect(
      await gate.createApiKey({ ...grant.signed, grant: { ...grant.signed.grant, creditLimit: 2n * ONE } }),
    ).toMatchObject({
      status: 401,
      code: 'invalid_signature',
    });
    const elsewhere = await new PayingClient({
      connection: carol,
      node: fx.modelOwner.walletClient!.account.address,
    }).grantApiKey({ creditLimit: 1n });
    expect(await gate.createApiKey(elsewhere.signed)).toMatchObject({ status: 400, code: 'invalid_request' });
    await gate.createApiKey(grant.signed);
    expect(await gate.createApiKey(grant.signed)).toMatchObject({ status: 409, code: 'api_key_exists' });
    expect((await gate.apiKeys(c.payer)).map((k) => k.revoked).sort()).toEqual([false, false, true]);
  });
});

describe('crash safety', () => {
  it('keeps owed that complete() acknowledged when the process is killed with SIGKILL', async () => {
    const dataDir = join(fx.dir, 'crash');
    const payer = await fx.conn(0);
    await fx.fund(payer, ONE);
    const script = resolve(fileURLToPath(new URL('.', import.meta.url)), 'support/payments-crash-child.ts');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, fx.devnet.url, dataDir, modelB.toString(), '0', '3'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const reported = await new Promise<bigint>((done, fail) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /COMPLETED (\d+)/.exec(out);
        if (match) done(BigInt(match[1]!));
      });
      void exited.then(() => fail(new Error(`the child exited early:\n${out}\n${err}`)));
    });
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    const expected = [0, 1, 2].reduce((sum, i) => sum + expectedCharge(PRICE_B, 100 + i + 17 + i), 0n);
    expect(reported).toBe(expected);
    const reopened = await PaymentGate.open({
      connection: fx.node,
      dataDir,
      priceWatchIntervalMs: 0,
      now: fx.clock.now,
    });
    try {
      const channel = await channelOf(reopened, payer.walletClient!.account.address, modelB);
      expect(channel.owed).toBe(expected);
      // The last voucher (for what the first two requests cost) is still there to redeem.
      expect(channel.redeemable).toBe(expectedCharge(PRICE_B, 117) + expectedCharge(PRICE_B, 119));
    } finally {
      await reopened.close();
    }
  }, 60_000);
});

/** Polls `check` every 100 ms for up to 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the condition did not become true within 5 s');
}
