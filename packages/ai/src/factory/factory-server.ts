/**
 * The ModelFactory's HTTP API (Fastify): training jobs (submit, list, status, a live event stream
 * over SSE, cancel), their loss curves and model cards, the base models on offer, and the content
 * store's blobs (adapters, epoch snapshots, row manifests, cards) by hash.
 *
 *     const server = await startFactoryServer(runner, blobs, { port: 8560 });
 */
import { CorruptBlobError, NotFoundError, type ContentStore } from '@openledger/data';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { isHex, recoverMessageAddress, type Hex } from 'viem';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FactoryError, type FactoryErrorCode } from './factory-error.ts';
import { modelCardMarkdown, type ModelCard } from './model-card.ts';
import type { BaseModel, JobRunner } from './job-runner.ts';
import { FINAL_STATUSES, type JobEvent, type StoredJob } from './job-store.ts';

export interface RunningFactoryServer {
  readonly app: FastifyInstance;
  readonly url: string;
  close(): Promise<void>;
}

const STATUS: Record<FactoryErrorCode, number> = {
  'bad-request': 400,
  'version-not-found': 404,
  'empty-version': 422,
  'too-few-rows': 422,
  'no-access': 403,
  'export-failed': 502,
  'data-plane-unavailable': 502,
  'verification-failed': 502,
  'bad-base-model': 400,
  'job-not-found': 404,
  'queue-full': 429,
  'training-failed': 500,
  'registration-failed': 502,
};

/** The job as the API shows it: everything but the caller's data-access header. */
export function jobView(job: StoredJob) {
  const { authorization: _secret, ...request } = job.request;
  return {
    ...job,
    request: {
      ...request,
      datanetId: request.datanetId.toString(),
      pricePer1kTokens: request.pricePer1kTokens.toString(),
      purchaseId: request.purchaseId?.toString(),
    },
  };
}

/** The message a job's owner signs (EIP-191) to cancel it. */
export function cancelMessage(jobId: string, expiry: number): string {
  return `OpenLedger training job\nJob: ${jobId}\nExpires: ${expiry}`;
}

export async function createFactoryServer(
  runner: JobRunner,
  blobs: ContentStore,
  baseModels: ReadonlyMap<string, BaseModel>,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1 << 16, return503OnClosing: true });
  const store = runner.store;
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof FactoryError) {
      return reply.status(STATUS[error.code]).send({ error: { code: error.code, message: error.message } });
    }
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const code = status === 400 ? 'bad-request' : status === 413 ? 'request-too-large' : 'internal-error';
    return reply
      .status(status)
      .send({ error: { code, message: error instanceof Error ? error.message : String(error) } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url}` } }),
  );

  app.get('/health', async () => ({ status: 'ok', jobs: store.list().length }));

  app.get('/base-models', async () => ({
    models: [...baseModels.values()].map((m) => ({
      name: m.name,
      hash: m.hash,
      parameters: m.parameters,
      hparams: m.hparams,
    })),
  }));

  app.post('/training/jobs', async (request, reply) => {
    const job = await runner.submit(request.body);
    return reply
      .status(202)
      .header('location', `/training/jobs/${job.id}`)
      .send({ job: jobView(job) });
  });

  app.get<{ Querystring: { owner?: string } }>('/training/jobs', async (request) => {
    const owner = request.query.owner?.toLowerCase();
    return {
      jobs: store
        .list()
        .filter((j) => !owner || j.request.owner.toLowerCase() === owner)
        .map(jobView),
    };
  });

  app.get<{ Params: { id: string } }>('/training/jobs/:id', async (request) => ({
    job: jobView(store.get(request.params.id)),
  }));

  app.delete<{ Params: { id: string } }>('/training/jobs/:id', async (request) => {
    const job = store.get(request.params.id);
    await requireOwner(job, request.headers.authorization);
    return { job: jobView(await runner.cancel(job.id)) };
  });

  app.get<{ Params: { id: string } }>('/training/jobs/:id/events', async (request, reply) => {
    const job = store.get(request.params.id);
    const after = Number(request.headers['last-event-id'] ?? -1);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const write = (event: JobEvent) =>
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    let last = Number.isInteger(after) ? after : -1;
    const live: JobEvent[] = [];
    let replayed = false;
    // Subscribed before the log is read, so nothing falls between the replay and the live events;
    // live events wait until the replay is written, and none is written twice.
    const unsubscribe = runner.subscribe(job.id, (event) => {
      live.push(event);
      if (replayed) flush();
    });
    const end = () => {
      unsubscribe();
      res.end();
    };
    const isFinal = (event: JobEvent) =>
      event.type === 'status' && FINAL_STATUSES.has((event.data as { status: StoredJob['status'] }).status);
    const flush = () => {
      for (const event of live.splice(0)) {
        if (event.seq <= last) continue;
        last = event.seq;
        write(event);
        if (isFinal(event)) return end();
      }
    };
    for (const event of await store.events(job.id, last)) {
      last = event.seq;
      write(event);
    }
    replayed = true;
    flush();
    if (FINAL_STATUSES.has(store.get(job.id).status) && !res.writableEnded) end();
    request.raw.on('close', unsubscribe);
  });

  app.get<{ Params: { id: string } }>('/training/jobs/:id/loss.svg', async (request, reply) => {
    const job = store.get(request.params.id);
    const { renderLossCurve } = await import('./loss-curve.ts');
    return reply.type('image/svg+xml').send(renderLossCurve(job.losses, `${job.request.name}: loss`));
  });

  app.get<{ Params: { id: string } }>('/training/jobs/:id/card', async (request, reply) => {
    const card = await readCard(store.folder(store.get(request.params.id).id));
    if (!card)
      return reply
        .status(404)
        .send({ error: { code: 'no-card', message: 'the job has not produced its model card yet' } });
    return card;
  });

  app.get<{ Params: { id: string } }>('/training/jobs/:id/card.md', async (request, reply) => {
    const card = await readCard(store.folder(store.get(request.params.id).id));
    if (!card)
      return reply
        .status(404)
        .send({ error: { code: 'no-card', message: 'the job has not produced its model card yet' } });
    return reply.type('text/markdown; charset=utf-8').send(modelCardMarkdown(card));
  });

  app.get<{ Params: { hash: string } }>('/blobs/:hash', async (request, reply) => {
    const hash = request.params.hash.toLowerCase();
    if (!/^0x[0-9a-f]{64}$/.test(hash)) {
      return reply.status(400).send({
        error: { code: 'bad-hash', message: 'a blob is named by its keccak256, 0x and 64 hex digits' },
      });
    }
    return sendBlob(reply, blobs, hash as Hex);
  });

  return app;
}

export async function startFactoryServer(
  runner: JobRunner,
  blobs: ContentStore,
  baseModels: ReadonlyMap<string, BaseModel>,
  options: { host?: string; port?: number } = {},
): Promise<RunningFactoryServer> {
  const app = await createFactoryServer(runner, blobs, baseModels);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { app, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`, close: () => app.close() };
}

async function readCard(folder: string): Promise<ModelCard | undefined> {
  try {
    return JSON.parse(await readFile(join(folder, 'card.json'), 'utf8')) as ModelCard;
  } catch {
    return undefined;
  }
}

async function sendBlob(reply: FastifyReply, blobs: ContentStore, hash: Hex) {
  try {
    const bytes = await blobs.get(hash);
    return reply
      .type('application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(Buffer.from(bytes));
  } catch (error) {
    if (error instanceof NotFoundError)
      return reply.status(404).send({ error: { code: 'blob-not-found', message: error.message } });
    if (error instanceof CorruptBlobError)
      return reply.status(500).send({ error: { code: 'blob-corrupt', message: error.message } });
    throw error;
  }
}

/** `Authorization: OpenLedger <address>.<expiry>.<signature>` over {@link cancelMessage}, by the job's owner. */
async function requireOwner(job: StoredJob, header: string | undefined): Promise<void> {
  const match = /^OpenLedger +(0x[0-9a-fA-F]{40})\.([0-9]{1,15})\.(0x[0-9a-fA-F]+)$/.exec(header ?? '');
  const deny = (message: string): never => {
    throw new FactoryError('no-access', message);
  };
  if (!match) return deny("cancelling a job needs the owner's signed Authorization header");
  const [, address, expiryText, signature] = match as unknown as [string, string, string, Hex];
  const expiry = Number(expiryText);
  if (expiry < Date.now() / 1000) deny('the authorization has expired');
  if (!isHex(signature)) deny('the signature is not hex');
  const signer = await recoverMessageAddress({ message: cancelMessage(job.id, expiry), signature }).catch(
    () => undefined,
  );
  if (
    !signer ||
    signer.toLowerCase() !== address.toLowerCase() ||
    signer.toLowerCase() !== job.request.owner.toLowerCase()
  ) {
    deny("only the job's owner may cancel it");
  }
}
