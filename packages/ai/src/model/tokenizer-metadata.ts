import { GgufValueType, arr, bool, str, u32, type GgufMetadata, type GgufValue } from '../gguf/index.ts';
import type { TokenizerModel, TokenizerSpec } from '../tokenizer/index.ts';
import { ModelError } from './model-error.ts';

/*
 * A tokenizer as GGUF metadata, both ways, with the key names and types llama.cpp's converter writes
 * and llama_vocab::load reads (token ids UINT32, flags BOOL, token types INT32, scores FLOAT32).
 */

const ID_KEYS = {
  bosId: 'tokenizer.ggml.bos_token_id',
  eosId: 'tokenizer.ggml.eos_token_id',
  unkId: 'tokenizer.ggml.unknown_token_id',
  padId: 'tokenizer.ggml.padding_token_id',
  eotId: 'tokenizer.ggml.eot_token_id',
} as const;
const FLAG_KEYS = {
  addBos: 'tokenizer.ggml.add_bos_token',
  addEos: 'tokenizer.ggml.add_eos_token',
  addSpacePrefix: 'tokenizer.ggml.add_space_prefix',
} as const;

/** Every key this module reads or writes; the rest of a file's tokenizer.* keys pass through. */
export const TOKENIZER_KEYS: ReadonlySet<string> = new Set([
  'tokenizer.ggml.model',
  'tokenizer.ggml.pre',
  'tokenizer.ggml.tokens',
  'tokenizer.ggml.scores',
  'tokenizer.ggml.token_type',
  'tokenizer.ggml.merges',
  'tokenizer.chat_template',
  ...Object.values(ID_KEYS),
  ...Object.values(FLAG_KEYS),
]);

function bad(message: string): never {
  throw new ModelError('bad-hparams', `tokenizer metadata: ${message}`);
}

/** The tokenizer a GGUF describes, or undefined when it has no tokenizer.ggml.model. */
export function tokenizerSpecFromMetadata(meta: GgufMetadata): TokenizerSpec | undefined {
  const model = meta.get('tokenizer.ggml.model');
  if (model === undefined) return undefined;
  if (model.type !== GgufValueType.STRING) bad('tokenizer.ggml.model is not a string');
  if (model.value !== 'gpt2' && model.value !== 'llama') {
    throw new ModelError(
      'bad-hparams',
      `tokenizer model '${model.value}' is not supported (gpt2 byte-level BPE and llama SentencePiece are)`,
    );
  }
  const strings = (key: string): string[] | undefined => {
    const v = meta.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufValueType.ARRAY || v.elementType !== GgufValueType.STRING)
      bad(`${key} is not a string array`);
    return [...(v.value as readonly string[])];
  };
  const numbers = (key: string): number[] | undefined => {
    const v = meta.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufValueType.ARRAY || typeof v.value[0] === 'string' || typeof v.value[0] === 'boolean') {
      bad(`${key} is not a numeric array`);
    }
    return (v.value as readonly (number | bigint)[]).map(Number);
  };
  const tokens = strings('tokenizer.ggml.tokens');
  if (!tokens) bad('tokenizer.ggml.tokens is missing');
  const spec: TokenizerSpec = { model: model.value as TokenizerModel, tokens };
  const pre = meta.get('tokenizer.ggml.pre');
  if (pre?.type === GgufValueType.STRING) spec.pre = pre.value;
  const scores = numbers('tokenizer.ggml.scores');
  if (scores) spec.scores = scores;
  const tokenTypes = numbers('tokenizer.ggml.token_type');
  if (tokenTypes) spec.tokenTypes = tokenTypes;
  const merges = strings('tokenizer.ggml.merges');
  if (merges) spec.merges = merges;
  for (const [field, key] of Object.entries(ID_KEYS) as [keyof typeof ID_KEYS, string][]) {
    const v = meta.get(key);
    if (v !== undefined && v.type !== GgufValueType.ARRAY && typeof v.value !== 'string') {
      const id = Number(v.value);
      // llama.cpp writes -1 (as UINT32 0xffffffff) for "none" in some converters.
      if (id >= 0 && id < tokens.length) spec[field] = id;
    }
  }
  for (const [field, key] of Object.entries(FLAG_KEYS) as [keyof typeof FLAG_KEYS, string][]) {
    const v = meta.get(key);
    if (v?.type === GgufValueType.BOOL) spec[field] = v.value;
  }
  const template = meta.get('tokenizer.chat_template');
  if (template?.type === GgufValueType.STRING) spec.chatTemplate = template.value;
  return spec;
}

/** The tokenizer.* metadata for a spec, typed as llama.cpp reads it. */
export function tokenizerMetadata(spec: TokenizerSpec): [string, GgufValue][] {
  const out: [string, GgufValue][] = [['tokenizer.ggml.model', str(spec.model)]];
  // llama.cpp warns and falls back to 'default' without a pre-tokenizer name for gpt2 models.
  if (spec.pre !== undefined) out.push(['tokenizer.ggml.pre', str(spec.pre)]);
  else if (spec.model === 'gpt2') out.push(['tokenizer.ggml.pre', str('default')]);
  out.push(['tokenizer.ggml.tokens', arr(GgufValueType.STRING, spec.tokens)]);
  if (spec.scores) out.push(['tokenizer.ggml.scores', arr(GgufValueType.FLOAT32, spec.scores)]);
  if (spec.tokenTypes) out.push(['tokenizer.ggml.token_type', arr(GgufValueType.INT32, spec.tokenTypes)]);
  if (spec.merges) out.push(['tokenizer.ggml.merges', arr(GgufValueType.STRING, spec.merges)]);
  for (const [field, key] of Object.entries(ID_KEYS) as [keyof typeof ID_KEYS, string][]) {
    const id = spec[field];
    if (id !== undefined) out.push([key, u32(id)]);
  }
  for (const [field, key] of Object.entries(FLAG_KEYS) as [keyof typeof FLAG_KEYS, string][]) {
    const flag = spec[field];
    if (flag !== undefined) out.push([key, bool(flag)]);
  }
  if (spec.chatTemplate !== undefined) out.push(['tokenizer.chat_template', str(spec.chatTemplate)]);
  return out;
}
