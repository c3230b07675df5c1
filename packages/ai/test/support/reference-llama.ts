/**
 * A straightforward, unoptimised LLaMA forward pass in float64: the math our runtime must follow,
 * checked against llama.cpp's logits in test/llama-cpp-gguf.test.ts. Each convention below is one
 * that test confirms (the file names are llama.cpp's, at the release node-llama-cpp 3.22.1 bundles).
 *
 * Weights are in ggml layout (see tiny-llama.ts): W with ne = [nIn, nOut] is nOut rows of nIn, and
 * y = W x. Pass the weights as read back from the GGUF file, so F16 / Q8_0 rounding of the weights is
 * the same here as in llama.cpp.
 */
import {
  Q8_0_BLOCK_BYTES,
  Q8_0_BLOCK_SIZE,
  dequantizeQ8_0,
  quantizeQ8_0,
  type LoraLayer,
} from '../../src/gguf/index.ts';
import { headDim, type TinyLlamaConfig, type TinyLlamaWeights } from './tiny-llama.ts';

export interface ReferenceAdapter {
  readonly layers: ReadonlyMap<string, LoraLayer>;
  /**
   * The factor on B (A x): user scale · alpha / rank, or the user scale when alpha is 0
   * (llama_adapter_lora_weight::get_scale, where rank is lora_b's ne[0]).
   */
  readonly scale: number;
}

export interface ReferenceOptions {
  readonly adapters?: readonly ReferenceAdapter[];
  /**
   * Which head dimensions RoPE rotates together. 'adjacent' (2i, 2i+1) is what llama.cpp does for
   * arch llama (LLAMA_ROPE_TYPE_NORM); 'halves' (i, i + d/2) is NeoX / Hugging Face rotate_half, kept
   * only so the test can show it does not match.
   */
  readonly ropePairs?: 'adjacent' | 'halves';
  /**
   * Which KV head a query head reads. 'grouped' (h / (nHead / nKvHead)) is llama.cpp's; 'modulo'
   * (h % nKvHead) exists only as the wrong alternative for the test.
   */
  readonly kvHeadOf?: 'grouped' | 'modulo';
  /**
   * Round each base-weight matmul's input vector through Q8_0, as llama.cpp's CPU backend does for
   * Q8_0 weights (the vec_dot_type of Q8_0 is Q8_0: ggml_vec_dot_q8_0_q8_0 multiplies quantized
   * weights by quantized activations). Arithmetic of that backend, not of the model: set it only to
   * compare against a Q8_0 file exactly. LoRA matmuls (F32 adapters) are left exact.
   */
  readonly q8_0Activations?: boolean;
}

/** Logits (float64) after every position of `tokens`, causal attention from position 0. */
export function referenceLogits(
  config: TinyLlamaConfig,
  weights: TinyLlamaWeights,
  tokens: readonly number[],
  options: ReferenceOptions = {},
): Float64Array[] {
  const { dim, heads, kvHeads, layers, ffn, vocabSize } = config;
  const hd = headDim(config);
  const group = heads / kvHeads;
  const adapters = options.adapters ?? [];
  const w = (name: string): Float32Array => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`reference: no tensor '${name}'`);
    return tensor;
  };
  // y = W x + Σ scale · B (A x): llm_graph_context::build_lora_mm, applied to every adapted matmul.
  const linear = (name: string, x: Float64Array, nIn: number, nOut: number): Float64Array => {
    const y = matVec(w(name), options.q8_0Activations ? throughQ8_0(x) : x, nIn, nOut);
    for (const adapter of adapters) {
      const layer = adapter.layers.get(name);
      if (!layer) continue;
      const rank = layer.a.length / nIn;
      const ax = matVec(layer.a, x, nIn, rank);
      const bax = matVec(layer.b, ax, rank, nOut);
      for (let o = 0; o < nOut; o++) y[o]! += adapter.scale * bax[o]!;
    }
    return y;
  };

  // KV cache per layer: keys and values of every position so far, kvHeads * hd each.
  const keys: Float64Array[][] = Array.from({ length: layers }, () => []);
  const values: Float64Array[][] = Array.from({ length: layers }, () => []);
  const embd = w('token_embd.weight');
  // Tied embeddings: with no output.weight, llama.cpp's lm_head is token_embd (TENSOR_DUPLICATED).
  const lmHead = weights.get('output.weight') ?? embd;
  const out: Float64Array[] = [];

  tokens.forEach((token, pos) => {
    // Embedding: row `token` of token_embd, unscaled (no sqrt(dim) factor for arch llama).
    let x: Float64Array = Float64Array.from(embd.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < layers; l++) {
      const h = rmsNorm(x, w(`blk.${l}.attn_norm.weight`), config.rmsEps);
      const q = linear(`blk.${l}.attn_q.weight`, h, dim, heads * hd);
      const k = linear(`blk.${l}.attn_k.weight`, h, dim, kvHeads * hd);
      const v = linear(`blk.${l}.attn_v.weight`, h, dim, kvHeads * hd);
      for (let head = 0; head < heads; head++)
        rope(q, head * hd, hd, pos, config.ropeBase, options.ropePairs);
      for (let head = 0; head < kvHeads; head++)
        rope(k, head * hd, hd, pos, config.ropeBase, options.ropePairs);
      keys[l]!.push(k);
      values[l]!.push(v);

      // softmax(q·k / sqrt(head_dim)) v over positions 0..pos (kq_scale = 1/sqrt(n_embd_head)).
      const attn = new Float64Array(heads * hd);
      const scale = 1 / Math.sqrt(hd);
      for (let head = 0; head < heads; head++) {
        const kvHead = options.kvHeadOf === 'modulo' ? head % kvHeads : Math.floor(head / group);
        const scores = new Float64Array(pos + 1);
        let max = -Infinity;
        for (let j = 0; j <= pos; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[head * hd + d]! * keys[l]![j]![kvHead * hd + d]!;
          scores[j] = s * scale;
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j <= pos; j++) sum += scores[j] = Math.exp(scores[j]! - max);
        for (let j = 0; j <= pos; j++) {
          const p = scores[j]! / sum;
          for (let d = 0; d < hd; d++) attn[head * hd + d]! += p * values[l]![j]![kvHead * hd + d]!;
        }
      }
      x = add(x, linear(`blk.${l}.attn_output.weight`, attn, heads * hd, dim));

      // SwiGLU: down(silu(gate h) * up h), with ffn_norm before it; both residuals are pre-norm.
      const h2 = rmsNorm(x, w(`blk.${l}.ffn_norm.weight`), config.rmsEps);
      const gate = linear(`blk.${l}.ffn_gate.weight`, h2, dim, ffn);
      const up = linear(`blk.${l}.ffn_up.weight`, h2, dim, ffn);
      for (let i = 0; i < ffn; i++) gate[i] = (gate[i]! / (1 + Math.exp(-gate[i]!))) * up[i]!;
      x = add(x, linear(`blk.${l}.ffn_down.weight`, gate, ffn, dim));
    }
    const final = rmsNorm(x, w('output_norm.weight'), config.rmsEps);
    out.push(matVec(lmHead, options.q8_0Activations ? throughQ8_0(final) : final, dim, vocabSize));
  });
  return out;
}

/** W (nOut rows of nIn) times x. */
function matVec(weight: Float32Array, x: Float64Array, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    for (let i = 0; i < nIn; i++) s += weight[o * nIn + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

/** x as float32, quantized to Q8_0 blocks and back (our quantizer, which rounds as ggml's does). */
function throughQ8_0(x: Float64Array): Float64Array {
  const bytes = new Uint8Array((x.length / Q8_0_BLOCK_SIZE) * Q8_0_BLOCK_BYTES);
  quantizeQ8_0(Float32Array.from(x), bytes, 'activations');
  const back = new Float32Array(x.length);
  dequantizeQ8_0(bytes, back, 0);
  return Float64Array.from(back);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]!);
}

/** x / sqrt(mean(x²) + eps) * g: ggml_rms_norm (eps inside the root) then ggml_mul by the gain. */
function rmsNorm(x: Float64Array, gain: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const r = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * r * gain[i]!);
}

/**
 * Rotates the head at x[offset .. offset + d) for position `pos`: pair i turns by
 * pos · base^(-2i/d) (ggml_rope_cache_init: theta_scale = base^(-2/n_dims), freq_scale 1, no YaRN
 * ramp as rope.scaling.type is absent). 'adjacent' pairs (x[2i], x[2i+1]) are GGML_ROPE_TYPE_NORMAL's
 * rotate_pairs(n_dims, 1, ...), which is why convert_hf_to_gguf.py permutes Hugging Face's Q and K
 * rows (LlamaModel.permute: per head, reshape(2, d/2).swapaxes) before writing them.
 */
function rope(
  x: Float64Array,
  offset: number,
  d: number,
  pos: number,
  base: number,
  pairs: 'adjacent' | 'halves' = 'adjacent',
): void {
  for (let i = 0; i < d / 2; i++) {
    const theta = pos * Math.pow(base, (-2 * i) / d);
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    const [a, b] =
      pairs === 'adjacent' ? [offset + 2 * i, offset + 2 * i + 1] : [offset + i, offset + i + d / 2];
    const [x0, x1] = [x[a]!, x[b]!];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}
