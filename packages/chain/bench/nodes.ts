/** Starting and stopping the nodes under test: Hardhat's node (reference) and the OpenLedger devnet. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcClient } from './rpc.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '..', '..', '..');
const HARDHAT_CONFIG = path.join(BENCH_DIR, 'hardhat', 'hardhat.config.cjs');
const CLI_ENTRY = path.join(REPO_ROOT, 'packages', 'cli', 'src', 'main.ts');

export interface RunningNode {
  readonly name: string;
  readonly url: string;
  /** e.g. the spawned command line, or "external". */
  readonly description: string;
  /** CPU seconds used so far by the node's processes, when this harness spawned it (Linux). */
  cpuSeconds(): number | undefined;
  stop(): Promise<void>;
}

const log = (message: string): void => {
  process.stderr.write(`[bench] ${message}\n`);
};

/** A free TCP port on the loopback interface (bind to port 0, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every mainstream Linux). */
const CLOCK_TICKS = 100;

/**
 * CPU seconds (user + system) of every live process in process group `pgid`, from /proc; threads
 * (EDR's, worker threads) are included. Undefined where /proc is unavailable.
 */
export function processGroupCpuSeconds(pgid: number): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

/** Keeps the last `maxChars` characters of a stream (for error messages); never blocks the child. */
class OutputTail {
  private text = '';
  constructor(private readonly maxChars = 4000) {}
  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.maxChars);
  }
  toString(): string {
    return this.text.trim();
  }
}

/** Children still running, killed synchronously if this process exits early. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the child leads its own process group (detached)
  } catch {
    child.kill(signal);
  }
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    liveChildren.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  liveChildren.delete(child);
}

/** Polls eth_chainId until it answers; fails early if the child exits. */
async function waitForRpc(
  url: string,
  child: ChildProcess,
  tail: OutputTail,
  timeoutMs: number,
): Promise<void> {
  const rpc = new RpcClient(url, { timeoutMs: 2000 });
  const deadline = performance.now() + timeoutMs;
  let lastError = '';
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        const status = child.exitCode !== null ? `code ${child.exitCode}` : `signal ${child.signalCode}`;
        throw new Error(`exited (${status}) before answering eth_chainId. Output:\n${tail.toString()}`);
      }
      try {
        await rpc.callString('eth_chainId');
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (performance.now() > deadline) {
        throw new Error(
          `no eth_chainId answer within ${timeoutMs / 1000} s (${lastError}). Output:\n${tail.toString()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    rpc.close();
  }
}

interface SpawnSpec {
  readonly name: string;
  readonly args: readonly string[];
  readonly port: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly startTimeoutMs: number;
  readonly cleanup?: () => Promise<void>;
}

async function spawnNode(spec: SpawnSpec): Promise<RunningNode> {
  const url = `http://127.0.0.1:${spec.port}`;
  const description = `node ${spec.args.map((a) => (a.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, a) : a)).join(' ')}`;
  log(`${spec.name}: starting: ${description}`);
  const tail = new OutputTail();
  const child = spawn(process.execPath, spec.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  liveChildren.add(child);
  // Always drain the output: a full pipe would stall the node.
  child.stdout?.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push(chunk));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => undefined);

  const stop = async (): Promise<void> => {
    await stopChild(child);
    await spec.cleanup?.();
  };
  try {
    await Promise.race([waitForRpc(url, child, tail, spec.startTimeoutMs), spawnError]);
  } catch (error) {
    await stop();
    throw new Error(
      `${spec.name} failed to start: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  log(`${spec.name}: ready at ${url}`);
  const pid = child.pid;
  const cpuSeconds = (): number | undefined => (pid === undefined ? undefined : processGroupCpuSeconds(pid));
  return { name: spec.name, url, description, cpuSeconds, stop };
}

export interface HardhatOptions {
  /** Hardhat node's per-request logging (on by default for `hardhat node`). */
  readonly logging: boolean;
}

/** Spawns `hardhat node` (Hardhat 2, automine) with bench/hardhat/hardhat.config.cjs. */
export async function startHardhat(options: HardhatOptions): Promise<RunningNode> {
  const require = createRequire(import.meta.url);
  const hardhatCli = path.join(
    path.dirname(require.resolve('hardhat/package.json')),
    'internal/cli/bootstrap.js',
  );
  const port = await freePort();
  return spawnNode({
    name: 'hardhat',
    args: [hardhatCli, 'node', '--config', HARDHAT_CONFIG, '--hostname', '127.0.0.1', '--port', String(port)],
    port,
    env: {
      HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
      OL_BENCH_HARDHAT_LOGGING: options.logging ? '1' : '0',
    },
    startTimeoutMs: 60_000,
  });
}

/**
 * Spawns the OpenLedger devnet: `node --import tsx packages/cli/src/main.ts devnet --port <free port>
 * --datadir <tmp dir> --reset --block-time 0`, and waits until eth_chainId answers.
 */
export async function startSubject(): Promise<RunningNode> {
  if (!existsSync(CLI_ENTRY)) {
    throw new Error(
      `openledger failed to start: ${path.relative(REPO_ROOT, CLI_ENTRY)} does not exist (yet)`,
    );
  }
  const port = await freePort();
  const datadir = await mkdtemp(path.join(os.tmpdir(), 'openledger-bench-'));
  return spawnNode({
    name: 'openledger',
    args: [
      '--import',
      'tsx',
      CLI_ENTRY,
      'devnet',
      '--port',
      String(port),
      '--datadir',
      datadir,
      '--reset',
      '--block-time',
      '0',
    ],
    port,
    startTimeoutMs: 120_000,
    cleanup: () => rm(datadir, { recursive: true, force: true }),
  });
}

/** An endpoint someone else runs (`--rpc <url>`): nothing to start or stop. */
export async function externalNode(name: string, url: string): Promise<RunningNode> {
  const rpc = new RpcClient(url, { timeoutMs: 10_000 });
  try {
    await rpc.callString('eth_chainId');
  } catch (error) {
    throw new Error(
      `${url} does not answer eth_chainId: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    rpc.close();
  }
  return { name, url, description: 'external', cpuSeconds: () => undefined, stop: async () => undefined };
}
