import { applyEmbeddingLora, applyLora, type AdapterRun, type LoraSet } from '../lora/lora-set.ts';
import { causalAttention, type AttentionShape } from '../tensor/attention.ts';
import { linear } from '../tensor/matmul.ts';
import { readRow } from '../tensor/matrix.ts';
import { rmsNorm } from '../tensor/rms-norm.ts';
import { applyRope } from '../tensor/rope.ts';
import { swiglu } from '../tensor/swiglu.ts';
import type { KvCache } from './kv-cache.ts';
import { blockTensorName, type LlamaModel } from './llama-model.ts';
import { ModelError } from './model-error.ts';

/** One sequence's part of a batch: its new tokens, appended to its cache. */
export interface SequenceStep {
  /** New tokens: a whole prompt, a chunk of one, or the one token just sampled. */
  readonly tokens: readonly number[];
  readonly cache: KvCache;
  /** Index of the adapter in the pass's LoraSet; undefined or -1 for the base model. */
  readonly adapter?: number;
  /** Which rows' logits to return; default 'last' (what sampling needs). */
  readonly logits?: 'last' | 'all' | 'none';
}

export interface ForwardOptions {
  readonly loras?: LoraSet;
}

/** What the backward pass needs from one block; row-major, one row per batch token. */
export interface BlockTape {
  readonly input: Float32Array;
  readonly attnScales: Float32Array;
  readonly attnNormed: Float32Array;
  /** Queries after RoPE. */
  readonly q: Float32Array;
  readonly attnOut: Float32Array;
  readonly mid: Float32Array;
  readonly ffnScales: Float32Array;
  readonly ffnNormed: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly hidden: Float32Array;
}

/** Filled by runForward: the batch's tokens, their positions and adapter runs, and each block. */
export interface ForwardTape {
  tokens: Int32Array;
  positions: Int32Array;
  runs: readonly AdapterRun[];
  readonly blocks: BlockTape[];
  /** Residual stream after the last block, its norm scales and the normed rows (all rows). */
  final?: { readonly input: Float32Array; readonly scales: Float32Array; readonly normed: Float32Array };
}

export function emptyTape(): ForwardTape {
  return { tokens: new Int32Array(0), positions: new Int32Array(0), runs: [], blocks: [] };
}

/** Rows of the batch: sequence by sequence, in the order given. */
interface Segment {
  readonly start: number;
  readonly rows: number;
  readonly position: number;
  readonly cache: KvCache;
}

/**
 * One forward pass over a batch of sequences, each with its own cache, position and adapter: the
 * level a scheduler drives (prefill chunks and single decode tokens may be mixed freely). Every
 * linear layer runs once over all the batch's rows; only attention is per sequence. Caches advance
 * by their tokens. Returns, per step, its requested logits rows (rows × vocabSize).
 */
export function forward(
  model: LlamaModel,
  steps: readonly SequenceStep[],
  options: ForwardOptions = {},
): Float32Array[] {
  return runForward(model, steps, options.loras, undefined);
}

/** The pass itself; with a tape it also keeps what the backward pass needs and all logits. */
export function runForward(
  model: LlamaModel,
  steps: readonly SequenceStep[],
  loras: LoraSet | undefined,
  tape: ForwardTape | undefined,
): Float32Array[] {
  const h = model.hparams;
  const { dim, heads, kvHeads, headDim, ffnDim, rmsEps, vocabSize } = h;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;

  const segments: Segment[] = [];
  let total = 0;
  for (const step of steps) {
    if (step.tokens.length === 0) throw new ModelError('bad-input', 'a sequence step has no tokens');
    if (step.cache.hparams !== h && !sameShape(step.cache, model)) {
      throw new ModelError('bad-input', 'a sequence cache belongs to a model of another shape');
    }
    const adapter = step.adapter ?? -1;
    if (adapter !== -1 && (!loras || !Number.isInteger(adapter) || adapter < 0 || adapter >= loras.size)) {
      throw new ModelError('bad-input', `adapter index ${adapter} is not in the pass's adapter set`);
    }
    step.cache.reserve(step.tokens.length);
    segments.push({ start: total, rows: step.tokens.length, position: step.cache.length, cache: step.cache });
    total += step.tokens.length;
  }
  const tokens = new Int32Array(total);
  const positions = new Int32Array(total);
  const runs: AdapterRun[] = [];
  steps.forEach((step, s) => {
    const seg = segments[s]!;
    step.tokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new ModelError('bad-input', `token id ${t} is outside the vocabulary [0, ${vocabSize})`);
      }
      tokens[seg.start + i] = t;
      positions[seg.start + i] = seg.position + i;
    });
    const adapter = step.adapter ?? -1;
    const last = runs[runs.length - 1];
    if (last && last.adapter === adapter) runs[runs.length - 1] = { ...last, rows: last.rows + seg.rows };
    else runs.push({ start: seg.start, rows: seg.rows, adapter });
  });
  if (tape) {
    tape.tokens = tokens;
    tape.positions = positions;
    tape.runs = runs;
  }

  // Embeddings.
  let x = new Float32Array(total * dim);
  for (let r = 0; r < total; r++) readRow(model.token_embd, tokens[r]!, x, r * dim);
  applyEmbeddingLora(x, tokens, runs, loras);

  const shape: AttentionShape = { heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
  const lin = (
    out: Float32Array,
    input: Float32Array,
    layer: number,
    name: Parameters<typeof blockTensorName>[1],
  ) => {
    const block = model.blocks[layer]!;
    linear(out, input, total, block[name as Exclude<typeof name, 'attn_norm' | 'ffn_norm'>]);
    applyLora(out, input, blockTensorName(layer, name), runs, loras);
  };

  for (let l = 0; l < h.layers; l++) {
    const block = model.blocks[l]!;
    const attnScales = new Float32Array(total);
    const attnNormed = new Float32Array(total * dim);
    rmsNorm(attnNormed, x, block.attn_norm, total, dim, rmsEps, attnScales);
    const q = new Float32Array(total * qWidth);
    const k = new Float32Array(total * kvWidth);
    const v = new Float32Array(total * kvWidth);
    lin(q, attnNormed, l, 'attn_q');
    lin(k, attnNormed, l, 'attn_k');
    lin(v, attnNormed, l, 'attn_v');
    applyRope(q, total, heads, headDim, positions, model.rope);
    applyRope(k, total, kvHeads, headDim, positions, model.rope);

    const attnOut = new Float32Array(total * qWidth);
    for (const seg of segments) {
      const keys = seg.cache.keys(l);
      const values = seg.cache.values(l);
      keys.set(k.subarray(seg.start * kvWidth, (seg.start + seg.rows) * kvWidth), seg.position * kvWidth);
      values.set(v.subarray(seg.start * kvWidth, (seg.start + seg.rows) * kvWidth), seg.position * kvWidth);
      causalAttention(
        attnOut.subarray(seg.start * qWidth, (seg.start + seg.rows) * qWidth),
        q.subarray(seg.start * qWidth, (seg.start + seg.rows) * qWidth),
        seg.rows,
        keys,
        values,
        seg.position,
        shape,
      );
    }
    const mid = new Float32Array(total * dim);
    lin(mid, attnOut, l, 'attn_output');
    for (let i = 0; i < mid.length; i++) mid[i] = mid[i]! + x[i]!;

    const ffnScales = new Float32Array(total);
    const ffnNormed = new Float32Array(total * dim);
    rmsNorm(ffnNormed, mid, block.ffn_norm, total, dim, rmsEps, ffnScales);
    const gate = new Float32Array(total * ffnDim);
    const up = new Float32Array(total * ffnDim);
    lin(gate, ffnNormed, l, 'ffn_gate');
    lin(up, ffnNormed, l, 'ffn_up');
    const hidden = new Float32Array(total * ffnDim);
    swiglu(hidden, gate, up, hidden.length);
    const next = new Float32Array(total * dim);
    lin(next, hidden, l, 'ffn_down');
    for (let i = 0; i < next.length; i++) next[i] = next[i]! + mid[i]!;

    tape?.blocks.push({
      input: x,
      attnScales,
      attnNormed,
      q,
      attnOut,
      mid,
      ffnScales,
      ffnNormed,
      gate,
      up,
      hidden,
    });
    x = next;
  }
  for (const seg of segments) seg.cache.commit(seg.rows);

  // Logits only for the rows asked for: the output matrix is the largest product of a decode step.
  const wanted: number[] = [];
  const rowsOf: [number, number][] = [];
  steps.forEach((step, s) => {
    const seg = segments[s]!;
    const mode = tape ? 'all' : (step.logits ?? 'last');
    const from = wanted.length;
    if (mode === 'all') for (let i = 0; i < seg.rows; i++) wanted.push(seg.start + i);
    else if (mode === 'last') wanted.push(seg.start + seg.rows - 1);
    rowsOf.push([from, wanted.length]);
  });
  const picked = new Float32Array(wanted.length * dim);
  wanted.forEach((r, i) => picked.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  const finalScales = new Float32Array(wanted.length);
  const normed = new Float32Array(wanted.length * dim);
  rmsNorm(normed, picked, model.output_norm, wanted.length, dim, rmsEps, finalScales);
  if (tape) tape.final = { input: picked, scales: finalScales, normed };
  const logits = new Float32Array(wanted.length * vocabSize);
  linear(logits, normed, wanted.length, model.output);
  const pickedRuns = runsForRows(wanted, runs);
  applyLora(logits, normed, 'output.weight', pickedRuns, loras);
  return rowsOf.map(([from, to]) => logits.subarray(from * vocabSize, to * vocabSize));
}

/** The adapter runs of the picked rows, renumbered as rows of the picked matrix. */
function runsForRows(rows: readonly number[], runs: readonly AdapterRun[]): AdapterRun[] {
  const out: AdapterRun[] = [];
  rows.forEach((row, i) => {
    const adapter = runs.find((r) => row >= r.start && row < r.start + r.rows)?.adapter ?? -1;
    const last = out[out.length - 1];
    if (last && last.adapter === adapter) out[out.length - 1] = { ...last, rows: last.rows + 1 };
    else out.push({ start: i, rows: 1, adapter });
  });
  return out;
}

function sameShape(cache: KvCache, model: LlamaModel): boolean {
  const a = cache.hparams;
  const b = model.hparams;
  return a.layers === b.layers && a.kvHeads === b.kvHeads && a.headDim === b.headDim;
}

/** The logits after a prompt, on a fresh cache: a convenience for tests and one-off scoring. */
export function promptLogits(model: LlamaModel, cache: KvCache, tokens: readonly number[]): Float32Array {
  return forward(model, [{ tokens, cache, logits: 'all' }])[0]!;
}
