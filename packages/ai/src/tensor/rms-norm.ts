/*
 * RMSNorm as llama.cpp computes it (ggml_rms_norm then ggml_mul by the weight):
 *   y = x · (1 / sqrt(mean(x²) + eps)) · g
 * with eps inside the square root, the sum of squares in double and the scale rounded to float32.
 */

/**
 * Normalises each of the `rows` rows of `x` (length n) into `out`; returns the per-row scale
 * 1/rms (what the backward pass needs) when `scales` is given.
 */
export function rmsNorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  n: number,
  eps: number,
  scales?: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += x[at + i]! * x[at + i]!;
    const mean = Math.fround(sum / n);
    const scale = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(mean + eps))));
    if (scales) scales[r] = scale;
    for (let i = 0; i < n; i++) out[at + i] = Math.fround(x[at + i]! * scale) * weight[i]!;
  }
}

/**
 * Backward of rmsNorm given dy: dx (+)= s·(g⊙dy) − x·s³/n·Σ(g⊙dy⊙x), and dg += Σ_rows dy⊙x·s,
 * where s is the row's scale from the forward pass.
 */
export function rmsNormBackward(
  dx: Float32Array,
  dWeight: Float32Array | undefined,
  dy: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  scales: Float32Array,
  rows: number,
  n: number,
  accumulate: boolean,
): void {
  for (let r = 0; r < rows; r++) {
    const at = r * n;
    const s = scales[r]!;
    let dot = 0;
    for (let i = 0; i < n; i++) dot += dy[at + i]! * weight[i]! * x[at + i]!;
    const c = (dot * s * s * s) / n;
    for (let i = 0; i < n; i++) {
      const g = s * weight[i]! * dy[at + i]! - x[at + i]! * c;
      dx[at + i] = accumulate ? dx[at + i]! + g : g;
    }
    if (dWeight) for (let i = 0; i < n; i++) dWeight[i] = dWeight[i]! + dy[at + i]! * x[at + i]! * s;
  }
}
