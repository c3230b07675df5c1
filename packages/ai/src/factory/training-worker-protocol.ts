import type { FineTuneProgress, FineTuneResult } from './fine-tune.ts';
import type { LossPoint } from './loss-curve.ts';
import type { HyperParameters } from './training-spec.ts';

/** What a training worker is started with. */
export interface TrainingWorkerData {
  readonly baseModelPath: string;
  /** JSONL files of rows ({text, …}), written by the job runner. */
  readonly trainFile: string;
  readonly evalFile: string;
  readonly workDir: string;
  readonly hyperParameters: HyperParameters;
  /** Kernel threads for this job (jobs running side by side share the cores). */
  readonly threads: number;
}

export type WorkerResult = Omit<FineTuneResult, 'adapter'>;

/** Messages from a training worker to the job runner. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: FineTuneProgress }
  | { readonly type: 'loss'; readonly point: LossPoint }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'done'; readonly result: WorkerResult }
  | { readonly type: 'error'; readonly code: string; readonly message: string };
