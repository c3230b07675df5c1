/**
 * Our runtime beside llama.cpp on the same GGUF (by default the bundled base model), on the CPU:
 *
 *   npm run bench:ai [-- --model PATH] [-- --threads 1,2]
 *
 * 1. Prompt processing (a 128-token prompt, logits of the last position) and generation (64 greedy
 *    tokens after a 16-token prompt, one sequence, one token per evaluation), tokens/s for our
 *    runtime and for llama.cpp (node-llama-cpp 3.22.1, F16 KV cache as its users get it), each at
 *    the same thread count, and the ratio ours / llama.cpp.
 * 2. Batched decode in our runtime: 1, 8 and 32 sequences advancing one token per forward pass.
 * 3. Training tokens/s, LoRA (rank 8 on q and v) and full (every weight), each job alone in a child
 *    process (bench/training-job.ts) so that its peak resident memory is its own.
 *
 * Every timing is the median of several runs, ours and llama.cpp's taken in turn (the machine may be
 * shared). One JSON object on stdout; progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  KvCache,
  argmax,
  configureKernels,
  forward,
  loadLlamaModel,
  startKernelPool,
  stopKernelPool,
  type LlamaModel,
} from '../src/index.ts';
import type { Token } from 'node-llama-cpp';
import {
  closeLlamaCppModel,
  llamaCppNextTokenLogits,
  openLlamaCppModel,
  type LlamaCppModel,
} from '../src/reference/index.ts';

const DEFAULT_MODEL = fileURLToPath(new URL('../models/openledger-base.gguf', import.meta.url));
const TRAINING_JOB = fileURLToPath(new URL('./training-job.ts', import.meta.url));
const PROMPT_TOKENS = 128;
const GEN_PROMPT_TOKENS = 16;
const GEN_TOKENS = 64;
const BATCHES = [1, 8, 32];
const BATCH_STEPS = 32;
const REPS = 7;
const log = (line: string) => process.stderr.write(`${line}\n`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const round = (x: number) => Number(x.toFixed(1));

type Run = () => [number, number] | Promise<[number, number]>;

/** Tokens/s: the median over `reps` runs of `run`, which returns [tokens, seconds]. */
async function rate(reps: number, run: Run): Promise<number> {
  const [rates] = await interleaved(reps, [run]);
  return rates;
}

/**
 * Medians of tokens/s of several runs taken in turn (a, b, a, b, ...), after one warm-up each, so
 * that load from other processes on a shared machine falls on all of them alike.
 */
async function interleaved(reps: number, runs: readonly [Run, Run]): Promise<[number, number]>;
async function interleaved(reps: number, runs: readonly [Run]): Promise<[number]>;
async function interleaved(reps: number, runs: readonly Run[]): Promise<number[]> {
  for (const run of runs) await run();
  const rates = runs.map((): number[] => []);
  for (let i = 0; i < reps; i++) {
    for (const [k, run] of runs.entries()) {
      const [tokens, elapsed] = await run();
      rates[k]!.push(tokens / elapsed);
    }
  }
  return rates.map((r) => round(median(r)));
}

function tokensOf(model: LlamaModel, n: number, seed: number): number[] {
  let s = seed;
  const out = [model.tokenizer?.bosId ?? 0];
  while (out.length < n) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(s % 4000);
  }
  return out;
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

function oursPrompt(model: LlamaModel, prompt: number[]): [number, number] {
  const started = performance.now();
  forward(model, [{ tokens: prompt, cache: new KvCache(model.hparams) }]);
  return [prompt.length, seconds(started)];
}

function oursGeneration(model: LlamaModel, prompt: number[]): [number, number] {
  const cache = new KvCache(model.hparams);
  let logits = forward(model, [{ tokens: prompt, cache }])[0]!;
  const started = performance.now();
  for (let i = 0; i < GEN_TOKENS; i++) logits = forward(model, [{ tokens: [argmax(logits)], cache }])[0]!;
  return [GEN_TOKENS, seconds(started)];
}

function oursBatched(model: LlamaModel, sequences: number): [number, number] {
  const caches = Array.from({ length: sequences }, () => new KvCache(model.hparams));
  let logits = forward(
    model,
    caches.map((cache, s) => ({ tokens: tokensOf(model, GEN_PROMPT_TOKENS, s + 1), cache })),
  );
  const started = performance.now();
  for (let i = 0; i < BATCH_STEPS; i++) {
    logits = forward(
      model,
      caches.map((cache, s) => ({ tokens: [argmax(logits[s]!)], cache })),
    );
  }
  return [sequences * BATCH_STEPS, seconds(started)];
}

async function llamaCppPrompt(llama: LlamaCppModel, prompt: number[]): Promise<[number, number]> {
  const started = performance.now();
  await llamaCppNextTokenLogits(llama, prompt);
  return [prompt.length, seconds(started)];
}

/**
 * Greedy generation in llama.cpp one token per evaluation (controlledEvaluate, as
 * llamaCppGreedyDecode does), timed after the prompt: the same loop as ours. (node-llama-cpp's
 * evaluate() generator would stop at the first end-of-generation token.)
 */
async function llamaCppGeneration(llama: LlamaCppModel, prompt: number[]): Promise<[number, number]> {
  const { sequence } = llama.llama;
  await sequence.clearHistory();
  const next = async (input: number[]): Promise<number> => {
    const last = input.length - 1;
    const results = await sequence.controlledEvaluate(
      input.map((t, i) => (i === last ? [t as Token, { generateNext: { token: true } }] : (t as Token))),
    );
    const token = results[last]?.next.token;
    if (token === undefined || token === null) throw new Error('llama.cpp chose no token');
    return token;
  };
  let token = await next(prompt);
  const started = performance.now();
  for (let i = 0; i < GEN_TOKENS; i++) token = await next([token]);
  return [GEN_TOKENS, seconds(started)];
}

async function compare(
  model: LlamaModel,
  modelPath: string,
  threads: number,
): Promise<Record<string, unknown>> {
  configureKernels({ threads });
  if (threads > 1) startKernelPool();
  const llama = await openLlamaCppModel({ modelPath, contextSize: 256, threads });
  try {
    const prompt = tokensOf(model, PROMPT_TOKENS, 7);
    const short = tokensOf(model, GEN_PROMPT_TOKENS, 9);
    const [promptOurs, promptLlama] = await interleaved(REPS, [
      () => oursPrompt(model, prompt),
      () => llamaCppPrompt(llama, prompt),
    ]);
    const [genOurs, genLlama] = await interleaved(REPS, [
      () => oursGeneration(model, short),
      () => llamaCppGeneration(llama, short),
    ]);
    const batched: Record<string, number> = {};
    for (const n of BATCHES) batched[String(n)] = await rate(3, () => oursBatched(model, n));
    const result = {
      prompt: {
        tokens: PROMPT_TOKENS,
        oursTokensPerSecond: promptOurs,
        llamaCppTokensPerSecond: promptLlama,
        ratio: Number((promptOurs / promptLlama).toFixed(2)),
      },
      generation: {
        promptTokens: GEN_PROMPT_TOKENS,
        tokens: GEN_TOKENS,
        oursTokensPerSecond: genOurs,
        llamaCppTokensPerSecond: genLlama,
        ratio: Number((genOurs / genLlama).toFixed(2)),
      },
      batchedDecodeTokensPerSecond: batched,
    };
    log(`${threads} thread(s): ${JSON.stringify(result)}`);
    return result;
  } finally {
    await closeLlamaCppModel(llama);
  }
}

function trainingJob(modelPath: string, kind: 'lora' | 'full', threads: number): Record<string, unknown> {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, TRAINING_JOB, modelPath, kind, String(threads)],
    {
      encoding: 'utf8',
    },
  );
  if (child.status !== 0) throw new Error(`training job ${kind} failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  log(`training ${kind}, ${threads} thread(s): ${JSON.stringify(result)}`);
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: DEFAULT_MODEL },
      threads: { type: 'string', default: [...new Set([1, Math.min(16, availableParallelism())])].join(',') },
    },
  });
  const threadCounts = values.threads.split(',').map(Number);
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1 || t > 16)) {
    throw new Error(`bench:ai: --threads must list integers from 1 to 16, got ${values.threads}`);
  }
  const model = await loadLlamaModel(values.model);
  const h = model.hparams;
  const params = [
    ...model.blocks.flatMap((b) => Object.values(b)),
    model.token_embd,
    model.output,
    model.output_norm,
  ]
    .map((t) => (t instanceof Float32Array ? t.length : t.rows * t.cols))
    .reduce((a, b) => a + b, 0);
  log(`model: ${values.model} (${(params / 1e6).toFixed(2)} M parameters)`);
  const inference: Record<string, unknown> = {};
  for (const threads of threadCounts) inference[`${threads}t`] = await compare(model, values.model, threads);
  await stopKernelPool();
  const training: Record<string, unknown> = {};
  for (const threads of threadCounts) {
    training[`${threads}t`] = {
      lora: trainingJob(values.model, 'lora', threads),
      full: trainingJob(values.model, 'full', threads),
    };
  }
  console.log(
    JSON.stringify(
      {
        machine: { cpus: availableParallelism(), node: process.version },
        model: {
          file: values.model.split('/').slice(-1)[0],
          bytes: statSync(values.model).size,
          parameters: params,
          config: {
            dim: h.dim,
            layers: h.layers,
            heads: h.heads,
            kvHeads: h.kvHeads,
            ffn: h.ffnDim,
            vocab: h.vocabSize,
          },
        },
        unit: 'tokens/s (median of runs); memory in MiB',
        inference,
        training,
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
