import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPublicClient,
  createWalletClient,
  encodeAbiParameters,
  encodeFunctionData,
  hexToBytes,
  http,
  keccak256,
  pad,
  toHex,
} from 'viem';
import type { Hex, TransactionReceipt } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { loadArtifact } from '@openledger/contracts';
import type { Artifact } from '@openledger/contracts';
import { DEV_KEYS, startDevnetProcess } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

// debug_traceTransaction and debug_traceCall against a devnet process, checked for geth's layout.
// The devnet mines only on evm_mine here, so a test decides which transactions share a block.

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);

interface StructLog {
  pc: number;
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  error?: string;
  stack?: string[];
  returnData?: string;
  memory?: string[];
  storage?: Record<string, string>;
  refund?: number;
}

interface StructTrace {
  gas: number;
  failed: boolean;
  returnValue: string;
  structLogs: StructLog[];
}

interface CallFrame {
  type: string;
  from: string;
  to?: string;
  gas: string;
  gasUsed: string;
  input: string;
  output?: string;
  error?: string;
  revertReason?: string;
  value?: string;
  calls?: CallFrame[];
  logs?: { address: string; topics: string[]; data: string; position: string }[];
}

interface RpcFailure {
  code: number;
  message: string;
}

function connect(url: string) {
  const chain = devnetChain;
  return {
    public: createPublicClient({ chain, transport: http(url) }),
    wallet: createWalletClient({ account: alice, chain, transport: http(url) }),
  };
}

let devnet: DevnetProcess;
let playground: Artifact;
let clients: ReturnType<typeof connect>;
let contract: Hex;

async function call<T>(method: string, params: unknown[]): Promise<{ result?: T; error?: RpcFailure }> {
  const response = await fetch(devnet.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as { result?: T; error?: RpcFailure };
}

async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const { result, error } = await call<T>(method, params);
  if (error) throw new Error(`${method}: ${error.code} ${error.message}`);
  return result as T;
}

/** Sends the transactions (alice's, consecutive nonces), mines one block with all of them. */
async function mineTogether(
  txs: { to?: Hex; data?: Hex; value?: bigint; gas?: bigint }[],
): Promise<TransactionReceipt[]> {
  const nonce = await clients.public.getTransactionCount({ address: alice.address, blockTag: 'pending' });
  const hashes: Hex[] = [];
  for (const [i, tx] of txs.entries()) {
    hashes.push(await clients.wallet.sendTransaction({ ...tx, gas: tx.gas ?? 500_000n, nonce: nonce + i }));
  }
  await rpc('evm_mine', []);
  return Promise.all(hashes.map((hash) => clients.public.getTransactionReceipt({ hash })));
}

async function mine(tx: { to?: Hex; data?: Hex; value?: bigint; gas?: bigint }): Promise<TransactionReceipt> {
  return (await mineTogether([tx]))[0]!;
}

function encode(functionName: string, args: unknown[] = []): Hex {
  return encodeFunctionData({ abi: playground.abi, functionName, args });
}

/** The intrinsic gas of a call: 21000 plus 4 per zero and 16 per non-zero calldata byte. */
function intrinsicGas(data: Hex): number {
  return hexToBytes(data).reduce((sum, byte) => sum + (byte === 0 ? 4 : 16), 21_000);
}

const slot = (n: number) => n.toString(16).padStart(64, '0');

beforeAll(async () => {
  [devnet, playground] = await Promise.all([
    startDevnetProcess({ args: ['--block-time', '3600'] }),
    loadArtifact('Playground'),
  ]);
  clients = connect(devnet.url);
  const receipt = await mine({ data: playground.bytecode, gas: 3_000_000n });
  contract = receipt.contractAddress!;
});

afterAll(async () => {
  await devnet?.stop();
});

describe('debug_traceTransaction with the struct logger', () => {
  it('gives a plain transfer no struct logs, only its gas', async () => {
    const receipt = await mine({ to: bob.address, value: 1n, gas: 21_000n });
    const trace = await rpc<StructTrace>('debug_traceTransaction', [receipt.transactionHash]);
    expect(trace).toEqual({ gas: 21000, failed: false, returnValue: '0x', structLogs: [] });
  });

  it('logs each opcode of a contract call with consistent gas, stack and storage', async () => {
    const data = encode('setValue', [42n]);
    const receipt = await mine({ to: contract, data, gas: 200_000n });
    const trace = await rpc<StructTrace>('debug_traceTransaction', [receipt.transactionHash]);
    const logs = trace.structLogs;
    expect(trace.failed).toBe(false);
    expect(trace.gas).toBe(Number(receipt.gasUsed));
    expect(trace.returnValue).toBe('0x');
    expect(logs[0]).toEqual({
      pc: 0,
      op: 'PUSH1',
      gas: 200_000 - intrinsicGas(data),
      gasCost: 3,
      depth: 1,
      stack: [],
    });
    expect(['STOP', 'RETURN']).toContain(logs.at(-1)!.op);
    for (let i = 1; i < logs.length; i++) {
      expect(logs[i]!.depth).toBe(1);
      expect(logs[i]!.gas).toBe(logs[i - 1]!.gas - logs[i - 1]!.gasCost);
      expect(logs[i]!.pc).not.toBe(logs[i - 1]!.pc);
    }
    expect(Object.keys(logs[1]!)).toEqual(['pc', 'op', 'gas', 'gasCost', 'depth', 'stack']);
    expect(logs[1]!.stack).toEqual(['0x80']);
    expect(logs.some((l) => 'memory' in l)).toBe(false);
    const sstore = logs.find((l) => l.op === 'SSTORE')!;
    expect(sstore.stack!.slice(-2)).toEqual(['0x2a', '0x0']);
    expect(sstore.storage).toEqual({ [slot(0)]: slot(42) });
    expect(logs.find((l) => l.op === 'SLOAD')!.storage).toEqual({
      [slot(0)]: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(logs.filter((l) => l.storage !== undefined).map((l) => l.op)).toEqual(['SLOAD', 'SSTORE']);
    expect(logs.filter((l) => l.op.startsWith('LOG'))).toHaveLength(1);
  });

  it('honours enableMemory, disableStack, disableStorage and limit', async () => {
    const receipt = await mine({ to: contract, data: encode('setValue', [7n]) });
    const full = await rpc<StructTrace>('debug_traceTransaction', [
      receipt.transactionHash,
      { enableMemory: true },
    ]);
    const mstore = full.structLogs.findIndex((l) => l.op === 'MSTORE');
    expect(full.structLogs[mstore]!.memory).toBeUndefined();
    expect(full.structLogs[mstore + 1]!.memory).toEqual([slot(0), slot(0), slot(0x80)]);
    const bare = await rpc<StructTrace>('debug_traceTransaction', [
      receipt.transactionHash,
      { disableStack: true, disableStorage: true },
    ]);
    expect(bare.structLogs).toHaveLength(full.structLogs.length);
    expect(bare.structLogs.every((l) => l.stack === undefined && l.storage === undefined)).toBe(true);
    // geth's limit is in bytes of encoded logs: recording stops once they are past it.
    const limited = await rpc<StructTrace>('debug_traceTransaction', [
      receipt.transactionHash,
      { limit: 1000 },
    ]);
    expect(limited.structLogs.length).toBeGreaterThan(3);
    expect(limited.structLogs.length).toBeLessThan(full.structLogs.length);
    expect(limited.structLogs).toEqual(
      full.structLogs.slice(0, limited.structLogs.length).map(({ memory: _, ...l }) => l),
    );
    expect(limited.gas).toBe(full.gas);
  });

  it('reports a revert: the revert data as returnValue, REVERT as the last op', async () => {
    const receipt = await mine({ to: contract, data: encode('failWithReason'), gas: 100_000n });
    expect(receipt.status).toBe('reverted');
    const trace = await rpc<StructTrace>('debug_traceTransaction', [receipt.transactionHash]);
    expect(trace.failed).toBe(true);
    expect(trace.returnValue).toMatch(/^0x08c379a0/);
    expect(trace.structLogs.at(-1)!.op).toBe('REVERT');
    expect(trace.structLogs.at(-1)!.error).toBeUndefined();
  });

  it('marks the failing op of an out-of-gas run and gives no return value', async () => {
    const receipt = await mine({ to: contract, data: encode('burnGasThenCall', [50n]), gas: 30_000n });
    expect(receipt.status).toBe('reverted');
    const trace = await rpc<StructTrace>('debug_traceTransaction', [receipt.transactionHash]);
    expect(trace).toMatchObject({ gas: 30_000, failed: true, returnValue: '0x' });
    const last = trace.structLogs.at(-1)!;
    expect(last.error).toBe('out of gas');
    expect(last.gasCost).toBeGreaterThan(last.gas);
  });

  it('descends into a nested call, counting the gas it hands over as the CALL cost', async () => {
    const receipt = await mine({ to: contract, data: encode('burnGasThenCall', [3n]) });
    const logs = (await rpc<StructTrace>('debug_traceTransaction', [receipt.transactionHash])).structLogs;
    const callAt = logs.findIndex((l) => l.op === 'CALL');
    const call = logs[callAt]!;
    const child = logs[callAt + 1]!;
    expect(call.depth).toBe(1);
    expect(child).toMatchObject({ depth: 2, pc: 0, op: 'PUSH1' });
    // The CALL's cost is its own (warm address, memory) plus the callee's gas, as in geth.
    expect(call.gasCost - child.gas).toBeGreaterThanOrEqual(100);
    expect(call.gasCost - child.gas).toBeLessThan(3000);
    const back = logs.findIndex((l, i) => i > callAt && l.depth === 1);
    const lastChild = logs[back - 1]!;
    expect(lastChild.depth).toBe(2);
    expect(logs[back]!.gas).toBe(call.gas - call.gasCost + lastChild.gas - lastChild.gasCost);
  });

  it('replays the earlier transactions of the block before the traced one', async () => {
    const [first, second] = await mineTogether([
      { to: contract, data: encode('setValue', [5n]) },
      { to: contract, data: encode('setValue', [6n]) },
    ]);
    expect(first!.blockNumber).toBe(second!.blockNumber);
    const logs = (await rpc<StructTrace>('debug_traceTransaction', [second!.transactionHash])).structLogs;
    expect(logs.find((l) => l.op === 'SLOAD')!.storage).toEqual({ [slot(0)]: slot(5) });
    expect(logs.find((l) => l.op === 'SSTORE')!.storage).toEqual({ [slot(0)]: slot(6) });
  });
});

describe('debug_traceTransaction with the callTracer', () => {
  it('nests the call burnGasThenCall makes to itself', async () => {
    const data = encode('burnGasThenCall', [10n]);
    const receipt = await mine({ to: contract, data, gas: 300_000n });
    const trace = await rpc<CallFrame>('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'callTracer' },
    ]);
    const address = contract.toLowerCase();
    expect(Object.keys(trace)).toEqual(['from', 'gas', 'gasUsed', 'to', 'input', 'calls', 'value', 'type']);
    expect(trace).toMatchObject({
      type: 'CALL',
      from: alice.address.toLowerCase(),
      to: address,
      gas: toHex(300_000),
      gasUsed: toHex(receipt.gasUsed),
      input: data,
      value: '0x0',
    });
    expect(trace.calls).toHaveLength(1);
    const inner = trace.calls![0]!;
    expect(inner).toMatchObject({ type: 'CALL', from: address, to: address, value: '0x0' });
    let acc = toHex(10n, { size: 32 });
    for (let i = 0n; i < 10n; i++)
      acc = keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'uint256' }], [acc, i]));
    expect(inner.input).toBe(encode('setValue', [BigInt(acc)]));
    expect(BigInt(inner.gasUsed)).toBeGreaterThan(5_000n);
    expect(BigInt(inner.gasUsed)).toBeLessThan(BigInt(inner.gas));
    expect(inner.calls).toBeUndefined();
    expect(inner.output).toBeUndefined();
  });

  it('adds logs with their position when withLog is set, and only the top call with onlyTopCall', async () => {
    const receipt = await mine({ to: contract, data: encode('burnGasThenCall', [2n]) });
    const withLog = await rpc<CallFrame>('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'callTracer', tracerConfig: { withLog: true } },
    ]);
    expect(withLog.logs).toBeUndefined();
    const [log] = withLog.calls![0]!.logs!;
    expect(log).toMatchObject({ address: contract.toLowerCase(), position: '0x0' });
    expect(log!.topics).toHaveLength(3);
    expect(log!.topics[1]).toBe(pad(contract.toLowerCase() as Hex));
    expect(log!.data).toBe(receipt.logs[0]!.data);
    const top = await rpc<CallFrame>('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'callTracer', tracerConfig: { onlyTopCall: true } },
    ]);
    expect(top.calls).toBeUndefined();
    expect(top.gasUsed).toBe(withLog.gasUsed);
  });

  it('reports a revert with its error, output and decoded reason', async () => {
    const receipt = await mine({ to: contract, data: encode('failWithReason'), gas: 100_000n });
    const trace = await rpc<CallFrame>('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'callTracer' },
    ]);
    expect(trace).toMatchObject({
      type: 'CALL',
      error: 'execution reverted',
      revertReason: 'playground: failed on purpose',
      gasUsed: toHex(receipt.gasUsed),
    });
    expect(trace.output).toMatch(/^0x08c379a0/);
  });

  it('reports a contract creation as CREATE to the new address, with the runtime code as output', async () => {
    const receipt = await mine({ data: playground.bytecode, gas: 3_000_000n });
    const trace = await rpc<CallFrame>('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'callTracer' },
    ]);
    expect(trace).toMatchObject({
      type: 'CREATE',
      to: receipt.contractAddress!.toLowerCase(),
      input: playground.bytecode,
      output: playground.deployedBytecode,
      value: '0x0',
    });
  });
});

describe('debug_traceCall', () => {
  it('traces a call on the latest state like a transaction', async () => {
    const data = encode('burnGasThenCall', [1n]);
    const trace = await rpc<CallFrame>('debug_traceCall', [
      { from: alice.address, to: contract, data, gas: toHex(400_000) },
      'latest',
      { tracer: 'callTracer' },
    ]);
    expect(trace).toMatchObject({ type: 'CALL', gas: toHex(400_000), input: data });
    expect(trace.calls![0]!.type).toBe('CALL');
    const structs = await rpc<StructTrace>('debug_traceCall', [
      { from: alice.address, to: contract, data },
      'latest',
    ]);
    expect(structs.failed).toBe(false);
    expect(structs.structLogs.some((l) => l.depth === 2)).toBe(true);
  });

  it('traces code and storage that exist only in state overrides', async () => {
    const ghost = '0x00000000000000000000000000000000000be5e7';
    const overrides = {
      [ghost]: { code: playground.deployedBytecode, stateDiff: { [pad('0x0')]: pad('0x1234') } },
    };
    const trace = await rpc<CallFrame>('debug_traceCall', [
      { to: ghost, data: encode('value') },
      'latest',
      { tracer: 'callTracer', stateOverrides: overrides },
    ]);
    expect(trace).toMatchObject({ type: 'CALL', to: ghost, output: pad('0x1234') });
    const structs = await rpc<StructTrace>('debug_traceCall', [
      { to: ghost, data: encode('value') },
      'latest',
      { stateOverrides: overrides },
    ]);
    expect(structs.returnValue).toBe(pad('0x1234'));
    expect(structs.structLogs.find((l) => l.op === 'SLOAD')!.storage).toEqual({ [slot(0)]: slot(0x1234) });
  });

  it('names every kind of frame as geth does, on hand-assembled code given as overrides', async () => {
    const [a, b, c, heir] = ['0a', '0b', '0c', 'be'].map(
      (x) => `0x10000000000000000000000000000000000000${x}` as Hex,
    );
    const push20 = (address: Hex) => `73${address.slice(2)}`;
    const zeros = (n: number) => '6000'.repeat(n);
    // b returns 42; c CALLs b (which, inside a STATICCALL, only the opcode tells from a STATICCALL).
    const codeB = '0x602a60005260206000f3';
    const codeC = `0x${zeros(5)}${push20(b!)}5af100`;
    const codeA = `0x${[
      `${zeros(4)}${push20(b!)}5afa50`, // STATICCALL b
      `${zeros(4)}${push20(b!)}5af450`, // DELEGATECALL b
      `${zeros(5)}${push20(b!)}5af250`, // CALLCODE b
      `${zeros(4)}6001${push20(b!)}5af150`, // CALL b with 1 wei
      `6000600160006000f550`, // CREATE2 of the one-byte init code 0x00
      `${zeros(4)}${push20(c!)}5afa50`, // STATICCALL c
      `${push20(heir!)}ff`, // SELFDESTRUCT to heir
    ].join('')}` as Hex;
    const overrides = {
      [a!]: { code: codeA, balance: toHex(1000) },
      [b!]: { code: codeB },
      [c!]: { code: codeC },
    };
    const trace = await rpc<CallFrame>('debug_traceCall', [
      { to: a, gas: toHex(1_000_000) },
      'latest',
      { tracer: 'callTracer', stateOverrides: overrides },
    ]);
    const answer = pad('0x2a');
    const summary = (f: CallFrame) => [f.type, f.from, f.to, f.value, f.output];
    const expected = [
      ['STATICCALL', a, b, undefined, answer],
      ['DELEGATECALL', a, b, '0x0', answer],
      ['CALLCODE', a, b, '0x0', answer],
      ['CALL', a, b, '0x1', answer],
      ['CREATE2', a, expect.stringMatching(/^0x[0-9a-f]{40}$/), '0x0', undefined],
      ['STATICCALL', a, c, undefined, undefined],
      ['SELFDESTRUCT', a, heir, toHex(999), undefined],
    ];
    expect(trace.calls!.map(summary)).toEqual(expected);
    expect(trace.calls![4]!.input).toBe('0x00');
    expect(trace.calls![5]!.calls).toMatchObject([
      { type: 'CALL', from: c, to: b, value: '0x0', output: answer },
    ]);
    expect(trace.calls![6]).toEqual({
      from: a,
      gas: '0x0',
      gasUsed: '0x0',
      to: heir,
      input: '0x',
      value: toHex(999),
      type: 'SELFDESTRUCT',
    });
    // Without SELFDESTRUCT in a's code the tracer skips its steps and names its calls by their messages.
    const quiet = await rpc<CallFrame>('debug_traceCall', [
      { to: a, gas: toHex(1_000_000) },
      'latest',
      {
        tracer: 'callTracer',
        stateOverrides: { ...overrides, [a!]: { code: codeA.slice(0, -44), balance: toHex(1000) } },
      },
    ]);
    expect(quiet.calls!.map(summary)).toEqual(expected.slice(0, 6));
    expect(quiet.calls![5]!.calls).toMatchObject([{ type: 'CALL', from: c, to: b }]);
    // The struct logger agrees on the gas a valued CALL costs: what it hands over, less the stipend.
    const logs = (
      await rpc<StructTrace>('debug_traceCall', [
        { to: a, gas: toHex(1_000_000) },
        'latest',
        { stateOverrides: overrides, enableReturnData: true },
      ])
    ).structLogs;
    // enableReturnData shows what the latest call returned, from the op after it.
    const afterStaticCall = logs[logs.findIndex((l) => l.op === 'STATICCALL') + 1 + 6]!;
    expect(afterStaticCall).toMatchObject({ op: 'POP', depth: 1, returnData: answer });
    expect(logs[0]!.returnData).toBeUndefined();
    const callAt = logs.findIndex((l) => l.op === 'CALL' && l.depth === 1);
    const back = logs.findIndex((l, i) => i > callAt && l.depth === 1);
    const lastChild = logs[back - 1]!;
    expect(logs[callAt + 1]!.gas - (logs[callAt]!.gasCost - 9100)).toBe(2300);
    expect(logs[back]!.gas).toBe(
      logs[callAt]!.gas - logs[callAt]!.gasCost + lastChild.gas - lastChild.gasCost,
    );
    expect(logs.at(-1)!.op).toBe('SELFDESTRUCT');
  });

  it('reports a reverting call in the trace rather than as an error', async () => {
    const trace = await rpc<CallFrame>('debug_traceCall', [
      { from: alice.address, to: contract, data: encode('failWithReason') },
      'latest',
      { tracer: 'callTracer' },
    ]);
    expect(trace).toMatchObject({
      error: 'execution reverted',
      revertReason: 'playground: failed on purpose',
    });
  });
});

describe('debug errors', () => {
  it('answers geth errors for unknown transactions, tracers and timeouts', async () => {
    const unknownTx = await call('debug_traceTransaction', [pad('0x1234')]);
    expect(unknownTx.error).toEqual({ code: -32000, message: 'transaction not found' });
    const receipt = await mine({ to: bob.address, value: 1n });
    const unknownTracer = await call('debug_traceTransaction', [
      receipt.transactionHash,
      { tracer: 'fooTracer' },
    ]);
    expect(unknownTracer.error?.code).toBe(-32000);
    expect(unknownTracer.error?.message).toMatch(/^tracer not found: fooTracer/);
    const badTimeout = await call('debug_traceCall', [{ to: bob.address }, 'latest', { timeout: 'soon' }]);
    expect(badTimeout.error).toEqual({ code: -32000, message: 'time: invalid duration "soon"' });
  });

  it("bounds debug_traceCall by the trace's own timeout", async () => {
    // JUMPDEST PUSH1 0 JUMP: endless but for gas; 50,000,000 gas of it outlasts 200 ms.
    const looper = '0x00000000000000000000000000000000000100ff';
    const loop = [
      { to: looper, gas: '0x2faf080' },
      'latest',
      { tracer: 'callTracer', timeout: '200ms', stateOverrides: { [looper]: { code: '0x5b600056' } } },
    ];
    const started = Date.now();
    const aborted = await call('debug_traceCall', loop);
    expect(aborted.error?.code).toBe(-32000);
    expect(aborted.error?.message).toMatch(/^execution (timeout|aborted \(timeout = 0\.2s\))$/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
