/**
 * llama.cpp, through node-llama-cpp's prebuilt CPU binary, as the reference our runtime is checked
 * against and as a backend in its own right: load a GGUF model with LoRA adapters, get raw next-token
 * logits, greedy-decode, and tokenize with the model's own tokenizer.
 *
 * Every evaluation starts from an empty KV cache, so a result depends only on its input tokens.
 * node-llama-cpp is told never to build or download: `build: 'never'` loads the binary from the
 * `@node-llama-cpp/linux-x64` (etc.) npm package or fails with NoBinaryFoundError, and `gpu: false`
 * keeps it off the CUDA and Vulkan variants, whose results would differ in the last bits.
 */
import {
  getLlama,
  LlamaLogLevel,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { LlamaCppError } from './llama-cpp-error.ts';
import type { LlamaCppModelOptions } from './types.ts';

/** A loaded model with one context and one sequence; close it with closeLlamaCppModel. */
export interface LlamaCppModel {
  readonly path: string;
  /** Number of tokens in the vocabulary: the length of every logits vector. */
  readonly vocabSize: number;
  /** The context's size in tokens (llama.cpp may round the requested size up). */
  readonly contextSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** node-llama-cpp's objects, for anything this module does not cover. */
  readonly llama: {
    readonly model: LlamaModel;
    readonly context: LlamaContext;
    readonly sequence: LlamaContextSequence;
  };
}

let runtime: Promise<Llama> | undefined;

/** The process-wide llama.cpp binding, loaded once: CPU only, never built or downloaded. */
export function loadLlamaCppRuntime(): Promise<Llama> {
  runtime ??= getLlama({
    gpu: false,
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  }).catch((error: unknown) => {
    runtime = undefined;
    throw new LlamaCppError(
      'no-binary',
      'cannot load the prebuilt llama.cpp binary; is the @node-llama-cpp package for this platform installed ' +
        `(npm install, optional dependencies not omitted)? ${String(error)}`,
      { cause: error },
    );
  });
  return runtime;
}

export async function openLlamaCppModel(options: LlamaCppModelOptions): Promise<LlamaCppModel> {
  const llama = await loadLlamaCppRuntime();
  const fail = (reason: string, error: unknown): never => {
    throw new LlamaCppError('load-failed', `${options.modelPath}: ${reason}: ${String(error)}`, {
      cause: error,
    });
  };
  const model = await llama
    .loadModel({ modelPath: options.modelPath, gpuLayers: 0, useMmap: false })
    .catch((error: unknown) => fail('llama.cpp refused the model', error));
  try {
    const vocabSize = model.fileInfo.metadata.tokenizer?.ggml.tokens.length ?? 0;
    if (vocabSize === 0)
      fail('no tokenizer.ggml.tokens', 'a model without a vocabulary has no logits to compare');
    const kvType = options.kvCacheType ?? 'F16';
    const context = await model
      .createContext({
        contextSize: Math.min(options.contextSize ?? 1024, model.trainContextSize),
        sequences: 1,
        flashAttention: options.flashAttention ?? false,
        threads: options.threads ?? 1,
        experimentalKvCacheKeyType: kvType,
        experimentalKvCacheValueType: kvType,
        ignoreMemorySafetyChecks: true,
        failedCreationRemedy: false,
        ...(options.adapters?.length
          ? {
              lora: {
                adapters: options.adapters.map((adapter) => ({
                  filePath: adapter.path,
                  scale: adapter.scale ?? 1,
                })),
              },
            }
          : {}),
      })
      .catch((error: unknown) => fail('cannot create a context (a LoRA adapter that does not fit?)', error));
    return {
      path: options.modelPath,
      vocabSize,
      contextSize: context.contextSize,
      bosId: model.tokens.bos ?? undefined,
      eosId: model.tokens.eos ?? undefined,
      llama: { model, context, sequence: context.getSequence() },
    };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

export async function closeLlamaCppModel(model: LlamaCppModel): Promise<void> {
  await model.llama.context.dispose();
  await model.llama.model.dispose();
}

/**
 * The model's own tokenization of `text`, without BOS/EOS (llama_tokenize with add_special = false).
 * `special`: match control tokens written in the text (parse_special).
 */
export function llamaCppTokenize(
  model: LlamaCppModel,
  text: string,
  options: { special?: boolean } = {},
): number[] {
  return model.llama.model.tokenize(text, options.special ?? false);
}

export function llamaCppDetokenize(
  model: LlamaCppModel,
  ids: readonly number[],
  options: { special?: boolean } = {},
): string {
  return model.llama.model.detokenize(ids as readonly Token[], options.special ?? false);
}

/**
 * Raw logits after every position of `tokens` (entry i predicts token i + 1), evaluated as one
 * sequence from an empty cache. No sampling option is applied: these are the lm_head outputs.
 */
export async function llamaCppLogits(
  model: LlamaCppModel,
  tokens: readonly number[],
): Promise<Float32Array[]> {
  return evaluate(
    model,
    tokens,
    tokens.map((_, i) => i),
  );
}

/** Raw logits for the token that follows `tokens`. */
export async function llamaCppNextTokenLogits(
  model: LlamaCppModel,
  tokens: readonly number[],
): Promise<Float32Array> {
  const [logits] = await evaluate(model, tokens, [tokens.length - 1]);
  return logits!;
}

/**
 * `count` tokens chosen greedily (llama.cpp's greedy sampler: the first highest logit) after `prompt`.
 * With `stopAtEog`, generation stops after an end-of-generation token, which is included.
 */
export async function llamaCppGreedyDecode(
  model: LlamaCppModel,
  prompt: readonly number[],
  count: number,
  options: { stopAtEog?: boolean } = {},
): Promise<number[]> {
  checkTokens(model, prompt, count);
  const { sequence } = model.llama;
  await sequence.clearHistory();
  const out: number[] = [];
  let input = [...prompt];
  while (out.length < count) {
    const last = input.length - 1;
    const results = await sequence.controlledEvaluate(
      input.map((token, i) => request(token, i === last ? { token: true } : undefined)),
    );
    const token = results[last]?.next.token;
    if (token === undefined || token === null) {
      throw new LlamaCppError(
        'evaluation-failed',
        `${model.path}: llama.cpp chose no token at step ${out.length}`,
      );
    }
    out.push(token);
    if (options.stopAtEog && model.llama.model.isEogToken(token)) break;
    input = [token];
  }
  return out;
}

async function evaluate(
  model: LlamaCppModel,
  tokens: readonly number[],
  positions: readonly number[],
): Promise<Float32Array[]> {
  checkTokens(model, tokens, 0);
  const wanted = new Set(positions);
  const { sequence } = model.llama;
  await sequence.clearHistory();
  const results = await sequence.controlledEvaluate(
    tokens.map((token, i) => request(token, wanted.has(i) ? { logits: true } : undefined)),
  );
  return positions.map((position) => {
    const map = results[position]?.next.logits;
    if (!map || map.size !== model.vocabSize) {
      throw new LlamaCppError(
        'evaluation-failed',
        `${model.path}: llama.cpp returned ${map?.size ?? 0} logits at position ${position}, expected ${model.vocabSize}`,
      );
    }
    const logits = new Float32Array(model.vocabSize);
    for (const [token, value] of map) logits[token] = value;
    return logits;
  });
}

type GenerateNext = { token: true } | { logits: true };

/** One input item: node-llama-cpp's Token is a branded number, which our plain ids become here. */
function request(token: number, next: GenerateNext | undefined): ControlledEvaluateInputItem {
  const id = token as Token;
  return next ? [id, { generateNext: next }] : id;
}

function checkTokens(model: LlamaCppModel, tokens: readonly number[], extra: number): void {
  if (tokens.length === 0) throw new LlamaCppError('bad-input', 'no tokens to evaluate');
  const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= model.vocabSize);
  if (bad !== undefined) {
    throw new LlamaCppError(
      'bad-input',
      `token ${bad} is outside the vocabulary (0..${model.vocabSize - 1})`,
    );
  }
  // node-llama-cpp would shift the context (drop early tokens) rather than fail; a reference must not.
  if (tokens.length + extra > model.contextSize) {
    throw new LlamaCppError(
      'bad-input',
      `${tokens.length} tokens + ${extra} to generate exceed the context of ${model.contextSize}; open the model with a larger contextSize`,
    );
  }
}
