/*
 * The LLaMA feed-forward gate: h = silu(gate) ⊙ up, silu(g) = g·σ(g) (llama.cpp's LLM_FFN_SILU with
 * LLM_FFN_PAR: the gate and up projections both read the normed input).
 */

export function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}

/** dGate = dh ⊙ up ⊙ silu'(g), dUp = dh ⊙ silu(g), with silu'(g) = σ(g)·(1 + g·(1 − σ(g))). */
export function swigluBackward(
  dGate: Float32Array,
  dUp: Float32Array,
  dh: Float32Array,
  gate: Float32Array,
  up: Float32Array,
  length: number,
): void {
  for (let i = 0; i < length; i++) {
    const g = gate[i]!;
    const sig = 1 / (1 + Math.exp(-g));
    const d = dh[i]!;
    dUp[i] = d * g * sig;
    dGate[i] = d * up[i]! * sig * (1 + g * (1 - sig));
  }
}
