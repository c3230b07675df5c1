import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { FactoryError } from './factory-error.ts';
import type { FineTuneProgress } from './fine-tune.ts';
import type { LossPoint } from './loss-curve.ts';
import { parseTrainingJob, requestToJson, type TrainingJobRequest } from './training-spec.ts';

export type JobStatus =
  'queued' | 'exporting' | 'training' | 'evaluating' | 'registering' | 'succeeded' | 'failed' | 'cancelled';

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** The outcome of a job that succeeded. */
export interface JobResult {
  readonly modelId: string;
  readonly registrationTx: Hex;
  readonly adapterHash: Hex;
  readonly lossBefore: number;
  readonly lossAfter: number;
}

/** The latest progress a job's training reported. */
export type JobProgress = FineTuneProgress;

/** A job as stored and as the API shows it; the authorization header is kept out of `view`. */
export interface StoredJob {
  readonly id: string;
  readonly request: TrainingJobRequest;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  error?: { code: string; message: string };
  progress?: JobProgress;
  losses: LossPoint[];
  result?: JobResult;
}

/** One line of a job's log: what the SSE stream sends. */
export interface JobEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: 'status' | 'log' | 'progress' | 'loss';
  readonly data: unknown;
}

/**
 * Jobs on disk, one folder each: `job.json` (replaced atomically: temp, fsync, rename) and
 * `events.jsonl` (appended, fsynced), plus whatever the job writes there (rows, checkpoints, the
 * adapter). A restart reads every folder back, so queued and running jobs survive it.
 */
export class JobStore {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly seqs = new Map<string, number>();
  /** Per job and file, the write in progress: writes of one file never overlap, and land in order. */
  private readonly queues = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  static async open(dir: string): Promise<JobStore> {
    const store = new JobStore(dir);
    await mkdir(dir, { recursive: true });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const job = await readJob(join(dir, entry.name));
      if (!job) {
        // A folder without a complete job.json was never acknowledged to anyone.
        await rm(join(dir, entry.name), { recursive: true, force: true });
        continue;
      }
      store.jobs.set(job.id, job);
      store.seqs.set(job.id, (await store.events(job.id)).length);
    }
    return store;
  }

  async create(request: TrainingJobRequest): Promise<StoredJob> {
    const now = new Date().toISOString();
    const job: StoredJob = {
      id: randomUUID(),
      request,
      status: 'queued',
      createdAt: now,
      updatedAt: now,
      losses: [],
    };
    await mkdir(this.folder(job.id), { recursive: true });
    await this.save(job);
    this.jobs.set(job.id, job);
    this.seqs.set(job.id, 0);
    return job;
  }

  get(id: string): StoredJob {
    const job = this.jobs.get(id);
    if (!job) throw new FactoryError('job-not-found', `no training job ${id}`);
    return job;
  }

  list(): StoredJob[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  folder(id: string): string {
    return join(this.dir, id);
  }

  /** Applies `change` and writes the job durably before anyone is told. */
  async update(id: string, change: (job: StoredJob) => void): Promise<StoredJob> {
    const job = this.get(id);
    change(job);
    job.updatedAt = new Date().toISOString();
    await this.save(job);
    return job;
  }

  async append(id: string, type: JobEvent['type'], data: unknown): Promise<JobEvent> {
    const seq = this.seqs.get(id) ?? 0;
    const event: JobEvent = { seq, at: new Date().toISOString(), type, data };
    this.seqs.set(id, seq + 1);
    await this.serialize(`${id}/events`, async () => {
      const file = await open(join(this.folder(id), 'events.jsonl'), 'a');
      try {
        await file.write(`${JSON.stringify(event)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
    });
    return event;
  }

  async events(id: string, after = -1): Promise<JobEvent[]> {
    let text: string;
    try {
      text = await readFile(join(this.folder(id), 'events.jsonl'), 'utf8');
    } catch {
      return [];
    }
    const events: JobEvent[] = [];
    for (const line of text.split('\n')) {
      // A torn last line (crash mid-append) was never acknowledged; skip it.
      if (line.length === 0) continue;
      try {
        const event = JSON.parse(line) as JobEvent;
        if (event.seq > after) events.push(event);
      } catch {
        break;
      }
    }
    return events;
  }

  private serialize(key: string, write: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(key) ?? Promise.resolve()).then(write);
    this.queues.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }

  /** Writes the job as it is when its turn comes, so the file always ends at the latest state. */
  private save(job: StoredJob): Promise<void> {
    return this.serialize(`${job.id}/job`, () => this.write(job));
  }

  private async write(job: StoredJob): Promise<void> {
    const path = join(this.folder(job.id), 'job.json');
    const temp = `${path}.tmp`;
    const file = await open(temp, 'w');
    try {
      await file.write(JSON.stringify({ ...job, request: requestToJson(job.request) }));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  }
}

async function readJob(folder: string): Promise<StoredJob | undefined> {
  try {
    const stored = JSON.parse(await readFile(join(folder, 'job.json'), 'utf8')) as StoredJob;
    return { ...stored, request: parseTrainingJob(stored.request) };
  } catch {
    return undefined;
  }
}
