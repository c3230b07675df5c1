import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GgufFile,
  f64,
  getF64,
  getU32,
  u32,
  writeLoraAdapter,
  type GgufValue,
  type LoraAdapter,
} from '../gguf/index.ts';
import { Rng } from '../generation/rng.ts';
import type { LlamaModel } from '../model/llama-model.ts';
import { createTokenizer, type Tokenizer } from '../tokenizer/index.ts';
import { evaluateLoss } from '../training/backward.ts';
import { loadCheckpoint, saveCheckpoint } from '../training/checkpoint.ts';
import type { TrainingExample } from '../training/cross-entropy.ts';
import { createLora, type LoraTargetName } from '../training/lora-params.ts';
import { Trainer } from '../training/trainer.ts';
import { FactoryError } from './factory-error.ts';
import type { LossPoint } from './loss-curve.ts';
import type { HyperParameters } from './training-spec.ts';

export interface FineTuneInput {
  readonly model: LlamaModel;
  /** Training texts, in the order their rows were listed (the order attribution refers to). */
  readonly train: readonly string[];
  readonly eval: readonly string[];
  readonly hyperParameters: HyperParameters;
  /** Where checkpoints and epoch snapshots go; a checkpoint found here is resumed. */
  readonly workDir: string;
  /** Optimizer steps between checkpoints (default: 20). */
  readonly checkpointEvery?: number;
}

export interface FineTuneProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly tokens: number;
  readonly tokensPerSecond: number;
  readonly etaSeconds: number;
  readonly loss: number;
}

export interface FineTuneHooks {
  progress?(p: FineTuneProgress): void;
  loss?(point: LossPoint): void;
  log?(message: string): void;
}

export interface FineTuneResult {
  readonly adapter: LoraAdapter;
  readonly adapterPath: string;
  /** One adapter per finished epoch (TracIn sums gradient products over them). */
  readonly epochAdapters: readonly {
    readonly epoch: number;
    readonly path: string;
    readonly learningRate: number;
  }[];
  readonly lossBefore: number;
  readonly lossAfter: number;
  readonly steps: number;
  readonly tokens: number;
  readonly seconds: number;
}

/** Short target names of the job spec → the trainer's. */
const TARGETS: Record<HyperParameters['targets'][number], LoraTargetName> = {
  q: 'q',
  k: 'k',
  v: 'v',
  o: 'o',
  gate: 'gate',
  up: 'up',
  down: 'down',
};

const CHECKPOINT = 'checkpoint.gguf';
const META = 'openledger.job.';
/** Held-out rows beyond this many are not all evaluated: evaluation must not dominate the job. */
const MAX_EVAL_ROWS = 512;

/**
 * LoRA fine-tuning of one base model on rows of text: evaluation loss before, epochs of shuffled
 * mini-batches (seeded, so a resumed job sees the same order), AdamW with clipping and a warmup +
 * cosine learning-rate schedule, a checkpoint every few steps that a restarted job resumes bit for
 * bit, an adapter snapshot per epoch, evaluation after. Synchronous compute, so it runs in a worker.
 */
export async function fineTune(input: FineTuneInput, hooks: FineTuneHooks = {}): Promise<FineTuneResult> {
  const { model, hyperParameters: h } = input;
  if (!model.tokenizer) throw new FactoryError('bad-base-model', 'the base model carries no tokenizer');
  const tokenizer = createTokenizer(model.tokenizer);
  const encode = (rows: readonly string[]) => {
    const examples: TrainingExample[] = [];
    for (const text of rows) {
      const example = encodeRow(tokenizer, text, h.maxSeqLen);
      if (example && example.tokens.length >= 2) examples.push(example);
    }
    return examples;
  };
  const train = encode(input.train);
  const evalSet = encode(input.eval.slice(0, MAX_EVAL_ROWS));
  if (train.length === 0 || evalSet.length === 0) {
    throw new FactoryError('too-few-rows', 'no training or no evaluation row has any text to learn from');
  }
  const batchesPerEpoch = Math.ceil(train.length / h.batchSize);
  const totalSteps = batchesPerEpoch * h.epochs;
  const checkpointPath = join(input.workDir, CHECKPOINT);

  let trainer: Trainer;
  let epoch = 0;
  let batch = 0;
  let tokens = 0;
  let lossBefore: number;
  if (await exists(checkpointPath)) {
    trainer = await loadCheckpoint(checkpointPath, { model });
    const file = await GgufFile.open(checkpointPath);
    try {
      epoch = getU32(file.metadata, `${META}epoch`);
      batch = getU32(file.metadata, `${META}batch`);
      tokens = getU32(file.metadata, `${META}tokens`);
      lossBefore = getF64(file.metadata, `${META}loss_before`);
    } finally {
      await file.close();
    }
    hooks.log?.(`resumed from step ${trainer.optimizer.step} (epoch ${epoch + 1}, batch ${batch + 1})`);
  } else {
    lossBefore = evaluateLoss(model, evalSet).loss;
    hooks.log?.(`evaluation loss before training: ${lossBefore.toFixed(4)} over ${evalSet.length} rows`);
    hooks.loss?.({ step: 0, tokens: 0, trainLoss: lossBefore, evalLoss: lossBefore });
    const lora = createLora(model, {
      rank: h.rank,
      alpha: h.alpha,
      targets: h.targets.map((t) => TARGETS[t]),
      seed: h.seed,
    });
    trainer = new Trainer(model, {
      train: { lora },
      optimizer: { learningRate: h.learningRate, weightDecay: h.weightDecay },
      clipNorm: h.clipNorm,
    });
  }
  const lora = trainer.lora!;
  const epochEndRate = (e: number) => scheduledRate(h.learningRate, e * batchesPerEpoch - 1, totalSteps);
  const epochAdapters: FineTuneResult['epochAdapters'][number][] = [];
  for (let e = 1; e <= epoch; e++) {
    epochAdapters.push({
      epoch: e,
      path: join(input.workDir, `epoch-${e}.gguf`),
      learningRate: epochEndRate(e),
    });
  }

  const started = performance.now();
  const tokensAtStart = tokens;
  let windowLoss = 0;
  let windowSteps = 0;
  // Saves where to go on (the next batch to run), so a resumed job repeats and skips nothing.
  const checkpoint = async () => {
    const extra = new Map<string, GgufValue>([
      [`${META}epoch`, u32(epoch)],
      [`${META}batch`, u32(batch)],
      [`${META}tokens`, u32(tokens)],
      [`${META}loss_before`, f64(lossBefore)],
    ]);
    // Written beside and renamed over the old one, so a crash mid-write keeps the previous checkpoint.
    await saveCheckpoint(`${checkpointPath}.next`, trainer, extra);
    await rename(`${checkpointPath}.next`, checkpointPath);
  };

  while (epoch < h.epochs) {
    const order = shuffled(train.length, h.seed + epoch);
    while (batch < batchesPerEpoch) {
      const examples = order.slice(batch * h.batchSize, (batch + 1) * h.batchSize).map((i) => train[i]!);
      trainer.optimizer.learningRate = scheduledRate(h.learningRate, trainer.optimizer.step, totalSteps);
      const result = trainer.step(examples);
      batch++;
      tokens += examples.reduce((n, x) => n + x.tokens.length, 0);
      windowLoss += result.loss;
      windowSteps++;
      const seconds = (performance.now() - started) / 1000;
      const rate = (tokens - tokensAtStart) / Math.max(seconds, 1e-3);
      const remainingTokens = (totalSteps - result.step) * (tokens / result.step);
      hooks.progress?.({
        step: result.step,
        totalSteps,
        epoch: epoch + 1,
        tokens,
        tokensPerSecond: rate,
        etaSeconds: remainingTokens / Math.max(rate, 1e-3),
        loss: result.loss,
      });
      if (windowSteps === reportEvery(totalSteps) || result.step === totalSteps) {
        hooks.loss?.({ step: result.step, tokens, trainLoss: windowLoss / windowSteps });
        windowLoss = 0;
        windowSteps = 0;
      }
      if (result.step % (input.checkpointEvery ?? 20) === 0) await checkpoint();
    }
    epoch++;
    batch = 0;
    const snapshot = join(input.workDir, `epoch-${epoch}.gguf`);
    await writeLoraAdapter(snapshot, lora);
    epochAdapters.push({ epoch, path: snapshot, learningRate: epochEndRate(epoch) });
    const evalLoss = evaluateLoss(model, evalSet, { lora }).loss;
    hooks.loss?.({ step: trainer.optimizer.step, tokens, evalLoss });
    hooks.log?.(`epoch ${epoch}/${h.epochs}: evaluation loss ${evalLoss.toFixed(4)}`);
    await checkpoint();
  }
  const lossAfter = evaluateLoss(model, evalSet, { lora }).loss;
  const adapterPath = join(input.workDir, 'adapter.gguf');
  await writeLoraAdapter(adapterPath, lora);
  return {
    adapter: lora,
    adapterPath,
    epochAdapters,
    lossBefore,
    lossAfter,
    steps: trainer.optimizer.step,
    tokens,
    seconds: (performance.now() - started) / 1000,
  };
}

/** BOS + the row + EOS, cut to `maxSeqLen` tokens: each row is one example (none for an empty row). */
export function encodeRow(
  tokenizer: Tokenizer,
  text: string,
  maxSeqLen: number,
): TrainingExample | undefined {
  const ids = tokenizer.encode(text, { addBos: false, addEos: false });
  if (ids.length === 0) return undefined;
  const tokens = [
    ...(tokenizer.bosId === undefined ? [] : [tokenizer.bosId]),
    ...ids,
    ...(tokenizer.eosId === undefined ? [] : [tokenizer.eosId]),
  ];
  return { tokens: tokens.slice(0, maxSeqLen) };
}

/** Linear warmup over the first 5 % of steps (at least one), then cosine decay to 10 % of the peak. */
export function scheduledRate(peak: number, step: number, totalSteps: number): number {
  const warmup = Math.max(1, Math.round(totalSteps * 0.05));
  if (step < warmup) return (peak * (step + 1)) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  return peak * (0.1 + 0.45 * (1 + Math.cos(Math.PI * progress)));
}

/** About 50 points on the loss curve whatever the run's length. */
function reportEvery(totalSteps: number): number {
  return Math.max(1, Math.floor(totalSteps / 50));
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
function shuffled(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextU32() % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
