import { Rng } from '../generation/rng.ts';
import { f32Matrix, type F32Matrix } from '../tensor/matrix.ts';
import type { TokenizerSpec } from '../tokenizer/index.ts';
import { assertValidHparams, type LlamaHparams } from './hparams.ts';
import { BLOCK_MATRICES, ropeTableFor, type LlamaBlock, type LlamaModel } from './llama-model.ts';
import { ModelError } from './model-error.ts';

export interface InitModelOptions {
  readonly seed?: number;
  /** Standard deviation of the weights; default 0.02 (GPT-2 / LLaMA pretraining). */
  readonly std?: number;
  /**
   * Divide the std of the matrices that write into the residual stream (attn_output, ffn_down) by
   * sqrt(2 · layers), so the stream's variance does not grow with depth; default true.
   */
  readonly scaleResiduals?: boolean;
  /** No output.weight: the output projection is the token embedding (default false). */
  readonly tiedOutput?: boolean;
  readonly tokenizer?: TokenizerSpec;
}

/** A float32 model with normal random weights and unit norm gains, to pretrain from scratch. */
export function createLlamaModel(hparams: LlamaHparams, options: InitModelOptions = {}): LlamaModel {
  assertValidHparams(hparams);
  const { dim, vocabSize, ffnDim, heads, kvHeads, headDim, layers } = hparams;
  if (options.tokenizer && options.tokenizer.tokens.length !== vocabSize) {
    throw new ModelError(
      'bad-shape',
      `the tokenizer has ${options.tokenizer.tokens.length} tokens but vocabSize is ${vocabSize}`,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  const std = options.std ?? 0.02;
  const residualStd = options.scaleResiduals === false ? std : std / Math.sqrt(2 * layers);
  const matrix = (rows: number, cols: number, s: number): F32Matrix => {
    const m = f32Matrix(rows, cols);
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal() * s;
    return m;
  };
  const ones = () => new Float32Array(dim).fill(1);
  const token_embd = matrix(vocabSize, dim, std);
  const blocks: LlamaBlock[] = [];
  for (let l = 0; l < layers; l++) {
    const shapes: Record<(typeof BLOCK_MATRICES)[number], [number, number, number]> = {
      attn_q: [heads * headDim, dim, std],
      attn_k: [kvHeads * headDim, dim, std],
      attn_v: [kvHeads * headDim, dim, std],
      attn_output: [dim, heads * headDim, residualStd],
      ffn_gate: [ffnDim, dim, std],
      ffn_up: [ffnDim, dim, std],
      ffn_down: [dim, ffnDim, residualStd],
    };
    const m = Object.fromEntries(BLOCK_MATRICES.map((n) => [n, matrix(...shapes[n])])) as Record<
      (typeof BLOCK_MATRICES)[number],
      F32Matrix
    >;
    blocks.push({ attn_norm: ones(), ffn_norm: ones(), ...m });
  }
  const tiedOutput = options.tiedOutput ?? false;
  return {
    hparams,
    token_embd,
    blocks,
    output_norm: ones(),
    output: tiedOutput ? token_embd : matrix(vocabSize, dim, std),
    tiedOutput,
    rope: ropeTableFor(hparams),
    ...(options.tokenizer ? { tokenizer: options.tokenizer } : {}),
    metadata: new Map(),
  };
}
