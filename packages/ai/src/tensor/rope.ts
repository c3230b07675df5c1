/*
 * Rotary position embedding, llama.cpp's "normal" mode (GGML_ROPE_TYPE_NORM, rope type 0), which
 * llama_model_rope_type() picks for LLM_ARCH_LLAMA: each head's adjacent pairs (x[2i], x[2i+1]) turn
 * by θ_i = p · base^(−2i/n_rot). (HF-format LLaMA checkpoints rotate pairs (x[i], x[i+d/2]) instead;
 * convert_hf_to_gguf.py permutes the rows of Q and K so that the adjacent-pair rotation gives the
 * same result on the GGUF weights.)
 *
 * Angles follow ggml_rope_cache_init in float32: θ starts at p and is multiplied by
 * theta_scale = base^(−2/n_rot) once per pair, divided by a frequency factor when the model has
 * rope_freqs (LLaMA 3.1), scaled by freq_scale (linear scaling), then cos and sin are taken.
 */

export interface RopeConfig {
  /** Dimensions rotated per head (llama.rope.dimension_count, = head size for llama). */
  readonly nRot: number;
  readonly freqBase: number;
  /** 1 / linear scaling factor; 1 without scaling. */
  readonly freqScale: number;
  /** Per-pair divisors (rope_freqs.weight), nRot/2 of them, if the model has them. */
  readonly freqFactors?: Float32Array;
}

/** cos/sin of every (position, pair), grown on demand: row p holds nRot/2 cosines then sines. */
export class RopeTable {
  private table = new Float32Array(0);
  private positions = 0;
  private readonly half: number;

  constructor(readonly config: RopeConfig) {
    this.half = config.nRot / 2;
  }

  /** The table covering positions [0, count); rows of nRot values: cos[0..half), sin[0..half). */
  upTo(count: number): Float32Array {
    if (count > this.positions) this.grow(Math.max(count, this.positions * 2, 64));
    return this.table;
  }

  private grow(count: number): void {
    const { nRot, freqBase, freqScale, freqFactors } = this.config;
    const half = this.half;
    const next = new Float32Array(count * nRot);
    next.set(this.table);
    const thetaScale = Math.fround(Math.pow(freqBase, -2 / nRot));
    for (let p = this.positions; p < count; p++) {
      let theta = Math.fround(p);
      for (let i = 0; i < half; i++) {
        const ff = freqFactors ? freqFactors[i]! : 1;
        const angle = Math.fround(freqScale * Math.fround(theta / ff));
        next[p * nRot + i] = Math.cos(angle);
        next[p * nRot + half + i] = Math.sin(angle);
        theta = Math.fround(theta * thetaScale);
      }
    }
    this.table = next;
    this.positions = count;
  }
}

/**
 * Rotates, in place, `rows` rows of `heads` heads of `headDim` values; row r is at position
 * positions[r]. `direction` −1 applies the inverse rotation (the backward pass).
 */
export function applyRope(
  x: Float32Array,
  rows: number,
  heads: number,
  headDim: number,
  positions: ArrayLike<number>,
  rope: RopeTable,
  direction: 1 | -1 = 1,
): void {
  const nRot = rope.config.nRot;
  const half = nRot / 2;
  let maxPos = 0;
  for (let r = 0; r < rows; r++) maxPos = Math.max(maxPos, positions[r]!);
  const table = rope.upTo(maxPos + 1);
  const width = heads * headDim;
  for (let r = 0; r < rows; r++) {
    const t = positions[r]! * nRot;
    for (let h = 0; h < heads; h++) {
      const at = r * width + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = table[t + i]!;
        const s = direction * table[t + half + i]!;
        const x0 = x[at + 2 * i]!;
        const x1 = x[at + 2 * i + 1]!;
        x[at + 2 * i] = x0 * c - x1 * s;
        x[at + 2 * i + 1] = x0 * s + x1 * c;
      }
    }
  }
}
