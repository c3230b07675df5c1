/**
 * Tiny LLaMA-architecture models with seeded random weights, written as GGUF files that llama.cpp
 * loads. Test-side on purpose: the runtime's own model writer belongs to src/model/; this one only
 * has to produce files that pin down what llama.cpp expects (see test/llama-cpp-gguf.test.ts).
 *
 * Tensors are held as ggml stores them: a weight with ne = [nIn, nOut] is nOut rows of nIn values,
 * and y = W x means y[o] = sum_i W[o * nIn + i] * x[i]. Q and K are stored in the layout llama.cpp's
 * RoPE expects for arch llama (rotation pairs are adjacent dimensions, see reference-llama.ts), i.e.
 * already "permuted" the way convert_hf_to_gguf.py permutes Hugging Face's q_proj / k_proj.
 */
import {
  GgmlType,
  GgufValueType,
  arr,
  bool,
  f32,
  str,
  u32,
  writeGguf,
  type GgufTensorToWrite,
  type GgufValue,
  type LoraLayer,
  type WritableTensorType,
} from '../../src/gguf/index.ts';
import type { TokenizerSpec } from '../../src/tokenizer/index.ts';

export interface TinyLlamaConfig {
  readonly vocabSize: number;
  readonly contextLength: number;
  /** n_embd */
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  /** n_ff, the SwiGLU hidden size */
  readonly ffn: number;
  readonly rmsEps: number;
  readonly ropeBase: number;
}

/** Weights by GGUF tensor name, row-major float32 as described above. */
export type TinyLlamaWeights = ReadonlyMap<string, Float32Array>;

export interface TinyLlama {
  readonly config: TinyLlamaConfig;
  readonly weights: TinyLlamaWeights;
}

/** mulberry32: small, seeded, the same on every platform. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(n: number, scale: number, rnd: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rnd() * 2 - 1) * scale;
  return out;
}

/** Norm gains near 1, so that a missing or misplaced gain shows in the logits. */
function gains(n: number, rnd: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.8 + 0.4 * rnd();
  return out;
}

export function headDim(config: TinyLlamaConfig): number {
  return config.dim / config.heads;
}

/** The base weight names of one block that a LoRA adapter may target (every matrix). */
export function blockMatrices(layer: number): string[] {
  return ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'].map(
    (t) => `blk.${layer}.${t}.weight`,
  );
}

/** [nIn, nOut] of every tensor, in the order llama.cpp's converter writes them. No output.weight: tied. */
export function tensorShapes(config: TinyLlamaConfig): Map<string, [number, number] | [number]> {
  const { dim, ffn, heads, kvHeads, vocabSize } = config;
  const hd = headDim(config);
  const shapes = new Map<string, [number, number] | [number]>([['token_embd.weight', [dim, vocabSize]]]);
  for (let l = 0; l < config.layers; l++) {
    shapes.set(`blk.${l}.attn_norm.weight`, [dim]);
    shapes.set(`blk.${l}.attn_q.weight`, [dim, heads * hd]);
    shapes.set(`blk.${l}.attn_k.weight`, [dim, kvHeads * hd]);
    shapes.set(`blk.${l}.attn_v.weight`, [dim, kvHeads * hd]);
    shapes.set(`blk.${l}.attn_output.weight`, [heads * hd, dim]);
    shapes.set(`blk.${l}.ffn_norm.weight`, [dim]);
    shapes.set(`blk.${l}.ffn_gate.weight`, [dim, ffn]);
    shapes.set(`blk.${l}.ffn_up.weight`, [dim, ffn]);
    shapes.set(`blk.${l}.ffn_down.weight`, [ffn, dim]);
  }
  shapes.set('output_norm.weight', [dim]);
  return shapes;
}

/**
 * Random weights scaled so that activations stay O(1) through the blocks and attention is far from
 * uniform (a wrong RoPE or head grouping then moves the logits by far more than rounding does).
 */
export function randomTinyLlama(config: TinyLlamaConfig, seed: number): TinyLlama {
  const rnd = seededRandom(seed);
  const weights = new Map<string, Float32Array>();
  for (const [name, shape] of tensorShapes(config)) {
    if (shape.length === 1) weights.set(name, gains(shape[0], rnd));
    else if (name === 'token_embd.weight') weights.set(name, uniform(shape[0] * shape[1], 1, rnd));
    else {
      // q and k larger than 1/sqrt(nIn), so that scores spread and softmax is peaked.
      const boost = /attn_[qk]\./.test(name) ? 2.5 : 1;
      weights.set(name, uniform(shape[0] * shape[1], (boost * Math.sqrt(3)) / Math.sqrt(shape[0]), rnd));
    }
  }
  return { config, weights };
}

/** A random rank-`rank` adapter on the given base weights. B is not zero, unlike a fresh LoRA. */
export function randomLora(
  model: TinyLlama,
  targets: readonly string[],
  rank: number,
  seed: number,
): Map<string, LoraLayer> {
  const rnd = seededRandom(seed);
  const shapes = tensorShapes(model.config);
  const layers = new Map<string, LoraLayer>();
  for (const name of targets) {
    const shape = shapes.get(name);
    if (shape?.length !== 2) throw new Error(`randomLora: '${name}' is not a matrix of the model`);
    const [nIn, nOut] = shape;
    layers.set(name, {
      a: uniform(rank * nIn, 1 / Math.sqrt(nIn), rnd),
      b: uniform(nOut * rank, 1 / Math.sqrt(rank), rnd),
      nIn,
      nOut,
    });
  }
  return layers;
}

/** llama_ftype values for `general.file_type` (llama.h). */
const FILE_TYPE: Record<WritableTensorType, number> = {
  [GgmlType.F32]: 0, // LLAMA_FTYPE_ALL_F32
  [GgmlType.F16]: 1, // LLAMA_FTYPE_MOSTLY_F16
  [GgmlType.Q8_0]: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
};

/** The `tokenizer.ggml.*` keys llama.cpp's llama_vocab::load reads, from our tokenizer spec. */
export function tokenizerMetadata(spec: TokenizerSpec): [string, GgufValue][] {
  const out: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str(spec.model)],
    ['tokenizer.ggml.tokens', arr(GgufValueType.STRING, spec.tokens)],
  ];
  if (spec.pre !== undefined) out.push(['tokenizer.ggml.pre', str(spec.pre)]);
  if (spec.tokenTypes) out.push(['tokenizer.ggml.token_type', arr(GgufValueType.INT32, spec.tokenTypes)]);
  if (spec.scores) out.push(['tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, spec.scores)]);
  if (spec.merges) out.push(['tokenizer.ggml.merges', arr(GgufValueType.STRING, spec.merges)]);
  const ids: [string, number | undefined][] = [
    ['tokenizer.ggml.bos_token_id', spec.bosId],
    ['tokenizer.ggml.eos_token_id', spec.eosId],
    ['tokenizer.ggml.unknown_token_id', spec.unkId],
    ['tokenizer.ggml.padding_token_id', spec.padId],
    ['tokenizer.ggml.eot_token_id', spec.eotId],
  ];
  for (const [key, id] of ids) if (id !== undefined) out.push([key, u32(id)]);
  if (spec.addBos !== undefined) out.push(['tokenizer.ggml.add_bos_token', bool(spec.addBos)]);
  if (spec.addEos !== undefined) out.push(['tokenizer.ggml.add_eos_token', bool(spec.addEos)]);
  return out;
}

/** Every key llama.cpp's loader reads for arch llama, typed as it insists (UINT32 / FLOAT32). */
export function tinyLlamaMetadata(
  config: TinyLlamaConfig,
  tokenizer: TokenizerSpec,
  type: WritableTensorType,
): [string, GgufValue][] {
  return [
    ['general.architecture', str('llama')],
    ['general.name', str('openledger-tiny-test')],
    ['general.file_type', u32(FILE_TYPE[type])],
    ['general.alignment', u32(32)],
    ['llama.vocab_size', u32(config.vocabSize)],
    ['llama.context_length', u32(config.contextLength)],
    ['llama.embedding_length', u32(config.dim)],
    ['llama.block_count', u32(config.layers)],
    ['llama.feed_forward_length', u32(config.ffn)],
    ['llama.attention.head_count', u32(config.heads)],
    ['llama.attention.head_count_kv', u32(config.kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(config.rmsEps)],
    ['llama.rope.freq_base', f32(config.ropeBase)],
    ['llama.rope.dimension_count', u32(headDim(config))],
    ...tokenizerMetadata(tokenizer),
  ];
}

/**
 * Writes the model with its matrices as `type`. Norm gains (1-D) stay F32 whatever `type` is, as
 * llama-quantize keeps them: ggml's CPU ops multiply by them as F32.
 */
export async function writeTinyLlama(
  path: string,
  model: TinyLlama,
  tokenizer: TokenizerSpec,
  type: WritableTensorType,
): Promise<void> {
  if (tokenizer.tokens.length !== model.config.vocabSize) {
    throw new Error(
      `writeTinyLlama: tokenizer has ${tokenizer.tokens.length} tokens, model vocab is ${model.config.vocabSize}`,
    );
  }
  const tensors: GgufTensorToWrite[] = [];
  for (const [name, shape] of tensorShapes(model.config)) {
    tensors.push({
      name,
      shape,
      type: shape.length === 1 ? GgmlType.F32 : type,
      data: model.weights.get(name)!,
    });
  }
  await writeGguf(path, { metadata: new Map(tinyLlamaMetadata(model.config, tokenizer, type)), tensors });
}
