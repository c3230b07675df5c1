import { GgufValueType, type GgufMetadata, type GgufValue } from '../gguf/index.ts';
import { ModelError } from './model-error.ts';

/**
 * LLaMA hyperparameters, named for what they are; the GGUF key each comes from is beside it.
 * Defaults are llama.cpp's (llama_model::load_hparams) where it has one.
 */
export interface LlamaHparams {
  /** Rows of token_embd.weight (llama.vocab_size when present must agree). */
  readonly vocabSize: number;
  /** llama.context_length: the longest sequence the model was trained for. */
  readonly contextLength: number;
  /** llama.embedding_length (n_embd) */
  readonly dim: number;
  /** llama.block_count */
  readonly layers: number;
  /** llama.feed_forward_length (n_ff) */
  readonly ffnDim: number;
  /** llama.attention.head_count */
  readonly heads: number;
  /** llama.attention.head_count_kv; default heads (no grouping). */
  readonly kvHeads: number;
  /** llama.attention.key_length; default dim / heads. */
  readonly headDim: number;
  /** llama.attention.layer_norm_rms_epsilon */
  readonly rmsEps: number;
  /** llama.rope.freq_base; default 10000. */
  readonly ropeBase: number;
  /** 1 / llama.rope.scaling.factor for linear scaling; 1 without scaling. */
  readonly ropeScale: number;
}

const ARCH = 'llama';

function fail(code: 'missing-key' | 'bad-hparams', message: string): never {
  throw new ModelError(code, message);
}

/** Integer-typed keys are read whatever their integer width, as llama.cpp's loader converts them. */
function integer(meta: GgufMetadata, key: string, fallback?: number): number {
  const value = meta.get(key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    return fail('missing-key', `model metadata lacks '${key}', which llama models require`);
  }
  const n = scalarNumber(value);
  if (n === undefined || !Number.isSafeInteger(n)) {
    if (value.type === GgufValueType.ARRAY) {
      fail(
        'bad-hparams',
        `'${key}' is an array (per-layer values); only one value for all layers is supported`,
      );
    }
    fail('bad-hparams', `'${key}' must be an integer`);
  }
  return n;
}

function float(meta: GgufMetadata, key: string, fallback?: number): number {
  const value = meta.get(key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    return fail('missing-key', `model metadata lacks '${key}', which llama models require`);
  }
  const n = scalarNumber(value);
  if (n === undefined || !Number.isFinite(n)) fail('bad-hparams', `'${key}' must be a finite number`);
  return n;
}

function scalarNumber(value: GgufValue): number | undefined {
  if (value.type === GgufValueType.ARRAY) return undefined;
  if (typeof value.value === 'number') return value.value;
  if (typeof value.value === 'bigint') return Number(value.value);
  return undefined;
}

/**
 * Reads and checks the hyperparameters of a llama-architecture GGUF. `vocabRows` is the row count of
 * token_embd.weight (the vocabulary size wherever the metadata is silent).
 */
export function readLlamaHparams(meta: GgufMetadata, vocabRows: number): LlamaHparams {
  const archValue = meta.get('general.architecture');
  const arch = archValue?.type === GgufValueType.STRING ? archValue.value : undefined;
  if (arch !== ARCH) {
    throw new ModelError(
      'unsupported-architecture',
      `general.architecture is ${arch === undefined ? 'missing' : `'${arch}'`}; only 'llama' is supported ` +
        '(LLaMA 1-3, Mistral, TinyLlama, SmolLM and other models converted as llama)',
    );
  }
  const k = (name: string) => `${ARCH}.${name}`;
  if (integer(meta, k('expert_count'), 0) > 0) {
    fail('bad-hparams', `${k('expert_count')} is set: mixture-of-experts llama models are not supported`);
  }
  const dim = integer(meta, k('embedding_length'));
  const heads = integer(meta, k('attention.head_count'));
  const kvHeads = integer(meta, k('attention.head_count_kv'), heads);
  if (heads < 1 || dim < 1)
    fail('bad-hparams', `embedding_length ${dim} and head_count ${heads} must be positive`);
  const headDim = integer(meta, k('attention.key_length'), Math.floor(dim / heads));
  const valueLength = integer(meta, k('attention.value_length'), headDim);
  const ropeDim = integer(meta, k('rope.dimension_count'), headDim);
  const scalingValue = meta.get(k('rope.scaling.type'));
  const scaling = scalingValue?.type === GgufValueType.STRING ? scalingValue.value : 'none';
  const factor = float(meta, k('rope.scaling.factor'), 0);
  const hparams: LlamaHparams = {
    vocabSize: integer(meta, k('vocab_size'), vocabRows),
    contextLength: integer(meta, k('context_length')),
    dim,
    layers: integer(meta, k('block_count')),
    ffnDim: integer(meta, k('feed_forward_length')),
    heads,
    kvHeads,
    headDim,
    rmsEps: float(meta, k('attention.layer_norm_rms_epsilon')),
    ropeBase: float(meta, k('rope.freq_base'), 10000),
    ropeScale: scaling === 'linear' && factor !== 0 ? 1 / factor : 1,
  };
  if (scaling !== 'none' && scaling !== 'linear') {
    fail('bad-hparams', `rope scaling '${scaling}' is not supported (only none and linear)`);
  }
  if (valueLength !== headDim) {
    fail(
      'bad-hparams',
      `attention.key_length ${headDim} and value_length ${valueLength} differ; not supported`,
    );
  }
  if (ropeDim !== headDim) {
    // llama.cpp refuses the same: "invalid n_rot" for LLM_ARCH_LLAMA.
    fail('bad-hparams', `rope.dimension_count ${ropeDim} must equal the head size ${headDim} for llama`);
  }
  if (hparams.vocabSize !== vocabRows) {
    fail(
      'bad-hparams',
      `llama.vocab_size ${hparams.vocabSize} disagrees with token_embd.weight's ${vocabRows} rows`,
    );
  }
  assertValidHparams(hparams);
  return hparams;
}

/** The consistency rules every model obeys, whether read from a file or built in code. */
export function assertValidHparams(h: LlamaHparams): void {
  const positive: (keyof LlamaHparams)[] = [
    'vocabSize',
    'contextLength',
    'dim',
    'layers',
    'ffnDim',
    'heads',
    'kvHeads',
    'headDim',
  ];
  for (const key of positive) {
    const v = h[key];
    if (!Number.isSafeInteger(v) || v < 1) fail('bad-hparams', `${key} must be a positive integer, got ${v}`);
  }
  if (h.heads % h.kvHeads !== 0) {
    fail('bad-hparams', `head_count ${h.heads} is not a multiple of head_count_kv ${h.kvHeads}`);
  }
  if (h.headDim % 2 !== 0) fail('bad-hparams', `head size ${h.headDim} must be even for RoPE`);
  if (!(h.rmsEps > 0) || !Number.isFinite(h.rmsEps))
    fail('bad-hparams', `rms epsilon ${h.rmsEps} must be > 0`);
  if (!(h.ropeBase > 0) || !Number.isFinite(h.ropeBase))
    fail('bad-hparams', `rope base ${h.ropeBase} must be > 0`);
  if (!(h.ropeScale > 0) || !Number.isFinite(h.ropeScale)) {
    fail('bad-hparams', `rope frequency scale ${h.ropeScale} must be > 0`);
  }
}
