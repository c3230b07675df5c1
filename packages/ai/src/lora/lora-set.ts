import { assertLoraFitsBase, loraScale, type LoraAdapter } from '../gguf/index.ts';
import { llamaTensorShapes, type LlamaModel } from '../model/llama-model.ts';
import { matmulNT } from '../tensor/matmul.ts';

/** One adapted matrix: ΔW = scale · B A, A r×nIn and B nOut×r as in LoraLayer. */
export interface LoraTarget {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly rank: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly scale: number;
}

export interface LoraAttachment {
  readonly adapter: Pick<LoraAdapter, 'alpha' | 'rank' | 'layers'>;
  /** llama.cpp's per-adapter user scale, multiplying alpha/rank; default 1. */
  readonly scale?: number;
}

/**
 * Adapters attached to one base model without merging: y = W x + scale · B (A x). Each sequence of a
 * batch names the adapter it runs with (its index here) or none, so one forward pass serves
 * sequences of different adapters: the base product is computed once for all rows, then each run of
 * rows sharing an adapter gets its low-rank update (the S-LoRA / Punica scheme). A and B are used by
 * reference, so a trainer updating them in place is seen by the next pass.
 */
export class LoraSet {
  private readonly targets: ReadonlyMap<string, LoraTarget>[];

  private constructor(targets: ReadonlyMap<string, LoraTarget>[]) {
    this.targets = targets;
  }

  /** Checks every adapter against the model's tensors (as llama.cpp does when attaching). */
  static attach(
    model: LlamaModel,
    adapters: readonly (LoraAttachment | LoraAttachment['adapter'])[],
  ): LoraSet {
    const base = [...llamaTensorShapes(model.hparams, model.tiedOutput)].map(([name, shape]) => ({
      name,
      shape,
    }));
    return new LoraSet(
      adapters.map((entry) => {
        const { adapter, scale = 1 } = 'adapter' in entry ? entry : { adapter: entry };
        assertLoraFitsBase(adapter, base);
        const factor = scale * loraScale(adapter.alpha, adapter.rank);
        const targets = new Map<string, LoraTarget>();
        for (const [name, layer] of adapter.layers) {
          targets.set(name, { ...layer, rank: adapter.rank, scale: factor });
        }
        return targets;
      }),
    );
  }

  get size(): number {
    return this.targets.length;
  }

  target(adapter: number, name: string): LoraTarget | undefined {
    return this.targets[adapter]?.get(name);
  }

  /** Whether any adapter changes `name`: lets a pass skip the per-run work for untouched matrices. */
  touches(name: string): boolean {
    return this.targets.some((t) => t.has(name));
  }
}

/** A run of consecutive batch rows that share one adapter (-1: none). */
export interface AdapterRun {
  readonly start: number;
  readonly rows: number;
  readonly adapter: number;
}

/**
 * y[rows×nOut] += scale · (x Aᵀ) Bᵀ for every run whose adapter has a target `name`. Returns the
 * low-rank activations are recomputed by the backward pass rather than kept.
 */
export function applyLora(
  y: Float32Array,
  x: Float32Array,
  name: string,
  runs: readonly AdapterRun[],
  set: LoraSet | undefined,
): void {
  if (!set || !set.touches(name)) return;
  for (const run of runs) {
    if (run.adapter < 0) continue;
    const t = set.target(run.adapter, name);
    if (!t) continue;
    const u = new Float32Array(run.rows * t.rank);
    matmulNT(u, x.subarray(run.start * t.nIn, (run.start + run.rows) * t.nIn), t.a, run.rows, t.rank, t.nIn);
    for (let i = 0; i < u.length; i++) u[i] = u[i]! * t.scale;
    matmulNT(
      y.subarray(run.start * t.nOut, (run.start + run.rows) * t.nOut),
      u,
      t.b,
      run.rows,
      t.nOut,
      t.rank,
      true,
    );
  }
}

/** Adds the embedding adapter's rows: x_t += scale · B[token] A for each row's token. */
export function applyEmbeddingLora(
  x: Float32Array,
  tokens: ArrayLike<number>,
  runs: readonly AdapterRun[],
  set: LoraSet | undefined,
): void {
  const name = 'token_embd.weight';
  if (!set || !set.touches(name)) return;
  for (const run of runs) {
    if (run.adapter < 0) continue;
    const t = set.target(run.adapter, name);
    if (!t) continue;
    const dim = t.nIn;
    for (let r = run.start; r < run.start + run.rows; r++) {
      const token = tokens[r]!;
      for (let j = 0; j < t.rank; j++) {
        const coef = t.scale * t.b[token * t.rank + j]!;
        if (coef === 0) continue;
        for (let i = 0; i < dim; i++) x[r * dim + i] = x[r * dim + i]! + coef * t.a[j * dim + i]!;
      }
    }
  }
}
