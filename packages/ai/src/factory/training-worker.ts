import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { loadLlamaModel } from '../model/load-model.ts';
import { configureKernels } from '../tensor/kernel-pool.ts';
import { FactoryError } from './factory-error.ts';
import { fineTune } from './fine-tune.ts';
import type { TrainingWorkerData, WorkerMessage } from './training-worker-protocol.ts';

/*
 * One training job in its own thread: the job's memory (model, activations, optimizer state) lives
 * and dies with the thread, a runaway job hits its own heap limit, and cancelling is terminating.
 */
const data = workerData as TrainingWorkerData;
const port = parentPort!;
const send = (message: WorkerMessage) => port.postMessage(message);

async function texts(path: string): Promise<string[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0);
  return lines.map((l) => (JSON.parse(l) as { text: string }).text);
}

const PROGRESS_INTERVAL_MS = 500;
let lastProgress = -Infinity;

try {
  configureKernels({ threads: data.threads });
  const model = await loadLlamaModel(data.baseModelPath);
  const result = await fineTune(
    {
      model,
      train: await texts(data.trainFile),
      eval: await texts(data.evalFile),
      hyperParameters: data.hyperParameters,
      workDir: data.workDir,
    },
    {
      progress: (progress) => {
        // Steps of a small model take milliseconds: report at most a few times a second.
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS && progress.step !== progress.totalSteps) return;
        lastProgress = now;
        send({ type: 'progress', progress });
      },
      loss: (point) => send({ type: 'loss', point }),
      log: (message) => send({ type: 'log', message }),
    },
  );
  send({
    type: 'done',
    result: {
      adapterPath: result.adapterPath,
      epochAdapters: result.epochAdapters,
      lossBefore: result.lossBefore,
      lossAfter: result.lossAfter,
      steps: result.steps,
      tokens: result.tokens,
      seconds: result.seconds,
    },
  });
} catch (error) {
  send({
    type: 'error',
    code: error instanceof FactoryError ? error.code : 'training-failed',
    message: error instanceof Error ? error.message : String(error),
  });
}
