import {
  GgmlType,
  GgufFile,
  GgufValueType,
  arr,
  f64,
  getF64,
  getString,
  getU32,
  str,
  u32,
  writeGguf,
  type GgufTensorToWrite,
  type GgufValue,
  type LoraLayer,
} from '../gguf/index.ts';
import { readLlamaModel } from '../model/load-model.ts';
import type { LlamaModel } from '../model/llama-model.ts';
import { ModelError } from '../model/model-error.ts';
import { llamaGgufInput } from '../model/write-model.ts';
import { Trainer, type TrainerOptions } from './trainer.ts';

/*
 * A training checkpoint is one GGUF file: everything a Trainer needs to continue bit for bit.
 *
 *   openledger.checkpoint.kind     "base" (all weights) or "lora" (one adapter on a base model)
 *   openledger.checkpoint.step     optimizer steps taken
 *   openledger.checkpoint.adamw.*  learning_rate, beta1, beta2, eps, weight_decay (FLOAT64), and
 *                                  decayed: the parameter names that get weight decay
 *   openledger.checkpoint.clip_norm (FLOAT64, when clipping)
 *   optimizer.m.<param>, optimizer.v.<param>: AdamW moments (F32)
 *
 * A "base" checkpoint also holds the model exactly as writeLlamaModel writes it (F32), so it is a
 * llama GGUF plus the optimizer tensors. A "lora" checkpoint holds the adapter as <base>.lora_a
 * (ne [nIn, r]) and <base>.lora_b (ne [r, nOut]) and the alpha; its base model is given on loading.
 */

const PREFIX = 'openledger.checkpoint.';
const MOMENT_M = 'optimizer.m.';
const MOMENT_V = 'optimizer.v.';

export async function saveCheckpoint(
  path: string,
  trainer: Trainer,
  extra: ReadonlyMap<string, GgufValue> = new Map(),
): Promise<void> {
  const opt = trainer.optimizer;
  const lora = trainer.lora;
  const base = lora ? { metadata: new Map<string, GgufValue>(), tensors: [] } : llamaGgufInput(trainer.model);
  const metadata = base.metadata;
  if (lora) metadata.set('general.architecture', str('llama'));
  metadata.set(`${PREFIX}kind`, str(lora ? 'lora' : 'base'));
  metadata.set(`${PREFIX}step`, u32(opt.step));
  metadata.set(`${PREFIX}adamw.learning_rate`, f64(opt.learningRate));
  metadata.set(`${PREFIX}adamw.beta1`, f64(opt.beta1));
  metadata.set(`${PREFIX}adamw.beta2`, f64(opt.beta2));
  metadata.set(`${PREFIX}adamw.eps`, f64(opt.eps));
  metadata.set(`${PREFIX}adamw.weight_decay`, f64(opt.weightDecay));
  const decayed = [...trainer.params.keys()].filter((name) => opt.decayed(name));
  metadata.set(`${PREFIX}adamw.decayed`, arr(GgufValueType.STRING, decayed));
  if (trainer.options.clipNorm !== undefined)
    metadata.set(`${PREFIX}clip_norm`, f64(trainer.options.clipNorm));
  if (lora) {
    metadata.set(`${PREFIX}lora.alpha`, f64(lora.alpha));
    metadata.set(`${PREFIX}lora.rank`, u32(lora.rank));
  }
  for (const [key, value] of extra) metadata.set(key, value);

  const tensors: GgufTensorToWrite[] = [...base.tensors];
  if (lora) {
    for (const [name, layer] of lora.layers) {
      tensors.push({
        name: `${name}.lora_a`,
        shape: [layer.nIn, lora.rank],
        type: GgmlType.F32,
        data: layer.a,
      });
      tensors.push({
        name: `${name}.lora_b`,
        shape: [lora.rank, layer.nOut],
        type: GgmlType.F32,
        data: layer.b,
      });
    }
  }
  const { m, v } = opt.state();
  for (const [name, p] of trainer.params) {
    tensors.push({ name: MOMENT_M + name, shape: [p.length], type: GgmlType.F32, data: m.get(name)! });
    tensors.push({ name: MOMENT_V + name, shape: [p.length], type: GgmlType.F32, data: v.get(name)! });
  }
  await writeGguf(path, { metadata, tensors });
}

export interface LoadCheckpointOptions {
  /** The frozen base model of a "lora" checkpoint (unused for "base", which carries its model). */
  readonly model?: LlamaModel;
}

/** A Trainer in exactly the state the checkpoint was saved in, and the file's metadata. */
export async function loadCheckpoint(path: string, options: LoadCheckpointOptions = {}): Promise<Trainer> {
  const file = await GgufFile.open(path);
  try {
    const meta = file.metadata;
    const kind = getString(meta, `${PREFIX}kind`);
    if (kind !== 'base' && kind !== 'lora') {
      throw new ModelError('bad-input', `${path}: checkpoint kind '${kind}' is neither base nor lora`);
    }
    const decayed = new Set(
      meta.get(`${PREFIX}adamw.decayed`)?.type === GgufValueType.ARRAY
        ? (meta.get(`${PREFIX}adamw.decayed`)!.value as readonly string[])
        : [],
    );
    const optimizer = {
      learningRate: getF64(meta, `${PREFIX}adamw.learning_rate`),
      beta1: getF64(meta, `${PREFIX}adamw.beta1`),
      beta2: getF64(meta, `${PREFIX}adamw.beta2`),
      eps: getF64(meta, `${PREFIX}adamw.eps`),
      weightDecay: getF64(meta, `${PREFIX}adamw.weight_decay`),
      decays: (name: string) => decayed.has(name),
    };
    const clip = meta.get(`${PREFIX}clip_norm`);
    const clipNorm = clip?.type === GgufValueType.FLOAT64 ? clip.value : undefined;

    let model: LlamaModel;
    let train: TrainerOptions['train'];
    if (kind === 'base') {
      model = await readLlamaModel(file, {
        keepQuantized: false,
        ignoreTensor: (name) => name.startsWith(MOMENT_M) || name.startsWith(MOMENT_V),
      });
      train = { base: true };
    } else {
      if (!options.model)
        throw new ModelError('bad-input', `${path}: a LoRA checkpoint needs its base model`);
      model = options.model;
      const rank = getU32(meta, `${PREFIX}lora.rank`);
      const layers = new Map<string, LoraLayer>();
      for (const t of file.tensors) {
        if (!t.name.endsWith('.lora_a') || t.name.startsWith(MOMENT_M) || t.name.startsWith(MOMENT_V))
          continue;
        const name = t.name.slice(0, -'.lora_a'.length);
        const b = file.tensor(`${name}.lora_b`);
        layers.set(name, {
          a: await file.readTensor(t.name),
          b: await file.readTensor(b.name),
          nIn: t.shape[0]!,
          nOut: b.shape[1] ?? 1,
        });
      }
      train = { lora: { architecture: 'llama', alpha: getF64(meta, `${PREFIX}lora.alpha`), rank, layers } };
    }
    const trainer = new Trainer(model, { train, optimizer, ...(clipNorm === undefined ? {} : { clipNorm }) });
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const name of trainer.params.keys()) {
      m.set(name, await file.readTensor(MOMENT_M + name));
      v.set(name, await file.readTensor(MOMENT_V + name));
    }
    trainer.optimizer.restore({ step: getU32(meta, `${PREFIX}step`), m, v });
    return trainer;
  } finally {
    await file.close();
  }
}
