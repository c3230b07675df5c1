/**
 * One training job, run alone in a child process by bench/runtime.ts so that its memory can be
 * measured: `node --import tsx packages/ai/bench/training-job.ts MODEL lora|full THREADS`.
 *
 * Loads the model, trains it for a few steps on batches of 4 windows of 256 tokens (pseudo-random
 * ids: the cost of a step does not depend on which tokens they are), and prints one JSON line:
 * tokens/s over the timed steps (after one warm-up step) and the process's peak resident memory
 * (getrusage maxRSS) with the V8 heap and array-buffer memory at the end.
 */
import {
  Trainer,
  configureKernels,
  createLora,
  loadLlamaModel,
  startKernelPool,
  stopKernelPool,
} from '../src/index.ts';

const [modelPath, kind, threadsArg] = process.argv.slice(2);
if (!modelPath || (kind !== 'lora' && kind !== 'full')) {
  throw new Error('usage: training-job.ts MODEL lora|full THREADS');
}
const threads = Number(threadsArg ?? 1);
configureKernels({ threads });
if (threads > 1) startKernelPool();

const SEQUENCES = 4;
const LENGTH = 257;
const TIMED_STEPS = 3;

const model = await loadLlamaModel(modelPath);
let seed = 12345;
const batch = () =>
  Array.from({ length: SEQUENCES }, () => ({
    tokens: Array.from({ length: LENGTH }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % model.hparams.vocabSize;
    }),
  }));
const trainer = new Trainer(model, {
  train:
    kind === 'lora' ? { lora: createLora(model, { rank: 8, targets: ['q', 'v'], seed: 1 }) } : { base: true },
  optimizer: { learningRate: 1e-4 },
  clipNorm: 1,
});
trainer.step(batch());
const started = performance.now();
for (let i = 0; i < TIMED_STEPS; i++) trainer.step(batch());
const seconds = (performance.now() - started) / 1000;
const memory = process.memoryUsage();
await stopKernelPool();
const mb = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));
console.log(
  JSON.stringify({
    kind,
    threads,
    trainedParameters: [...trainer.params.values()].reduce((n, p) => n + p.length, 0),
    tokensPerStep: SEQUENCES * (LENGTH - 1),
    tokensPerSecond: Math.round((TIMED_STEPS * SEQUENCES * (LENGTH - 1)) / seconds),
    peakRssMiB: mb(process.resourceUsage().maxRSS * 1024),
    heapUsedMiB: mb(memory.heapUsed),
    arrayBuffersMiB: mb(memory.arrayBuffers),
  }),
);
