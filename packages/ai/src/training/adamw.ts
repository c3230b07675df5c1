/** AdamW hyperparameters (Loshchilov & Hutter): Adam with weight decay applied to the weights directly. */
export interface AdamWOptions {
  readonly learningRate: number;
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly eps?: number;
  /** Decoupled decay per step: p -= lr · weightDecay · p. Default 0. */
  readonly weightDecay?: number;
  /**
   * Which parameters decay. Default: matrices but not norm gains (names ending in "_norm.weight"),
   * the usual choice for transformers.
   */
  readonly decays?: (name: string) => boolean;
}

export interface AdamWState {
  readonly step: number;
  readonly m: ReadonlyMap<string, Float32Array>;
  readonly v: ReadonlyMap<string, Float32Array>;
}

/**
 * AdamW over named float32 parameters, updated in place. Moments are float32 like the parameters;
 * each element's update is computed in float64, so a step is a pure function of (parameters, moments,
 * step count, gradients): restoring those three restores the run bit for bit.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  learningRate: number;
  private readonly decays: (name: string) => boolean;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private steps = 0;

  constructor(
    readonly params: ReadonlyMap<string, Float32Array>,
    options: AdamWOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decays = options.decays ?? ((name) => !name.endsWith('_norm.weight'));
    const bad = (what: string, v: number) => new RangeError(`AdamW ${what} ${v} is out of range`);
    if (!(this.learningRate >= 0)) throw bad('learningRate', this.learningRate);
    if (!(this.beta1 >= 0 && this.beta1 < 1)) throw bad('beta1', this.beta1);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) throw bad('beta2', this.beta2);
    if (!(this.eps > 0)) throw bad('eps', this.eps);
    if (!(this.weightDecay >= 0)) throw bad('weightDecay', this.weightDecay);
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.length));
      this.v.set(name, new Float32Array(p.length));
    }
  }

  get step(): number {
    return this.steps;
  }

  /** Whether `name` gets weight decay. */
  decayed(name: string): boolean {
    return this.weightDecay > 0 && this.decays(name);
  }

  /** One update from gradients named like the parameters (a missing gradient counts as zero). */
  update(grads: ReadonlyMap<string, Float32Array>): void {
    this.steps++;
    const { beta1, beta2, eps, learningRate: lr } = this;
    const c1 = 1 - Math.pow(beta1, this.steps);
    const c2 = 1 - Math.pow(beta2, this.steps);
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      const decay = this.decayed(name) ? lr * this.weightDecay : 0;
      for (let i = 0; i < p.length; i++) {
        const gi = g ? g[i]! : 0;
        m[i] = beta1 * m[i]! + (1 - beta1) * gi;
        v[i] = beta2 * v[i]! + (1 - beta2) * gi * gi;
        const update = m[i]! / c1 / (Math.sqrt(v[i]! / c2) + eps);
        p[i] = p[i]! - decay * p[i]! - lr * update;
      }
    }
  }

  state(): AdamWState {
    return { step: this.steps, m: this.m, v: this.v };
  }

  /** Restores moments and step count saved by `state()` (a checkpoint). */
  restore(state: AdamWState): void {
    for (const [name, p] of this.params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!m || !v || m.length !== p.length || v.length !== p.length) {
        throw new RangeError(`AdamW state has no moments of the right size for '${name}'`);
      }
      this.m.get(name)!.set(m);
      this.v.get(name)!.set(v);
    }
    this.steps = state.step;
  }
}

/**
 * Scales the gradients in place so that their global L2 norm is at most `maxNorm`; returns the norm
 * before clipping (sum of squares in float64, in a fixed order, so the result is deterministic).
 */
export function clipGradNorm(grads: ReadonlyMap<string, Float32Array>, maxNorm: number): number {
  let sum = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  const norm = Math.sqrt(sum);
  if (norm > maxNorm && norm > 0) {
    const factor = maxNorm / norm;
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * factor;
  }
  return norm;
}
