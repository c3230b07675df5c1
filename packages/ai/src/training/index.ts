export {
  evaluateLoss,
  lossAndGradients,
  perExampleLoraGradients,
  type GradientOptions,
  type LossAndGradients,
} from './backward.ts';
export { crossEntropy, targetCount, type TrainingExample } from './cross-entropy.ts';
export {
  LORA_TARGETS,
  createLora,
  loraParameters,
  type CreateLoraOptions,
  type LoraTargetName,
} from './lora-params.ts';
export { AdamW, clipGradNorm, type AdamWOptions, type AdamWState } from './adamw.ts';
export { loadCheckpoint, saveCheckpoint, type LoadCheckpointOptions } from './checkpoint.ts';
export { Trainer, baseParameters, type StepResult, type TrainerOptions } from './trainer.ts';
