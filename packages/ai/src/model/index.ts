export { assertValidHparams, readLlamaHparams, type LlamaHparams } from './hparams.ts';
export { createLlamaModel, type InitModelOptions } from './init-model.ts';
export { KvCache } from './kv-cache.ts';
export {
  emptyTape,
  forward,
  promptLogits,
  runForward,
  type BlockTape,
  type ForwardOptions,
  type ForwardTape,
  type SequenceStep,
} from './forward.ts';
export {
  BLOCK_MATRICES,
  blockTensorName,
  llamaTensorShapes,
  modelTensors,
  type BlockMatrixName,
  type BlockNormName,
  type LlamaBlock,
  type LlamaModel,
} from './llama-model.ts';
export { loadLlamaModel, readLlamaModel, type LoadModelOptions } from './load-model.ts';
export { ModelError, type ModelErrorCode } from './model-error.ts';
export { TOKENIZER_KEYS, tokenizerMetadata, tokenizerSpecFromMetadata } from './tokenizer-metadata.ts';
export { llamaGgufInput, writeLlamaModel, type WriteModelOptions } from './write-model.ts';
