/**
 * Shared setup of the OpenLoRA payment suites: a devnet child process, SDK connections for the dev
 * accounts, registered models, deposits, a clock that follows the chain's, and gates on fresh
 * LevelDB folders.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deposit, registerModel, type Connection } from '@openledger/sdk';
import { createTestClient, http, type Address } from 'viem';
import { startDevnetProcess, type DevnetProcess } from '../../../chain/test/support/devnet-process.ts';
import { account } from '../../../data/test/support/versions-fixture.ts';
import { PaymentGate, type PaymentGateOptions } from '../../src/openlora/payments/payment-gate.ts';
import type { AuthorizedRequest } from '../../src/openlora/payments/authorized-request.ts';
import type { PaymentError } from '../../src/openlora/payments/payment-error.ts';

export { account };

/** Unix seconds that follow the devnet's clock: the wall clock plus however far the chain was moved. */
export class TestClock {
  offset = 0;
  readonly now = (): number => Math.floor(Date.now() / 1000) + this.offset;
  advance(seconds: number): void {
    this.offset += seconds;
  }
}

export interface PaymentsFixture {
  devnet: DevnetProcess;
  /** A temporary folder removed by `stop`. */
  dir: string;
  clock: TestClock;
  /** Dev account 1: owns the models. */
  modelOwner: Connection;
  /** Dev account 2: the serving node (and the Redeemer's signer). */
  node: Connection;
  nodeAddress: Address;
  /** A connection for dev account `index`. */
  conn(index: number): Promise<Connection>;
  /** Registers a model owned by `modelOwner` at `price` wei per 1,000 tokens. */
  model(name: string, price: bigint): Promise<bigint>;
  /** Deposits `amount` wei for `payer`'s connection. */
  fund(payer: Connection, amount: bigint): Promise<void>;
  /** A gate for `nodeAddress` on a fresh folder (or `dataDir`) with the fixture's clock. */
  gate(options?: Partial<PaymentGateOptions>): Promise<PaymentGate>;
  /** Moves the devnet's clock (and the fixture's) forward by `seconds` and mines a block. */
  travel(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPaymentsFixture(prefix: string): Promise<PaymentsFixture> {
  const devnet = await startDevnetProcess();
  const dir = await mkdtemp(join(tmpdir(), `openledger-${prefix}-`));
  const clock = new TestClock();
  const [modelOwner, node] = await Promise.all([account(devnet.url, 1), account(devnet.url, 2)]);
  const nodeAddress = node.walletClient!.account.address;
  const testClient = createTestClient({ mode: 'hardhat', transport: http(devnet.url) });
  const gates: PaymentGate[] = [];
  let folders = 0;
  return {
    devnet,
    dir,
    clock,
    modelOwner,
    node,
    nodeAddress,
    conn: (index) => account(devnet.url, index),
    async model(name, price) {
      return (await registerModel(modelOwner, { name, pricePer1kTokens: price })).modelId;
    },
    async fund(payer, amount) {
      await deposit(payer, { amount });
    },
    async gate(options = {}) {
      const gate = await PaymentGate.open({
        connection: node,
        dataDir: join(dir, `gate-${++folders}`),
        now: clock.now,
        priceWatchIntervalMs: 100,
        ...options,
      });
      gates.push(gate);
      return gate;
    },
    async travel(seconds) {
      await testClient.increaseTime({ seconds });
      await testClient.mine({ blocks: 1 });
      const head = await node.publicClient.getBlock();
      // Blocks mined faster than one a second run ahead of the wall clock: follow the chain exactly.
      clock.offset = Math.max(clock.offset, Number(head.timestamp) - Math.floor(Date.now() / 1000));
    },
    async stop() {
      for (const gate of gates) await gate.close().catch(() => undefined);
      await devnet.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The AuthorizedRequest, or a test failure showing the refusal. */
export function expectAuthorized(result: AuthorizedRequest | PaymentError): AuthorizedRequest {
  if (!result.ok)
    throw new Error(`expected the request to be authorized, got ${result.status}: ${result.message}`);
  return result;
}

/** The PaymentError, or a test failure. */
export function expectRefused(result: AuthorizedRequest | PaymentError): PaymentError {
  if (result.ok)
    throw new Error(`expected a refusal, but the request was authorized (quote ${result.quote})`);
  return result;
}

/** ceil(price × tokens / 1000), computed independently of the code under test. */
export function expectedCharge(price: bigint, tokens: number): bigint {
  const exact = price * BigInt(tokens);
  return exact % 1000n === 0n ? exact / 1000n : exact / 1000n + 1n;
}
