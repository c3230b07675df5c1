/**
 * The Redeemer against a real devnet: what it charges on-chain never exceeds what was served and
 * equals it once everything is settled (a fast-check property over random request and settlement
 * sequences), which channels a scheduled run redeems, and how a batch that would revert is split
 * so that one payer who withdrew its deposit does not block the others.
 */
import { requestWithdrawal, withdrawDeposit, type Connection } from '@openledger/sdk';
import fc from 'fast-check';
import { maxUint256, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayingClient } from '../src/openlora/payments/paying-client.ts';
import { PaymentError } from '../src/openlora/payments/payment-error.ts';
import type { PaymentGate } from '../src/openlora/payments/payment-gate.ts';
import { Redeemer } from '../src/openlora/payments/redeemer.ts';
import type { ChannelView } from '../src/openlora/payments/types.ts';
import {
  expectAuthorized,
  expectRefused,
  expectedCharge,
  startPaymentsFixture,
  type PaymentsFixture,
} from './support/payments-fixture.ts';

const ONE = 10n ** 18n;
const PRICES = [1_003n, 777_777n] as const;
/** Vouchers outlive the one-day withdrawal delay the last test travels over. */
const LONG = 3 * 86_400;

let fx: PaymentsFixture;
let models: [bigint, bigint];
let payers: Connection[];

beforeAll(async () => {
  fx = await startPaymentsFixture('openlora-redeemer');
  models = [await fx.model('openlora-redeem-a', PRICES[0]), await fx.model('openlora-redeem-b', PRICES[1])];
  payers = await Promise.all([3, 4, 5, 6, 7].map((i) => fx.conn(i)));
  for (const p of payers) await fx.fund(p, ONE);
}, 120_000);

afterAll(async () => {
  await fx?.stop();
});

const client = (payer: Connection, node: Address, deadlineSeconds = LONG) =>
  new PayingClient({ connection: payer, node, now: fx.clock.now, deadlineSeconds });

/** One voucher-paid request with the given usage; the client learns the new owed. */
async function serve(gate: PaymentGate, c: PayingClient, modelId: bigint, tokens: number): Promise<bigint> {
  const auth = expectAuthorized(
    await gate.authorize({ headers: await c.headers(modelId), modelId, promptTokens: tokens, maxTokens: 1 }),
  );
  const done = await auth.complete({ promptTokens: tokens, completionTokens: 1 });
  c.learn(modelId, done.headers);
  return done.charge;
}

async function channelsOf(gate: PaymentGate, payer: Address): Promise<ChannelView[]> {
  const list = await gate.channels({ payer });
  if (!Array.isArray(list)) throw new Error(list.message);
  return list;
}

const redeemedOnChain = (payer: Address, node: Address, modelId: bigint) =>
  fx.node.contracts.payments.read.redeemed([payer, node, modelId]);

describe('what is charged on-chain', () => {
  type Action =
    | { kind: 'voucher' | 'key'; payer: number; model: number; prompt: number; completion: number; n: number }
    | { kind: 'abort'; payer: number; model: number; prompt: number; generated: number }
    | { kind: 'prepay'; payer: number; model: number; prepay: number; prompt: number; completion: number }
    | { kind: 'settle'; payer: number }
    | { kind: 'redeem' };
  const payer = fc.integer({ min: 0, max: 1 });
  const model = fc.integer({ min: 0, max: 1 });
  const tokens = fc.integer({ min: 0, max: 3_000 });
  const action: fc.Arbitrary<Action> = fc.oneof(
    fc.record({
      kind: fc.constantFrom('voucher' as const, 'key' as const),
      payer,
      model,
      prompt: tokens,
      completion: tokens,
      n: fc.integer({ min: 1, max: 3 }),
    }),
    fc.record({ kind: fc.constant('abort' as const), payer, model, prompt: tokens, generated: tokens }),
    fc.record({
      kind: fc.constant('prepay' as const),
      payer,
      model,
      prepay: fc.integer({ min: 1, max: 5_000_000 }),
      prompt: tokens,
      completion: tokens,
    }),
    fc.record({ kind: fc.constant('settle' as const), payer }),
    fc.record({ kind: fc.constant('redeem' as const) }),
  );

  it('never exceeds usage, and equals it once every channel is settled', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 10 }), async (actions) => {
        // A fresh node address per run gives fresh channels on-chain; the node's key still submits.
        const node = privateKeyToAccount(generatePrivateKey()).address;
        const gate = await fx.gate({ node, priceWatchIntervalMs: 0 });
        try {
          const redeemer = new Redeemer(gate, { connection: fx.node });
          const clients = payers.slice(0, 2).map((p) => client(p, node));
          const keys: string[] = [];
          for (const c of clients) {
            const { apiKey, signed } = await c.grantApiKey({ creditLimit: ONE });
            expect(await gate.createApiKey(signed)).not.toBeInstanceOf(PaymentError);
            keys.push(apiKey);
          }
          /** Wei served per channel, computed from the usage alone. */
          const usage = new Map<string, bigint>();
          const use = (p: number, m: number, charge: bigint) =>
            usage.set(`${p}:${m}`, (usage.get(`${p}:${m}`) ?? 0n) + charge);
          const checkNotAbove = async () => {
            for (const [p, c] of clients.entries()) {
              for (const [m, modelId] of models.entries()) {
                expect(await redeemedOnChain(c.payer, node, modelId)).toBeLessThanOrEqual(
                  usage.get(`${p}:${m}`) ?? 0n,
                );
              }
            }
          };
          const settle = async (p: number) => {
            const c = clients[p]!;
            const owed = (await channelsOf(gate, c.payer)).map((ch) => ({
              modelId: ch.modelId,
              owed: ch.owed,
            }));
            const outcomes = await gate.settle(await c.settlementFor(owed));
            expect(outcomes.every((o) => o.accepted)).toBe(true);
          };

          for (const a of actions) {
            if (a.kind === 'redeem') {
              expect((await redeemer.flushNow()).failed).toEqual([]);
              await checkNotAbove();
              continue;
            }
            if (a.kind === 'settle') {
              await settle(a.payer);
              continue;
            }
            const c = clients[a.payer]!;
            const modelId = models[a.model]!;
            const price = PRICES[a.model]!;
            if (a.kind === 'abort') {
              const auth = expectAuthorized(
                await gate.authorize({
                  headers: await c.headers(modelId),
                  modelId,
                  promptTokens: a.prompt,
                  maxTokens: 3_000,
                }),
              );
              const done = await auth.abort({ promptTokens: a.prompt, completionTokens: a.generated });
              use(a.payer, a.model, a.generated > 0 ? expectedCharge(price, a.prompt + a.generated) : 0n);
              expect(done.charge).toBe(a.generated > 0 ? expectedCharge(price, a.prompt + a.generated) : 0n);
              c.learn(modelId, done.headers);
              continue;
            }
            const n = a.kind === 'prepay' ? 1 : a.n;
            const headers =
              a.kind === 'key'
                ? { authorization: `Bearer ${keys[a.payer]!}` }
                : await c.headers(modelId, { prepay: a.kind === 'prepay' ? BigInt(a.prepay) : 0n });
            const result = await gate.authorize({
              headers,
              modelId,
              promptTokens: a.prompt,
              maxTokens: 3_000,
              n,
            });
            if (!result.ok) {
              // The one refusal a well-behaved client meets: a prepayment while usage is unsettled.
              expect(a.kind).toBe('prepay');
              expect(expectRefused(result).body.error.problem).toBe('unsettled_before_prepayment');
              continue;
            }
            const done = await result.complete({ promptTokens: a.prompt, completionTokens: a.completion });
            expect(done.charge).toBe(expectedCharge(price, a.prompt + a.completion));
            use(a.payer, a.model, done.charge);
            c.learn(modelId, done.headers);
          }

          for (const p of [0, 1]) await settle(p);
          expect((await redeemer.flushNow()).failed).toEqual([]);
          for (const [p, c] of clients.entries()) {
            for (const [m, modelId] of models.entries()) {
              const used = usage.get(`${p}:${m}`) ?? 0n;
              expect(await redeemedOnChain(c.payer, node, modelId)).toBe(used);
              const channel = (await channelsOf(gate, c.payer)).find((ch) => ch.modelId === modelId);
              expect(channel?.owed ?? 0n).toBe(used);
            }
          }
        } finally {
          await gate.close();
        }
      }),
      { numRuns: 6 },
    );
  }, 60_000);
});

describe('scheduling and failures', () => {
  let gate: PaymentGate;
  beforeAll(async () => {
    gate = await fx.gate();
  });

  it('a scheduled run redeems the channels that are due: above the threshold, near their deadline, or withdrawing', async () => {
    const [calm, hurried, leaving] = [payers[2]!, payers[3]!, payers[4]!];
    const calmClient = client(calm, gate.node);
    const hurriedClient = client(hurried, gate.node, 700);
    const leavingClient = client(leaving, gate.node);
    for (const c of [calmClient, hurriedClient, leavingClient]) {
      await serve(gate, c, models[0], 500);
      await serve(gate, c, models[0], 10);
    }
    await requestWithdrawal(leaving, { amount: 1n });
    const redeemer = new Redeemer(gate, { connection: fx.node, threshold: ONE, deadlineMarginSeconds: 900 });
    const due = await redeemer.runDue();
    expect(due.redeemed.map((r) => r.payer).sort()).toEqual(
      [hurriedClient.payer, leavingClient.payer].sort(),
    );
    expect(due.redeemed.every((r) => r.charge === expectedCharge(PRICES[0], 501))).toBe(true);
    expect(await redeemedOnChain(calmClient.payer, gate.node, models[0])).toBe(0n);

    // Over the threshold, the calm channel is due too; started, the schedule gets to it, and stop flushes.
    const eager = new Redeemer(gate, { connection: fx.node, intervalMs: 100 });
    eager.start();
    for (let i = 0; i < 50 && (await redeemedOnChain(calmClient.payer, gate.node, models[0])) === 0n; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await redeemedOnChain(calmClient.payer, gate.node, models[0])).toBe(
      expectedCharge(PRICES[0], 501),
    );
    expect((await eager.stop()).transactions).toEqual([]);
    await requestWithdrawal(leaving, { amount: 0n });
  });

  it('splits a batch that would revert: a payer who withdrew is recorded, the others are charged', async () => {
    const [a, b, c] = payers.slice(0, 3).map((p) => client(p, gate.node));
    const expected = new Map<Address, bigint>();
    for (const [i, pc] of [a!, b!, c!].entries()) {
      await serve(gate, pc, models[1], 100 + i);
      await serve(gate, pc, models[1], 1);
      expected.set(pc.payer, expectedCharge(PRICES[1], 101 + i));
    }
    // B asks for everything back: from now on the gate counts none of its deposit.
    await requestWithdrawal(payers[1]!, { amount: maxUint256 });
    const refused = expectRefused(
      await gate.authorize({
        headers: await b!.headers(models[1]),
        modelId: models[1],
        promptTokens: 1,
        maxTokens: 1,
      }),
    );
    expect(refused.body.error.code).toBe('insufficient_deposit');
    // The refused request's voucher still pays for everything B was served: it is B's redeemable one now.
    expected.set(b!.payer, b!.owedOf(models[1]));
    // ... and after the delay takes it, before the node redeemed.
    await fx.travel(86_400 + 60);
    await withdrawDeposit(payers[1]!);
    expect(await fx.node.contracts.payments.read.balanceOf([b!.payer])).toBe(0n);

    const report = await new Redeemer(gate, { connection: fx.node }).flushNow();
    expect(report.failed.map((f) => [f.payer, f.errorName])).toEqual([[b!.payer, 'InsufficientDeposit']]);
    expect(report.redeemed.map((r) => r.payer).sort()).toEqual([a!.payer, c!.payer].sort());
    expect(report.transactions.length).toBeGreaterThanOrEqual(1);
    for (const pc of [a!, c!])
      expect(await redeemedOnChain(pc.payer, gate.node, models[1])).toBe(expected.get(pc.payer));
    const bChannel = (await channelsOf(gate, b!.payer)).find((ch) => ch.modelId === models[1])!;
    expect(bChannel.lastRedeemFailure).toMatchObject({
      errorName: 'InsufficientDeposit',
      cumulativeAmount: expected.get(b!.payer),
    });
    expect(bChannel.redeemed).toBe(0n);

    // Deposit again and the next run charges it: an empty deposit is not a permanent failure.
    await fx.fund(payers[1]!, ONE);
    const retry = await new Redeemer(gate, { connection: fx.node }).flushNow();
    expect(retry.redeemed.map((r) => [r.payer, r.charge])).toEqual([[b!.payer, expected.get(b!.payer)]]);
    expect(
      (await channelsOf(gate, b!.payer)).find((ch) => ch.modelId === models[1])!.lastRedeemFailure,
    ).toBeUndefined();
  });
});
