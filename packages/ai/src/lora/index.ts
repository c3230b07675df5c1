export {
  LoraSet,
  applyEmbeddingLora,
  applyLora,
  type AdapterRun,
  type LoraAttachment,
  type LoraTarget,
} from './lora-set.ts';
