export { LlamaCppError, type LlamaCppErrorCode } from './llama-cpp-error.ts';
export {
  closeLlamaCppModel,
  llamaCppDetokenize,
  llamaCppGreedyDecode,
  llamaCppLogits,
  llamaCppNextTokenLogits,
  llamaCppTokenize,
  loadLlamaCppRuntime,
  openLlamaCppModel,
  type LlamaCppModel,
} from './llama-cpp.ts';
export type { LlamaCppAdapter, LlamaCppModelOptions } from './types.ts';
