import { GgmlType, GgufFile, ggmlTypeName, type GgufMetadata, type GgufTensorInfo } from '../gguf/index.ts';
import { f32Matrix, q8MatrixFromBytes, type Matrix } from '../tensor/matrix.ts';
import { readLlamaHparams } from './hparams.ts';
import {
  BLOCK_MATRICES,
  blockTensorName,
  llamaTensorShapes,
  ropeTableFor,
  type LlamaBlock,
  type LlamaModel,
} from './llama-model.ts';
import { ModelError } from './model-error.ts';
import { TOKENIZER_KEYS, tokenizerSpecFromMetadata } from './tokenizer-metadata.ts';

export interface LoadModelOptions {
  /**
   * Keep Q8_0 matrices quantised in memory (a quarter of float32's memory) instead of dequantising
   * them at load. Default false: the Q8_0 kernel is plain JavaScript while float32 products run in
   * WebAssembly SIMD, several times faster (bench/kernels.ts), so memory is the only reason to keep them.
   */
  readonly keepQuantized?: boolean;
  /** Tensors the file may carry besides the model's (a training checkpoint's optimizer state). */
  readonly ignoreTensor?: (name: string) => boolean;
}

const LOADABLE_TYPES = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0]);
const ROPE_FREQS = 'rope_freqs.weight';
/** Keys that describe the file rather than the model; regenerated on writing. */
const FILE_KEYS = new Set([
  'general.architecture',
  'general.file_type',
  'general.quantization_version',
  'general.alignment',
]);

/** Loads a llama-architecture GGUF (F32, F16, BF16 or Q8_0 weights) after validating all of it. */
export async function loadLlamaModel(path: string, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const file = await GgufFile.open(path);
  try {
    return await readLlamaModel(file, options);
  } finally {
    await file.close();
  }
}

/** The model in an open GGUF file; every check runs before the first weight is read. */
export async function readLlamaModel(file: GgufFile, options: LoadModelOptions = {}): Promise<LlamaModel> {
  const where = file.path;
  if (!file.hasTensor('token_embd.weight')) {
    readLlamaHparams(file.metadata, 0); // reports a wrong architecture before a missing tensor
    throw new ModelError('missing-tensor', `${where}: no tensor 'token_embd.weight'`);
  }
  const vocabRows = matrixShape(file.tensor('token_embd.weight'))[1];
  const hparams = readLlamaHparams(file.metadata, vocabRows);
  const tiedOutput = !file.hasTensor('output.weight');
  const expected = llamaTensorShapes(hparams, tiedOutput);
  if (file.hasTensor(ROPE_FREQS)) expected.set(ROPE_FREQS, [hparams.headDim / 2]);

  for (const info of file.tensors) {
    if (!expected.has(info.name) && !options.ignoreTensor?.(info.name)) {
      throw new ModelError(
        'unexpected-tensor',
        `${where}: tensor '${info.name}' is not part of a llama model as supported here ` +
          '(attention or FFN biases and mixture-of-experts tensors are not supported)',
      );
    }
  }
  for (const [name, shape] of expected) {
    if (!file.hasTensor(name)) throw new ModelError('missing-tensor', `${where}: no tensor '${name}'`);
    const info = file.tensor(name);
    if (!sameShape(info.shape, shape)) {
      throw new ModelError(
        'bad-shape',
        `${where}: tensor '${name}' has ne [${info.shape}], expected [${shape}] for these hyperparameters`,
      );
    }
    if (!LOADABLE_TYPES.has(info.type)) {
      throw new ModelError(
        'unsupported-tensor-type',
        `${where}: tensor '${name}' is ${ggmlTypeName(info.type)}; supported are F32, F16, BF16 and Q8_0 ` +
          '(requantise with llama-quantize to Q8_0 or F16)',
      );
    }
  }
  const tokenizer = tokenizerSpecFromMetadata(file.metadata);
  if (tokenizer && tokenizer.tokens.length !== hparams.vocabSize) {
    throw new ModelError(
      'bad-shape',
      `${where}: the tokenizer has ${tokenizer.tokens.length} tokens but the model's vocabulary is ${hparams.vocabSize}`,
    );
  }

  const keepQuantized = options.keepQuantized ?? false;
  const matrix = async (name: string): Promise<Matrix> => {
    const info = file.tensor(name);
    const [cols, rows] = matrixShape(info);
    if (info.type === GgmlType.Q8_0 && keepQuantized) {
      return q8MatrixFromBytes(rows, cols, await file.readTensorRaw(name));
    }
    return f32Matrix(rows, cols, await file.readTensor(name));
  };
  const vector = (name: string): Promise<Float32Array> => file.readTensor(name);

  const token_embd = await matrix('token_embd.weight');
  const blocks: LlamaBlock[] = [];
  for (let l = 0; l < hparams.layers; l++) {
    const m: Partial<Record<(typeof BLOCK_MATRICES)[number], Matrix>> = {};
    for (const name of BLOCK_MATRICES) m[name] = await matrix(blockTensorName(l, name));
    blocks.push({
      attn_norm: await vector(blockTensorName(l, 'attn_norm')),
      ffn_norm: await vector(blockTensorName(l, 'ffn_norm')),
      ...(m as Record<(typeof BLOCK_MATRICES)[number], Matrix>),
    });
  }
  const ropeFreqs = file.hasTensor(ROPE_FREQS) ? await vector(ROPE_FREQS) : undefined;
  return {
    hparams,
    token_embd,
    blocks,
    output_norm: await vector('output_norm.weight'),
    output: tiedOutput ? token_embd : await matrix('output.weight'),
    tiedOutput,
    ...(ropeFreqs ? { ropeFreqs } : {}),
    rope: ropeTableFor(hparams, ropeFreqs),
    ...(tokenizer ? { tokenizer } : {}),
    metadata: otherMetadata(file.metadata),
  };
}

/** [ne0, ne1] of a 1- or 2-D tensor (ggml drops trailing 1s). */
function matrixShape(info: GgufTensorInfo): [number, number] {
  const [ne0 = 1, ne1 = 1] = info.shape;
  return [ne0, ne1];
}

function sameShape(actual: readonly number[], expected: readonly number[]): boolean {
  const trim = (s: readonly number[]) => {
    const out = [...s];
    while (out.length > 1 && out[out.length - 1] === 1) out.pop();
    return out;
  };
  const [a, e] = [trim(actual), trim(expected)];
  return a.length === e.length && a.every((n, i) => n === e[i]);
}

function otherMetadata(meta: GgufMetadata): GgufMetadata {
  return new Map(
    [...meta].filter(([key]) => !key.startsWith('llama.') && !TOKENIZER_KEYS.has(key) && !FILE_KEYS.has(key)),
  );
}
