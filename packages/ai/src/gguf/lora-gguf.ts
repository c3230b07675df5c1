import { GgufError } from './gguf-error.ts';
import {
  f32,
  getF32,
  getString,
  metadataFrom,
  str,
  type GgufMetadata,
  type GgufValue,
} from './gguf-types.ts';
import { GgufFile, type GgufTensorInfo } from './read-gguf.ts';
import { GgmlType } from './tensor-types.ts';
import type { WritableTensorType } from './tensor-codec.ts';
import { writeGguf, type GgufTensorToWrite } from './write-gguf.ts';

/*
 * LoRA adapters in llama.cpp's GGUF convention (what convert_lora_to_gguf.py writes and
 * llama_adapter_lora_init accepts):
 *
 *   general.type = "adapter", adapter.type = "lora" (STRING), adapter.lora.alpha (FLOAT32),
 *   general.architecture = the base model's architecture;
 *   for each adapted base weight W named N (e.g. "blk.0.attn_q.weight"), tensors "N.lora_a" and
 *   "N.lora_b".
 *
 * Shapes are ggml `ne` (ne[0] is the contiguous row length). For W with ne = [nIn, nOut] (nOut rows
 * of nIn values, y = W x):
 *
 *   lora_a: ne = [nIn, r]  r rows of nIn:  A(j, i) is at j * nIn + i   (A is r x nIn)
 *   lora_b: ne = [r, nOut] nOut rows of r: B(o, j) is at o * r + j     (B is nOut x r)
 *
 * and the runtime computes y = W x + scale * B (A x) with scale = alpha / r, except that llama.cpp
 * uses scale = 1 when alpha is 0 (see loraScale). llama.cpp checks W.ne[0] == A.ne[0],
 * W.ne[1] == B.ne[1] and A.ne[1] == B.ne[0]; a mismatch there is its "lora_a tensor is not
 * transposed" error, the layout of the old `finetune` example.
 *
 * The token embedding is the exception: llama.cpp gathers rows of lora_a by token id and multiplies
 * by lora_b, so on disk for "token_embd.weight" (ne = [nEmbd, nVocab]) lora_a holds B (ne = [r,
 * nVocab]) and lora_b holds A transposed (ne = [r, nEmbd]). This module converts, so LoraLayer
 * always means ΔW = scale * B A, embedding included.
 */

export const LORA_A_SUFFIX = '.lora_a';
export const LORA_B_SUFFIX = '.lora_b';
const TOKEN_EMBD_SUFFIX = 'token_embd.weight';
const OUTPUT_WEIGHT = 'output.weight';
/** llama.cpp ignores these (adapters for norms are not applied) instead of refusing the file. */
const IGNORED_SUFFIX = '_norm.weight';

const RESERVED_KEYS = ['general.type', 'general.architecture', 'adapter.type', 'adapter.lora.alpha'] as const;

export interface LoraLayer {
  /** A: r rows of nIn values; A(j, i) at j * nIn + i. */
  readonly a: Float32Array;
  /** B: nOut rows of r values; B(o, j) at o * r + j. */
  readonly b: Float32Array;
  readonly nIn: number;
  readonly nOut: number;
}

export interface LoraAdapter {
  readonly architecture: string;
  readonly alpha: number;
  readonly rank: number;
  /** Keyed by base tensor name ("blk.0.attn_q.weight"). */
  readonly layers: ReadonlyMap<string, LoraLayer>;
  /** Other metadata; the adapter keys above are not repeated here. */
  readonly metadata?: ReadonlyMap<string, GgufValue> | Readonly<Record<string, GgufValue>>;
}

export interface LoraWriteOptions {
  /** How A and B are stored: F32 (default), F16, or Q8_0 (rows must then be multiples of 32). */
  readonly type?: WritableTensorType;
}

/** The factor llama.cpp applies to B (A x): alpha / rank, or 1 when alpha is 0. */
export function loraScale(alpha: number, rank: number): number {
  return alpha === 0 ? 1 : alpha / rank;
}

export async function writeLoraAdapter(
  path: string,
  adapter: LoraAdapter,
  options: LoraWriteOptions = {},
): Promise<void> {
  const { architecture, alpha, rank } = adapter;
  const fail = (reason: string): never => {
    throw new GgufError('bad-adapter', `LoRA adapter: ${reason}`);
  };
  if (typeof architecture !== 'string' || architecture.length === 0) {
    fail('architecture must be a non-empty string');
  }
  if (!Number.isFinite(alpha)) fail(`alpha ${alpha} is not finite`);
  if (!Number.isSafeInteger(rank) || rank < 1) fail(`rank ${rank} is not a positive integer`);
  if (adapter.layers.size === 0) fail('no layers');

  const extra = metadataFrom(adapter.metadata ?? {});
  for (const key of RESERVED_KEYS) if (extra.has(key)) fail(`metadata may not set '${key}'; it is derived`);
  const metadata: GgufMetadata = new Map([
    ['general.type', str('adapter')],
    ['general.architecture', str(architecture)],
    ['adapter.type', str('lora')],
    ['adapter.lora.alpha', f32(alpha)],
    ...extra,
  ]);

  const type = options.type ?? GgmlType.F32;
  const tensors: GgufTensorToWrite[] = [];
  for (const [name, layer] of adapter.layers) {
    const { a, b, nIn, nOut } = layer;
    if (name.endsWith(LORA_A_SUFFIX) || name.endsWith(LORA_B_SUFFIX)) {
      fail(`'${name}' is a LoRA name, not a base tensor`);
    }
    if (!Number.isSafeInteger(nIn) || nIn < 1 || !Number.isSafeInteger(nOut) || nOut < 1) {
      fail(`'${name}': nIn ${nIn} and nOut ${nOut} must be positive integers`);
    }
    if (a.length !== rank * nIn) {
      fail(`'${name}': A has ${a.length} values, expected rank ${rank} x nIn ${nIn}`);
    }
    if (b.length !== nOut * rank) {
      fail(`'${name}': B has ${b.length} values, expected nOut ${nOut} x rank ${rank}`);
    }
    if (name.endsWith(TOKEN_EMBD_SUFFIX)) {
      tensors.push({ name: name + LORA_A_SUFFIX, shape: [rank, nOut], type, data: b });
      tensors.push({
        name: name + LORA_B_SUFFIX,
        shape: [rank, nIn],
        type,
        data: () => transpose(a, rank, nIn),
      });
    } else {
      tensors.push({ name: name + LORA_A_SUFFIX, shape: [nIn, rank], type, data: a });
      tensors.push({ name: name + LORA_B_SUFFIX, shape: [rank, nOut], type, data: b });
    }
  }
  await writeGguf(path, { metadata, tensors });
}

export interface LoraReadOptions {
  /** Also check every layer against the base model's tensors, as llama.cpp does when loading. */
  readonly base?: Iterable<Pick<GgufTensorInfo, 'name' | 'shape'>>;
}

/** Reads and validates an adapter; A and B come back as float32 whatever their stored type. */
export async function readLoraAdapter(
  path: string,
  options: LoraReadOptions = {},
): Promise<LoraAdapter & { metadata: GgufMetadata; layers: Map<string, LoraLayer> }> {
  const file = await GgufFile.open(path);
  try {
    const fail = (reason: string): never => {
      throw new GgufError('bad-adapter', `${path}: ${reason}`);
    };
    const meta = file.metadata;
    const generalType = getString(meta, 'general.type');
    if (generalType !== 'adapter') fail(`general.type is '${generalType}', expected 'adapter'`);
    const adapterType = getString(meta, 'adapter.type');
    if (adapterType !== 'lora') fail(`adapter.type is '${adapterType}', expected 'lora'`);
    const architecture = getString(meta, 'general.architecture');
    if (architecture.length === 0) fail('general.architecture is empty');
    const alpha = getF32(meta, 'adapter.lora.alpha');

    const pairs = pairTensors(file.tensors, fail);
    let rank: number | undefined;
    let rankFrom = '';
    const layers = new Map<string, LoraLayer>();
    for (const [name, { a, b }] of pairs) {
      const shape = layerShape(name, a, b, fail);
      if (rank === undefined) [rank, rankFrom] = [shape.rank, name];
      else if (shape.rank !== rank)
        fail(`rank mismatch: '${name}' has rank ${shape.rank} but '${rankFrom}' has ${rank}`);
      const [aData, bData] = [await file.readTensor(a.name), await file.readTensor(b.name)];
      layers.set(
        name,
        shape.embedding
          ? { a: transpose(bData, shape.nIn, shape.rank), b: aData, nIn: shape.nIn, nOut: shape.nOut }
          : { a: aData, b: bData, nIn: shape.nIn, nOut: shape.nOut },
      );
    }
    if (rank === undefined) fail('has no LoRA tensors');
    const metadata = new Map(
      [...meta].filter(([key]) => !(RESERVED_KEYS as readonly string[]).includes(key)),
    );
    const adapter = { architecture, alpha, rank: rank!, layers, metadata };
    if (options.base) assertLoraFitsBase(adapter, options.base);
    return adapter;
  } finally {
    await file.close();
  }
}

type Fail = (reason: string) => never;

function pairTensors(
  tensors: readonly GgufTensorInfo[],
  fail: Fail,
): Map<string, { a: GgufTensorInfo; b: GgufTensorInfo }> {
  const halves = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>();
  for (const tensor of tensors) {
    const half = tensor.name.endsWith(LORA_A_SUFFIX)
      ? 'a'
      : tensor.name.endsWith(LORA_B_SUFFIX)
        ? 'b'
        : undefined;
    if (half === undefined) {
      if (tensor.name.endsWith(IGNORED_SUFFIX)) continue;
      fail(`tensor '${tensor.name}' is neither ${LORA_A_SUFFIX} nor ${LORA_B_SUFFIX}`);
    }
    const base = tensor.name.slice(0, -LORA_A_SUFFIX.length);
    const entry = halves.get(base) ?? {};
    entry[half!] = tensor;
    halves.set(base, entry);
  }
  const pairs = new Map<string, { a: GgufTensorInfo; b: GgufTensorInfo }>();
  for (const [base, { a, b }] of halves) {
    if (!a || !b) {
      fail(`'${base}' has ${a ? LORA_A_SUFFIX : LORA_B_SUFFIX} but no ${a ? LORA_B_SUFFIX : LORA_A_SUFFIX}`);
    }
    pairs.set(base, { a: a!, b: b! });
  }
  return pairs;
}

/** 2-D shape of a tensor; ggml drops trailing 1s when writing (a rank-1 lora_a may be 1-D). */
function matrix(tensor: GgufTensorInfo, fail: Fail): [number, number] {
  const [ne0 = 1, ne1 = 1, ...rest] = tensor.shape;
  if (rest.some((n) => n !== 1)) {
    fail(`tensor '${tensor.name}' has shape [${tensor.shape}]; LoRA tensors are 2-D`);
  }
  return [ne0, ne1];
}

function layerShape(
  name: string,
  a: GgufTensorInfo,
  b: GgufTensorInfo,
  fail: Fail,
): { nIn: number; nOut: number; rank: number; embedding: boolean } {
  const [a0, a1] = matrix(a, fail);
  const [b0, b1] = matrix(b, fail);
  if (name.endsWith(TOKEN_EMBD_SUFFIX)) {
    // On disk: lora_a = B with ne [r, nVocab], lora_b = A transposed with ne [r, nEmbd].
    if (a0 !== b0) fail(`rank mismatch in '${name}': lora_a has ne[0] = ${a0}, lora_b has ne[0] = ${b0}`);
    if (b0 < 1) fail(`'${name}' has rank 0`);
    return { nIn: b1, nOut: a1, rank: b0, embedding: true };
  }
  if (a1 !== b0) {
    fail(
      `rank mismatch in '${name}': lora_a has shape [${a.shape}] (rank ne[1] = ${a1}) but lora_b has ` +
        `shape [${b.shape}] (rank ne[0] = ${b0}); expected lora_a [nIn, r] and lora_b [r, nOut]`,
    );
  }
  if (a1 < 1) fail(`'${name}' has rank 0`);
  return { nIn: a0, nOut: b1, rank: a1, embedding: false };
}

/**
 * Checks that every adapted weight exists in the base model with ne = [nIn, nOut], the check
 * llama.cpp makes when it attaches an adapter (a mismatch usually means the wrong base model).
 */
export function assertLoraFitsBase(
  adapter: Pick<LoraAdapter, 'layers'>,
  base: Iterable<Pick<GgufTensorInfo, 'name' | 'shape'>>,
): void {
  const shapes = new Map<string, readonly number[]>();
  for (const tensor of base) shapes.set(tensor.name, tensor.shape);
  for (const [name, { nIn, nOut }] of adapter.layers) {
    const shape = shapes.get(name);
    if (!shape) throw new GgufError('bad-adapter', `LoRA tensor '${name}' does not exist in the base model`);
    // With tied embeddings llama.cpp also applies the token_embd adapter to the output matmul, where
    // its shapes do not fit, and aborts the whole process (GGML_ASSERT in ggml_can_mul_mat).
    if (name === TOKEN_EMBD_SUFFIX && !shapes.has(OUTPUT_WEIGHT)) {
      throw new GgufError(
        'bad-adapter',
        `a LoRA on '${TOKEN_EMBD_SUFFIX}' needs a base model with a separate '${OUTPUT_WEIGHT}' (this one ties them)`,
      );
    }
    const [ne0 = 1, ne1 = 1, ...rest] = shape;
    if (ne0 !== nIn || ne1 !== nOut || rest.some((n) => n !== 1)) {
      throw new GgufError(
        'bad-adapter',
        `LoRA for '${name}' is for ne [${nIn}, ${nOut}] but the base tensor has [${shape}] (wrong base model?)`,
      );
    }
  }
}

/** `rows` rows of `cols` values -> `cols` rows of `rows` values. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  }
  return out;
}
