/**
 * An independent, deliberately naive LLaMA in float64 for the runtime's tests: written from the
 * equations, not from src/, so that a convention both got wrong would have to be wrong twice.
 * Weights are plain arrays by GGUF name in ggml layout (ne [nIn, nOut] = nOut rows of nIn), and any
 * ArrayLike works, so finite differences can perturb float64 copies.
 *
 *   x0 = E[token];  per block: a = x + Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x)),
 *   x' = a + Wd·(silu(Wg·n(a)) ⊙ Wu·n(a));  logits = Wout·n(x_L),  n(x) = x/sqrt(mean(x²)+eps)·g.
 *   RoPE turns (x[2i], x[2i+1]) by p·base^(−2i/d) (llama.cpp's rope type 0 for arch llama).
 */
export interface NaiveConfig {
  readonly vocabSize: number;
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffnDim: number;
  readonly rmsEps: number;
  readonly ropeBase: number;
}

export type NaiveWeights = ReadonlyMap<string, ArrayLike<number>>;

export interface NaiveLora {
  /** By base tensor name: A (r×nIn), B (nOut×r) and the factor on B·A. */
  readonly layers: ReadonlyMap<string, { a: ArrayLike<number>; b: ArrayLike<number>; scale: number }>;
}

function get(weights: NaiveWeights, name: string): ArrayLike<number> {
  const w = weights.get(name);
  if (!w) throw new Error(`naive llama: no tensor '${name}'`);
  return w;
}

/** W x (+ ΔW x for an adapted matrix) with W nOut rows of nIn. */
function project(
  weights: NaiveWeights,
  lora: NaiveLora | undefined,
  name: string,
  x: number[],
  nOut: number,
): number[] {
  const w = get(weights, name);
  const nIn = x.length;
  const y = Array.from({ length: nOut }, (_, o) => {
    let s = 0;
    for (let i = 0; i < nIn; i++) s += w[o * nIn + i]! * x[i]!;
    return s;
  });
  const l = lora?.layers.get(name);
  if (l) {
    const rank = l.a.length / nIn;
    const u = Array.from({ length: rank }, (_, j) => {
      let s = 0;
      for (let i = 0; i < nIn; i++) s += l.a[j * nIn + i]! * x[i]!;
      return s;
    });
    for (let o = 0; o < nOut; o++)
      for (let j = 0; j < rank; j++) y[o]! += l.scale * l.b[o * rank + j]! * u[j]!;
  }
  return y;
}

function norm(x: number[], g: ArrayLike<number>, eps: number): number[] {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  const r = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * r * g[i]!);
}

function rope(v: number[], heads: number, hd: number, pos: number, base: number): number[] {
  const out = [...v];
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      const angle = pos * Math.pow(base, (-2 * i) / hd);
      // (re, im) times e^{i·angle}
      const re = v[h * hd + 2 * i]!;
      const im = v[h * hd + 2 * i + 1]!;
      out[h * hd + 2 * i] = re * Math.cos(angle) - im * Math.sin(angle);
      out[h * hd + 2 * i + 1] = re * Math.sin(angle) + im * Math.cos(angle);
    }
  }
  return out;
}

/** Logits after every position of `tokens` (one sequence from position 0). */
export function naiveLogits(
  c: NaiveConfig,
  weights: NaiveWeights,
  tokens: readonly number[],
  lora?: NaiveLora,
): number[][] {
  const hd = c.dim / c.heads;
  const group = c.heads / c.kvHeads;
  const emb = get(weights, 'token_embd.weight');
  let xs = tokens.map((t) => {
    const row = Array.from({ length: c.dim }, (_, i) => emb[t * c.dim + i]!);
    const l = lora?.layers.get('token_embd.weight');
    if (l) {
      const rank = l.a.length / c.dim;
      for (let i = 0; i < c.dim; i++)
        for (let j = 0; j < rank; j++) row[i]! += l.scale * l.b[t * rank + j]! * l.a[j * c.dim + i]!;
    }
    return row;
  });
  for (let b = 0; b < c.layers; b++) {
    const p = (n: string) => `blk.${b}.${n}.weight`;
    const normed = xs.map((x) => norm(x, get(weights, p('attn_norm')), c.rmsEps));
    const qs = normed.map((x, t) =>
      rope(project(weights, lora, p('attn_q'), x, c.heads * hd), c.heads, hd, t, c.ropeBase),
    );
    const ks = normed.map((x, t) =>
      rope(project(weights, lora, p('attn_k'), x, c.kvHeads * hd), c.kvHeads, hd, t, c.ropeBase),
    );
    const vs = normed.map((x) => project(weights, lora, p('attn_v'), x, c.kvHeads * hd));
    const attn = qs.map((q, t) => {
      const out = new Array<number>(c.heads * hd).fill(0);
      for (let h = 0; h < c.heads; h++) {
        const kv = Math.floor(h / group);
        const scores = ks.slice(0, t + 1).map((k) => {
          let s = 0;
          for (let d = 0; d < hd; d++) s += q[h * hd + d]! * k[kv * hd + d]!;
          return s / Math.sqrt(hd);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, v) => a + v, 0);
        e.forEach((w, u) => {
          for (let d = 0; d < hd; d++) out[h * hd + d]! += (w / z) * vs[u]![kv * hd + d]!;
        });
      }
      return out;
    });
    const mid = xs.map((x, t) => {
      const o = project(weights, lora, p('attn_output'), attn[t]!, c.dim);
      return x.map((v, i) => v + o[i]!);
    });
    xs = mid.map((x) => {
      const n = norm(x, get(weights, p('ffn_norm')), c.rmsEps);
      const g = project(weights, lora, p('ffn_gate'), n, c.ffnDim);
      const u = project(weights, lora, p('ffn_up'), n, c.ffnDim);
      const hidden = g.map((v, i) => (v / (1 + Math.exp(-v))) * u[i]!);
      const d = project(weights, lora, p('ffn_down'), hidden, c.dim);
      return x.map((v, i) => v + d[i]!);
    });
  }
  const outName = weights.has('output.weight') ? 'output.weight' : 'token_embd.weight';
  return xs.map((x) => {
    const n = norm(x, get(weights, 'output_norm.weight'), c.rmsEps);
    if (outName === 'token_embd.weight' && lora?.layers.has('output.weight'))
      throw new Error('tied output with an output adapter');
    return project(weights, lora, outName, n, c.vocabSize);
  });
}

/** Mean cross-entropy of predicting tokens[i+1] from the prefix, over targets with mask 1. */
export function naiveLoss(
  c: NaiveConfig,
  weights: NaiveWeights,
  examples: readonly { tokens: readonly number[]; mask?: ArrayLike<number> }[],
  lora?: NaiveLora,
): number {
  let sum = 0;
  let count = 0;
  for (const ex of examples) {
    const logits = naiveLogits(c, weights, ex.tokens, lora);
    for (let i = 1; i < ex.tokens.length; i++) {
      if ((ex.mask?.[i] ?? 1) === 0) continue;
      const row = logits[i - 1]!;
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      sum += lse - row[ex.tokens[i]!]!;
      count++;
    }
  }
  return sum / count;
}
