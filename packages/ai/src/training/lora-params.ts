import type { LoraAdapter, LoraLayer } from '../gguf/index.ts';
import { Rng } from '../generation/rng.ts';
import { BLOCK_MATRICES, llamaTensorShapes, type LlamaModel } from '../model/llama-model.ts';
import { ModelError } from '../model/model-error.ts';

/** Short names for the matrices LoRA usually targets, as in PEFT's target_modules. */
export const LORA_TARGETS = {
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  o: 'attn_output',
  gate: 'ffn_gate',
  up: 'ffn_up',
  down: 'ffn_down',
} as const;
export type LoraTargetName = keyof typeof LORA_TARGETS | 'embed' | 'output';

export interface CreateLoraOptions {
  readonly rank: number;
  /** Default: rank (scale 1). */
  readonly alpha?: number;
  /** Which matrices of every block, plus 'embed' / 'output'; default q and v (the original LoRA paper). */
  readonly targets?: readonly LoraTargetName[];
  /** Only these blocks; default all. */
  readonly layers?: readonly number[];
  readonly seed?: number;
}

/**
 * A fresh adapter to train: A uniform in ±1/sqrt(nIn) (Kaiming-uniform, as PEFT initialises it),
 * B zero, so training starts exactly at the base model.
 */
export function createLora(
  model: LlamaModel,
  options: CreateLoraOptions,
): LoraAdapter & { layers: Map<string, LoraLayer> } {
  const { rank } = options;
  if (!Number.isInteger(rank) || rank < 1)
    throw new ModelError('bad-input', `LoRA rank must be a positive integer, got ${rank}`);
  const h = model.hparams;
  const shapes = llamaTensorShapes(h, model.tiedOutput);
  const targets = options.targets ?? ['q', 'v'];
  const layers = options.layers ?? Array.from({ length: h.layers }, (_, l) => l);
  const names: string[] = [];
  if (targets.includes('embed')) names.push('token_embd.weight');
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= h.layers) throw new ModelError('bad-input', `no block ${l}`);
    for (const m of BLOCK_MATRICES) {
      const short = (Object.keys(LORA_TARGETS) as (keyof typeof LORA_TARGETS)[]).find(
        (k) => LORA_TARGETS[k] === m,
      )!;
      if (targets.includes(short)) names.push(`blk.${l}.${m}.weight`);
    }
  }
  if (targets.includes('output')) {
    if (model.tiedOutput)
      throw new ModelError('bad-input', 'the model has no output.weight (tied to the embedding)');
    names.push('output.weight');
  }
  if (names.length === 0) throw new ModelError('bad-input', 'the adapter would adapt nothing');
  const rng = new Rng(options.seed ?? 0);
  const map = new Map<string, LoraLayer>();
  for (const name of names) {
    const [nIn, nOut] = shapes.get(name)! as [number, number];
    const bound = 1 / Math.sqrt(nIn);
    const a = new Float32Array(rank * nIn).map(() => (rng.next() * 2 - 1) * bound);
    map.set(name, { a, b: new Float32Array(nOut * rank), nIn, nOut });
  }
  return { architecture: 'llama', alpha: options.alpha ?? rank, rank, layers: map };
}

/** The adapter's parameters by name ("<base>.lora_a" / ".lora_b", its GGUF names), in its layer order. */
export function loraParameters(adapter: Pick<LoraAdapter, 'layers'>): Map<string, Float32Array> {
  const params = new Map<string, Float32Array>();
  for (const [name, layer] of adapter.layers) {
    params.set(`${name}.lora_a`, layer.a);
    params.set(`${name}.lora_b`, layer.b);
  }
  return params;
}
