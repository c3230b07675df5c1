import type { LoraAdapter } from '../gguf/index.ts';
import { LoraSet, type LoraTarget } from '../lora/lora-set.ts';
import { emptyTape, runForward, type ForwardTape } from '../model/forward.ts';
import { KvCache } from '../model/kv-cache.ts';
import {
  blockTensorName,
  modelTensors,
  type BlockMatrixName,
  type LlamaModel,
} from '../model/llama-model.ts';
import { ModelError } from '../model/model-error.ts';
import { causalAttentionBackward } from '../tensor/attention.ts';
import { matmulNN, matmulNT, matmulTN } from '../tensor/matmul.ts';
import { toFloat32, type Matrix } from '../tensor/matrix.ts';
import { rmsNormBackward } from '../tensor/rms-norm.ts';
import { applyRope } from '../tensor/rope.ts';
import { swigluBackward } from '../tensor/swiglu.ts';
import { crossEntropy, targetCount, type TrainingExample } from './cross-entropy.ts';
import { loraParameters } from './lora-params.ts';

export interface GradientOptions {
  /** Gradients for every weight of the base model (which must be float32). */
  readonly base?: boolean;
  /** The adapter being trained, applied to every example; its A and B get gradients. */
  readonly lora?: Pick<LoraAdapter, 'alpha' | 'rank' | 'layers'>;
}

export interface LossAndGradients {
  /** Mean cross-entropy over all targets of the batch. */
  readonly loss: number;
  readonly targets: number;
  /**
   * By parameter name: base tensors by GGUF name ("blk.0.attn_q.weight"; a tied output's gradient is
   * in token_embd.weight), adapter tensors as "<base>.lora_a" / ".lora_b".
   */
  readonly gradients: Map<string, Float32Array>;
}

/** Rows whose adapter gradients are kept apart: the whole batch, or one example each. */
interface Group {
  readonly start: number;
  readonly rows: number;
  readonly grads: Map<string, Float32Array>;
}

interface Context {
  readonly model: LlamaModel;
  readonly rows: number;
  readonly base: Map<string, Float32Array> | undefined;
  readonly lora: LoraSet | undefined;
  readonly groups: readonly Group[];
}

/** The mean loss of a batch and its gradients with respect to the chosen parameters. */
export function lossAndGradients(
  model: LlamaModel,
  examples: readonly TrainingExample[],
  options: GradientOptions,
): LossAndGradients {
  const total = examples.reduce((n, e) => n + targetCount(e), 0);
  if (total === 0) throw new ModelError('bad-input', 'the batch has no target tokens');
  const result = backpropagate(model, examples, options, false, () => 1 / total);
  return { loss: result.losses.reduce((a, b) => a + b, 0), targets: total, gradients: result.groups[0]! };
}

/**
 * For each example, the gradient of its own mean loss with respect to the adapter's parameters, as
 * one flat vector: for every adapted matrix in the adapter's order, A (r×nIn) then B (nOut×r). One
 * forward and one backward pass serve the whole batch: examples never interact (each attends only to
 * itself), so each example's share of every adapter gradient is accumulated into its own vector.
 */
export function perExampleLoraGradients(
  model: LlamaModel,
  lora: Pick<LoraAdapter, 'alpha' | 'rank' | 'layers'>,
  examples: readonly TrainingExample[],
): { losses: number[]; gradients: Float32Array[] } {
  const counts = examples.map(targetCount);
  const result = backpropagate(model, examples, { lora }, true, (e) =>
    counts[e] === 0 ? 0 : 1 / counts[e]!,
  );
  const gradients = result.groups.map((grads) => {
    const flat = new Float32Array([...grads.values()].reduce((n, g) => n + g.length, 0));
    let at = 0;
    for (const g of grads.values()) {
      flat.set(g, at);
      at += g.length;
    }
    return flat;
  });
  return { losses: result.losses, gradients };
}

/** The mean loss without gradients (a forward pass only). */
export function evaluateLoss(
  model: LlamaModel,
  examples: readonly TrainingExample[],
  options: Pick<GradientOptions, 'lora'> = {},
): { loss: number; targets: number } {
  const total = examples.reduce((n, e) => n + targetCount(e), 0);
  if (total === 0) throw new ModelError('bad-input', 'the batch has no target tokens');
  const loras = options.lora ? LoraSet.attach(model, [options.lora]) : undefined;
  const logits = runForward(model, steps(model, examples, loras !== undefined), loras, emptyTape());
  let loss = 0;
  examples.forEach((e, i) => (loss += crossEntropy(logits[i]!, e, model.hparams.vocabSize, 1 / total)));
  return { loss, targets: total };
}

function steps(model: LlamaModel, examples: readonly TrainingExample[], adapted: boolean) {
  return examples.map((e) => ({
    tokens: e.tokens,
    cache: new KvCache(model.hparams, { maxLength: e.tokens.length, initialCapacity: e.tokens.length }),
    logits: 'all' as const,
    ...(adapted ? { adapter: 0 } : {}),
  }));
}

function backpropagate(
  model: LlamaModel,
  examples: readonly TrainingExample[],
  options: GradientOptions,
  perExample: boolean,
  weightOf: (example: number) => number,
): { losses: number[]; groups: Map<string, Float32Array>[] } {
  const h = model.hparams;
  const { dim, vocabSize, heads, kvHeads, headDim, ffnDim } = h;
  if (examples.length === 0) throw new ModelError('bad-input', 'the batch is empty');
  if (options.base && perExample)
    throw new ModelError('bad-input', 'per-example gradients are for adapters only');
  const loras = options.lora ? LoraSet.attach(model, [options.lora]) : undefined;
  const stepList = steps(model, examples, loras !== undefined);
  const tape = emptyTape();
  const logits = runForward(model, stepList, loras, tape);
  const rows = tape.tokens.length;

  // Loss and its gradient with respect to the logits, row for row.
  const dLogits = new Float32Array(rows * vocabSize);
  const losses: number[] = [];
  let start = 0;
  const segments: { start: number; rows: number }[] = [];
  examples.forEach((e, i) => {
    const n = e.tokens.length;
    losses.push(
      crossEntropy(
        logits[i]!,
        e,
        vocabSize,
        weightOf(i),
        dLogits.subarray(start * vocabSize, (start + n) * vocabSize),
      ),
    );
    segments.push({ start, rows: n });
    start += n;
  });

  const base = options.base ? zerosLike(model) : undefined;
  const fresh = () => {
    const m = new Map<string, Float32Array>();
    if (options.lora)
      for (const [name, p] of loraParameters(options.lora)) m.set(name, new Float32Array(p.length));
    return m;
  };
  const groups: Group[] = perExample
    ? segments.map((s) => ({ ...s, grads: fresh() }))
    : [{ start: 0, rows, grads: base ?? fresh() }];
  if (!perExample && base && options.lora) for (const [k, v] of fresh()) base.set(k, v);
  const ctx: Context = { model, rows, base, lora: loras, groups };

  // Output projection and final norm.
  const final = tape.final!;
  const dNormed = new Float32Array(rows * dim);
  backLinear(
    ctx,
    dNormed,
    dLogits,
    final.normed,
    model.output,
    model.tiedOutput ? 'token_embd.weight' : 'output.weight',
    'output.weight',
    false,
  );
  let dX = new Float32Array(rows * dim);
  rmsNormBackward(
    dX,
    base?.get('output_norm.weight'),
    dNormed,
    final.input,
    model.output_norm,
    final.scales,
    rows,
    dim,
    false,
  );

  for (let l = h.layers - 1; l >= 0; l--) {
    const block = model.blocks[l]!;
    const t = tape.blocks[l]!;
    const name = (n: BlockMatrixName) => blockTensorName(l, n);
    // Feed-forward: x' = mid + down(silu(gate(n)) ⊙ up(n)), n = norm(mid).
    const dHidden = new Float32Array(rows * ffnDim);
    backLinear(ctx, dHidden, dX, t.hidden, block.ffn_down, name('ffn_down'), name('ffn_down'), false);
    const dGate = new Float32Array(rows * ffnDim);
    const dUp = new Float32Array(rows * ffnDim);
    swigluBackward(dGate, dUp, dHidden, t.gate, t.up, rows * ffnDim);
    const dFfnNormed = new Float32Array(rows * dim);
    backLinear(
      ctx,
      dFfnNormed,
      dGate,
      t.ffnNormed,
      block.ffn_gate,
      name('ffn_gate'),
      name('ffn_gate'),
      false,
    );
    backLinear(ctx, dFfnNormed, dUp, t.ffnNormed, block.ffn_up, name('ffn_up'), name('ffn_up'), true);
    const dMid = Float32Array.from(dX);
    rmsNormBackward(
      dMid,
      base?.get(blockTensorName(l, 'ffn_norm')),
      dFfnNormed,
      t.mid,
      block.ffn_norm,
      t.ffnScales,
      rows,
      dim,
      true,
    );

    // Attention: mid = x + o(attention(rope(q(n)), rope(k(n)), v(n))), n = norm(x).
    const dAttnOut = new Float32Array(rows * heads * headDim);
    backLinear(
      ctx,
      dAttnOut,
      dMid,
      t.attnOut,
      block.attn_output,
      name('attn_output'),
      name('attn_output'),
      false,
    );
    const dq = new Float32Array(rows * heads * headDim);
    const dk = new Float32Array(rows * kvHeads * headDim);
    const dv = new Float32Array(rows * kvHeads * headDim);
    const qW = heads * headDim;
    const kvW = kvHeads * headDim;
    const shape = { heads, kvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
    segments.forEach((seg, i) => {
      const cache = stepList[i]!.cache;
      const part = (a: Float32Array, w: number) => a.subarray(seg.start * w, (seg.start + seg.rows) * w);
      causalAttentionBackward(
        part(dq, qW),
        part(dk, kvW),
        part(dv, kvW),
        part(dAttnOut, qW),
        part(t.q, qW),
        seg.rows,
        cache.keys(l),
        cache.values(l),
        0,
        shape,
      );
    });
    applyRope(dq, rows, heads, headDim, tape.positions, model.rope, -1);
    applyRope(dk, rows, kvHeads, headDim, tape.positions, model.rope, -1);
    const dAttnNormed = new Float32Array(rows * dim);
    backLinear(ctx, dAttnNormed, dq, t.attnNormed, block.attn_q, name('attn_q'), name('attn_q'), false);
    backLinear(ctx, dAttnNormed, dk, t.attnNormed, block.attn_k, name('attn_k'), name('attn_k'), true);
    backLinear(ctx, dAttnNormed, dv, t.attnNormed, block.attn_v, name('attn_v'), name('attn_v'), true);
    rmsNormBackward(
      dMid,
      base?.get(blockTensorName(l, 'attn_norm')),
      dAttnNormed,
      t.input,
      block.attn_norm,
      t.attnScales,
      rows,
      dim,
      true,
    );
    dX = dMid;
  }

  // Token embedding: each row's gradient goes to its token's row (and to the embedding adapter).
  const dEmbd = base?.get('token_embd.weight');
  if (dEmbd) {
    for (let r = 0; r < rows; r++) {
      const at = tape.tokens[r]! * dim;
      for (let i = 0; i < dim; i++) dEmbd[at + i] = dEmbd[at + i]! + dX[r * dim + i]!;
    }
  }
  const embLora = loras?.target(0, 'token_embd.weight');
  if (embLora) {
    for (const g of groups) embeddingLoraBackward(g, embLora, tape, dX, dim);
  }
  return { losses, groups: groups.map((g) => g.grads) };
}

/**
 * Through y = W x (+ s·B(A x)) for all rows: dx (+)= dy·W, and when asked dW += dyᵀx, and for each
 * group of rows dB += s·dyᵀ(xAᵀ), dA += (s·dy B)ᵀ x, dx += (s·dy B) A.
 */
function backLinear(
  ctx: Context,
  dx: Float32Array,
  dy: Float32Array,
  x: Float32Array,
  w: Matrix,
  baseName: string,
  loraName: string,
  accumulate: boolean,
): void {
  const { rows } = ctx;
  const nIn = w.cols;
  const nOut = w.rows;
  matmulNN(dx, dy, toFloat32(w), rows, nIn, nOut, accumulate);
  const dW = ctx.base?.get(baseName);
  if (dW) matmulTN(dW, dy, x, nOut, nIn, rows, true);
  const target = ctx.lora?.target(0, loraName);
  if (!target) return;
  for (const g of ctx.groups) loraBackward(g, target, loraName, dx, dy, x);
}

function loraBackward(
  g: Group,
  t: LoraTarget,
  name: string,
  dx: Float32Array,
  dy: Float32Array,
  x: Float32Array,
): void {
  const { rank, nIn, nOut, scale } = t;
  const xg = x.subarray(g.start * nIn, (g.start + g.rows) * nIn);
  const dyg = dy.subarray(g.start * nOut, (g.start + g.rows) * nOut);
  const u = new Float32Array(g.rows * rank);
  matmulNT(u, xg, t.a, g.rows, rank, nIn);
  for (let i = 0; i < u.length; i++) u[i] = u[i]! * scale;
  matmulTN(g.grads.get(`${name}.lora_b`)!, dyg, u, nOut, rank, g.rows, true);
  const du = new Float32Array(g.rows * rank);
  matmulNN(du, dyg, t.b, g.rows, rank, nOut);
  for (let i = 0; i < du.length; i++) du[i] = du[i]! * scale;
  matmulTN(g.grads.get(`${name}.lora_a`)!, du, xg, rank, nIn, g.rows, true);
  matmulNN(dx.subarray(g.start * nIn, (g.start + g.rows) * nIn), du, t.a, g.rows, nIn, rank, true);
}

/** x_t += s·B[token] A: dB[token] += s·A dx_t, dA += s·B[token]ᵀ dx_t. */
function embeddingLoraBackward(
  g: Group,
  t: LoraTarget,
  tape: ForwardTape,
  dX: Float32Array,
  dim: number,
): void {
  const name = 'token_embd.weight';
  const dA = g.grads.get(`${name}.lora_a`)!;
  const dB = g.grads.get(`${name}.lora_b`)!;
  for (let r = g.start; r < g.start + g.rows; r++) {
    const token = tape.tokens[r]!;
    for (let j = 0; j < t.rank; j++) {
      const coef = t.scale * t.b[token * t.rank + j]!;
      let dot = 0;
      for (let i = 0; i < dim; i++) {
        const d = dX[r * dim + i]!;
        dot += d * t.a[j * dim + i]!;
        dA[j * dim + i] = dA[j * dim + i]! + coef * d;
      }
      dB[token * t.rank + j] = dB[token * t.rank + j]! + t.scale * dot;
    }
  }
}

/** Zeroed gradients for every base tensor; refuses quantised models (their weights cannot be trained). */
function zerosLike(model: LlamaModel): Map<string, Float32Array> {
  const grads = new Map<string, Float32Array>();
  for (const [name, tensor] of modelTensors(model)) {
    if (!(tensor instanceof Float32Array) && tensor.format !== 'f32') {
      throw new ModelError(
        'bad-input',
        `'${name}' is quantised; load the model with keepQuantized: false to train it`,
      );
    }
    grads.set(name, new Float32Array(tensor instanceof Float32Array ? tensor.length : tensor.data.length));
  }
  return grads;
}
