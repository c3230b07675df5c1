import type { GgufMetadata } from '../gguf/index.ts';
import { RopeTable } from '../tensor/rope.ts';
import type { Matrix } from '../tensor/matrix.ts';
import type { TokenizerSpec } from '../tokenizer/index.ts';
import type { LlamaHparams } from './hparams.ts';

/** One transformer block; every field is named after its GGUF tensor ("blk.N.<name>.weight"). */
export interface LlamaBlock {
  readonly attn_norm: Float32Array;
  readonly attn_q: Matrix;
  readonly attn_k: Matrix;
  readonly attn_v: Matrix;
  readonly attn_output: Matrix;
  readonly ffn_norm: Float32Array;
  readonly ffn_gate: Matrix;
  readonly ffn_up: Matrix;
  readonly ffn_down: Matrix;
}

export type BlockMatrixName =
  'attn_q' | 'attn_k' | 'attn_v' | 'attn_output' | 'ffn_gate' | 'ffn_up' | 'ffn_down';
export type BlockNormName = 'attn_norm' | 'ffn_norm';
export const BLOCK_MATRICES: readonly BlockMatrixName[] = [
  'attn_q',
  'attn_k',
  'attn_v',
  'attn_output',
  'ffn_gate',
  'ffn_up',
  'ffn_down',
];

/**
 * A LLaMA-architecture model in memory. Matrices are in llama.cpp's layout (rows = outputs); with a
 * tied output (no output.weight in the file) `output` is the token embedding itself.
 */
export interface LlamaModel {
  readonly hparams: LlamaHparams;
  /** vocabSize rows of dim: row t is token t's embedding. */
  readonly token_embd: Matrix;
  readonly blocks: readonly LlamaBlock[];
  readonly output_norm: Float32Array;
  readonly output: Matrix;
  readonly tiedOutput: boolean;
  /** rope_freqs.weight (LLaMA 3.1 long-context frequency divisors), when the model has it. */
  readonly ropeFreqs?: Float32Array;
  readonly rope: RopeTable;
  /** The tokenizer the file carries (tokenizer.ggml.*), if any. */
  readonly tokenizer?: TokenizerSpec;
  /** Metadata that is neither hyperparameters nor tokenizer (general.name, ...), kept for writing. */
  readonly metadata: GgufMetadata;
}

export function blockTensorName(layer: number, name: BlockMatrixName | BlockNormName): string {
  return `blk.${layer}.${name}.weight`;
}

/** ggml ne of every tensor a llama model with these hparams has, in llama.cpp's converter order. */
export function llamaTensorShapes(h: LlamaHparams, tiedOutput: boolean): Map<string, number[]> {
  const { dim, vocabSize, ffnDim, heads, kvHeads, headDim } = h;
  const shapes = new Map<string, number[]>([['token_embd.weight', [dim, vocabSize]]]);
  for (let l = 0; l < h.layers; l++) {
    const name = (n: BlockMatrixName | BlockNormName) => blockTensorName(l, n);
    shapes.set(name('attn_norm'), [dim]);
    shapes.set(name('attn_q'), [dim, heads * headDim]);
    shapes.set(name('attn_k'), [dim, kvHeads * headDim]);
    shapes.set(name('attn_v'), [dim, kvHeads * headDim]);
    shapes.set(name('attn_output'), [heads * headDim, dim]);
    shapes.set(name('ffn_norm'), [dim]);
    shapes.set(name('ffn_gate'), [dim, ffnDim]);
    shapes.set(name('ffn_up'), [dim, ffnDim]);
    shapes.set(name('ffn_down'), [ffnDim, dim]);
  }
  shapes.set('output_norm.weight', [dim]);
  if (!tiedOutput) shapes.set('output.weight', [dim, vocabSize]);
  return shapes;
}

/** The model's tensors by GGUF name (the tied output appears once, as token_embd.weight). */
export function modelTensors(model: LlamaModel): Map<string, Matrix | Float32Array> {
  const tensors = new Map<string, Matrix | Float32Array>([['token_embd.weight', model.token_embd]]);
  model.blocks.forEach((block, l) => {
    tensors.set(blockTensorName(l, 'attn_norm'), block.attn_norm);
    for (const name of BLOCK_MATRICES.slice(0, 4)) tensors.set(blockTensorName(l, name), block[name]);
    tensors.set(blockTensorName(l, 'ffn_norm'), block.ffn_norm);
    for (const name of BLOCK_MATRICES.slice(4)) tensors.set(blockTensorName(l, name), block[name]);
  });
  tensors.set('output_norm.weight', model.output_norm);
  if (!model.tiedOutput) tensors.set('output.weight', model.output);
  return tensors;
}

export function ropeTableFor(h: LlamaHparams, ropeFreqs?: Float32Array): RopeTable {
  return new RopeTable({
    nRot: h.headDim,
    freqBase: h.ropeBase,
    freqScale: h.ropeScale,
    ...(ropeFreqs ? { freqFactors: ropeFreqs } : {}),
  });
}
