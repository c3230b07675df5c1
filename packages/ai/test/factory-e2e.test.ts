import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FsContentStore,
  accessAuthorization,
  keccak256,
  startDataServer,
  type RunningDataServer,
} from '@openledger/data';
import { createDatanet, publishVersion, stakeAsCurator, type Connection } from '@openledger/sdk';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIONS,
  DEV_MNEMONIC,
  SUBJECTS,
  account,
  contributeRows,
  startVersionsFixture,
  waitForVersion,
  type VersionsFixture,
} from '../../data/test/support/versions-fixture.ts';
import { describeBaseModel } from '../src/factory/base-models.ts';
import type { ModelCard } from '../src/factory/model-card.ts';
import {
  cancelMessage,
  startFactoryServer,
  type RunningFactoryServer,
} from '../src/factory/factory-server.ts';
import { JobRunner, type BaseModel } from '../src/factory/job-runner.ts';
import { JobStore, type JobEvent } from '../src/factory/job-store.ts';
import {
  createLlamaModel,
  readLoraAdapter,
  trainByteLevelBpe,
  writeLlamaModel,
  llamaTensorShapes,
} from '../src/index.ts';
import { tinyHparams } from './support/test-models.ts';

const ENDINGS = ['at dawn', 'before the storm', 'on market day', 'after the harvest'];
/** A distinct English sentence for every n, from a small vocabulary a tiny model can learn. */
function sentence(n: number): string {
  return `${SUBJECTS[n % 10]!} ${ACTIONS[Math.floor(n / 10) % 10]!} ${ENDINGS[Math.floor(n / 100) % 4]!}.`;
}

let fx: VersionsFixture;
let dataServer: RunningDataServer;
let operator: Connection;
let base: BaseModel;
let blobs: FsContentStore;
let runner: JobRunner;
let factory: RunningFactoryServer;
const jobsDir = () => join(fx.dir, 'factory', 'jobs');

const signer = (index: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
const ownerAddress = () => signer(0).address;

async function openFactory(concurrency = 2): Promise<void> {
  runner = new JobRunner({
    store: await JobStore.open(jobsDir()),
    chain: operator,
    dataPlaneUrl: dataServer.url,
    blobs,
    baseModels: new Map([[base.name, base]]),
    concurrency,
    jobMemoryMb: 1024,
  });
  await runner.start();
  factory = await startFactoryServer(runner, blobs, new Map([[base.name, base]]));
}

async function closeFactory(): Promise<void> {
  await factory?.close();
  await runner?.stop();
}

async function post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${factory.url}/training/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function jobRequest(name: string, hyper: Record<string, unknown> = {}, who = 0) {
  return {
    datanetId: fx.datanetId.toString(),
    versions: [1],
    baseModel: base.name,
    name,
    owner: signer(who).address,
    pricePer1kTokens: '1000000000000',
    authorization: await accessAuthorization(signer(who), fx.datanetId),
    hyperParameters: {
      rank: 4,
      alpha: 8,
      epochs: 4,
      batchSize: 4,
      learningRate: 3e-2,
      targets: ['q', 'v'],
      ...hyper,
    },
  };
}

/** Reads the job's SSE stream until it ends (the job reached a final status). */
async function followEvents(id: string, lastEventId?: number): Promise<JobEvent[]> {
  const res = await fetch(`${factory.url}/training/jobs/${id}/events`, {
    headers: lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) },
  });
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((chunk) => chunk.includes('data: '))
    .map((chunk) => JSON.parse(chunk.slice(chunk.indexOf('data: ') + 6)) as JobEvent);
}

beforeAll(async () => {
  fx = await startVersionsFixture('openledger-factory-');
  const [alice, bob] = fx.contributors;
  await contributeRows({
    ...fx,
    who: alice,
    texts: [...Array(24).keys()].map(sentence),
    path: join(fx.dir, 'a.txt'),
  });
  await contributeRows({
    ...fx,
    who: bob,
    texts: [...Array(16).keys()].map((i) => sentence(100 + i)),
    path: join(fx.dir, 'b.txt'),
  });
  await publishVersion(fx.owner, { datanetId: fx.datanetId });
  dataServer = await startDataServer(fx.plane);
  await waitForVersion(dataServer.url, fx.datanetId, 1);
  operator = await account(fx.devnet.url, 6);
  // A tiny base model with a tokenizer that knows this Datanet's words.
  const texts = [...Array(400).keys()].map(sentence);
  const spec = trainByteLevelBpe(texts, {
    vocabSize: 320,
    specialTokens: ['<|bos|>', '<|eos|>'],
    bosToken: '<|bos|>',
    eosToken: '<|eos|>',
  });
  const model = createLlamaModel(tinyHparams({ vocabSize: spec.tokens.length, contextLength: 64 }), {
    seed: 5,
    std: 0.1,
    tokenizer: spec,
  });
  await mkdir(join(fx.dir, 'models'), { recursive: true });
  const path = join(fx.dir, 'models', 'tiny.gguf');
  await writeLlamaModel(path, model, { name: 'tiny' });
  base = await describeBaseModel('tiny', path);
  blobs = await FsContentStore.open(join(fx.dir, 'factory', 'blobs'));
  await openFactory();
}, 180_000);

afterAll(async () => {
  await closeFactory();
  await dataServer?.close();
  await fx?.plane.close();
  await fx?.devnet.stop();
  if (fx?.dir) await rm(fx.dir, { recursive: true, force: true });
});

describe('ModelFactory', () => {
  it('fine-tunes on a verified Datanet version, streams its progress and registers the model with provenance', async () => {
    const submitted = await post(await jobRequest('village-stories'));
    expect(submitted.status).toBe(202);
    const job = submitted.json.job as { id: string; status: string; request: Record<string, unknown> };
    expect(job.request.authorization).toBeUndefined();
    const events = await followEvents(job.id);
    const statuses = events
      .filter((e) => e.type === 'status')
      .map((e) => (e.data as { status: string }).status);
    expect(statuses).toEqual(['queued', 'exporting', 'queued', 'training', 'registering', 'succeeded']);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));

    const done = (await (await fetch(`${factory.url}/training/jobs/${job.id}`)).json()) as {
      job: { result: { modelId: string; adapterHash: `0x${string}`; lossBefore: number; lossAfter: number } };
    };
    const result = done.job.result;
    expect(result.lossAfter).toBeLessThan(result.lossBefore);

    // On-chain: owned by the requester, with the base, the adapter, the data and the config it came from.
    const onchain = await fx.owner.contracts.models.read.model([BigInt(result.modelId)]);
    expect(onchain.name).toBe('village-stories');
    expect(onchain.owner).toBe(ownerAddress());
    expect(onchain.baseModelHash).toBe(base.hash);
    expect(onchain.adapterHash).toBe(result.adapterHash);
    expect(onchain.trainedOn).toEqual([{ datanetId: fx.datanetId, version: 1n }]);
    expect(onchain.pricePer1kTokens).toBe(1_000_000_000_000n);

    // The adapter is served by hash, hashes to what the chain says, and fits the base model.
    const blob = new Uint8Array(
      await (await fetch(`${factory.url}/blobs/${result.adapterHash}`)).arrayBuffer(),
    );
    expect(keccak256(blob)).toBe(result.adapterHash);
    const adapterPath = join(fx.dir, 'adapter.gguf');
    await writeFile(adapterPath, blob);
    const shapes = llamaTensorShapes(base.hparams, false);
    const adapter = await readLoraAdapter(adapterPath, {
      base: [...shapes].map(([name, shape]) => ({ name, shape })),
    });
    expect(adapter.rank).toBe(4);

    // The card is the metadata the chain points at, and keeps what attribution needs.
    const card = (await (await fetch(`${factory.url}/training/jobs/${job.id}/card`)).json()) as ModelCard & {
      attribution: { rows: string; epochs: unknown[] };
    };
    expect(onchain.metadataURI).toBe(
      `keccak256:${keccak256(new TextEncoder().encode(JSON.stringify(card, null, 2)))}`,
    );
    expect(card.data.contributors).toBe(2);
    expect(card.data.trainRows + card.data.evalRows).toBe(40);
    expect(card.evaluation.lossAfter).toBe(result.lossAfter);
    const manifest = new TextDecoder().decode(
      new Uint8Array(await (await fetch(`${factory.url}/blobs/${card.attribution.rows}`)).arrayBuffer()),
    );
    expect(manifest.trim().split('\n')).toHaveLength(card.data.trainRows);
    expect(card.attribution.epochs).toHaveLength(4);
    const markdown = await (await fetch(`${factory.url}/training/jobs/${job.id}/card.md`)).text();
    expect(markdown).toContain('# village-stories');
    const svg = await (await fetch(`${factory.url}/training/jobs/${job.id}/loss.svg`)).text();
    expect(svg).toContain('<polyline');

    // The stream can be resumed from any event.
    const tail = await followEvents(job.id, events.length - 3);
    expect(tail.map((e) => e.seq)).toEqual([events.length - 2, events.length - 1]);
  });

  it('refuses bad jobs before any work, and fails jobs whose data the caller may not read', async () => {
    const bad = [
      [{ baseModel: 'gpt-9' }, 400, /unknown base model/],
      [{ hyperParameters: { rank: 0 } }, 400, /hyperParameters\.rank/],
      [{ hyperParameters: { batchSize: 256, maxSeqLen: 4096 } }, 400, /MiB/],
      [{ versions: [1, 1] }, 400, /versions/],
    ] as const;
    for (const [change, status, message] of bad) {
      const res = await post({ ...(await jobRequest('never')), ...change });
      expect(res.status).toBe(status);
      expect((res.json.error as { message: string }).message).toMatch(message);
    }
    // Dev account 7 has no rights to the rows: the export is refused and the job fails with that reason.
    const refused = await post(await jobRequest('not-mine', {}, 7));
    const events = await followEvents((refused.json.job as { id: string }).id);
    expect(events.at(-1)!.data).toMatchObject({ status: 'failed', error: { code: 'no-access' } });
    const unpublished = await post({ ...(await jobRequest('no-version')), versions: [2] });
    const failed = await followEvents((unpublished.json.job as { id: string }).id);
    expect(failed.at(-1)!.data).toMatchObject({ status: 'failed', error: { code: 'version-not-found' } });
    // A Datanet whose only version holds three rows: too few to train and evaluate on.
    const { datanetId } = await createDatanet(fx.owner, { metadataURI: 'ipfs://small' });
    await stakeAsCurator(fx.curator, { datanetId });
    await contributeRows({
      ...fx,
      datanetId,
      who: fx.contributors[2],
      texts: [sentence(300), sentence(301), sentence(302)],
      path: join(fx.dir, 'small.txt'),
    });
    await publishVersion(fx.owner, { datanetId });
    await waitForVersion(dataServer.url, datanetId, 1);
    const small = await post({
      ...(await jobRequest('too-small')),
      datanetId: datanetId.toString(),
      authorization: await accessAuthorization(signer(0), datanetId),
    });
    const tooSmall = await followEvents((small.json.job as { id: string }).id);
    expect(tooSmall.at(-1)!.data).toMatchObject({ status: 'failed', error: { code: 'too-few-rows' } });
  });

  it('runs jobs side by side, and resumes a job from its checkpoint after the service restarts', async () => {
    const a = await post(await jobRequest('side-a', { epochs: 2 }));
    const b = await post(await jobRequest('side-b', { epochs: 30, batchSize: 2 }));
    const idA = (a.json.job as { id: string }).id;
    const idB = (b.json.job as { id: string }).id;
    // Wait until B has written a checkpoint, then stop the service under it.
    const checkpoint = join(jobsDir(), idB, 'checkpoint.gguf');
    for (
      let i = 0;
      i < 600 &&
      !(await readFile(checkpoint).then(
        () => true,
        () => false,
      ));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const [eventsA] = await Promise.all([followEvents(idA)]);
    expect(eventsA.at(-1)!.data).toMatchObject({ status: 'succeeded' });
    await closeFactory();
    expect(runner.store.get(idB).error).toBeUndefined();
    expect(runner.store.get(idB).status).toBe('training');

    await openFactory();
    const eventsB = await followEvents(idB);
    expect(eventsB.some((e) => e.type === 'log' && /resumed from step \d+/.test(String(e.data)))).toBe(true);
    expect(eventsB.at(-1)!.data).toMatchObject({ status: 'succeeded' });
  });

  it('lets only the owner cancel a job', async () => {
    const submitted = await post(await jobRequest('cancelled', { epochs: 50 }));
    const id = (submitted.json.job as { id: string }).id;
    const expiry = Math.floor(Date.now() / 1000) + 600;
    const header = async (who: number) =>
      `OpenLedger ${signer(who).address}.${expiry}.${await signer(who).signMessage({ message: cancelMessage(id, expiry) })}`;
    const byStranger = await fetch(`${factory.url}/training/jobs/${id}`, {
      method: 'DELETE',
      headers: { authorization: await header(7) },
    });
    expect(byStranger.status).toBe(403);
    const byOwner = await fetch(`${factory.url}/training/jobs/${id}`, {
      method: 'DELETE',
      headers: { authorization: await header(0) },
    });
    expect(byOwner.status, await byOwner.clone().text()).toBe(200);
    expect(((await byOwner.json()) as { job: { status: string } }).job.status).toBe('cancelled');
  });
});
