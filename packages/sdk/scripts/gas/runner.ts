// Sends the scenario's transactions one block each, on a clock the script sets, and records the gas
// of every transaction and of every protocol call inside it (from a callTracer trace).
import {
  decodeErrorResult,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type TransactionReceipt,
} from 'viem';
import type { PredeployName } from '@openledger/contracts';
import { connect } from '../../src/connect.ts';
import { PROTOCOL_ABIS, protocolContracts } from '../../src/contracts.ts';
import { contractAt } from './abi.ts';
import { attributeCalls, type CallFrame, type FrameRecord, type Operation } from './attribution.ts';

export type { CallFrame };

/** One scenario transaction: the protocol function it called and its receipt's gasUsed. */
export interface TxRecord {
  step: string;
  contract: PredeployName;
  fn: string;
  from: Address;
  gasUsed: bigint;
  internal: FrameRecord[];
}

/** Gas and fees every scenario transaction carries: fixed, so nothing is estimated against a moving clock. */
export interface TxOptions {
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

const TX_OPTIONS: TxOptions = { gas: 8_000_000n, maxFeePerGas: 5_000_000_000n, maxPriorityFeePerGas: 1n };

async function actorConnection(url: string, chainId: number, account: LocalAccount) {
  const ol = await connect({ url, account, chainId });
  // connect() types its wallet as optional; with an account it is there, and this makes `write` typed.
  const contracts = protocolContracts({ public: ol.publicClient, wallet: ol.walletClient! });
  return { ...ol, walletClient: ol.walletClient!, contracts };
}

export type ActorConnection = Awaited<ReturnType<typeof actorConnection>>;

/** A scenario participant: a key, its name in the report's steps, and its typed contracts. */
export interface Actor {
  name: string;
  address: Address;
  account: LocalAccount;
  ol: ActorConnection;
  c: ActorConnection['contracts'];
}

export class ScenarioRevert extends Error {}

const ALL_ERRORS: Abi = Object.values(PROTOCOL_ABIS).flatMap((abi) =>
  (abi as Abi).filter((item): item is Extract<Abi[number], { type: 'error' }> => item.type === 'error'),
);

/** The revert of a failed transaction in words: a decoded custom error, a reason string, or the tracer's error. */
export function describeFailure(frame: CallFrame): string {
  const failing = deepestFailure(frame);
  const output = failing.output as Hex | undefined;
  if (failing.revertReason) return `${failing.error ?? 'reverted'}: ${failing.revertReason}`;
  if (output && output.length >= 10) {
    try {
      const decoded = decodeErrorResult({ abi: ALL_ERRORS, data: output });
      const args = (decoded.args ?? []).map((a) => (typeof a === 'bigint' ? a.toString() : String(a)));
      return `${decoded.errorName}(${args.join(', ')})`;
    } catch {
      return `${failing.error ?? 'reverted'} with ${output}`;
    }
  }
  return failing.error ?? 'reverted';
}

function deepestFailure(frame: CallFrame): CallFrame {
  for (const call of frame.calls ?? []) if (call.error) return deepestFailure(call);
  return frame;
}

export class GasRunner {
  readonly records: TxRecord[] = [];
  /** Protocol calls inside scenario transactions that could not be identified (see attribution.ts). */
  readonly unidentified: string[] = [];
  /** Timestamp of the latest block the scenario made; the next one gets now + 1. */
  private now: bigint;
  private rpcId = 0;

  constructor(
    readonly url: string,
    readonly chainId: number,
    startTime: bigint,
  ) {
    this.now = startTime;
  }

  async rpc<T = unknown>(method: string, params: unknown[]): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.rpcId, method, params }),
    });
    const body = (await response.json()) as { result?: T; error?: { code: number; message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
    return body.result as T;
  }

  async actor(name: string, account: LocalAccount): Promise<Actor> {
    const ol = await actorConnection(this.url, this.chainId, account);
    return { name, address: account.address, account, ol, c: ol.contracts };
  }

  /** The timestamp the next block will get. */
  get nextTimestamp(): bigint {
    return this.now + 1n;
  }

  /** Lets `seconds` pass before the next block. */
  advance(seconds: bigint): void {
    this.now += seconds;
  }

  /** Makes the next block's timestamp at least `timestamp`. */
  advanceTo(timestamp: bigint): void {
    if (timestamp - 1n > this.now) this.now = timestamp - 1n;
  }

  /**
   * Sends one transaction in its own block at the next timestamp, waits for it, traces it and
   * records its gas. Any revert throws: the scenario has no transaction that is meant to fail.
   */
  async tx(
    step: string,
    actor: Actor,
    send: (options: TxOptions) => Promise<Hex>,
    /** The operations the Timelock executes in this transaction, if any. */
    operations?: readonly Operation[],
  ): Promise<TxRecord> {
    const { receipt, trace } = await this.mine(step, actor, send);
    const { top, internal, unidentified } = attributeCalls(trace, operations);
    const contract = contractAt(receipt.to ?? undefined);
    if (!contract || !top) throw new Error(`${step}: not a call of a protocol function (to ${receipt.to})`);
    this.unidentified.push(...unidentified.map((u) => `${step}: ${u}`));
    const record: TxRecord = {
      step,
      contract,
      fn: top.key,
      from: actor.address,
      gasUsed: receipt.gasUsed,
      internal,
    };
    this.records.push(record);
    return record;
  }

  /** A plain OPEN transfer (scenario setup; not recorded). */
  async transfer(actor: Actor, to: Address, value: bigint): Promise<void> {
    await this.mine(`transfer to ${to}`, actor, (o) =>
      actor.ol.walletClient.sendTransaction({ to, value, ...o }),
    );
  }

  private async mine(
    step: string,
    actor: Actor,
    send: (options: TxOptions) => Promise<Hex>,
  ): Promise<{ receipt: TransactionReceipt; trace: CallFrame }> {
    this.now += 1n;
    await this.rpc('evm_setNextBlockTimestamp', [Number(this.now)]);
    const hash = await send(TX_OPTIONS);
    const receipt = await actor.ol.publicClient.waitForTransactionReceipt({
      hash,
      pollingInterval: 10,
      timeout: 60_000,
    });
    const trace = await this.rpc<CallFrame>('debug_traceTransaction', [
      hash,
      { tracer: 'callTracer', tracerConfig: { withLog: true } },
    ]);
    if (receipt.status !== 'success') {
      throw new ScenarioRevert(
        `step "${step}" (${actor.name}, block ${receipt.blockNumber} at ${this.now}) reverted: ${describeFailure(trace)}`,
      );
    }
    const block = await actor.ol.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    if (block.timestamp !== this.now || block.transactions.length !== 1) {
      throw new Error(`step "${step}": expected a block of its own at ${this.now}, got ${block.timestamp}`);
    }
    return { receipt, trace };
  }
}
