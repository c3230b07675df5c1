/*
 * Causal grouped-query attention for one sequence, over its KV cache, as llama.cpp's llama graph
 * computes it (without flash attention): per head, scores = q·kᵀ · scale, softmax with the max
 * subtracted over the positions up to the query's own, then the probability-weighted sum of values.
 * With n_head_kv < n_head, query head h reads kv head ⌊h / (n_head / n_head_kv)⌋: consecutive query
 * heads share a kv head, as ggml's broadcasting mul_mat pairs them.
 */

export interface AttentionShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** 1/sqrt(head_dim) for llama. */
  readonly scale: number;
}

/**
 * out[i] = attention of q[i] (at position start + i) over cache rows [0, start + i]; q and out are
 * `rows` x (heads·headDim), keys and values (start + rows) x (kvHeads·headDim), K already rotated.
 */
export function causalAttention(
  out: Float32Array,
  q: Float32Array,
  rows: number,
  keys: Float32Array,
  values: Float32Array,
  start: number,
  shape: AttentionShape,
): void {
  const { heads, kvHeads, headDim, scale } = shape;
  const group = heads / kvHeads;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const probs = new Float64Array(start + rows);
  const acc = new Float64Array(headDim);
  for (let i = 0; i < rows; i++) {
    const last = start + i;
    for (let h = 0; h < heads; h++) {
      const qAt = i * qWidth + h * headDim;
      const kvAt = Math.floor(h / group) * headDim;
      let max = -Infinity;
      for (let t = 0; t <= last; t++) {
        const kAt = t * kvWidth + kvAt;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qAt + d]! * keys[kAt + d]!;
        const s = dot * scale;
        probs[t] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let t = 0; t <= last; t++) {
        const e = Math.exp(probs[t]! - max);
        probs[t] = e;
        sum += e;
      }
      acc.fill(0);
      for (let t = 0; t <= last; t++) {
        const p = probs[t]! / sum;
        const vAt = t * kvWidth + kvAt;
        for (let d = 0; d < headDim; d++) acc[d] = acc[d]! + p * values[vAt + d]!;
      }
      for (let d = 0; d < headDim; d++) out[qAt + d] = acc[d]!;
    }
  }
}

/**
 * Backward of causalAttention: adds into dq (rows x heads·headDim) and into dKeys / dValues (rows
 * of the cache, including those before `start`). Probabilities are recomputed row by row rather than
 * kept from the forward pass, so memory stays linear in the sequence length.
 */
export function causalAttentionBackward(
  dq: Float32Array,
  dKeys: Float32Array,
  dValues: Float32Array,
  dOut: Float32Array,
  q: Float32Array,
  rows: number,
  keys: Float32Array,
  values: Float32Array,
  start: number,
  shape: AttentionShape,
): void {
  const { heads, kvHeads, headDim, scale } = shape;
  const group = heads / kvHeads;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const probs = new Float64Array(start + rows);
  const dProbs = new Float64Array(start + rows);
  for (let i = 0; i < rows; i++) {
    const last = start + i;
    for (let h = 0; h < heads; h++) {
      const qAt = i * qWidth + h * headDim;
      const kvAt = Math.floor(h / group) * headDim;
      let max = -Infinity;
      for (let t = 0; t <= last; t++) {
        const kAt = t * kvWidth + kvAt;
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[qAt + d]! * keys[kAt + d]!;
        probs[t] = dot * scale;
        if (probs[t]! > max) max = probs[t]!;
      }
      let sum = 0;
      for (let t = 0; t <= last; t++) {
        probs[t] = Math.exp(probs[t]! - max);
        sum += probs[t]!;
      }
      let weighted = 0;
      for (let t = 0; t <= last; t++) {
        const p = probs[t]! / sum;
        probs[t] = p;
        const vAt = t * kvWidth + kvAt;
        let dp = 0;
        for (let d = 0; d < headDim; d++) {
          const g = dOut[qAt + d]!;
          dp += g * values[vAt + d]!;
          dValues[vAt + d] = dValues[vAt + d]! + p * g;
        }
        dProbs[t] = dp;
        weighted += p * dp;
      }
      for (let t = 0; t <= last; t++) {
        const ds = probs[t]! * (dProbs[t]! - weighted) * scale;
        if (ds === 0) continue;
        const kAt = t * kvWidth + kvAt;
        for (let d = 0; d < headDim; d++) {
          dq[qAt + d] = dq[qAt + d]! + ds * keys[kAt + d]!;
          dKeys[kAt + d] = dKeys[kAt + d]! + ds * q[qAt + d]!;
        }
      }
    }
  }
}
