import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDataServer, type RunningDataServer } from '@openledger/data';
import { publishVersion } from '@openledger/sdk';
import { bytesToHex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlamaModel, trainByteLevelBpe, writeLlamaModel } from '@openledger/ai';
import {
  ACTIONS,
  DEV_MNEMONIC,
  SUBJECTS,
  contributeRows,
  startVersionsFixture,
  waitForVersion,
  type VersionsFixture,
} from '../../data/test/support/versions-fixture.ts';
import { tinyHparams } from '../../ai/test/support/test-models.ts';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

function sentence(n: number): string {
  return `${SUBJECTS[n % 10]!} ${ACTIONS[Math.floor(n / 10) % 10]!} on a quiet morning.`;
}

let fx: VersionsFixture;
let dataServer: RunningDataServer;
let factory: ChildProcess;
let factoryUrl: string;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { OPENLEDGER_PRIVATE_KEY: _ignored, ...env } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', ...args],
      { cwd: repoRoot, env, timeout: 180_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  fx = await startVersionsFixture('openledger-train-cli-');
  const [alice, bob] = fx.contributors;
  await contributeRows({
    ...fx,
    who: alice,
    texts: [...Array(12).keys()].map(sentence),
    path: join(fx.dir, 'a.txt'),
  });
  await contributeRows({
    ...fx,
    who: bob,
    texts: [...Array(12).keys()].map((i) => sentence(50 + i)),
    path: join(fx.dir, 'b.txt'),
  });
  await publishVersion(fx.owner, { datanetId: fx.datanetId });
  dataServer = await startDataServer(fx.plane);
  await waitForVersion(dataServer.url, fx.datanetId, 1);

  const spec = trainByteLevelBpe([...Array(100).keys()].map(sentence), {
    vocabSize: 300,
    specialTokens: ['<|bos|>', '<|eos|>'],
    bosToken: '<|bos|>',
    eosToken: '<|eos|>',
  });
  const model = createLlamaModel(tinyHparams({ vocabSize: spec.tokens.length, contextLength: 64 }), {
    seed: 3,
    std: 0.1,
    tokenizer: spec,
  });
  await mkdir(join(fx.dir, 'models'));
  await writeLlamaModel(join(fx.dir, 'models', 'tiny.gguf'), model, { name: 'tiny' });

  const operatorKey = bytesToHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 9 }).getHdKey().privateKey!);
  factory = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'packages/cli/src/main.ts',
      'factory',
      'serve',
      '--rpc',
      fx.devnet.url,
      '--data-plane',
      dataServer.url,
      '--datadir',
      join(fx.dir, 'factory'),
      '--port',
      '0',
      '--operator-key',
      operatorKey,
      '--base-model',
      `tiny=${join(fx.dir, 'models', 'tiny.gguf')}`,
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OPENLEDGER_LOG: 'warn' } },
  );
  factoryUrl = await new Promise<string>((done, fail) => {
    let out = '';
    factory.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ModelFactory (http:\/\/\S+)/.exec(out);
      if (match) done(match[1]!);
    });
    factory.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    factory.once('exit', (code) => fail(new Error(`factory exited with ${code}: ${out}`)));
  });
}, 180_000);

afterAll(async () => {
  factory?.kill('SIGTERM');
  await dataServer?.close();
  await fx?.plane.close();
  await fx?.devnet.stop();
  if (fx?.dir) await rm(fx.dir, { recursive: true, force: true });
});

describe('openledger train', () => {
  it('submits a job, draws its progress and prints the registered model', async () => {
    const r = await cli([
      'train',
      '--datanet',
      fx.datanetId.toString(),
      '--version',
      '1',
      '--base',
      'tiny',
      '--name',
      'cli-stories',
      '--rank',
      '4',
      '--epochs',
      '3',
      '--batch',
      '4',
      '--lr',
      '0.03',
      '--factory',
      factoryUrl,
      '--dev-account',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/job [0-9a-f-]{36} submitted/);
    expect(r.stderr).toMatch(/training \[[#.]{30}\] +\d+% {2}step \d+\/\d+/);
    expect(r.stderr).toMatch(/tok\/s {2}ETA/);
    expect(r.stderr).toContain('status: succeeded');
    const job = JSON.parse(r.stdout) as { id: string; status: string; result: { modelId: string } };
    expect(job.status).toBe('succeeded');
    const onchain = await fx.owner.contracts.models.read.model([BigInt(job.result.modelId)]);
    expect(onchain.name).toBe('cli-stories');
    expect(onchain.owner).toBe(fx.owner.walletClient!.account.address);

    const again = await cli(['train', '--follow', job.id, '--factory', factoryUrl]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id: job.id, status: 'succeeded' });
  });

  it('says what is wrong with a job before any work', async () => {
    const base = [
      'train',
      '--datanet',
      fx.datanetId.toString(),
      '--version',
      '1',
      '--factory',
      factoryUrl,
      '--dev-account',
      '0',
    ];
    const unknown = await cli([...base, '--base', 'gpt-9', '--name', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown base model 'gpt-9'/);
    const rank = await cli([...base, '--base', 'tiny', '--name', 'x', '--rank', '0']);
    expect(rank.code).toBe(1);
    expect(rank.stderr).toMatch(/--rank.*from 1 to 64/);
    const name = await cli([...base, '--base', 'tiny', '--name', 'Bad Name']);
    expect(name.code).toBe(1);
    expect(name.stderr).toMatch(/name: model names/);
    const missing = await cli(['train', '--factory', factoryUrl, '--dev-account', '0']);
    expect(missing.stderr).toMatch(/needs --datanet/);
  });
});
