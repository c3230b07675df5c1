import { describe, expect, it } from 'vitest';
import {
  RopeTable,
  applyRope,
  causalAttention,
  causalAttentionBackward,
  createLora,
  lossAndGradients,
  modelTensors,
  perExampleLoraGradients,
  rmsNorm,
  rmsNormBackward,
  swiglu,
  swigluBackward,
  type LlamaModel,
  type LoraAdapter,
  type TrainingExample,
} from '../src/index.ts';
import { naiveLoss, type NaiveLora } from './support/naive-llama.ts';
import { naiveConfig, randomTokens, tinyModel } from './support/test-models.ts';

function random(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/**
 * Checks an op's backward against central differences of L = Σ c·f(x) for random c. The ops run in
 * float32, so the step is large (1e-2) and the tolerance relative to the gradient's scale.
 */
function checkOp(
  inputs: Float32Array[],
  run: (inputs: Float32Array[]) => Float32Array,
  grads: (inputs: Float32Array[], dy: Float32Array) => Float32Array[],
): void {
  const y = run(inputs);
  const c = random(y.length, 99);
  const loss = () => run(inputs).reduce((s, v, i) => s + v * c[i]!, 0);
  const analytic = grads(inputs, c);
  inputs.forEach((x, which) => {
    const g = analytic[which]!;
    const scale = Math.max(...Array.from(g, Math.abs));
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < x.length; i += Math.max(1, Math.floor(x.length / 25))) {
      const keep = x[i]!;
      const eps = 1e-2;
      x[i] = keep + eps;
      const up = loss();
      x[i] = keep - eps;
      const down = loss();
      x[i] = keep;
      expect(Math.abs((up - down) / (2 * eps) - g[i]!)).toBeLessThan(2e-3 * scale + 1e-4);
    }
  });
}

describe('op gradients against finite differences', () => {
  it('RMSNorm (input and gain)', () => {
    const [rows, n] = [3, 8];
    checkOp(
      [random(rows * n, 1), random(n, 2)],
      ([x, g]) => {
        const y = new Float32Array(rows * n);
        rmsNorm(y, x!, g!, rows, n, 1e-5);
        return y;
      },
      ([x, g], dy) => {
        const scales = new Float32Array(rows);
        rmsNorm(new Float32Array(rows * n), x!, g!, rows, n, 1e-5, scales);
        const dx = new Float32Array(rows * n);
        const dg = new Float32Array(n);
        rmsNormBackward(dx, dg, dy, x!, g!, scales, rows, n, false);
        return [dx, dg];
      },
    );
  });

  it('SwiGLU', () => {
    checkOp(
      [random(20, 3, 3), random(20, 4)],
      ([g, u]) => {
        const y = new Float32Array(20);
        swiglu(y, g!, u!, 20);
        return y;
      },
      ([g, u], dy) => {
        const [dg, du] = [new Float32Array(20), new Float32Array(20)];
        swigluBackward(dg, du, dy, g!, u!, 20);
        return [dg, du];
      },
    );
  });

  it('RoPE (the backward is the inverse rotation)', () => {
    const rope = new RopeTable({ nRot: 8, freqBase: 100, freqScale: 1 });
    const positions = [0, 3, 17];
    checkOp(
      [random(3 * 2 * 8, 5)],
      ([x]) => {
        const y = Float32Array.from(x!);
        applyRope(y, 3, 2, 8, positions, rope);
        return y;
      },
      (_, dy) => {
        const dx = Float32Array.from(dy);
        applyRope(dx, 3, 2, 8, positions, rope, -1);
        return [dx];
      },
    );
  });

  it('causal grouped-query attention over a cache with earlier positions', () => {
    const shape = { heads: 4, kvHeads: 2, headDim: 4, scale: 0.5 };
    const [start, rows] = [2, 3];
    const total = start + rows;
    checkOp(
      [random(rows * 16, 6, 1.5), random(total * 8, 7, 1.5), random(total * 8, 8)],
      ([q, k, v]) => {
        const out = new Float32Array(rows * 16);
        causalAttention(out, q!, rows, k!, v!, start, shape);
        return out;
      },
      ([q, k, v], dy) => {
        const [dq, dk, dv] = [
          new Float32Array(rows * 16),
          new Float32Array(total * 8),
          new Float32Array(total * 8),
        ];
        causalAttentionBackward(dq, dk, dv, dy, q!, rows, k!, v!, start, shape);
        return [dq, dk, dv];
      },
    );
  });
});

/** Float64 copies of the model's tensors by GGUF name, for the naive reference. */
function weights64(model: LlamaModel): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const [name, t] of modelTensors(model)) {
    out.set(name, Float64Array.from(t instanceof Float32Array ? t : t.format === 'f32' ? t.data : []));
  }
  return out;
}

const H = { vocabSize: 32, dim: 16, heads: 4, kvHeads: 2, headDim: 4, ffnDim: 24, layers: 2 };
const examples: TrainingExample[] = [
  { tokens: randomTokens(7, 32, 1) },
  { tokens: randomTokens(4, 32, 2), mask: [0, 0, 1, 1] },
  { tokens: randomTokens(5, 32, 3) },
];

/** Central differences of the naive float64 loss at `count` coordinates of each tensor. */
function checkModelGradient(
  analytic: Map<string, Float32Array>,
  lossAt: (name: string, i: number, delta: number) => number,
  count: number,
): void {
  for (const [name, g] of analytic) {
    const scale = Math.max(...Array.from(g, Math.abs));
    for (let j = 0; j < count; j++) {
      const i = Math.floor(((j + 0.5) / count) * g.length);
      const eps = 1e-5;
      const fd = (lossAt(name, i, eps) - lossAt(name, i, -eps)) / (2 * eps);
      expect(Math.abs(fd - g[i]!), `${name}[${i}]: ${fd} vs ${g[i]}`).toBeLessThan(1e-3 * scale + 1e-6);
    }
  }
}

describe('model gradients against finite differences of an independent float64 model', () => {
  it('every base weight (separate and tied output), with masked targets and mixed lengths', () => {
    for (const tied of [false, true]) {
      const model = tinyModel(41, H, tied);
      const { loss, gradients } = lossAndGradients(model, examples, { base: true });
      const w = weights64(model);
      const config = naiveConfig(model.hparams);
      expect(loss).toBeCloseTo(naiveLoss(config, w, examples), 5);
      expect([...gradients.keys()].sort()).toEqual([...w.keys()].sort());
      checkModelGradient(
        gradients,
        (name, i, delta) => {
          const t = w.get(name)!;
          const keep = t[i]!;
          t[i] = keep + delta;
          const l = naiveLoss(config, w, examples);
          t[i] = keep;
          return l;
        },
        tied ? 2 : 4,
      );
    }
  });

  function lora(model: LlamaModel): LoraAdapter {
    const adapter = createLora(model, {
      rank: 2,
      alpha: 4,
      targets: ['embed', 'q', 'v', 'o', 'down', 'output'],
      seed: 3,
    });
    // A trained adapter has B ≠ 0; with B = 0 the gradient of A would be zero and prove nothing.
    for (const layer of adapter.layers.values()) layer.b.set(random(layer.b.length, layer.nOut, 0.5));
    return adapter;
  }
  const naiveLora = (adapter: LoraAdapter, a64: Map<string, Float64Array>): NaiveLora => ({
    layers: new Map(
      [...adapter.layers.keys()].map((name) => [
        name,
        { a: a64.get(`${name}.lora_a`)!, b: a64.get(`${name}.lora_b`)!, scale: adapter.alpha / adapter.rank },
      ]),
    ),
  });

  it('every LoRA parameter (embedding, attention, FFN and output adapters)', () => {
    const model = tinyModel(42, H);
    const adapter = lora(model);
    const { loss, gradients } = lossAndGradients(model, examples, { lora: adapter });
    const w = weights64(model);
    const a64 = new Map<string, Float64Array>();
    for (const [name, l] of adapter.layers) {
      a64.set(`${name}.lora_a`, Float64Array.from(l.a));
      a64.set(`${name}.lora_b`, Float64Array.from(l.b));
    }
    const config = naiveConfig(model.hparams);
    expect(loss).toBeCloseTo(naiveLoss(config, w, examples, naiveLora(adapter, a64)), 5);
    expect([...gradients.keys()]).toEqual([...a64.keys()]);
    checkModelGradient(
      gradients,
      (name, i, delta) => {
        const t = a64.get(name)!;
        const keep = t[i]!;
        t[i] = keep + delta;
        const l = naiveLoss(config, w, examples, naiveLora(adapter, a64));
        t[i] = keep;
        return l;
      },
      4,
    );
  });

  it('per-example LoRA gradients equal each example’s own gradient', () => {
    const model = tinyModel(43, H);
    const adapter = lora(model);
    const { losses, gradients } = perExampleLoraGradients(model, adapter, examples);
    examples.forEach((e, k) => {
      const alone = lossAndGradients(model, [e], { lora: adapter });
      const flat = Float32Array.from([...alone.gradients.values()].flatMap((g) => Array.from(g)));
      expect(losses[k]).toBeCloseTo(alone.loss, 6);
      expect(gradients[k]!.length).toBe(flat.length);
      const scale = Math.max(...Array.from(flat, Math.abs));
      for (let i = 0; i < flat.length; i++)
        expect(Math.abs(gradients[k]![i]! - flat[i]!)).toBeLessThan(1e-5 * scale);
    });
    // Distinct examples, distinct gradients.
    expect(gradients[0]).not.toEqual(gradients[1]);
  });

  it('padding with masked targets changes neither the loss nor any gradient', () => {
    const model = tinyModel(44, H);
    const adapter = lora(model);
    const plain = { tokens: [3, 9, 4, 1] };
    const padded = { tokens: [3, 9, 4, 1, 0, 0, 0], mask: [0, 1, 1, 1, 0, 0, 0] };
    for (const options of [{ base: true }, { lora: adapter }]) {
      const a = lossAndGradients(model, [plain, examples[0]!], options);
      const b = lossAndGradients(model, [padded, examples[0]!], options);
      expect(b.loss).toBeCloseTo(a.loss, 6);
      for (const [name, g] of a.gradients) {
        const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
        const other = b.gradients.get(name)!;
        for (let i = 0; i < g.length; i++) expect(Math.abs(g[i]! - other[i]!)).toBeLessThan(1e-5 * scale);
      }
    }
  });
});
