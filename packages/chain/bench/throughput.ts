/**
 * Chain throughput benchmark (`npm run bench:chain`): the same pre-signed native-transfer and
 * ERC-20-transfer workloads against the OpenLedger devnet (subject) and Hardhat's node (reference).
 * Prints one JSON object on stdout (also written to bench-results/chain-throughput.json); progress
 * goes to stderr. Exit code 1 when any node or workload failed. See README.md beside this file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from './chain.ts';
import { externalNode, REPO_ROOT, startHardhat, startSubject, type RunningNode } from './nodes.ts';
import { round } from './stats.ts';
import { WORKLOADS, type WorkloadName, type WorkloadOptions, type WorkloadReport } from './scenarios.ts';

type NodeName = 'openledger' | 'hardhat';

type Outcome =
  | ({ readonly status: 'ok' } & WorkloadReport)
  | { readonly status: 'error'; readonly error: string }
  | { readonly status: 'skipped'; readonly reason: string };

interface WorkloadResult {
  openledger: Outcome;
  hardhat: Outcome;
  /** openledger tx/s ÷ hardhat tx/s; null unless both ran. */
  ratio: number | null;
}

interface NodeInfo {
  readonly url: string;
  readonly started: string;
  readonly chainId?: number;
  readonly clientVersion?: string;
}

interface BenchOutput {
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
  };
  readonly options: WorkloadOptions & {
    readonly senders: number;
    readonly recipients: number;
    readonly hardhatLogging: boolean;
  };
  readonly nodes: Partial<Record<NodeName, NodeInfo | { readonly error: string }>>;
  readonly workloads: Record<WorkloadName, WorkloadResult>;
}

interface CliOptions extends WorkloadOptions {
  readonly only: readonly NodeName[];
  readonly rpc: string | undefined;
  readonly hardhatLogging: boolean;
  readonly workloads: readonly WorkloadName[];
  readonly out: string;
}

const USAGE = `Usage: node --import tsx packages/chain/bench/throughput.ts [options]
  --only <hardhat|openledger>  benchmark one node only (default: both, openledger first)
  --rpc <url>                  benchmark this running endpoint as the subject instead of spawning the devnet
  --txs <n>                    measured transactions per workload (default 6000)
  --warmup <n>                 unmeasured warm-up transactions per workload (default 200)
  --window <n>                 max in-flight eth_sendRawTransaction requests per sender (default 64)
  --fixed-window               keep --window requests in flight even when the node rejects nonces that
                               arrive early (default: after the first such rejection, 1 in flight per sender)
  --poll-ms <n>                inclusion poll interval (default 20)
  --timeout-s <n>              per-batch inclusion timeout (default 300)
  --workloads <list>           comma-separated: native,erc20 (default both)
  --hardhat-logging <on|off>   Hardhat node's request logging (default on, as \`hardhat node\` does)
  --out <file>                 JSON output file (default bench-results/chain-throughput.json)`;

function positiveInt(value: string | undefined, flag: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`${flag} must be an integer >= ${min}, got "${value}"`);
  return n;
}

function parseCli(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      only: { type: 'string' },
      rpc: { type: 'string' },
      txs: { type: 'string' },
      warmup: { type: 'string' },
      window: { type: 'string' },
      'fixed-window': { type: 'boolean' },
      'poll-ms': { type: 'string' },
      'timeout-s': { type: 'string' },
      workloads: { type: 'string' },
      'hardhat-logging': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let only: NodeName[] = ['openledger', 'hardhat'];
  if (values.only !== undefined) {
    if (values.only !== 'openledger' && values.only !== 'hardhat') {
      throw new Error(`--only must be "hardhat" or "openledger", got "${values.only}"`);
    }
    only = [values.only];
  }
  if (values.rpc !== undefined && !only.includes('openledger')) {
    throw new Error(
      '--rpc replaces the spawned OpenLedger devnet; it cannot be combined with --only hardhat',
    );
  }
  const workloads = (values.workloads ?? 'native,erc20').split(',').map((w) => w.trim());
  for (const w of workloads) {
    if (w !== 'native' && w !== 'erc20') throw new Error(`unknown workload "${w}" (native, erc20)`);
  }
  const logging = values['hardhat-logging'] ?? 'on';
  if (logging !== 'on' && logging !== 'off') throw new Error('--hardhat-logging must be on or off');
  return {
    only,
    rpc: values.rpc,
    txs: positiveInt(values.txs, '--txs', 6000),
    warmup: positiveInt(values.warmup, '--warmup', 200, 0),
    window: positiveInt(values.window, '--window', 64),
    serializeOnNonceGap: values['fixed-window'] !== true,
    pollMs: positiveInt(values['poll-ms'], '--poll-ms', 20),
    timeoutMs: positiveInt(values['timeout-s'], '--timeout-s', 300) * 1000,
    workloads: workloads as WorkloadName[],
    hardhatLogging: logging === 'on',
    out: path.resolve(values.out ?? path.join(REPO_ROOT, 'bench-results', 'chain-throughput.json')),
  };
}

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function startNode(name: NodeName, options: CliOptions): Promise<RunningNode> {
  if (name === 'hardhat') return startHardhat({ logging: options.hardhatLogging });
  if (options.rpc !== undefined) return externalNode('openledger', options.rpc);
  return startSubject();
}

/** Runs every selected workload against one node; a failed workload does not stop the others. */
async function benchNode(name: NodeName, options: CliOptions, output: BenchOutput): Promise<boolean> {
  let node: RunningNode;
  try {
    node = await startNode(name, options);
  } catch (error) {
    log(`${name}: ${message(error)}`);
    output.nodes[name] = { error: message(error) };
    const short = `${name} did not start (see nodes.${name}.error)`;
    for (const w of options.workloads) output.workloads[w][name] = { status: 'error', error: short };
    return false;
  }
  let ok = true;
  try {
    const ctx = await connect(node.url, () => node.cpuSeconds());
    output.nodes[name] = {
      url: node.url,
      started: node.description,
      chainId: ctx.chainId,
      clientVersion: ctx.clientVersion,
    };
    try {
      for (const w of options.workloads) {
        try {
          log(`${name}: ${w} workload`);
          output.workloads[w][name] = { status: 'ok', ...(await WORKLOADS[w](ctx, options)) };
        } catch (error) {
          ok = false;
          log(`${name}: ${w} failed: ${message(error)}`);
          output.workloads[w][name] = { status: 'error', error: message(error) };
        }
      }
    } finally {
      ctx.rpc.close();
    }
  } catch (error) {
    // connect() failed: the node started but does not answer the basics (eth_chainId, ...).
    ok = false;
    log(`${name}: ${message(error)}`);
    output.nodes[name] = { error: `${node.url}: ${message(error)}` };
    for (const w of options.workloads) output.workloads[w][name] = { status: 'error', error: message(error) };
  } finally {
    log(`${name}: stopping`);
    await node.stop();
  }
  return ok;
}

async function main(): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${message(error)}\n\n${USAGE}\n`);
    return 2;
  }
  const cpus = os.cpus();
  const notRun = (name: NodeName): Outcome => ({
    status: 'skipped',
    reason: options.only.includes(name) ? 'workload not selected' : `--only ${options.only.join(',')}`,
  });
  const emptyResult = (): WorkloadResult => ({
    openledger: notRun('openledger'),
    hardhat: notRun('hardhat'),
    ratio: null,
  });
  const output: BenchOutput = {
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    options: {
      txs: options.txs,
      warmup: options.warmup,
      window: options.window,
      serializeOnNonceGap: options.serializeOnNonceGap,
      pollMs: options.pollMs,
      timeoutMs: options.timeoutMs,
      senders: 10,
      recipients: 1000,
      hardhatLogging: options.hardhatLogging,
    },
    nodes: {},
    workloads: { native: emptyResult(), erc20: emptyResult() },
  };

  let ok = true;
  // One node at a time: both would compete for the same cores.
  for (const name of options.only) ok = (await benchNode(name, options, output)) && ok;

  for (const result of Object.values(output.workloads)) {
    const { openledger, hardhat } = result;
    if (openledger.status === 'ok' && hardhat.status === 'ok') {
      result.ratio = round(openledger.txPerSec / hardhat.txPerSec, 3);
    }
  }

  const json = JSON.stringify(output, null, 2);
  await mkdir(path.dirname(options.out), { recursive: true });
  await writeFile(options.out, `${json}\n`);
  process.stdout.write(`${json}\n`);
  const shown = path.relative(process.cwd(), options.out);
  log(`wrote ${shown.startsWith('..') ? options.out : shown}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
