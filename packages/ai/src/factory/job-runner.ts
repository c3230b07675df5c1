import { EventEmitter } from 'node:events';
import { access, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ContentStore } from '@openledger/data';
import type { Connection } from '@openledger/sdk';
import type { Hex } from 'viem';
import type { LlamaHparams } from '../model/hparams.ts';
import { splitForEvaluation } from './eval-split.ts';
import { FactoryError, type FactoryErrorCode } from './factory-error.ts';
import { FINAL_STATUSES, type JobEvent, type JobStore, type JobStatus, type StoredJob } from './job-store.ts';
import { renderLossCurve } from './loss-curve.ts';
import type { ModelCard } from './model-card.ts';
import { publishTrainedModel } from './register-trained-model.ts';
import { parseTrainingJob, trainingConfigHash, type HyperParameters } from './training-spec.ts';
import type { TrainingWorkerData, WorkerMessage, WorkerResult } from './training-worker-protocol.ts';
import { fetchVerifiedVersion, type TrainingRow } from './version-rows.ts';

/** A base model the factory can fine-tune. */
export interface BaseModel {
  readonly name: string;
  readonly path: string;
  /** keccak256 of the GGUF file: what ModelRegistry records as the base model hash. */
  readonly hash: Hex;
  readonly hparams: LlamaHparams;
  readonly parameters: number;
}

export interface JobRunnerOptions {
  readonly store: JobStore;
  /** Signs registrations (and pays their fee); models are handed to their owners afterwards. */
  readonly chain: Connection;
  readonly dataPlaneUrl: string;
  readonly blobs: ContentStore;
  readonly baseModels: ReadonlyMap<string, BaseModel>;
  /** Jobs training at once (default 2). */
  readonly concurrency?: number;
  /** Jobs waiting or running at most (default 16); beyond it submissions are refused. */
  readonly maxJobs?: number;
  /** Memory one job may use, MiB (default 2048): larger jobs are refused, the worker's heap is capped. */
  readonly jobMemoryMb?: number;
  /** Kernel threads per job (default 1). */
  readonly threadsPerJob?: number;
}

/** What the export verified, for the model card. */
interface ExportSummary {
  readonly versions: ModelCard['data']['versions'][number][];
  readonly slashedRows: number;
}

/** Rows fewer than this cannot give a training set and a held-out set worth the name. */
export const MIN_ROWS = 8;

const EXPORT_FILE = 'export.json';
const TRAIN_FILE = 'train.jsonl';
const EVAL_FILE = 'eval.jsonl';
const LOSS_CURVE = 'loss.svg';
const CARD = 'card.json';

/**
 * The ModelFactory's queue. A submitted job is validated at once (request, base model, memory),
 * its data exported from the data plane and proven against the chain right away (the caller's
 * access header is short-lived), then it waits for a training slot; each training runs in its own
 * worker thread. The result is published (adapter, epoch snapshots, row manifest, card) and
 * registered on-chain. Every step is recorded in the JobStore first, so a restarted runner picks
 * each job up where it was: exported data is kept, training resumes from its checkpoint.
 */
export class JobRunner {
  private readonly events = new EventEmitter();
  private readonly waiting: string[] = [];
  private readonly running = new Map<string, Worker>();
  private stopped = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.events.setMaxListeners(0);
  }

  get store(): JobStore {
    return this.o.store;
  }

  /** Picks up every unfinished job (after a restart). */
  async start(): Promise<void> {
    for (const job of this.o.store.list()) {
      if (FINAL_STATUSES.has(job.status)) continue;
      if (job.status === 'queued' || job.status === 'exporting') void this.export(job.id);
      else if (job.status === 'registering') void this.register(job.id);
      else this.enqueue(job.id);
    }
  }

  /** Validates and records a job; its export starts at once. Errors are FactoryErrors with a code. */
  async submit(input: unknown): Promise<StoredJob> {
    const request = parseTrainingJob(input);
    const base = this.o.baseModels.get(request.baseModel);
    if (!base) {
      throw new FactoryError(
        'bad-request',
        `baseModel: unknown base model '${request.baseModel}' (this factory has: ${[...this.o.baseModels.keys()].join(', ') || 'none'})`,
      );
    }
    const needMb = estimateJobMemoryMb(base, request.hyperParameters);
    const limitMb = this.o.jobMemoryMb ?? 2048;
    if (needMb > limitMb) {
      throw new FactoryError(
        'bad-request',
        `hyperParameters: the job would need about ${needMb} MiB, over the ${limitMb} MiB a job may use; lower batchSize or maxSeqLen`,
      );
    }
    const active = this.o.store.list().filter((j) => !FINAL_STATUSES.has(j.status)).length;
    if (active >= (this.o.maxJobs ?? 16)) {
      throw new FactoryError('queue-full', `${active} jobs are waiting or running; try again later`);
    }
    const job = await this.o.store.create(request);
    await this.note(job.id, 'status', { status: 'queued' });
    void this.export(job.id);
    return job;
  }

  /** Stops a job that has not finished; its worker is terminated. */
  async cancel(id: string): Promise<StoredJob> {
    const job = this.o.store.get(id);
    if (FINAL_STATUSES.has(job.status)) return job;
    const index = this.waiting.indexOf(id);
    if (index >= 0) this.waiting.splice(index, 1);
    const worker = this.running.get(id);
    this.running.delete(id);
    await this.setStatus(id, 'cancelled');
    await worker?.terminate();
    this.pump();
    return this.o.store.get(id);
  }

  /** Calls `listener` with every event of the job from now on; returns the unsubscribe function. */
  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  /** Terminates running workers without marking their jobs: a later start resumes them. */
  async stop(): Promise<void> {
    this.stopped = true;
    const workers = [...this.running.values()];
    // Forgotten before they exit, so their exits are not taken for failures.
    this.running.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  // ---------------------------------------------------------------- the pipeline

  private async export(id: string): Promise<void> {
    try {
      const job = this.o.store.get(id);
      const folder = this.o.store.folder(id);
      if (!(await exists(join(folder, EVAL_FILE)))) {
        await this.setStatus(id, 'exporting');
        const rows: TrainingRow[] = [];
        const versions: ExportSummary['versions'] = [];
        let slashed = 0;
        for (const version of job.request.versions) {
          const v = await fetchVerifiedVersion({
            chain: this.o.chain,
            dataPlaneUrl: this.o.dataPlaneUrl,
            datanetId: job.request.datanetId,
            version,
            authorization: job.request.authorization,
            ...(job.request.purchaseId !== undefined && { purchaseId: job.request.purchaseId }),
          });
          for (const row of v.rows) {
            if (v.slashed.has(row.contributionId)) slashed++;
            else rows.push(row);
          }
          versions.push({ version, root: v.root, rows: v.rows.length });
          await this.note(
            id,
            'log',
            `version ${version}: ${v.rows.length} rows verified against root ${v.root}`,
          );
        }
        if (rows.length < MIN_ROWS) {
          throw new FactoryError(
            'too-few-rows',
            `the versions hold ${rows.length} usable rows; training needs ${MIN_ROWS}`,
          );
        }
        const split = splitForEvaluation(
          rows,
          job.request.hyperParameters.evalFraction,
          job.request.hyperParameters.seed,
        );
        const summary: ExportSummary = { versions, slashedRows: slashed };
        await writeFile(join(folder, EXPORT_FILE), JSON.stringify(summary));
        await writeJsonl(join(folder, TRAIN_FILE), split.train);
        // Written last: its presence says the export is complete.
        await writeJsonl(join(folder, EVAL_FILE), split.eval);
        await this.note(
          id,
          'log',
          `${split.train.length} training rows, ${split.eval.length} held out` +
            (slashed > 0 ? `, ${slashed} rows of slashed contributions left out` : ''),
        );
      }
      await this.setStatus(id, 'queued');
      if (this.o.store.get(id).status === 'queued') this.enqueue(id);
    } catch (error) {
      await this.fail(id, error);
    }
  }

  private enqueue(id: string): void {
    if (!this.waiting.includes(id)) this.waiting.push(id);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < (this.o.concurrency ?? 2) && this.waiting.length > 0) {
      void this.train(this.waiting.shift()!);
    }
  }

  private async train(id: string): Promise<void> {
    const job = this.o.store.get(id);
    if (job.status === 'cancelled') return this.pump();
    const base = this.o.baseModels.get(job.request.baseModel)!;
    const folder = this.o.store.folder(id);
    const data: TrainingWorkerData = {
      baseModelPath: base.path,
      trainFile: join(folder, TRAIN_FILE),
      evalFile: join(folder, EVAL_FILE),
      workDir: folder,
      hyperParameters: job.request.hyperParameters,
      threads: this.o.threadsPerJob ?? 1,
    };
    const worker = new Worker(new URL('./training-worker-entry.mjs', import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: this.o.jobMemoryMb ?? 2048 },
    });
    this.running.set(id, worker);
    await this.setStatus(id, 'training');
    let result: WorkerResult | undefined;
    let failure: FactoryError | undefined;
    // Events are written in order: each waits for the previous one to be on disk.
    let written = Promise.resolve();
    worker.on('message', (message: WorkerMessage) => {
      written = written.then(() => this.onWorkerMessage(id, message)).catch(() => undefined);
      if (message.type === 'done') result = message.result;
      if (message.type === 'error')
        failure = new FactoryError(message.code as FactoryErrorCode, message.message);
    });
    const exit = await new Promise<Error | number>((done) => {
      worker.once('error', (error) => done(error));
      worker.once('exit', (code) => done(code));
    });
    await written;
    if (this.running.get(id) !== worker) return; // cancelled or stopped: not this code's to record
    this.running.delete(id);
    if (result) {
      void this.finishTraining(id, result);
    } else {
      const why =
        failure ??
        new FactoryError(
          'training-failed',
          exit instanceof Error ? exit.message : `the training worker exited with code ${exit}`,
        );
      await this.fail(id, why);
    }
    this.pump();
  }

  private async onWorkerMessage(id: string, message: WorkerMessage): Promise<void> {
    switch (message.type) {
      case 'progress':
        await this.o.store.update(id, (j) => (j.progress = message.progress));
        return void this.events.emit(id, await this.o.store.append(id, 'progress', message.progress));
      case 'loss':
        await this.o.store.update(id, (j) => void j.losses.push(message.point));
        return void (await this.note(id, 'loss', message.point));
      case 'log':
        return void (await this.note(id, 'log', message.message));
      default:
        return;
    }
  }

  private async finishTraining(id: string, result: WorkerResult): Promise<void> {
    try {
      await writeFile(join(this.o.store.folder(id), 'result.json'), JSON.stringify(result));
      await this.setStatus(id, 'registering');
      await this.register(id);
    } catch (error) {
      await this.fail(id, error);
    }
  }

  /** Publishes the adapter and what attribution needs, then registers the model. Safe to repeat. */
  private async register(id: string): Promise<void> {
    try {
      const job = this.o.store.get(id);
      const folder = this.o.store.folder(id);
      const result = JSON.parse(await readFile(join(folder, 'result.json'), 'utf8')) as WorkerResult;
      const base = this.o.baseModels.get(job.request.baseModel)!;
      const adapterBytes = await readFile(result.adapterPath);
      const adapterHash = (await this.o.blobs.put(adapterBytes)) as Hex;
      const epochs = [];
      for (const e of result.epochAdapters) {
        epochs.push({
          epoch: e.epoch,
          learningRate: e.learningRate,
          adapter: await this.o.blobs.put(await readFile(e.path)),
        });
      }
      const trainRows = await readJsonl<TrainingRow & { contributionId: string }>(join(folder, TRAIN_FILE));
      const evalRows = await readJsonl<TrainingRow>(join(folder, EVAL_FILE));
      // The rows in training order with who contributed them: what attribution maps scores back to.
      const manifest = await this.o.blobs.put(
        new TextEncoder().encode(
          trainRows
            .map((r) =>
              JSON.stringify({
                row: r.row,
                version: r.version,
                hash: r.hash,
                contributor: r.contributor,
                contributionId: r.contributionId,
              }),
            )
            .join('\n') + '\n',
        ),
      );
      const lossCurve = renderLossCurve(job.losses, `${job.request.name}: loss`);
      await writeFile(join(folder, LOSS_CURVE), lossCurve);
      const exported = JSON.parse(await readFile(join(folder, EXPORT_FILE), 'utf8')) as ExportSummary;
      const h = job.request.hyperParameters;
      const adapterParameters = countLoraParameters(base.hparams, h);
      const card: ModelCard & { attribution: unknown } = {
        name: job.request.name,
        owner: job.request.owner,
        base: { name: base.name, hash: base.hash, parameters: base.parameters },
        adapter: { hash: adapterHash, bytes: adapterBytes.length, parameters: adapterParameters },
        data: {
          datanetId: job.request.datanetId.toString(),
          versions: exported.versions,
          trainRows: trainRows.length,
          evalRows: evalRows.length,
          slashedRows: exported.slashedRows,
          contributors: new Set([...trainRows, ...evalRows].map((r) => r.contributor.toLowerCase())).size,
        },
        hyperParameters: h,
        trainingConfigHash: trainingConfigHash({
          baseModelHash: base.hash,
          datanetId: job.request.datanetId,
          versions: job.request.versions,
          hyperParameters: h,
        }),
        training: {
          steps: result.steps,
          tokens: result.tokens,
          seconds: result.seconds,
          tokensPerSecond: result.tokens / Math.max(result.seconds, 1e-3),
        },
        evaluation: {
          lossBefore: result.lossBefore,
          lossAfter: result.lossAfter,
          perplexityBefore: Math.exp(result.lossBefore),
          perplexityAfter: Math.exp(result.lossAfter),
        },
        attribution: { method: 'tracin-lora', rows: manifest, epochs },
        createdAt: new Date().toISOString(),
      };
      await writeFile(join(folder, CARD), JSON.stringify(card, null, 2));
      const published = await publishTrainedModel(
        this.o.chain,
        this.o.blobs,
        card,
        job.request.pricePer1kTokens,
      );
      await this.o.store.update(id, (j) => {
        j.result = {
          modelId: published.modelId.toString(),
          registrationTx: published.registrationTx,
          adapterHash,
          lossBefore: result.lossBefore,
          lossAfter: result.lossAfter,
        };
      });
      await this.note(id, 'log', `registered as model ${published.modelId} (${job.request.name})`);
      await this.setStatus(id, 'succeeded');
    } catch (error) {
      await this.fail(id, error);
    }
  }

  // ---------------------------------------------------------------- bookkeeping

  /** Moves a job on; a job that has ended (a cancelled one still exporting, say) stays as it is. */
  private async setStatus(id: string, status: JobStatus): Promise<void> {
    if (FINAL_STATUSES.has(this.o.store.get(id).status)) return;
    await this.o.store.update(id, (j) => (j.status = status));
    await this.note(id, 'status', { status });
  }

  private async fail(id: string, error: unknown): Promise<void> {
    const code = error instanceof FactoryError ? error.code : 'training-failed';
    const message = error instanceof Error ? error.message : String(error);
    if (FINAL_STATUSES.has(this.o.store.get(id).status)) return;
    await this.o.store.update(id, (j) => {
      j.status = 'failed';
      j.error = { code, message };
    });
    await this.note(id, 'status', { status: 'failed', error: { code, message } });
  }

  private async note(id: string, type: JobEvent['type'], data: unknown): Promise<void> {
    this.events.emit(id, await this.o.store.append(id, type, data));
  }
}

/**
 * What a LoRA job holds: the float32 base weights, the adapter with its gradient and AdamW moments,
 * and one batch of activations kept for the backward pass (a generous per-token figure per block).
 */
export function estimateJobMemoryMb(
  base: Pick<BaseModel, 'hparams' | 'parameters'>,
  h: HyperParameters,
): number {
  const { dim, ffnDim, layers, heads, vocabSize } = base.hparams;
  const weights = base.parameters * 4;
  const adapter = countLoraParameters(base.hparams, h) * 4 * 4;
  const tokens = h.batchSize * h.maxSeqLen;
  const perTokenPerLayer = (12 * dim + 4 * ffnDim + heads * h.maxSeqLen) * 4;
  const activations = tokens * (layers * perTokenPerLayer + vocabSize * 4 * 2);
  return Math.ceil((weights + adapter + activations) / 2 ** 20) + 64;
}

function countLoraParameters(hp: LlamaHparams, h: HyperParameters): number {
  const q = hp.heads * hp.headDim;
  const kv = hp.kvHeads * hp.headDim;
  const shapes: Record<HyperParameters['targets'][number], [number, number]> = {
    q: [hp.dim, q],
    k: [hp.dim, kv],
    v: [hp.dim, kv],
    o: [q, hp.dim],
    gate: [hp.dim, hp.ffnDim],
    up: [hp.dim, hp.ffnDim],
    down: [hp.ffnDim, hp.dim],
  };
  return h.targets.reduce((n, t) => n + hp.layers * h.rank * (shapes[t][0] + shapes[t][1]), 0);
}

async function writeJsonl(path: string, rows: readonly TrainingRow[]): Promise<void> {
  const text =
    rows.map((r) => JSON.stringify({ ...r, contributionId: r.contributionId.toString() })).join('\n') + '\n';
  const file = await open(`${path}.tmp`, 'w');
  try {
    await file.write(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
}

async function readJsonl<T>(path: string): Promise<T[]> {
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
