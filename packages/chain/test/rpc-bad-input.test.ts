import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, hexToBytes } from 'viem';
import type { Hex, TransactionSerializable } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import { DEV_KEYS, startDevnetProcess } from './support/devnet-process.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

// Bad input of every kind against a real devnet process: each gets the exact JSON-RPC error of
// docs/rpc.md, and none leaves a trace (the node still answers, nothing is pooled or mined).

const CHAIN_ID = 1612;
const MAX_BODY = 5 * 1024 * 1024;
const GWEI = 1_000_000_000n;

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
/** Never funded on the devnet. */
const pauper = privateKeyToAccount(`0x${'11'.repeat(32)}`);

interface RpcResponse {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

interface HttpAnswer {
  status: number;
  text: string;
  /** A connection error after the answer came (the node closed while the body was still being sent). */
  error?: string;
}

/** Mines on every transaction. */
let devnet: DevnetProcess;
/** Mines once an hour: transactions stay pooled. */
let slowDevnet: DevnetProcess;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  [devnet, slowDevnet] = await Promise.all([
    startDevnetProcess(),
    startDevnetProcess({ args: ['--block-time', '3600'] }),
  ]);
});

afterAll(async () => {
  agent.destroy();
  await Promise.all([devnet?.stop(), slowDevnet?.stop()]);
});

// ---------------------------------------------------------------------------------------------
// Transports

/** Resolves once the exchange is over, so that a connection error after the answer is seen too. */
function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const chunked = headers['transfer-encoding'] === 'chunked';
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: {
          'content-type': 'application/json',
          ...(!chunked && { 'content-length': bytes.length }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on(
          'end',
          () => (answer = { status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        );
      },
    );
    let answer: HttpAnswer | undefined;
    let failure: Error | undefined;
    req.on('timeout', () => req.destroy(new Error('the node did not answer in 10 s')));
    req.on('error', (error) => (failure ??= error));
    req.on('close', () => {
      if (!answer) reject(failure ?? new Error('connection closed without an answer'));
      else resolve(failure ? { ...answer, error: failure.message } : answer);
    });
    if (chunked) {
      // Several writes, so the body arrives in chunks without a declared length.
      for (let at = 0; at < bytes.length; at += 1024 * 1024) req.write(bytes.subarray(at, at + 1024 * 1024));
      req.end();
    } else {
      req.end(bytes);
    }
  });
}

async function postJson(url: string, body: string | Buffer): Promise<unknown> {
  const { status, text, error } = await post(url, body);
  expect({ status, error }).toEqual({ status: 200, error: undefined });
  return JSON.parse(text) as unknown;
}

function call(url: string, method: string, params: unknown[] = [], id: unknown = 1): Promise<unknown> {
  return postJson(url, JSON.stringify({ jsonrpc: '2.0', id, method, params }));
}

async function result<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = (await call(url, method, params)) as RpcResponse;
  if (response.error) throw new Error(`${method}: ${response.error.code} ${response.error.message}`);
  return response.result as T;
}

/** A WebSocket that queues what the node sends, for tests that read answers one by one. */
async function openSocket(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const inbox: string[] = [];
  const waiting: ((text: string) => void)[] = [];
  socket.on('message', (data) => {
    const text = data.toString();
    const next = waiting.shift();
    if (next) next(text);
    else inbox.push(text);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return {
    socket,
    inbox,
    closed,
    send: (text: string | Buffer) => socket.send(text),
    next: (): Promise<unknown> => {
      const queued = inbox.shift();
      if (queued !== undefined) return Promise.resolve(JSON.parse(queued));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no WebSocket answer in 10 s')), 10_000);
        waiting.push((text) => {
          clearTimeout(timer);
          resolve(JSON.parse(text));
        });
      });
    },
    close: () => socket.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Expectations

const rpcError = (id: unknown, code: number, message: string) => ({
  jsonrpc: '2.0',
  id,
  error: { code, message },
});

/** The message JSON.parse gives for `text` in this Node, which the node's own matches. */
function parseErrorOf(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return `parse error: ${(error as Error).message}`;
  }
  throw new Error(`${text} is valid JSON`);
}

interface Trace {
  head: { number: Hex; hash: Hex };
  pool: unknown;
}

async function trace(url: string): Promise<Trace> {
  const block = await result<{ number: Hex; hash: Hex }>(url, 'eth_getBlockByNumber', ['latest', false]);
  return { head: { number: block.number, hash: block.hash }, pool: await result(url, 'txpool_content') };
}

/**
 * Runs `refusal` and checks it left no trace: the node still answers eth_blockNumber, the head
 * is the same block, and the pool holds what it held before.
 */
async function leavesNoTrace(url: string, refusal: () => Promise<void>): Promise<void> {
  const before = await trace(url);
  await refusal();
  expect(await result<Hex>(url, 'eth_blockNumber')).toBe(before.head.number);
  expect(await trace(url)).toEqual(before);
}

// ---------------------------------------------------------------------------------------------
// Transactions

const FEES = { maxFeePerGas: 10n * GWEI, maxPriorityFeePerGas: GWEI };

function transfer(overrides: Partial<TransactionSerializable> = {}): TransactionSerializable {
  return {
    chainId: CHAIN_ID,
    type: 'eip1559',
    nonce: 0,
    to: bob.address,
    value: 1n,
    gas: 21_000n,
    ...FEES,
    ...overrides,
  } as TransactionSerializable;
}

const sign = (account: PrivateKeyAccount, tx: TransactionSerializable) => account.signTransaction(tx);

/** A typed transaction with its signature's r and s replaced (fields 10 and 11 of an EIP-1559 body). */
function withSignature(raw: Hex, r: Uint8Array, s: Uint8Array): Hex {
  const bytes = hexToBytes(raw);
  const fields = RLP.decode(bytes.subarray(1)) as Uint8Array[];
  fields[fields.length - 2] = r;
  fields[fields.length - 1] = s;
  return bytesToHex(new Uint8Array([bytes[0]!, ...RLP.encode(fields)]));
}

function signatureOf(raw: Hex): { r: Uint8Array; s: Uint8Array } {
  const fields = RLP.decode(hexToBytes(raw).subarray(1)) as Uint8Array[];
  return { r: fields[fields.length - 2]!, s: fields[fields.length - 1]! };
}

async function sendRaw(url: string, raw: Hex): Promise<unknown> {
  return call(url, 'eth_sendRawTransaction', [raw]);
}

async function expectRefused(url: string, raw: Hex, message: string): Promise<void> {
  await leavesNoTrace(url, async () => {
    expect(await sendRaw(url, raw)).toEqual(rpcError(1, -32000, message));
  });
}

async function waitForReceipt(url: string, hash: Hex): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await result(url, 'eth_getTransactionReceipt', [hash])) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${hash} was not mined in 15 s`);
}

// ---------------------------------------------------------------------------------------------

describe('malformed JSON-RPC envelopes', () => {
  it('answers malformed JSON with a parse error, over HTTP and WebSocket', async () => {
    const ws = await openSocket(devnet.wsUrl);
    for (const text of ['{"jsonrpc":"2.0","id":1,', '{bad', '[1,]', "{'id':1}", '\u0000']) {
      await leavesNoTrace(devnet.url, async () => {
        expect(await postJson(devnet.url, text)).toEqual(rpcError(null, -32700, parseErrorOf(text)));
        ws.send(text);
        expect(await ws.next()).toEqual(rpcError(null, -32700, parseErrorOf(text)));
      });
    }
    ws.close();
  });

  it('refuses requests that are not objects', async () => {
    for (const body of ['1', '"eth_blockNumber"', 'null', 'true', '[1]', '[[]]']) {
      await leavesNoTrace(devnet.url, async () => {
        const expected = rpcError(null, -32600, 'invalid request: not a JSON object');
        expect(await postJson(devnet.url, body)).toEqual(body.startsWith('[') ? [expected] : expected);
      });
    }
  });

  it('refuses a jsonrpc other than "2.0", bad ids and a method that is not a string', async () => {
    await leavesNoTrace(devnet.url, async () => {
      for (const jsonrpc of ['1.0', 2, null, '2.0 ']) {
        const body = JSON.stringify({ jsonrpc, id: 7, method: 'eth_blockNumber' });
        expect(await postJson(devnet.url, body)).toEqual(
          rpcError(7, -32600, 'invalid request: jsonrpc must be "2.0"'),
        );
      }
      const badId = JSON.stringify({ jsonrpc: '2.0', id: { a: 1 }, method: 'eth_blockNumber' });
      expect(await postJson(devnet.url, badId)).toEqual(rpcError(null, -32600, 'invalid request: bad id'));
      const noMethod = JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 5 });
      expect(await postJson(devnet.url, noMethod)).toEqual(
        rpcError('x', -32600, 'invalid request: method must be a string'),
      );
    });
  });

  it('answers an unknown method with -32601', async () => {
    await leavesNoTrace(devnet.url, async () => {
      for (const method of ['eth_foo', 'ETH_BLOCKNUMBER', 'eth_blockNumber ', '']) {
        expect(await call(devnet.url, method)).toEqual(
          rpcError(1, -32601, `the method ${method} does not exist/is not available`),
        );
      }
    });
  });
});

describe('invalid parameters', () => {
  const address = alice.address.toLowerCase();
  const cases: { name: string; method: string; params: unknown; message: string }[] = [
    {
      name: 'a number where an address is expected',
      method: 'eth_getBalance',
      params: [1234, 'latest'],
      message: 'invalid argument 0: Invalid input: expected string, received number',
    },
    {
      name: 'a 19-byte address',
      method: 'eth_getBalance',
      params: [address.slice(0, -2), 'latest'],
      message: 'invalid argument 0: hex address expected (20 bytes)',
    },
    {
      name: 'a quantity with leading zeros',
      method: 'eth_getTransactionByBlockHashAndIndex',
      params: [`0x${'00'.repeat(32)}`, '0x01'],
      message: 'invalid argument 1: hex quantity expected (0x-prefixed, no leading zeros)',
    },
    {
      name: 'a quantity without 0x',
      method: 'eth_getTransactionByBlockHashAndIndex',
      params: [`0x${'00'.repeat(32)}`, '1'],
      message: 'invalid argument 1: hex quantity expected (0x-prefixed, no leading zeros)',
    },
    {
      name: 'a bad block tag',
      method: 'eth_getBalance',
      params: [address, 'lates'],
      message: 'invalid argument 1: Invalid input',
    },
    {
      name: 'a block number past int64',
      method: 'eth_getBlockByNumber',
      params: [`0x1${'0'.repeat(20)}`, false],
      // Not an internal error (the store keys blocks by 8 bytes); zod's union words it vaguely.
      message: 'invalid argument 0: Invalid input',
    },
    {
      name: 'a storage slot past 32 bytes',
      method: 'eth_getStorageAt',
      params: [address, `0x1${'0'.repeat(64)}`, 'latest'],
      message: 'invalid argument 1: Invalid input',
    },
    {
      name: 'odd-length hex data',
      method: 'web3_sha3',
      params: ['0xabc'],
      message: 'invalid argument 0: hex data expected (0x-prefixed, even length)',
    },
    {
      name: 'a missing argument',
      method: 'eth_getBalance',
      params: [],
      message: 'missing value for required argument 0',
    },
    {
      name: 'null for a required argument',
      method: 'eth_getBlockByHash',
      params: [null, false],
      message: 'missing value for required argument 0',
    },
    {
      name: 'an extra argument',
      method: 'eth_getBalance',
      params: [address, 'latest', 'extra'],
      message: 'too many arguments, want at most 2',
    },
    {
      name: 'an argument to a method that takes none',
      method: 'eth_blockNumber',
      params: ['latest'],
      message: 'too many arguments, want at most 0',
    },
    {
      name: 'params that are not an array',
      method: 'eth_getBalance',
      params: { address },
      message: 'non-array args',
    },
  ];

  for (const { name, method, params, message } of cases) {
    it(`refuses ${name}`, async () => {
      await leavesNoTrace(devnet.url, async () => {
        const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method, params });
        expect(await postJson(devnet.url, body)).toEqual(rpcError(3, -32602, message));
      });
    });
  }
});

describe('limits', () => {
  it('answers a body over 5 MiB with HTTP 413 and keeps serving, declared or chunked', async () => {
    const padded = Buffer.from(
      `{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"pad":"${'x'.repeat(MAX_BODY)}"}`,
    );
    const tooLarge = rpcError(null, -32005, `request body too large: limit is ${MAX_BODY} bytes`);
    // Repeated: a node that closes the connection with the body unread resets it, and the 413 is
    // then lost now and again rather than every time.
    const ways: Record<string, string>[] = [{}, { 'transfer-encoding': 'chunked' }];
    for (const headers of [...ways, ...ways, ...ways]) {
      await leavesNoTrace(devnet.url, async () => {
        const { status, text, error } = await post(devnet.url, padded, headers);
        expect(status).toBe(413);
        expect(JSON.parse(text)).toEqual(tooLarge);
        // The node read the rest of the body rather than reset the connection under the client.
        expect(error).toBeUndefined();
        // The same keep-alive agent, likely the same connection: it still works.
        expect(await call(devnet.url, 'eth_chainId')).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64c' });
      });
    }
    // Just under the limit is read and answered.
    const fits = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`.padEnd(MAX_BODY, ' '));
    expect(await postJson(devnet.url, fits)).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64c' });
  });

  it('closes a WebSocket that sends a message over 5 MiB; a new connection works', async () => {
    await leavesNoTrace(devnet.url, async () => {
      const ws = await openSocket(devnet.wsUrl);
      ws.send(Buffer.alloc(MAX_BODY + 1, 0x20));
      expect((await ws.closed).code).toBe(1009);
      const fresh = await openSocket(devnet.wsUrl);
      fresh.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'eth_chainId' }));
      expect(await fresh.next()).toEqual({ jsonrpc: '2.0', id: 9, result: '0x64c' });
      fresh.close();
    });
  });

  it('refuses a batch over 1,000 items and an empty batch', async () => {
    const batch = (n: number) =>
      JSON.stringify(Array.from({ length: n }, (_, id) => ({ jsonrpc: '2.0', id, method: 'eth_chainId' })));
    await leavesNoTrace(devnet.url, async () => {
      expect(await postJson(devnet.url, batch(1001))).toEqual(
        rpcError(null, -32005, 'batch too large: 1001 items, at most 1000'),
      );
      expect(await postJson(devnet.url, '[]')).toEqual(rpcError(null, -32600, 'empty batch'));
      const answers = (await postJson(devnet.url, batch(1000))) as RpcResponse[];
      expect(answers).toHaveLength(1000);
      expect(answers.map((a) => a.id)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    });
  });
});

describe('batches and notifications', () => {
  const mixed = JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
    { jsonrpc: '2.0', method: 'eth_blockNumber' },
    5,
    { jsonrpc: '2.0', id: 'x', method: 'eth_foo' },
    { jsonrpc: '2.0', method: 'eth_foo' },
    { jsonrpc: '2.0', id: 3, method: 'eth_getBalance', params: [] },
    { jsonrpc: '1.0', id: 4, method: 'eth_chainId' },
    { jsonrpc: '2.0', id: null, method: 'net_version' },
  ]);
  const answers = [
    { jsonrpc: '2.0', id: 1, result: '0x64c' },
    rpcError(null, -32600, 'invalid request: not a JSON object'),
    rpcError('x', -32601, 'the method eth_foo does not exist/is not available'),
    rpcError(3, -32602, 'missing value for required argument 0'),
    rpcError(4, -32600, 'invalid request: jsonrpc must be "2.0"'),
    { jsonrpc: '2.0', id: null, result: String(CHAIN_ID) },
  ];

  it('answers a mixed batch item by item, in order, without answering notifications (HTTP)', async () => {
    await leavesNoTrace(devnet.url, async () => {
      expect(await postJson(devnet.url, mixed)).toEqual(answers);
    });
  });

  it('answers a mixed batch the same over WebSocket', async () => {
    const ws = await openSocket(devnet.wsUrl);
    await leavesNoTrace(devnet.url, async () => {
      ws.send(mixed);
      expect(await ws.next()).toEqual(answers);
    });
    ws.close();
  });

  it('answers nothing to notifications: HTTP 204, and silence over WebSocket', async () => {
    const notifications = [
      { jsonrpc: '2.0', method: 'eth_blockNumber' },
      { jsonrpc: '2.0', method: 'eth_foo' },
      [
        { jsonrpc: '2.0', method: 'eth_chainId' },
        { jsonrpc: '2.0', method: 'eth_getBalance', params: [] },
      ],
    ];
    const ws = await openSocket(devnet.wsUrl);
    await leavesNoTrace(devnet.url, async () => {
      for (const body of notifications) {
        expect(await post(devnet.url, JSON.stringify(body))).toEqual({ status: 204, text: '' });
        ws.send(JSON.stringify(body));
      }
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'eth_chainId' }));
      expect(await ws.next()).toEqual({ jsonrpc: '2.0', id: 'after', result: '0x64c' });
      await new Promise((r) => setTimeout(r, 200));
      expect(ws.inbox).toEqual([]);
    });
    ws.close();
  });
});

describe('raw transactions the pool refuses', () => {
  it('refuses a signature that recovers no sender (r or s damaged)', async () => {
    const raw = await sign(alice, transfer());
    const { r, s } = signatureOf(raw);
    // s above n/2 (EIP-2), r at 2^256 - 1 (past the curve order), and a zero r.
    const highS = Uint8Array.from(s, (byte, i) => (i === 0 ? byte | 0x80 : byte));
    await expectRefused(devnet.url, withSignature(raw, r, highS), 'invalid sender');
    await expectRefused(devnet.url, withSignature(raw, new Uint8Array(32).fill(0xff), s), 'invalid sender');
    await expectRefused(devnet.url, withSignature(raw, new Uint8Array(0), s), 'invalid sender');
  });

  it('refuses another chain id, typed and EIP-155', async () => {
    const message = `invalid chain id for signer: have 1 want ${CHAIN_ID}`;
    await expectRefused(devnet.url, await sign(alice, transfer({ chainId: 1 })), message);
    const legacy = transfer({ chainId: 1, type: 'legacy', gasPrice: 10n * GWEI });
    delete legacy.maxFeePerGas;
    delete legacy.maxPriorityFeePerGas;
    await expectRefused(devnet.url, await sign(alice, legacy), message);
  });

  it('refuses a nonce below the account nonce', async () => {
    const first = (await sendRaw(
      devnet.url,
      await sign(bob, transfer({ to: alice.address })),
    )) as RpcResponse;
    await waitForReceipt(devnet.url, first.result as Hex);
    const again = await sign(bob, transfer({ to: alice.address, value: 2n }));
    await expectRefused(
      devnet.url,
      again,
      `nonce too low: address ${bob.address.toLowerCase()}, tx: 0 state: 1`,
    );
  });

  it('refuses a sender that cannot pay gas * price + value', async () => {
    const want = 1n + 21_000n * FEES.maxFeePerGas;
    await expectRefused(
      devnet.url,
      await sign(pauper, transfer()),
      `insufficient funds for gas * price + value: address ${pauper.address.toLowerCase()} have 0 want ${want}`,
    );
  });

  it('refuses gas above the block gas limit and below the intrinsic gas', async () => {
    await expectRefused(
      devnet.url,
      await sign(alice, transfer({ gas: 30_000_001n })),
      'exceeds block gas limit',
    );
    await expectRefused(
      devnet.url,
      await sign(alice, transfer({ gas: 20_999n })),
      'intrinsic gas too low: gas 20999, minimum needed 21000',
    );
  });

  it('refuses blob transactions', async () => {
    const blob = await sign(
      alice,
      transfer({
        type: 'eip4844',
        blobVersionedHashes: [`0x01${'ab'.repeat(31)}`],
        maxFeePerBlobGas: GWEI,
      } as Partial<TransactionSerializable>),
    );
    expect(blob.startsWith('0x03')).toBe(true);
    await expectRefused(
      devnet.url,
      blob,
      'transaction type not supported: blob transactions need a beacon chain',
    );
    // The type byte alone is enough to be refused.
    await expectRefused(
      devnet.url,
      '0x03c0',
      'transaction type not supported: blob transactions need a beacon chain',
    );
  });

  it('refuses garbage bytes', async () => {
    const cases: [Hex, string][] = [
      ['0x', 'typed transaction too short'],
      ['0xc0ffee', 'rlp: invalid RLP: remainder must be zero'],
      ['0xdeadbeef', 'rlp: invalid RLP'],
      ['0x7f00', 'transaction type not supported'],
      ['0x02c0', 'rlp: Invalid EIP-1559 transaction. Only expecting 9 values'],
    ];
    for (const [raw, message] of cases) await expectRefused(devnet.url, raw, message);
    await leavesNoTrace(devnet.url, async () => {
      expect(await sendRaw(devnet.url, '0xabc' as Hex)).toEqual(
        rpcError(1, -32602, 'invalid argument 0: hex data expected (0x-prefixed, even length)'),
      );
    });
  });

  it('refuses an underpriced replacement and keeps the pooled transaction', async () => {
    const url = slowDevnet.url;
    const original = await sign(alice, transfer());
    const pooled = (await sendRaw(url, original)) as RpcResponse;
    expect(pooled.result).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await result(url, 'txpool_status')).toEqual({ pending: '0x1', queued: '0x0' });
    const bumped = (fee: bigint) => ({
      maxFeePerGas: fee,
      maxPriorityFeePerGas: (fee * GWEI) / FEES.maxFeePerGas,
    });
    // 5 % more is not enough (the pool wants 10 %); neither is the same transaction with a new value.
    await expectRefused(
      url,
      await sign(alice, transfer(bumped((FEES.maxFeePerGas * 105n) / 100n))),
      'replacement transaction underpriced',
    );
    await expectRefused(
      url,
      await sign(alice, transfer({ value: 2n })),
      'replacement transaction underpriced',
    );
    await expectRefused(url, original, 'already known');
    expect(await result(url, 'eth_getTransactionByHash', [pooled.result])).toMatchObject({
      hash: pooled.result,
    });
  });
});

describe('requests that used to hurt the node', () => {
  const contract = '0x00000000000000000000000000000000c0ffee00';
  const withCode = (code: Hex) => ({ [contract]: { code } });

  it('survives a client that goes away in the middle of a body', async () => {
    await leavesNoTrace(devnet.url, async () => {
      const { hostname, port } = new URL(devnet.url);
      const socket = connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":`,
      );
      await new Promise((r) => setTimeout(r, 100));
      socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      expect(devnet.child.exitCode).toBeNull();
    });
  });

  it('caps the gas of a call at 50,000,000 even when the request names more', async () => {
    // JUMPDEST GAS BALANCE POP PUSH1 0 JUMP: an endless loop of cold account reads (2,616 gas a
    // round, so the cap ends it in ~19,000 rounds, well inside the 5 s call timeout); with
    // 2^64 - 1 gas it would run for ages.
    const loop = [{ to: contract, gas: '0xffffffffffffffff' }, 'latest', withCode('0x5b5a3150600056')];
    await leavesNoTrace(devnet.url, async () => {
      expect(await call(devnet.url, 'eth_call', loop)).toEqual(rpcError(1, -32000, 'out of gas'));
      expect(await call(devnet.url, 'eth_estimateGas', loop)).toEqual(
        rpcError(1, -32000, 'gas required exceeds allowance (50000000)'),
      );
    });
  });

  it('names a Panic code past 2^53 as it is', async () => {
    // Reverts with its calldata: Panic(uint256) with the largest code.
    const revert = withCode('0x366000600037366000fd');
    const data = `0x4e487b71${'ff'.repeat(32)}`;
    await leavesNoTrace(devnet.url, async () => {
      expect(await call(devnet.url, 'eth_call', [{ to: contract, data }, 'latest', revert])).toEqual({
        jsonrpc: '2.0',
        id: 1,
        error: { code: 3, message: `execution reverted: unknown panic code (0x${'f'.repeat(64)})`, data },
      });
    });
  });
});
