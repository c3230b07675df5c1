import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Bloom } from '@ethereumjs/vm';
import { hexToBytes } from '@ethereumjs/util';
import {
  createPublicClient,
  createWalletClient,
  http,
  pad,
  parseAbi,
  toEventSelector,
  webSocket,
} from 'viem';
import type { Hex, Log } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { WebSocket } from 'ws';
import { loadArtifact } from '@openledger/contracts';
import type { Chain } from '../src/chain.ts';
import type { Mempool } from '../src/mempool/mempool.ts';
import type { PoolTx } from '../src/mempool/pool-tx.ts';
import type { RawLog } from '../src/storage/receipt-codec.ts';
import { FilterRegistry } from '../src/rpc/filters/filter-registry.ts';
import { bloomMayMatch, logCriteria, matchesLog } from '../src/rpc/filters/log-filter.ts';
import type { LogFilterSpec } from '../src/rpc/filters/log-filter.ts';
import { SubscriptionManager } from '../src/rpc/filters/subscriptions.ts';
import type { Connection } from '../src/rpc/filters/subscriptions.ts';
import { DEV_KEYS, startDevnetProcess } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

// ---------------------------------------------------------------------------------------------
// The matcher, the registry and the subscription manager on their own
// ---------------------------------------------------------------------------------------------

const A = `0x${'aa'.repeat(20)}` as const;
const B = `0x${'bb'.repeat(20)}` as const;
const T1 = `0x${'01'.repeat(32)}` as const;
const T2 = `0x${'02'.repeat(32)}` as const;
const T3 = `0x${'03'.repeat(32)}` as const;

function rawLog(address: Hex, topics: Hex[]): RawLog {
  return [hexToBytes(address), topics.map((t) => hexToBytes(t)), new Uint8Array()];
}

const matches = (spec: LogFilterSpec, log: RawLog) => matchesLog(logCriteria(spec), log);

describe('log matching', () => {
  const log = rawLog(A, [T1, T2]);

  it('matches an address or any address of a list', () => {
    expect(matches({}, log)).toBe(true);
    expect(matches({ address: A }, log)).toBe(true);
    expect(matches({ address: B }, log)).toBe(false);
    expect(matches({ address: [B, A] }, log)).toBe(true);
    expect(matches({ address: [B] }, log)).toBe(false);
  });

  it('matches topics by position, with null, [] and a null inside a list as wildcards', () => {
    expect(matches({ topics: [T1] }, log)).toBe(true);
    expect(matches({ topics: [T2] }, log)).toBe(false);
    expect(matches({ topics: [null, T2] }, log)).toBe(true);
    expect(matches({ topics: [[], T2] }, log)).toBe(true);
    expect(matches({ topics: [[T3, null], T2] }, log)).toBe(true);
    expect(matches({ topics: [null, T1] }, log)).toBe(false);
  });

  it('treats a list at one position as OR, and positions as AND', () => {
    expect(matches({ topics: [[T3, T1]] }, log)).toBe(true);
    expect(matches({ topics: [[T3, T2]] }, log)).toBe(false);
    expect(
      matches(
        {
          topics: [
            [T1, T3],
            [T2, T3],
          ],
        },
        log,
      ),
    ).toBe(true);
    expect(
      matches(
        {
          topics: [
            [T1, T3],
            [T1, T3],
          ],
        },
        log,
      ),
    ).toBe(false);
    expect(matches({ address: [A, B], topics: [T1, [T2]] }, log)).toBe(true);
  });

  it('never matches a log with fewer topics than the filter names, even with wildcards', () => {
    expect(matches({ topics: [T1, T2, null] }, log)).toBe(false);
    expect(matches({ topics: [null, null] }, log)).toBe(true);
  });

  it('rules out a block by its bloom only when no log in it can match', () => {
    const bloom = new Bloom();
    bloom.add(hexToBytes(A));
    bloom.add(hexToBytes(T1));
    const bits = bloom.bitvector;
    expect(bloomMayMatch(logCriteria({}), bits)).toBe(true);
    expect(bloomMayMatch(logCriteria({ address: A, topics: [T1] }), bits)).toBe(true);
    expect(bloomMayMatch(logCriteria({ address: [B, A] }), bits)).toBe(true);
    expect(bloomMayMatch(logCriteria({ address: B }), bits)).toBe(false);
    expect(bloomMayMatch(logCriteria({ topics: [null, [T2, T3]] }), bits)).toBe(false);
    expect(bloomMayMatch(logCriteria({ topics: [null, [T2, T1]] }), bits)).toBe(true);
    // A block without logs has an empty bloom: nothing to read, whatever the filter.
    expect(bloomMayMatch(logCriteria({}), new Uint8Array(256))).toBe(false);
  });
});

function fakeEvents() {
  const chainEvents = new EventEmitter() as Chain['events'];
  const mempoolEvents = new EventEmitter() as Mempool['events'];
  // Only the hash of a pooled transaction matters to a filter that is not asked for full ones.
  const pending = (hash: string) => mempoolEvents.emit('added', { hash } as unknown as PoolTx);
  return { chainEvents, mempoolEvents, pending };
}

describe('filter registry', () => {
  afterEach(() => void vi.useRealTimers());

  it('hands out geth-style ids and keeps only the newest changes of a filter nobody reads', () => {
    const { chainEvents, mempoolEvents, pending } = fakeEvents();
    const registry = new FilterRegistry(chainEvents, mempoolEvents, {
      maxFilters: 10,
      maxChanges: 3,
      timeoutMs: 60_000,
    });
    const id = registry.installPendingTransactions(false);
    expect(id).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$/);
    for (const hash of ['0x1', '0x2', '0x3', '0x4', '0x5']) pending(hash);
    expect(registry.takeChanges(id)).toEqual(['0x3', '0x4', '0x5']);
    expect(registry.takeChanges(id)).toEqual([]);
  });

  it('refuses filters past the limit, and listens only while a filter is installed', () => {
    const { chainEvents, mempoolEvents } = fakeEvents();
    const registry = new FilterRegistry(chainEvents, mempoolEvents, {
      maxFilters: 2,
      maxChanges: 3,
      timeoutMs: 60_000,
    });
    const first = registry.installBlocks();
    const second = registry.installPendingTransactions(true);
    expect(() => registry.installBlocks()).toThrow('too many filters installed, at most 2');
    expect(chainEvents.listenerCount('block')).toBe(1);
    expect(registry.uninstall(first)).toBe(true);
    expect(registry.uninstall(first)).toBe(false);
    expect(registry.uninstall(second)).toBe(true);
    expect(chainEvents.listenerCount('block')).toBe(0);
    expect(mempoolEvents.listenerCount('added')).toBe(0);
  });

  it('forgets a filter that was not polled within the deadline, and a poll resets it', () => {
    vi.useFakeTimers();
    const { chainEvents, mempoolEvents } = fakeEvents();
    const registry = new FilterRegistry(chainEvents, mempoolEvents);
    const polled = registry.installBlocks();
    const idle = registry.installBlocks();
    vi.advanceTimersByTime(4 * 60_000);
    registry.takeChanges(polled);
    vi.advanceTimersByTime(2 * 60_000);
    expect(registry.takeChanges(polled)).toEqual([]);
    expect(() => registry.takeChanges(idle)).toThrow('filter not found');
    vi.advanceTimersByTime(6 * 60_000);
    // The sweep removed the last one without a poll, and with it the chain listener.
    expect(registry.size).toBe(0);
    expect(chainEvents.listenerCount('block')).toBe(0);
  });
});

describe('subscription manager', () => {
  it('drops a connection’s subscriptions when it closes, and only its owner can cancel one', () => {
    const { chainEvents, mempoolEvents, pending } = fakeEvents();
    const manager = new SubscriptionManager(chainEvents, mempoolEvents, 2);
    const closers: (() => void)[] = [];
    const sent: unknown[] = [];
    const conn: Connection = { id: 1, notify: (m) => sent.push(m), onClose: (fn) => closers.push(fn) };
    const other: Connection = { id: 2, notify: () => {}, onClose: () => {} };
    const id = manager.subscribe(conn, { kind: 'newPendingTransactions', full: false });
    manager.subscribe(conn, { kind: 'newHeads' });
    expect(() => manager.subscribe(conn, { kind: 'newHeads' })).toThrow('too many subscriptions');
    pending('0xabc');
    expect(sent).toEqual([
      { jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: id, result: '0xabc' } },
    ]);
    expect(manager.unsubscribe(other, id)).toBe(false);
    expect(closers).toHaveLength(1);
    closers[0]!();
    expect(manager.size).toBe(0);
    expect(chainEvents.listenerCount('block')).toBe(0);
    expect(mempoolEvents.listenerCount('added')).toBe(0);
  });
});

describe('subscription delivery', () => {
  it('ends a subscription whose delivery throws instead of failing the event that fed it', () => {
    const { chainEvents, mempoolEvents, pending } = fakeEvents();
    const manager = new SubscriptionManager(chainEvents, mempoolEvents);
    const broken: Connection = {
      id: 1,
      notify: () => {
        throw new Error('socket gone');
      },
      onClose: () => {},
    };
    manager.subscribe(broken, { kind: 'newPendingTransactions', full: false });
    expect(() => pending('0xabc')).not.toThrow();
    expect(manager.size).toBe(0);
    expect(mempoolEvents.listenerCount('added')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a real devnet process, with viem and raw JSON-RPC
// ---------------------------------------------------------------------------------------------

const events = parseAbi([
  'event ValueChanged(address indexed who, uint256 indexed oldValue, uint256 newValue)',
  'event Ping(uint256 indexed i, bytes32 data)',
  'function setValue(uint256 newValue)',
  'function emitMany(uint256 n)',
]);
const valueChanged = events[0];
const ping = events[1];

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
const chain = devnetChain;

interface RpcReply {
  result?: unknown;
  error?: { code: number; message: string };
}

let devnet: DevnetProcess;
let playground: Hex;
/** Blocks of the setup transactions: deploy, alice's setValue(7), bob's setValue(8), emitMany(4). */
let blocks: { deploy: bigint; alice: bigint; bob: bigint; pings: bigint };

// The devnet mines on arrival: poll receipts every 50 ms instead of viem's default 4 s.
const publicClient = () => createPublicClient({ chain, transport: http(devnet.url), pollingInterval: 50 });
const wallet = (account = alice) => createWalletClient({ account, chain, transport: http(devnet.url) });

async function rpc(method: string, params: unknown[] = []): Promise<RpcReply> {
  const response = await fetch(devnet.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as RpcReply;
}

/** Sends and waits for the receipt; `gas` skips estimation, a search that is slow for big calls. */
async function send(functionName: 'setValue' | 'emitMany', arg: bigint, account = alice, gas?: bigint) {
  const hash = await wallet(account).writeContract({
    address: playground,
    abi: events,
    functionName,
    args: [arg],
    gas,
  });
  return publicClient().waitForTransactionReceipt({ hash });
}

async function waitFor<T>(read: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A bare WebSocket JSON-RPC client that records every notification. */
async function rawSocket(url: string) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const replies = new Map<number, RpcReply>();
  const notifications: { subscription: string; result: unknown }[] = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString()) as RpcReply & {
      id?: number;
      params?: (typeof notifications)[0];
    };
    if (message.id !== undefined) replies.set(message.id, message);
    else if (message.params) notifications.push(message.params);
  });
  let nextId = 1;
  return {
    notifications,
    async call(method: string, params: unknown[] = []): Promise<RpcReply> {
      const id = nextId++;
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      return waitFor(() => replies.get(id), `a reply to ${method}`);
    },
    close: () => socket.close(),
  };
}

describe('logs, filters and subscriptions against a devnet process', () => {
  beforeAll(async () => {
    const [process, artifact] = await Promise.all([startDevnetProcess(), loadArtifact('Playground')]);
    devnet = process;
    const deployHash = await wallet().deployContract({
      abi: artifact.abi,
      bytecode: artifact.bytecode,
      chain,
    });
    const deployed = await publicClient().waitForTransactionReceipt({ hash: deployHash });
    playground = deployed.contractAddress!;
    const a = await send('setValue', 7n);
    const b = await send('setValue', 8n, bob);
    const p = await send('emitMany', 4n);
    blocks = { deploy: deployed.blockNumber, alice: a.blockNumber, bob: b.blockNumber, pings: p.blockNumber };
  });

  afterAll(async () => {
    await devnet?.stop();
  });

  it('finds events with getContractEvents by indexed argument, OR-list and block range', async () => {
    const client = publicClient();
    const all = await client.getContractEvents({
      address: playground,
      abi: events,
      eventName: 'ValueChanged',
      fromBlock: blocks.deploy,
    });
    expect(all.map((l) => [l.args.who, l.args.oldValue, l.args.newValue])).toEqual([
      [alice.address, 0n, 7n],
      [bob.address, 7n, 8n],
    ]);
    const byBob = await client.getContractEvents({
      address: playground,
      abi: events,
      eventName: 'ValueChanged',
      args: { who: bob.address },
      fromBlock: 0n,
    });
    expect(byBob.map((l) => l.blockNumber)).toEqual([blocks.bob]);
    const either = await client.getContractEvents({
      address: playground,
      abi: events,
      eventName: 'ValueChanged',
      args: { oldValue: [0n, 7n] },
      fromBlock: 0n,
    });
    expect(either).toHaveLength(2);
    const onlyAliceBlock = await client.getContractEvents({
      address: playground,
      abi: events,
      eventName: 'ValueChanged',
      fromBlock: blocks.alice,
      toBlock: blocks.alice,
    });
    expect(onlyAliceBlock.map((l) => l.args.who)).toEqual([alice.address]);
    // No fromBlock/toBlock: the head block only, which holds the pings.
    expect(
      await client.getContractEvents({ address: playground, abi: events, eventName: 'ValueChanged' }),
    ).toEqual([]);
  });

  it('numbers logs within their block and returns what the receipt holds', async () => {
    const logs = await publicClient().getLogs({
      address: playground,
      event: ping,
      fromBlock: blocks.pings,
      toBlock: blocks.pings,
    });
    expect(logs.map((l) => [l.logIndex, l.args.i])).toEqual([
      [0, 0n],
      [1, 1n],
      [2, 2n],
      [3, 3n],
    ]);
    const raw = await rpc('eth_getLogs', [{ blockHash: logs[0]!.blockHash }]);
    const receipt = await rpc('eth_getTransactionReceipt', [logs[0]!.transactionHash]);
    expect(raw.result).toEqual((receipt.result as { logs: unknown[] }).logs);
  });

  it('filters raw eth_getLogs by address list, positional wildcard and topic OR-list', async () => {
    const other = `0x${'12'.repeat(20)}`;
    const fromBlock = `0x${blocks.deploy.toString(16)}`;
    const byBob = await rpc('eth_getLogs', [
      { fromBlock, address: [other, playground], topics: [null, pad(bob.address).toLowerCase()] },
    ]);
    expect((byBob.result as Log[]).map((l) => l.blockNumber)).toEqual([`0x${blocks.bob.toString(16)}`]);
    const both = await rpc('eth_getLogs', [
      { fromBlock, topics: [[toEventSelector(valueChanged), toEventSelector(ping)]] },
    ]);
    expect(both.result).toHaveLength(6);
    const none = await rpc('eth_getLogs', [{ fromBlock, address: other }]);
    expect(none.result).toEqual([]);
  });

  it('polls an event filter, a block filter and a pending-transaction filter', async () => {
    const client = publicClient();
    const filter = await client.createEventFilter({
      address: playground,
      event: ping,
      fromBlock: blocks.deploy,
    });
    const blockFilter = await client.createBlockFilter();
    const txFilter = await client.createPendingTransactionFilter();
    const receipt = await send('emitMany', 3n);
    const changes = await client.getFilterChanges({ filter });
    expect(changes.map((l) => l.args.i)).toEqual([0n, 1n, 2n]);
    expect(await client.getFilterChanges({ filter })).toEqual([]);
    // eth_getFilterLogs reruns the filter over its range: the four earlier pings and these three.
    expect(await client.getFilterLogs({ filter })).toHaveLength(7);
    expect(await client.getFilterChanges({ filter: blockFilter })).toContain(receipt.blockHash);
    expect(await client.getFilterChanges({ filter: txFilter })).toContain(receipt.transactionHash);
    expect(await client.uninstallFilter({ filter })).toBe(true);
    expect(await client.uninstallFilter({ filter })).toBe(false);
  });

  it('pushes events, heads and pending transactions over a WebSocket subscription', async () => {
    const client = createPublicClient({ chain, transport: webSocket(devnet.wsUrl) });
    const logs: Log[] = [];
    const heads: bigint[] = [];
    const pending: Hex[] = [];
    // viem subscribes in the background, sending eth_subscribe in call order on one socket; once
    // the last one (newHeads) reports a block, the earlier two are in place as well.
    const unwatch = [
      client.watchPendingTransactions({ poll: false, onTransactions: (h) => pending.push(...h) }),
      client.watchContractEvent({
        address: playground,
        abi: events,
        eventName: 'ValueChanged',
        args: { who: bob.address },
        poll: false,
        onLogs: (l) => logs.push(...l),
      }),
      client.watchBlocks({ poll: false, onBlock: (b) => heads.push(b.number) }),
    ];
    for (let tries = 0; heads.length === 0; tries++) {
      if (tries === 100) throw new Error('newHeads never arrived');
      await rpc('evm_mine');
      await new Promise((r) => setTimeout(r, 50));
    }
    await send('setValue', 1n); // alice: filtered out by `who`
    const receipt = await send('setValue', 2n, bob);
    const log = await waitFor(() => logs[0], 'the ValueChanged notification');
    expect(logs).toHaveLength(1);
    expect(log.transactionHash).toBe(receipt.transactionHash);
    await waitFor(() => (heads.includes(receipt.blockNumber) ? true : undefined), 'the new head');
    await waitFor(() => (pending.includes(receipt.transactionHash) ? true : undefined), 'the pending hash');
    unwatch.forEach((stop) => stop());
    await client.transport.getRpcClient().then((c) => c.close());
  });

  it('sends geth-shaped newHeads and full pending transactions, and ends subscriptions on unsubscribe', async () => {
    const socket = await rawSocket(devnet.wsUrl);
    const heads = (await socket.call('eth_subscribe', ['newHeads'])).result as string;
    const txs = (await socket.call('eth_subscribe', ['newPendingTransactions', true])).result as string;
    expect(heads).toMatch(/^0x[0-9a-f]+$/);
    const receipt = await send('setValue', 3n);
    const header = await waitFor(
      () =>
        socket.notifications.find((n) => n.subscription === heads)?.result as
          Record<string, unknown> | undefined,
      'a newHeads notification',
    );
    const block = (await rpc('eth_getBlockByNumber', [`0x${receipt.blockNumber.toString(16)}`, false]))
      .result as Record<string, unknown>;
    const { transactions: _t, uncles: _u, size: _s, withdrawals: _w, ...expected } = block;
    expect(header).toEqual(expected);
    const tx = await waitFor(
      () =>
        socket.notifications.find((n) => n.subscription === txs)?.result as
          Record<string, unknown> | undefined,
      'a full pending transaction',
    );
    expect(tx).toMatchObject({
      hash: receipt.transactionHash,
      blockHash: null,
      to: playground.toLowerCase(),
    });
    expect((await socket.call('eth_unsubscribe', [heads])).result).toBe(true);
    expect((await socket.call('eth_unsubscribe', [heads])).error).toEqual({
      code: -32000,
      message: 'subscription not found',
    });
    expect((await socket.call('eth_subscribe', ['syncingz'])).error?.code).toBe(-32601);
    socket.close();
  });

  it('keeps filters and subscriptions working across evm_revert', async () => {
    const client = publicClient();
    const filter = await client.createContractEventFilter({
      address: playground,
      abi: events,
      eventName: 'ValueChanged',
    });
    const socket = await rawSocket(devnet.wsUrl);
    const sub = (
      await socket.call('eth_subscribe', [
        'logs',
        { address: playground, topics: [toEventSelector(valueChanged)] },
      ])
    ).result as string;
    const snapshot = (await rpc('evm_snapshot')).result;
    await send('setValue', 100n);
    expect((await rpc('evm_revert', [snapshot])).result).toBe(true);
    await client.getFilterChanges({ filter });
    await send('setValue', 200n);
    const changes = await client.getFilterChanges({ filter });
    expect(changes.map((l) => [l.args.newValue, l.removed])).toEqual([[200n, false]]);
    await waitFor(() => (socket.notifications.length === 2 ? true : undefined), 'two log notifications');
    const values = socket.notifications.map((n) => {
      const log = n.result as { data: Hex; removed: boolean };
      expect(n.subscription).toBe(sub);
      expect(log.removed).toBe(false);
      return BigInt(log.data);
    });
    expect(values).toEqual([100n, 200n]);
    socket.close();
  });

  it('answers geth’s errors for bad ranges, unknown blocks and filters, and subscriptions over HTTP', async () => {
    const head = await publicClient().getBlockNumber();
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    expect((await rpc('eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x2' }])).error).toEqual({
      code: -32602,
      message: 'invalid block range params',
    });
    expect((await rpc('eth_getLogs', [{ fromBlock: hex(head + 1n) }])).error).toEqual({
      code: -32602,
      message: 'block range extends beyond current head block',
    });
    expect((await rpc('eth_getLogs', [{ blockHash: `0x${'ab'.repeat(32)}` }])).error).toEqual({
      code: -32000,
      message: 'unknown block',
    });
    expect((await rpc('eth_getFilterChanges', ['0x1234abcd'])).error).toEqual({
      code: -32000,
      message: 'filter not found',
    });
    expect((await rpc('eth_getFilterLogs', ['0x1234abcd'])).error).toEqual({
      code: -32000,
      message: 'filter not found',
    });
    expect((await rpc('eth_uninstallFilter', ['0x1234abcd'])).result).toBe(false);
    expect((await rpc('eth_subscribe', ['newHeads'])).error).toEqual({
      code: -32601,
      message: 'notifications not supported',
    });
    const blockFilter = (await rpc('eth_newBlockFilter')).result;
    expect((await rpc('eth_getFilterLogs', [blockFilter])).error?.message).toBe('filter not found');
  });

  it('refuses a range of more than 10,000 blocks, and scans exactly 10,000 with blooms', async () => {
    await rpc('evm_mine', [{ blocks: '0x2710' }]);
    const head = await publicClient().getBlockNumber();
    expect(head).toBeGreaterThan(10_000n);
    expect((await rpc('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }])).error).toEqual({
      code: -32005,
      message: 'query exceeds max block range 10000',
    });
    // A range reaching past the head is cut at the head, as in geth, and counted after the cut.
    const started = performance.now();
    const logs = await rpc('eth_getLogs', [
      { fromBlock: `0x${(head - 9_999n).toString(16)}`, toBlock: '0xffffffff' },
    ]);
    const scanMs = performance.now() - started;
    expect(logs.result).toEqual([]);
    console.log(`eth_getLogs over 10,000 empty blocks: ${scanMs.toFixed(0)} ms`);
    const early = await rpc('eth_getLogs', [{ fromBlock: '0x0', toBlock: '0x270f', address: playground }]);
    expect((early.result as unknown[]).length).toBeGreaterThan(0);
  }, 300_000);
  it('refuses an answer of more than 20,000 logs, naming the part of the range that fits', async () => {
    const started = performance.now();
    const first = await send('emitMany', 10_001n, alice, 25_000_000n);
    const second = await send('emitMany', 10_001n, alice, 25_000_000n);
    expect([first.status, second.status]).toEqual(['success', 'success']);
    console.log(`two blocks of 10,001 logs mined in ${(performance.now() - started).toFixed(0)} ms`);
    const hex = (n: bigint) => `0x${n.toString(16)}`;
    const queried = performance.now();
    const one = await rpc('eth_getLogs', [
      { fromBlock: hex(first.blockNumber), toBlock: hex(first.blockNumber) },
    ]);
    console.log(`eth_getLogs of one block with 10,001 logs: ${(performance.now() - queried).toFixed(0)} ms`);
    expect(one.result).toHaveLength(10_001);
    expect(
      (await rpc('eth_getLogs', [{ fromBlock: hex(first.blockNumber), toBlock: hex(second.blockNumber) }]))
        .error,
    ).toEqual({
      code: -32005,
      message: `query exceeds max results 20000, retry with the range ${first.blockNumber}-${second.blockNumber - 1n}`,
    });
  }, 60_000);
});
