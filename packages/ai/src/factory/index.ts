export { describeBaseModel } from './base-models.ts';
export { FactoryError, type FactoryErrorCode } from './factory-error.ts';
export {
  cancelMessage,
  createFactoryServer,
  jobView,
  startFactoryServer,
  type RunningFactoryServer,
} from './factory-server.ts';
export {
  encodeRow,
  fineTune,
  scheduledRate,
  type FineTuneInput,
  type FineTuneProgress,
  type FineTuneResult,
} from './fine-tune.ts';
export {
  JobRunner,
  MIN_ROWS,
  estimateJobMemoryMb,
  type BaseModel,
  type JobRunnerOptions,
} from './job-runner.ts';
export {
  FINAL_STATUSES,
  JobStore,
  type JobEvent,
  type JobProgress,
  type JobResult,
  type JobStatus,
  type StoredJob,
} from './job-store.ts';
export { renderLossCurve, type LossPoint } from './loss-curve.ts';
export { modelCardMarkdown, type ModelCard } from './model-card.ts';
export { contentUri, publishTrainedModel, type PublishedModel } from './register-trained-model.ts';
export { startModelFactory, type RunningFactory, type StartFactoryOptions } from './start-factory.ts';
export { splitForEvaluation, type EvalSplit } from './eval-split.ts';
export {
  TRAINING_TARGETS,
  parseTrainingJob,
  requestToJson,
  trainingConfigHash,
  type HyperParameters,
  type TrainingJobInput,
  type TrainingJobRequest,
  type TrainingTarget,
} from './training-spec.ts';
export {
  fetchVerifiedVersion,
  type FetchVersionOptions,
  type TrainingRow,
  type VerifiedVersion,
} from './version-rows.ts';
