export {
  BatchGenerator,
  generate,
  type BatchGeneratorOptions,
  type FinishReason,
  type GenerationEvent,
  type GenerationRequest,
  type GenerationResult,
} from './batch-generator.ts';
export { Rng } from './rng.ts';
export { argmax, sampleToken, type SamplingOptions } from './sampler.ts';
export { StopMatcher } from './stop-sequences.ts';
