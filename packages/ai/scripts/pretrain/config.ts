import type { LlamaHparams } from '../../src/index.ts';

/*
 * Everything that decides the bundled base model (packages/ai/models/openledger-base.gguf): change a
 * value here and the run, and the file, change; nothing else does (fixed seeds, a fixed data order,
 * kernels that give the same bits whatever the thread count).
 */

export const SPECIAL_TOKENS = ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>'] as const;

/** ChatML, which llama.cpp recognises by its <|im_start|> marker; <|im_end|> ends a turn. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface PretrainConfig {
  readonly name: string;
  readonly tokenizer: { readonly vocabSize: number; readonly minFrequency: number };
  readonly hparams: LlamaHparams;
  readonly seeds: { readonly model: number; readonly data: number };
  /** Sequences per step; each is contextLength + 1 tokens (contextLength targets). */
  readonly batchSequences: number;
  readonly steps: number;
  readonly schedule: {
    readonly peakLearningRate: number;
    readonly minLearningRate: number;
    readonly warmupSteps: number;
  };
  readonly optimizer: {
    readonly beta1: number;
    readonly beta2: number;
    readonly eps: number;
    readonly weightDecay: number;
    readonly clipNorm: number;
  };
  /** Held-out loss on the first `evalSequences` held-out windows every `evalEvery` steps. */
  readonly evalEvery: number;
  readonly evalSequences: number;
  readonly checkpointEvery: number;
}

export const PRETRAIN_CONFIG: PretrainConfig = {
  name: 'openledger-base',
  tokenizer: { vocabSize: 4096, minFrequency: 2 },
  hparams: {
    vocabSize: 4096,
    contextLength: 256,
    dim: 256,
    layers: 4,
    ffnDim: 768,
    heads: 8,
    kvHeads: 4,
    headDim: 32,
    rmsEps: 1e-5,
    ropeBase: 10000,
    ropeScale: 1,
  },
  seeds: { model: 1, data: 2 },
  batchSequences: 8,
  steps: 800,
  schedule: { peakLearningRate: 2e-3, minLearningRate: 2e-4, warmupSteps: 100 },
  optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clipNorm: 1 },
  evalEvery: 100,
  evalSequences: 32,
  checkpointEvery: 50,
};
