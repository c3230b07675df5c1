import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  http,
  pad,
  parseEther,
  parseGwei,
  toHex,
} from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { RLP } from '@ethereumjs/rlp';
import { bigIntToUnpaddedBytes, bytesToBigInt, concatBytes } from '@ethereumjs/util';
import { loadArtifact } from '@openledger/contracts';
import { Chain } from '../src/chain.ts';
import {
  HISTORY_STORAGE,
  PRAGUE_SYSTEM_CONTRACTS,
  WITHDRAWAL_REQUESTS,
  CONSOLIDATION_REQUESTS,
} from '../src/genesis/system-contracts.ts';
import { readRlpItems } from '../src/import/rlp-chain.ts';
import { DEV_KEYS, startDevnetProcess } from './support/devnet-process.ts';
import { devnetChain } from './support/viem-chain.ts';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const cli = join(repoRoot, 'packages/cli/src/main.ts');

const alice = privateKeyToAccount(DEV_KEYS[0]);
const bob = privateKeyToAccount(DEV_KEYS[1]);
const carol = privateKeyToAccount(DEV_KEYS[2]);
const chain = devnetChain;
const EMPTY_REQUESTS_HASH = '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `openledger` CLI to completion as a child process. */
function runCli(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
    cwd: repoRoot,
    env: { ...process.env, OPENLEDGER_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
}

interface Served {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** `openledger import --serve` as a child process, once its banner says it listens. */
async function importAndServe(args: string[]): Promise<Served> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'import', ...args, '--serve', '--port', '0'],
    {
      cwd: repoRoot,
      env: { ...process.env, OPENLEDGER_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /JSON-RPC\s+(http:\/\/\S+)/.exec(stdout);
      if (match && stdout.includes('Listening.')) done(match[1]!);
    });
    void exited.then((code) => fail(new Error(`import --serve exited with ${code}\n${stdout}\n${stderr}`)));
  });
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

type Request = [method: string, params: unknown[]];

async function rawAnswer(url: string, [method, params]: Request): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return response.text();
}

async function rpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const body = JSON.parse(await rawAnswer(url, [method, params])) as { result?: T; error?: unknown };
  if (body.error !== undefined) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result as T;
}

/** Every request/answer pair, with the answer exactly as the node sent it. */
async function answers(url: string, requests: Request[]): Promise<{ request: string; body: string }[]> {
  const out = [];
  for (const request of requests)
    out.push({ request: JSON.stringify(request), body: await rawAnswer(url, request) });
  return out;
}

/** A chain with every transaction type, a contract with events, a revert, and system-contract traffic. */
async function buildChain(url: string): Promise<{ txs: Hex[]; playground: Address; deployBlock: bigint }> {
  const pub = createPublicClient({ chain, transport: http(url), pollingInterval: 50 });
  const wallet = (account = alice) => createWalletClient({ account, chain, transport: http(url) });
  const txs: Hex[] = [];
  const mined = async (hashes: Hex[]) => {
    txs.push(...hashes);
    return Promise.all(hashes.map((hash) => pub.waitForTransactionReceipt({ hash })));
  };

  // Transfers of each signed type, sent in one JSON-RPC batch so that they share a block.
  const fees = { maxFeePerGas: parseGwei('20'), maxPriorityFeePerGas: parseGwei('1') };
  const common = { chainId: chain.id, gas: 30_000n };
  const signed = [
    await alice.signTransaction({
      ...common,
      to: carol.address,
      value: parseEther('1'),
      type: 'legacy',
      gasPrice: parseGwei('20'),
      nonce: 0,
    }),
    await alice.signTransaction({
      ...common,
      to: carol.address,
      value: 2n,
      type: 'eip2930',
      gasPrice: parseGwei('20'),
      accessList: [{ address: bob.address, storageKeys: [pad('0x01')] }],
      nonce: 1,
    }),
    await alice.signTransaction({
      ...common,
      ...fees,
      to: carol.address,
      value: 3n,
      type: 'eip1559',
      nonce: 2,
    }),
    await bob.signTransaction({
      ...common,
      ...fees,
      to: alice.address,
      value: parseEther('0.5'),
      type: 'eip1559',
      nonce: 0,
    }),
  ];
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      signed.map((raw, id) => ({ jsonrpc: '2.0', id, method: 'eth_sendRawTransaction', params: [raw] })),
    ),
  });
  const sent = (await response.json()) as { result: Hex }[];
  const transfers = await mined(sent.map((r) => r.result));
  expect(new Set(transfers.map((r) => r.blockNumber)).size).toBeLessThan(transfers.length);

  const artifact = await loadArtifact('Playground');
  const [deployed] = await mined([
    await wallet().deployContract({ abi: artifact.abi, bytecode: artifact.bytecode }),
  ]);
  const playground = deployed!.contractAddress!;
  const call = (functionName: string, args: unknown[] = []) =>
    encodeFunctionData({ abi: artifact.abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]);

  await mined([await wallet().sendTransaction({ to: playground, data: call('setValue', [42n]) })]);
  await mined([
    await wallet(bob).sendTransaction({ to: playground, data: call('emitMany', [3n]) }),
    await wallet(carol).sendTransaction({ to: playground, data: call('deposit'), value: 5n }),
  ]);
  await mined([await wallet().sendTransaction({ to: playground, data: call('fill', [4n]) })]);
  await mined([await wallet().sendTransaction({ to: playground, data: call('clear', [4n]) })]);
  await mined([await wallet().sendTransaction({ to: playground, data: call('burnGasThenCall', [5n]) })]);
  // A revert that is mined: explicit gas, so nothing estimates (and refuses) it first.
  const [reverted] = await mined([
    await wallet().sendTransaction({ to: playground, data: call('failWithReason'), gas: 100_000n }),
  ]);
  expect(reverted!.status).toBe('reverted');

  // EIP-7702: carol delegates her account to the Playground code; alice calls into carol.
  const authorization = await carol.signAuthorization({
    address: playground,
    chainId: chain.id,
    nonce: await pub.getTransactionCount({ address: carol.address }),
  });
  const [delegated] = await mined([
    await wallet().sendTransaction({
      to: carol.address,
      data: call('setValue', [7n]),
      authorizationList: [authorization],
      type: 'eip7702',
      gas: 200_000n,
    }),
  ]);
  expect(delegated!.logs[0]!.address.toLowerCase()).toBe(carol.address.toLowerCase());

  // EIP-7002 / EIP-7251 requests: queued by a transaction, drained into the block's requestsHash.
  const pubkey = (byte: number) => new Uint8Array(48).fill(byte);
  const [withdrawal, consolidation] = await mined([
    await wallet(bob).sendTransaction({
      to: WITHDRAWAL_REQUESTS.address,
      data: toHex(concatBytes(pubkey(0xaa), new Uint8Array(8).fill(1))),
      value: 1n,
      gas: 300_000n,
    }),
    await wallet(carol).sendTransaction({
      to: CONSOLIDATION_REQUESTS.address,
      data: toHex(concatBytes(pubkey(0xbb), pubkey(0xcc))),
      value: 1n,
      gas: 300_000n,
    }),
  ]);
  for (const receipt of [withdrawal!, consolidation!]) {
    expect(receipt.status).toBe('success');
    const block = await rpc<{ requestsHash: Hex }>(url, 'eth_getBlockByNumber', [
      toHex(receipt.blockNumber),
      false,
    ]);
    expect(block.requestsHash).not.toBe(EMPTY_REQUESTS_HASH);
  }
  await mined([await wallet().sendTransaction({ to: bob.address, value: 1n })]);
  return { txs, playground, deployBlock: deployed!.blockNumber };
}

function requestsFor(head: bigint, blockHashes: Hex[], txs: Hex[], accounts: Address[]): Request[] {
  const requests: Request[] = [
    ['eth_chainId', []],
    ['eth_blockNumber', []],
    ['eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]],
    ['eth_feeHistory', [toHex(head + 1n), 'latest', [10, 50, 90]]],
  ];
  for (let n = 0n; n <= head; n++) {
    requests.push(['eth_getBlockByNumber', [toHex(n), true]]);
    requests.push(['eth_getBlockReceipts', [toHex(n)]]);
  }
  for (const hash of blockHashes) requests.push(['eth_getBlockByHash', [hash, false]]);
  for (const hash of txs) {
    requests.push(['eth_getTransactionReceipt', [hash]]);
    requests.push(['eth_getTransactionByHash', [hash]]);
  }
  const slots = [pad('0x0'), pad('0x1'), pad('0x2'), pad('0x3'), pad('0x4')];
  const at = [0n, head / 3n, (2n * head) / 3n, head - 1n, head].map((n) => toHex(n));
  for (const block of at) {
    for (const address of accounts) {
      requests.push(['eth_getProof', [address, slots, block]]);
      requests.push(['eth_getBalance', [address, block]]);
      requests.push(['eth_getTransactionCount', [address, block]]);
      requests.push(['eth_getCode', [address, block]]);
    }
  }
  // EIP-2935 served from state: the history contract answers the parent's hash.
  requests.push(['eth_call', [{ to: HISTORY_STORAGE.address, data: pad(toHex(head - 1n)) }, 'latest']]);
  return requests;
}

let work: string;
let sourceDir: string;
let exported: string;
let genesisFile: string;
let recorded: { request: string; body: string }[];
let requests: Request[];
let head: bigint;
let tamperAt: bigint;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'openledger-import-'));
  const original = await startDevnetProcess({ keepData: true });
  sourceDir = original.dataDir;
  try {
    const { txs, playground, deployBlock } = await buildChain(original.url);
    tamperAt = deployBlock;
    head = BigInt(await rpc<Hex>(original.url, 'eth_blockNumber', []));
    const blockHashes: Hex[] = [];
    for (let n = 0n; n <= head; n++)
      blockHashes.push(
        (await rpc<{ hash: Hex }>(original.url, 'eth_getBlockByNumber', [toHex(n), false])).hash,
      );
    const accounts = [
      alice.address,
      bob.address,
      carol.address,
      playground,
      ...PRAGUE_SYSTEM_CONTRACTS.map((c) => c.address),
    ];
    requests = requestsFor(head, blockHashes, txs, accounts);
    recorded = await answers(original.url, requests);
    // Every request is answered with a result: a comparison of errors would prove little.
    expect(recorded.filter((a) => !a.body.includes('"result"'))).toEqual([]);
  } finally {
    await original.stop();
  }
  exported = join(work, 'chain.rlp');
  genesisFile = join(work, 'genesis.json');
  const result = await runCli(['export', exported, '--datadir', sourceDir, '--genesis-out', genesisFile]);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain(`exported ${head} blocks (1 to ${head}`);
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  if (sourceDir) await rm(sourceDir, { recursive: true, force: true });
});

/** The blocks of the exported file as raw RLP items. */
async function exportedBlocks(): Promise<{ bytes: Uint8Array; offset: number }[]> {
  const items = [];
  for await (const item of readRlpItems(exported)) items.push(item);
  return items;
}

/** Opens a data directory the CLI left behind and returns its head's number. */
async function headOf(dataDir: string): Promise<bigint> {
  const opened = await Chain.openExisting(dataDir);
  try {
    return opened.head.header.number;
  } finally {
    await opened.close();
  }
}

/** Block `number` of the file with one header field replaced, re-encoded. */
async function fileWithTamperedHeader(
  number: bigint,
  field: number,
  change: (value: Uint8Array) => Uint8Array,
) {
  const blocks = await exportedBlocks();
  const parts = blocks.map(({ bytes }) => {
    const decoded = RLP.decode(bytes) as [Uint8Array[], ...unknown[]];
    if (bytesToBigInt(decoded[0][8]!) !== number) return bytes;
    decoded[0][field] = change(decoded[0][field]!);
    return RLP.encode(decoded as Parameters<typeof RLP.encode>[0]);
  });
  const file = join(work, `tampered-${number}-${field}.rlp`);
  await writeFile(file, concatBytes(...parts));
  return file;
}

describe('openledger export and import', () => {
  it('replays the chain and serves byte-identical JSON-RPC answers', async () => {
    const dataDir = join(work, 'imported');
    const started = performance.now();
    const served = await importAndServe([exported, '--genesis', genesisFile, '--datadir', dataDir]);
    try {
      const seconds = (performance.now() - started) / 1000;
      expect(served.stderr()).toMatch(
        new RegExp(`imported ${head} blocks \\(\\d+ txs\\) up to block ${head}`),
      );
      console.log(`import + serve of ${head} blocks in ${seconds.toFixed(1)} s: ${served.stderr().trim()}`);
      const replayed = await answers(served.url, requests);
      expect(replayed.length).toBe(recorded.length);
      for (let i = 0; i < recorded.length; i++)
        expect(replayed[i], recorded[i]!.request).toEqual(recorded[i]);
    } finally {
      await served.stop();
    }

    // Running the same import again changes nothing.
    const again = await runCli(['import', exported, '--genesis', genesisFile, '--datadir', dataDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`imported 0 blocks (0 txs, ${head} already present)`);
    expect(await headOf(dataDir)).toBe(head);
  });

  it('stops at a block whose state root was tampered with, keeping the blocks before it', async () => {
    const file = await fileWithTamperedHeader(tamperAt, 3, (root) => {
      const copy = root.slice();
      copy[0] = copy[0]! ^ 0xff;
      return copy;
    });
    const dataDir = join(work, 'tampered-root');
    const result = await runCli(['import', file, '--genesis', genesisFile, '--datadir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `error: import stopped at block ${tamperAt} \\(0x[0-9a-f]{64}\\): invalid stateRoot: executing the block gives 0x[0-9a-f]{64}, the header says 0x[0-9a-f]{64}; blocks up to ${tamperAt - 1n} are imported`,
      ),
    );
    expect(await headOf(dataDir)).toBe(tamperAt - 1n);
  });

  it('stops at a block re-encoded with a wrong gas used', async () => {
    const file = await fileWithTamperedHeader(tamperAt, 10, (gas) =>
      bigIntToUnpaddedBytes(bytesToBigInt(gas) + 1n),
    );
    const dataDir = join(work, 'tampered-gas');
    const result = await runCli(['import', file, '--genesis', genesisFile, '--datadir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`error: import stopped at block ${tamperAt} .*invalid gasUsed`));
    expect(await headOf(dataDir)).toBe(tamperAt - 1n);
  });

  it('fails cleanly on a truncated file', async () => {
    const blocks = await exportedBlocks();
    const cut = blocks[Number(tamperAt) - 1]!;
    const bytes = await readFile(exported);
    const file = join(work, 'truncated.rlp');
    await writeFile(file, bytes.subarray(0, cut.offset + Math.floor(cut.bytes.length / 2)));
    const dataDir = join(work, 'truncated');
    const result = await runCli(['import', file, '--genesis', genesisFile, '--datadir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: import stopped after block ${tamperAt - 1n}: truncated file: an RLP item of ${cut.bytes.length} bytes starts at byte ${cut.offset}`,
    );
    expect(await headOf(dataDir)).toBe(tamperAt - 1n);
  });

  it('accepts a file that starts at block 0 and refuses one whose block 0 is another genesis', async () => {
    const withGenesis = join(work, 'from-zero.rlp');
    const exportedAgain = await runCli([
      'export',
      withGenesis,
      '--datadir',
      sourceDir,
      '--from',
      '0',
      '--to',
      '3',
    ]);
    expect(exportedAgain.code, exportedAgain.stderr).toBe(0);
    const ok = await runCli([
      'import',
      withGenesis,
      '--genesis',
      genesisFile,
      '--datadir',
      join(work, 'zero'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('imported 3 blocks');

    const other = JSON.parse(await readFile(genesisFile, 'utf8')) as { extraData: string };
    other.extraData = '0x01';
    const otherFile = join(work, 'other-genesis.json');
    await writeFile(otherFile, JSON.stringify(other));
    const refused = await runCli([
      'import',
      withGenesis,
      '--genesis',
      otherFile,
      '--datadir',
      join(work, 'other'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /error: block 0 of the file \(0x[0-9a-f]{64}\) is not this chain's genesis/,
    );
  });
});
