import {
  GgmlType,
  Q8_0_BLOCK_BYTES,
  Q8_0_BLOCK_SIZE,
  f32,
  f32ToF16Bits,
  str,
  u32,
  writeGguf,
  type GgufTensorToWrite,
  type GgufValue,
  type WritableTensorType,
} from '../gguf/index.ts';
import { toFloat32, type Matrix, type Q8Matrix } from '../tensor/matrix.ts';
import type { TokenizerSpec } from '../tokenizer/index.ts';
import { modelTensors, type LlamaModel } from './llama-model.ts';
import { ModelError } from './model-error.ts';
import { tokenizerMetadata } from './tokenizer-metadata.ts';

export interface WriteModelOptions {
  /** Type of the matrices: F32 (default), F16 or Q8_0. Norm gains are always F32, as llama-quantize keeps them. */
  readonly type?: WritableTensorType;
  /** general.name; default the model's own, else 'openledger-llama'. */
  readonly name?: string;
  /** Default: the tokenizer the model was loaded or built with. llama.cpp needs one to load the file. */
  readonly tokenizer?: TokenizerSpec;
  /** Extra metadata (general.* descriptions, licences...); hparam and tokenizer keys are derived. */
  readonly metadata?: ReadonlyMap<string, GgufValue>;
}

/** llama_ftype (llama.h) for general.file_type. */
const FILE_TYPE: Record<WritableTensorType, number> = {
  [GgmlType.F32]: 0, // LLAMA_FTYPE_ALL_F32
  [GgmlType.F16]: 1, // LLAMA_FTYPE_MOSTLY_F16
  [GgmlType.Q8_0]: 7, // LLAMA_FTYPE_MOSTLY_Q8_0
};
/** GGML_QNT_VERSION, which the converter writes as general.quantization_version. */
const QUANTIZATION_VERSION = 2;

/**
 * Writes the model as a GGUF that llama.cpp loads: general.* and llama.* keys typed as
 * convert_hf_to_gguf.py writes them (UINT32 counts, FLOAT32 epsilon and base), tokenizer.ggml.*,
 * and the tensors in the converter's order with its names and ne shapes.
 */
export async function writeLlamaModel(
  path: string,
  model: LlamaModel,
  options: WriteModelOptions = {},
): Promise<void> {
  await writeGguf(path, llamaGgufInput(model, options));
}

/** The metadata and tensors writeLlamaModel writes (a checkpoint adds its own to them). */
export function llamaGgufInput(
  model: LlamaModel,
  options: WriteModelOptions = {},
): { metadata: Map<string, GgufValue>; tensors: GgufTensorToWrite[] } {
  const type = options.type ?? GgmlType.F32;
  const h = model.hparams;
  const tokenizer = options.tokenizer ?? model.tokenizer;
  if (tokenizer && tokenizer.tokens.length !== h.vocabSize) {
    throw new ModelError(
      'bad-shape',
      `the tokenizer has ${tokenizer.tokens.length} tokens but the model's vocabulary is ${h.vocabSize}`,
    );
  }
  const nameValue = model.metadata.get('general.name');
  const name = options.name ?? (nameValue?.type === 8 ? nameValue.value : 'openledger-llama');
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', str('llama')],
    ['general.name', str(name)],
  ]);
  for (const [key, value] of model.metadata) if (!metadata.has(key)) metadata.set(key, value);
  for (const [key, value] of options.metadata ?? []) metadata.set(key, value);
  const hparamKeys: [string, GgufValue][] = [
    ['llama.vocab_size', u32(h.vocabSize)],
    ['llama.context_length', u32(h.contextLength)],
    ['llama.embedding_length', u32(h.dim)],
    ['llama.block_count', u32(h.layers)],
    ['llama.feed_forward_length', u32(h.ffnDim)],
    ['llama.rope.dimension_count', u32(h.headDim)],
    ['llama.attention.head_count', u32(h.heads)],
    ['llama.attention.head_count_kv', u32(h.kvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(h.rmsEps)],
    ['llama.rope.freq_base', f32(h.ropeBase)],
  ];
  if (h.headDim !== h.dim / h.heads) {
    hparamKeys.push(
      ['llama.attention.key_length', u32(h.headDim)],
      ['llama.attention.value_length', u32(h.headDim)],
    );
  }
  if (h.ropeScale !== 1) {
    hparamKeys.push(
      ['llama.rope.scaling.type', str('linear')],
      ['llama.rope.scaling.factor', f32(1 / h.ropeScale)],
    );
  }
  for (const [key, value] of hparamKeys) metadata.set(key, value);
  metadata.set('general.file_type', u32(FILE_TYPE[type]));
  metadata.set('general.quantization_version', u32(QUANTIZATION_VERSION));
  for (const [key, value] of tokenizer ? tokenizerMetadata(tokenizer) : []) metadata.set(key, value);

  const tensors: GgufTensorToWrite[] = [];
  if (model.ropeFreqs) {
    tensors.push({
      name: 'rope_freqs.weight',
      shape: [model.ropeFreqs.length],
      type: GgmlType.F32,
      data: model.ropeFreqs,
    });
  }
  for (const [tensorName, tensor] of modelTensors(model)) {
    if (tensor instanceof Float32Array) {
      tensors.push({ name: tensorName, shape: [tensor.length], type: GgmlType.F32, data: tensor });
    } else {
      tensors.push(matrixTensor(tensorName, tensor, type));
    }
  }
  return { metadata, tensors };
}

function matrixTensor(name: string, matrix: Matrix, type: WritableTensorType): GgufTensorToWrite {
  const shape = [matrix.cols, matrix.rows];
  if (type === GgmlType.Q8_0 && matrix.cols % Q8_0_BLOCK_SIZE !== 0) {
    // Q8_0 needs rows of whole 32-blocks; llama-quantize falls back to a float type the same way.
    return { name, shape, type: GgmlType.F16, data: () => toFloat32(matrix) };
  }
  if (type === GgmlType.Q8_0 && matrix.format === 'q8_0') {
    // Already quantised: copy the blocks, no second rounding.
    return { name, shape, type, raw: q8Bytes(matrix) };
  }
  return { name, shape, type, data: () => toFloat32(matrix) };
}

function q8Bytes(m: Q8Matrix): Uint8Array {
  const blocks = m.scales.length;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  for (let b = 0; b < blocks; b++) {
    const h = f32ToF16Bits(m.scales[b]!);
    out[b * Q8_0_BLOCK_BYTES] = h & 0xff;
    out[b * Q8_0_BLOCK_BYTES + 1] = h >>> 8;
    out.set(
      new Uint8Array(m.quants.buffer, m.quants.byteOffset + b * Q8_0_BLOCK_SIZE, Q8_0_BLOCK_SIZE),
      b * Q8_0_BLOCK_BYTES + 2,
    );
  }
  return out;
}
