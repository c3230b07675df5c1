import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../..');
const cli = join(repoRoot, 'packages/cli/src/main.ts');

export interface DevnetProcess {
  url: string;
  wsUrl: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout so far (the banner with accounts and keys). */
  output(): string;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL: no chance to flush anything. */
  kill(): Promise<void>;
}

export interface DevnetProcessOptions {
  dataDir?: string;
  args?: string[];
  /** Keep the data directory on stop (restart tests). */
  keepData?: boolean;
}

/** Starts `openledger devnet` as a real child process on a free port and waits until it serves RPC. */
export async function startDevnetProcess(options: DevnetProcessOptions = {}): Promise<DevnetProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'openledger-test-')));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', cli, 'devnet', '--port', '0', '--datadir', dataDir, ...(options.args ?? [])],
    {
      cwd: repoRoot,
      env: { ...process.env, OPENLEDGER_LOG: process.env.OPENLEDGER_LOG ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`devnet did not start in 60 s\n${stdout}\n${stderr}`)),
      60_000,
    );
    const check = () => {
      const match = /JSON-RPC\s+(http:\/\/\S+)/.exec(stdout);
      if (match && stdout.includes('Listening.')) {
        clearTimeout(timer);
        done(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`devnet exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
  const finish = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    // A node that ignores SIGTERM for 10 s is killed: a hang then fails its test, not the hook.
    const overdue = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), 10_000) : undefined;
    await exited;
    clearTimeout(overdue);
    if (!options.keepData && signal === 'SIGTERM') await rm(dataDir, { recursive: true, force: true });
  };
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    dataDir,
    child,
    output: () => stdout,
    stop: () => finish('SIGTERM'),
    kill: () => finish('SIGKILL'),
  };
}

export const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
] as const;
