/**
 * Kernel and model throughput: `node --import tsx packages/ai/bench/kernels.ts` (from the repo root).
 *
 * 1. Matrix products y = x·Wᵀ (the shape of every linear layer) in GFLOP/s, float32 weights in
 *    WebAssembly SIMD ("f32") and in plain JavaScript ("f32 js", configureKernels({ simd: false })),
 *    and Q8_0 weights, on one thread and on all the machine's threads: decode shapes (1 row), prompt
 *    shapes (64-128 rows) and the output projection of a 4096-token vocabulary; then the backward
 *    pass's dX = dY·W (NN) and dW = dYᵀ·X (TN) over 2048 rows.
 * 2. A LLaMA of dim 256, 6 blocks, 8 heads over 4 kv heads, FFN 768, vocab 4096 (random weights):
 *    prompt processing, single-sequence decode and 8-sequence batched decode, in tokens/s, float32
 *    (SIMD and plain JavaScript) and Q8_0, one thread and all threads.
 * One JSON object on stdout; progress on stderr.
 */
import { availableParallelism } from 'node:os';
import { Q8_0_BLOCK_BYTES, quantizeQ8_0 } from '../src/gguf/index.ts';
import { createLlamaModel, forward, KvCache, type LlamaModel } from '../src/model/index.ts';
import {
  configureKernels,
  f32Matrix,
  linear,
  matmulNN,
  matmulTN,
  q8MatrixFromBytes,
  startKernelPool,
  stopKernelPool,
  type Matrix,
} from '../src/tensor/index.ts';

const log = (line: string) => process.stderr.write(`${line}\n`);
const threadCounts = [...new Set([1, Math.min(availableParallelism(), 16)])];

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function q8(rows: number, cols: number, values: Float32Array): Matrix {
  const bytes = new Uint8Array((values.length / 32) * Q8_0_BLOCK_BYTES);
  quantizeQ8_0(values, bytes, 'bench');
  return q8MatrixFromBytes(rows, cols, bytes);
}

/** Runs `f` for about `ms` after a warm-up; returns calls per second. */
function rate(f: () => void, ms = 400): number {
  for (let i = 0; i < 3; i++) f();
  let calls = 0;
  const t0 = performance.now();
  let t = 0;
  do {
    f();
    calls++;
    t = performance.now() - t0;
  } while (t < ms);
  return (calls * 1000) / t;
}

const SHAPES: { name: string; M: number; N: number; K: number }[] = [
  { name: 'decode attn_q 1x256<-256', M: 1, N: 256, K: 256 },
  { name: 'decode ffn_up 1x768<-256', M: 1, N: 768, K: 256 },
  { name: 'decode output 1x4096<-256', M: 1, N: 4096, K: 256 },
  { name: 'decode 1x2048<-2048', M: 1, N: 2048, K: 2048 },
  { name: 'prompt ffn_up 64x768<-256', M: 64, N: 768, K: 256 },
  { name: 'prompt ffn_down 64x256<-768', M: 64, N: 256, K: 768 },
  { name: 'batch output 64x4096<-256', M: 64, N: 4096, K: 256 },
  { name: 'prompt 128x2048<-2048', M: 128, N: 2048, K: 2048 },
];

function benchKernels(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const { name, M, N, K } of SHAPES) {
    const x = random(M * K, 1);
    const w = random(N * K, 2);
    const weights = { f32: f32Matrix(N, K, w), q8_0: q8(N, K, w) };
    const y = new Float32Array(M * N);
    const row: Record<string, number> = {};
    for (const threads of threadCounts) {
      configureKernels({ threads });
      if (threads > 1) startKernelPool();
      for (const [format, matrix] of Object.entries(weights)) {
        for (const simd of format === 'f32' ? [true, false] : [true]) {
          configureKernels({ simd });
          const gflops = (rate(() => linear(y, x, M, matrix)) * 2 * M * N * K) / 1e9;
          row[`${format}${simd ? '' : ' js'} ${threads}t`] = Number(gflops.toFixed(2));
        }
      }
    }
    out[name] = row;
    log(`${name}: ${JSON.stringify(row)}`);
  }
  return out;
}

const BACKWARD_SHAPES: { name: string; op: 'NN' | 'TN'; M: number; N: number; K: number }[] = [
  { name: 'backward dX ffn_up 2048x256<-768 (NN)', op: 'NN', M: 2048, N: 256, K: 768 },
  { name: 'backward dW ffn_up 768x256<-2048 (TN)', op: 'TN', M: 768, N: 256, K: 2048 },
];

function benchBackwardKernels(): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const { name, op, M, N, K } of BACKWARD_SHAPES) {
    const a = random(M * K, 1);
    const b = random(K * N, 2);
    const y = new Float32Array(M * N);
    const row: Record<string, number> = {};
    for (const threads of threadCounts) {
      configureKernels({ threads });
      if (threads > 1) startKernelPool();
      for (const simd of [true, false]) {
        configureKernels({ simd });
        const f = () => (op === 'NN' ? matmulNN : matmulTN)(y, a, b, M, N, K);
        row[`f32${simd ? '' : ' js'} ${threads}t`] = Number(((rate(f) * 2 * M * N * K) / 1e9).toFixed(2));
      }
    }
    configureKernels({ simd: true });
    out[name] = row;
    log(`${name}: ${JSON.stringify(row)}`);
  }
  return out;
}

const H = {
  vocabSize: 4096,
  contextLength: 1024,
  dim: 256,
  layers: 6,
  ffnDim: 768,
  heads: 8,
  kvHeads: 4,
  headDim: 32,
  rmsEps: 1e-5,
  ropeBase: 10000,
  ropeScale: 1,
};

/** The same model with its matrices in Q8_0, as loading a Q8_0 file with keepQuantized gives. */
function quantised(model: LlamaModel): LlamaModel {
  const conv = (m: Matrix): Matrix => (m.format === 'f32' ? q8(m.rows, m.cols, m.data) : m);
  return {
    ...model,
    token_embd: conv(model.token_embd),
    output: conv(model.output),
    blocks: model.blocks.map((b) => ({
      ...b,
      attn_q: conv(b.attn_q),
      attn_k: conv(b.attn_k),
      attn_v: conv(b.attn_v),
      attn_output: conv(b.attn_output),
      ffn_gate: conv(b.ffn_gate),
      ffn_up: conv(b.ffn_up),
      ffn_down: conv(b.ffn_down),
    })),
  };
}

function benchModel(model: LlamaModel): Record<string, number> {
  const prompt = Array.from({ length: 128 }, (_, i) => (i * 37) % H.vocabSize);
  const result: Record<string, number> = {};
  const timed = (f: () => number, reps: number) => {
    f();
    let tokens = 0;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) tokens += f();
    return Number(((tokens * 1000) / (performance.now() - t0)).toFixed(1));
  };
  result['prompt 128 tokens, tok/s'] = timed(() => {
    forward(model, [{ tokens: prompt, cache: new KvCache(model.hparams) }]);
    return prompt.length;
  }, 3);
  const decode = (sequences: number, steps: number) => () => {
    const caches = Array.from({ length: sequences }, () => new KvCache(model.hparams));
    forward(
      model,
      caches.map((cache, s) => ({ tokens: prompt.slice(0, 16 + s), cache })),
    );
    for (let i = 0; i < steps; i++)
      forward(
        model,
        caches.map((cache, s) => ({ tokens: [(i * 7 + s) % H.vocabSize], cache })),
      );
    return sequences * steps;
  };
  // Decode timings include a short prefill per run; it is small next to the decode steps.
  result['decode 1 sequence, tok/s'] = timed(decode(1, 64), 2);
  result['decode 8 sequences batched, tok/s'] = timed(decode(8, 32), 2);
  return result;
}

function benchModels(): Record<string, Record<string, number>> {
  const f32 = createLlamaModel(H, { seed: 1 });
  const models: [string, LlamaModel, boolean][] = [
    ['f32', f32, true],
    ['f32 js', f32, false],
    ['q8_0', quantised(f32), true],
  ];
  const out: Record<string, Record<string, number>> = {};
  for (const threads of threadCounts) {
    configureKernels({ threads });
    if (threads > 1) startKernelPool();
    for (const [format, model, simd] of models) {
      configureKernels({ simd });
      const key = `${format} ${threads}t`;
      out[key] = benchModel(model);
      log(`model ${key}: ${JSON.stringify(out[key])}`);
    }
    configureKernels({ simd: true });
  }
  return out;
}

const kernels = { ...benchKernels(), ...benchBackwardKernels() };
const model = benchModels();
await stopKernelPool();
console.log(
  JSON.stringify(
    {
      machine: { threads: availableParallelism(), node: process.version },
      unit: {
        kernels: 'GFLOP/s (2·M·N·K per product); "js": plain JavaScript, configureKernels({ simd: false })',
        model: 'tokens/s',
      },
      kernels,
      model: { config: H, ...model },
    },
    null,
    2,
  ),
);
