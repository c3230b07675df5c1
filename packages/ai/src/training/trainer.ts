import type { LoraAdapter } from '../gguf/index.ts';
import { modelTensors, type LlamaModel } from '../model/llama-model.ts';
import { AdamW, clipGradNorm, type AdamWOptions } from './adamw.ts';
import { lossAndGradients } from './backward.ts';
import type { TrainingExample } from './cross-entropy.ts';
import { loraParameters } from './lora-params.ts';

export interface TrainerOptions {
  /** What is trained: every weight of a float32 base model, or one adapter on a frozen base. */
  readonly train: { readonly base: true } | { readonly lora: LoraAdapter };
  readonly optimizer: AdamWOptions;
  /** Clip the global gradient norm to this; default no clipping. */
  readonly clipNorm?: number;
}

export interface StepResult {
  readonly step: number;
  /** Mean loss of the batch before the update. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
}

/** Gradient steps on batches of examples: loss and gradients, clipping, AdamW, in place. */
export class Trainer {
  readonly optimizer: AdamW;
  readonly params: ReadonlyMap<string, Float32Array>;

  constructor(
    readonly model: LlamaModel,
    readonly options: TrainerOptions,
  ) {
    this.params = 'lora' in options.train ? loraParameters(options.train.lora) : baseParameters(model);
    this.optimizer = new AdamW(this.params, options.optimizer);
  }

  get lora(): LoraAdapter | undefined {
    return 'lora' in this.options.train ? this.options.train.lora : undefined;
  }

  step(batch: readonly TrainingExample[]): StepResult {
    const lora = this.lora;
    const { loss, gradients } = lossAndGradients(this.model, batch, lora ? { lora } : { base: true });
    const gradNorm =
      this.options.clipNorm === undefined
        ? Math.sqrt([...gradients.values()].reduce((s, g) => s + g.reduce((a, v) => a + v * v, 0), 0))
        : clipGradNorm(gradients, this.options.clipNorm);
    this.optimizer.update(gradients);
    return { step: this.optimizer.step, loss, gradNorm };
  }
}

/** A float32 model's weights by GGUF name, the arrays themselves (training updates the model). */
export function baseParameters(model: LlamaModel): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [name, t] of modelTensors(model)) {
    if (t instanceof Float32Array) params.set(name, t);
    else if (t.format === 'f32') params.set(name, t.data);
    else throw new RangeError(`'${name}' is quantised; load the model with keepQuantized: false to train it`);
  }
  return params;
}
