/**
 * Pretrains our bundled base model, packages/ai/models/openledger-base.gguf (see docs/models.md,
 * "Our base model"), from scratch on the prepared corpus:
 *
 *   npm run model:pretrain [-- --threads N] [-- --stop-after STEP]
 *
 * 1. Prepares the corpus (scripts/corpus/prepare-corpus.ts) if .openledger/corpus lacks it.
 * 2. Trains a byte-level BPE tokenizer on train.txt (cached in .openledger/pretrain/tokenizer.json).
 * 3. Tokenizes train.txt and heldout.txt into token streams (cached beside it).
 * 4. Trains a LLaMA-architecture model (config.ts) with AdamW, warmup then cosine decay, logging the
 *    train loss every step and a held-out loss every few steps to .openledger/pretrain/log.jsonl,
 *    and checkpointing every few steps: run it again after an interruption and it resumes from the
 *    last checkpoint, bit for bit as if it had not stopped.
 * 5. Scores the whole held-out split (perplexity per token and per byte), samples a few greedy
 *    continuations, and writes the model (F32, with its tokenizer and chat template) and
 *    .openledger/pretrain/report.json.
 *
 * Progress goes to stderr; the report's summary to stdout.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  GgmlType,
  GgufFile,
  Trainer,
  configureKernels,
  createLlamaModel,
  createTokenizer,
  f64,
  generate,
  getF64,
  loadCheckpoint,
  saveCheckpoint,
  startKernelPool,
  stopKernelPool,
  str,
  trainByteLevelBpe,
  writeLlamaModel,
  type TokenizerSpec,
} from '../../src/index.ts';
import { CHAT_TEMPLATE, PRETRAIN_CONFIG, SPECIAL_TOKENS, type PretrainConfig } from './config.ts';
import { batchWindows, tokenByteLengths, tokenStream, windowCount, windowExample } from './dataset.ts';
import { scoreHeldOut } from './evaluate.ts';
import { learningRateAt } from './lr-schedule.ts';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const PREPARE_CORPUS = fileURLToPath(new URL('../corpus/prepare-corpus.ts', import.meta.url));
const ELAPSED_KEY = 'openledger.pretrain.elapsed_seconds';
const SAMPLE_PROMPTS = [
  'Fellow-citizens of the Senate and of the House of Representatives:',
  'The Congress',
  'dog, domestic dog (noun):',
  'happy (adjective):',
  'run (verb):',
];
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Paths {
  readonly corpus: string;
  readonly work: string;
  readonly out: string;
}

/** Runs the corpus script unless both splits are there. */
function ensureCorpus(corpus: string): void {
  if (existsSync(join(corpus, 'train.txt')) && existsSync(join(corpus, 'heldout.txt'))) return;
  log(`corpus: preparing ${relative(ROOT, corpus)} (needs Debian's wordnet-base, see docs/models.md)`);
  const result = spawnSync(process.execPath, [...process.execArgv, PREPARE_CORPUS, '--out', corpus], {
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('pretrain: preparing the corpus failed (see above)');
}

/** The tokenizer spec, trained once on the training split and cached as JSON. */
async function tokenizerSpec(config: PretrainConfig, corpus: string, work: string): Promise<TokenizerSpec> {
  const path = join(work, 'tokenizer.json');
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as TokenizerSpec;
  const started = performance.now();
  const lines = (await readFile(join(corpus, 'train.txt'), 'utf8')).split('\n').filter((l) => l.length > 0);
  const spec = trainByteLevelBpe(lines, {
    vocabSize: config.tokenizer.vocabSize,
    specialTokens: SPECIAL_TOKENS,
    bosToken: '<|begin_of_text|>',
    eosToken: '<|end_of_text|>',
    minFrequency: config.tokenizer.minFrequency,
  });
  if (spec.tokens.length !== config.hparams.vocabSize) {
    throw new Error(
      `pretrain: the tokenizer has ${spec.tokens.length} tokens, the config wants ${config.hparams.vocabSize}`,
    );
  }
  const withChat: TokenizerSpec = {
    ...spec,
    eotId: spec.tokens.indexOf('<|im_end|>'),
    chatTemplate: CHAT_TEMPLATE,
  };
  await writeFile(path, `${JSON.stringify(withChat)}\n`);
  log(
    `tokenizer: ${spec.tokens.length} tokens trained in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return withChat;
}

/** Seconds of training recorded in a checkpoint (0 if it has none). */
async function checkpointElapsed(path: string): Promise<number> {
  const file = await GgufFile.open(path);
  try {
    return file.metadata.has(ELAPSED_KEY) ? getF64(file.metadata, ELAPSED_KEY) : 0;
  } finally {
    await file.close();
  }
}

/** Keeps the log's lines up to `step` (a resumed run redoes the steps after its checkpoint). */
async function trimLog(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const kept = (await readFile(path, 'utf8'))
    .split('\n')
    .filter((line) => line.length > 0 && (JSON.parse(line) as { step: number }).step <= step);
  await writeFile(path, kept.map((l) => `${l}\n`).join(''));
}

async function pretrain(
  config: PretrainConfig,
  paths: Paths,
  threads: number,
  stopAfter: number,
): Promise<void> {
  await mkdir(paths.work, { recursive: true });
  ensureCorpus(paths.corpus);
  const spec = await tokenizerSpec(config, paths.corpus, paths.work);
  const tokenizer = createTokenizer(spec);
  const tokenizerHash = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  const prepStarted = performance.now();
  const train = await tokenStream(
    join(paths.corpus, 'train.txt'),
    tokenizer,
    tokenizerHash,
    join(paths.work, 'train.u16'),
  );
  const heldout = await tokenStream(
    join(paths.corpus, 'heldout.txt'),
    tokenizer,
    tokenizerHash,
    join(paths.work, 'heldout.u16'),
  );
  const T = config.hparams.contextLength;
  const trainWindows = windowCount(train, T);
  const heldoutWindows = windowCount(heldout, T);
  log(
    `data: train ${train.tokens.length} tokens (${train.documents} documents, ${trainWindows} windows of ${T}), ` +
      `held out ${heldout.tokens.length} tokens (${heldoutWindows} windows); ` +
      `${((performance.now() - prepStarted) / 1000).toFixed(1)} s`,
  );
  const bos = tokenizer.bosId!;
  const heldoutExamples = Array.from({ length: heldoutWindows }, (_, i) => windowExample(heldout, T, i, bos));
  const byteLengths = tokenByteLengths(tokenizer);

  configureKernels({ threads });
  if (threads > 1) startKernelPool();

  const checkpoint = join(paths.work, 'checkpoint.gguf');
  const logPath = join(paths.work, 'log.jsonl');
  let trainer: Trainer;
  let elapsed = 0;
  if (existsSync(checkpoint)) {
    trainer = await loadCheckpoint(checkpoint);
    elapsed = await checkpointElapsed(checkpoint);
    await trimLog(logPath, trainer.optimizer.step);
    log(`resuming at step ${trainer.optimizer.step} (${(elapsed / 60).toFixed(1)} min trained so far)`);
  } else {
    const model = createLlamaModel(config.hparams, { seed: config.seeds.model, tokenizer: spec });
    const { beta1, beta2, eps, weightDecay, clipNorm } = config.optimizer;
    trainer = new Trainer(model, {
      train: { base: true },
      optimizer: { learningRate: config.schedule.peakLearningRate, beta1, beta2, eps, weightDecay },
      clipNorm,
    });
    await writeFile(logPath, '');
  }
  const save = async () => {
    await saveCheckpoint(checkpoint, trainer, new Map([[ELAPSED_KEY, f64(elapsed)]]));
  };

  const last = Math.min(config.steps, stopAfter);
  const tokensPerStep = config.batchSequences * T;
  while (trainer.optimizer.step < last) {
    const step = trainer.optimizer.step;
    const lr = learningRateAt(step, config.steps, config.schedule);
    trainer.optimizer.learningRate = lr;
    const batch = batchWindows(step, config.batchSequences, trainWindows, config.seeds.data).map((w) =>
      windowExample(train, T, w, bos),
    );
    const started = performance.now();
    const result = trainer.step(batch);
    const seconds = (performance.now() - started) / 1000;
    elapsed += seconds;
    const entry: Record<string, number> = {
      step: result.step,
      lr: Number(lr.toPrecision(4)),
      loss: Number(result.loss.toFixed(4)),
      gradNorm: Number(result.gradNorm.toFixed(3)),
      tokensPerSecond: Math.round(tokensPerStep / seconds),
      elapsedMinutes: Number((elapsed / 60).toFixed(2)),
    };
    if (result.step % config.evalEvery === 0 || result.step === config.steps) {
      const score = scoreHeldOut(
        trainer.model,
        heldoutExamples.slice(0, config.evalSequences),
        byteLengths,
        config.batchSequences,
      );
      entry.heldOutLoss = Number(score.loss.toFixed(4));
    }
    await appendFile(logPath, `${JSON.stringify(entry)}\n`);
    log(JSON.stringify(entry));
    if (result.step % config.checkpointEvery === 0 || result.step === last) await save();
  }
  if (trainer.optimizer.step < config.steps) {
    log(`stopped after step ${trainer.optimizer.step} of ${config.steps}; run again to resume`);
    await stopKernelPool();
    return;
  }

  log(`scoring all ${heldoutExamples.length} held-out windows`);
  const score = scoreHeldOut(trainer.model, heldoutExamples, byteLengths, config.batchSequences);
  const samples = SAMPLE_PROMPTS.map((prompt) => ({
    prompt,
    completion: generate(trainer.model, { prompt, maxTokens: 40 }, { tokenizer }).text,
  }));
  await mkdir(dirname(paths.out), { recursive: true });
  // A resumed model carries its checkpoint's bookkeeping keys (openledger.*): not part of the model.
  const metadata = new Map([...trainer.model.metadata].filter(([key]) => !key.startsWith('openledger.')));
  await writeLlamaModel(
    paths.out,
    { ...trainer.model, metadata },
    {
      type: GgmlType.F32,
      name: config.name,
      metadata: new Map([
        [
          'general.description',
          str(
            `A ${config.hparams.layers}-block LLaMA pretrained from scratch by OpenLedger on public-domain ` +
              'State of the Union addresses (1790-2021) and WordNet 3.0 glosses; see docs/models.md.',
          ),
        ],
      ]),
    },
  );
  await stopKernelPool();
  const report = {
    model: relative(ROOT, paths.out),
    bytes: (await stat(paths.out)).size,
    type: 'F32',
    config,
    threads,
    steps: config.steps,
    tokensSeen: config.steps * tokensPerStep,
    trainTokens: train.tokens.length,
    epochs: Number(((config.steps * config.batchSequences) / trainWindows).toFixed(3)),
    trainingMinutes: Number((elapsed / 60).toFixed(1)),
    heldOut: {
      windows: heldoutExamples.length,
      ...score,
    },
    samples,
  };
  await writeFile(join(paths.work, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
}

function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: 'string', default: join(ROOT, '.openledger/corpus') },
      work: { type: 'string', default: join(ROOT, '.openledger/pretrain') },
      out: { type: 'string', default: join(ROOT, 'packages/ai/models/openledger-base.gguf') },
      threads: { type: 'string', default: String(Math.min(16, availableParallelism())) },
      'stop-after': { type: 'string' },
    },
  });
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 16) {
    throw new Error(`pretrain: --threads must be an integer from 1 to 16, got ${values.threads}`);
  }
  const stopAfter = values['stop-after'] === undefined ? Infinity : Number(values['stop-after']);
  if (!(stopAfter >= 0))
    throw new Error(`pretrain: --stop-after must be a step number, got ${values['stop-after']}`);
  return pretrain(
    PRETRAIN_CONFIG,
    { corpus: values.corpus, work: values.work, out: values.out },
    threads,
    stopAfter,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
