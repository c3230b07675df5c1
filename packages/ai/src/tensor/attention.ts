import { simdHeap, type SimdRuntime } from './simd-runtime.ts';
import { aligned, simdFor } from './simd-products.ts';

/*
 * Causal grouped-query attention for one sequence, over its KV cache, as llama.cpp's llama graph
 * computes it (without flash attention): per head, scores = q·kᵀ · scale, softmax with the max
 * subtracted over the positions up to the query's own, then the probability-weighted sum of values.
 * With n_head_kv < n_head, query head h reads kv head ⌊h / (n_head / n_head_kv)⌋: consecutive query
 * heads share a kv head, as ggml's broadcasting mul_mat pairs them.
 *
 * Where WebAssembly SIMD is available (and the sequence is not tiny), the products run in the SIMD
 * kernels (simd-matmul.ts) over the staged q, keys and values, a block of query rows and one head at
 * a time: scores S = Q Kᵀ (NT), softmax in JavaScript (float64, as below, the probabilities rounded
 * to float32), O = P V (NN); the backward pass adds dP = dO Vᵀ, dV += Pᵀ dO, dQ += dS K and
 * dK += dSᵀ Q. A block of rows only needs the key columns up to its last row's position, so causal
 * masking wastes at most one block's triangle. Otherwise it runs in the plain loops below, in float64.
 */

/** Query rows per block of the SIMD path. */
const BLOCK_ROWS = 32;

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
  const rt = simdFor(rows * (start + rows) * shape.heads * shape.headDim);
  if (rt && simdAttention(rt, out, q, rows, keys, values, start, shape)) return;
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
  const rt = simdFor(rows * (start + rows) * shape.heads * shape.headDim);
  if (rt && simdAttentionBackward(rt, dq, dKeys, dValues, dOut, q, rows, keys, values, start, shape)) return;
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

/** Where each operand of the SIMD path lives in the runtime's heap (float offsets). */
interface AttentionLayout {
  readonly heap: Float32Array;
  readonly q: number;
  readonly k: number;
  readonly v: number;
  /** Scores, then probabilities, of one block of rows (BLOCK_ROWS × len). */
  readonly p: number;
  readonly end: number;
}

/** Stages q, keys and values; undefined if the heap cannot hold them and `extra` more floats. */
function stageAttention(
  rt: SimdRuntime,
  q: Float32Array,
  rows: number,
  keys: Float32Array,
  values: Float32Array,
  len: number,
  shape: AttentionShape,
  extra: number,
): AttentionLayout | undefined {
  const qFloats = rows * shape.heads * shape.headDim;
  const kvFloats = len * shape.kvHeads * shape.headDim;
  const k = aligned(qFloats);
  const v = k + aligned(kvFloats);
  const p = v + aligned(kvFloats);
  const end = p + aligned(Math.min(rows, BLOCK_ROWS) * len);
  const heap = simdHeap(rt, 4 * (end + extra));
  if (!heap) return undefined;
  heap.set(q.subarray(0, qFloats), 0);
  heap.set(keys.subarray(0, kvFloats), k);
  heap.set(values.subarray(0, kvFloats), v);
  return { heap, q: 0, k, v, p, end };
}

/**
 * Scores of query rows [i0, i1) of head h against key columns [0, n1), then their softmax over each
 * row's causal window in place (probabilities, zero past the window), at L.p with row length len.
 */
function blockProbabilities(
  rt: SimdRuntime,
  L: AttentionLayout,
  h: number,
  i0: number,
  i1: number,
  n1: number,
  len: number,
  start: number,
  shape: AttentionShape,
  exps: Float64Array,
): void {
  const { heads, kvHeads, headDim, scale } = shape;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const kvAt = Math.floor(h / (heads / kvHeads)) * headDim;
  const xAt = L.q + i0 * qWidth + h * headDim;
  rt.matmulNT(4 * L.p, len, 4 * xAt, qWidth, 4 * (L.k + kvAt), kvWidth, i1 - i0, headDim, 0, n1, 0);
  const heap = L.heap;
  for (let i = i0; i < i1; i++) {
    const row = L.p + (i - i0) * len;
    const last = start + i;
    let max = -Infinity;
    for (let t = 0; t <= last; t++) {
      const s = heap[row + t]! * scale;
      exps[t] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let t = 0; t <= last; t++) {
      const e = Math.exp(exps[t]! - max);
      exps[t] = e;
      sum += e;
    }
    for (let t = 0; t <= last; t++) heap[row + t] = exps[t]! / sum;
    heap.fill(0, row + last + 1, row + n1);
  }
}

function simdAttention(
  rt: SimdRuntime,
  out: Float32Array,
  q: Float32Array,
  rows: number,
  keys: Float32Array,
  values: Float32Array,
  start: number,
  shape: AttentionShape,
): boolean {
  const { heads, kvHeads, headDim } = shape;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const len = start + rows;
  const L = stageAttention(rt, q, rows, keys, values, len, shape, rows * qWidth);
  if (!L) return false;
  const o = L.end;
  const exps = new Float64Array(len);
  for (let h = 0; h < heads; h++) {
    const kvAt = Math.floor(h / (heads / kvHeads)) * headDim;
    for (let i0 = 0; i0 < rows; i0 += BLOCK_ROWS) {
      const i1 = Math.min(rows, i0 + BLOCK_ROWS);
      const n1 = start + i1;
      blockProbabilities(rt, L, h, i0, i1, n1, len, start, shape, exps);
      // O[i0..i1, head h] = P · V[0..n1, kv head]
      const oAt = 4 * (o + i0 * qWidth + h * headDim);
      rt.matmulNN(oAt, qWidth, 4 * L.p, len, 1, 4 * (L.v + kvAt), kvWidth, i1 - i0, n1, 0, headDim, 0);
    }
  }
  out.set(L.heap.subarray(o, o + rows * qWidth));
  return true;
}

function simdAttentionBackward(
  rt: SimdRuntime,
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
): boolean {
  const { heads, kvHeads, headDim, scale } = shape;
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const len = start + rows;
  const qFloats = rows * qWidth;
  const kvFloats = len * kvWidth;
  const block = Math.min(rows, BLOCK_ROWS) * len;
  // After q, keys, values and P: dS (one block), dO, dQ, dK, dV.
  const extra = aligned(block) + 3 * aligned(qFloats) + 2 * aligned(kvFloats);
  const L = stageAttention(rt, q, rows, keys, values, len, shape, extra);
  if (!L) return false;
  const heap = L.heap;
  const ds = L.end;
  const dO = ds + aligned(block);
  const dQ = dO + aligned(qFloats);
  const dK = dQ + aligned(qFloats);
  const dV = dK + aligned(kvFloats);
  heap.set(dOut.subarray(0, qFloats), dO);
  heap.set(dq.subarray(0, qFloats), dQ);
  heap.set(dKeys.subarray(0, kvFloats), dK);
  heap.set(dValues.subarray(0, kvFloats), dV);
  const exps = new Float64Array(len);
  for (let h = 0; h < heads; h++) {
    const kvAt = Math.floor(h / (heads / kvHeads)) * headDim;
    for (let i0 = 0; i0 < rows; i0 += BLOCK_ROWS) {
      const i1 = Math.min(rows, i0 + BLOCK_ROWS);
      const br = i1 - i0;
      const n1 = start + i1;
      const headRows = i0 * qWidth + h * headDim;
      blockProbabilities(rt, L, h, i0, i1, n1, len, start, shape, exps);
      // dP = dO · Vᵀ, then dS = P ⊙ (dP − Σ_t P·dP) · scale, row by row.
      rt.matmulNT(4 * ds, len, 4 * (dO + headRows), qWidth, 4 * (L.v + kvAt), kvWidth, br, headDim, 0, n1, 0);
      for (let r = 0; r < br; r++) {
        const pRow = L.p + r * len;
        const dRow = ds + r * len;
        const last = start + i0 + r;
        let weighted = 0;
        for (let t = 0; t <= last; t++) weighted += heap[pRow + t]! * heap[dRow + t]!;
        for (let t = 0; t <= last; t++)
          heap[dRow + t] = heap[pRow + t]! * (heap[dRow + t]! - weighted) * scale;
        heap.fill(0, dRow + last + 1, dRow + n1);
      }
      // dV[0..n1] += Pᵀ · dO;  dQ += dS · K;  dK[0..n1] += dSᵀ · Q (P and dS read transposed in place).
      rt.matmulNN(
        4 * (dV + kvAt),
        kvWidth,
        4 * L.p,
        1,
        len,
        4 * (dO + headRows),
        qWidth,
        n1,
        br,
        0,
        headDim,
        1,
      );
      rt.matmulNN(
        4 * (dQ + headRows),
        qWidth,
        4 * ds,
        len,
        1,
        4 * (L.k + kvAt),
        kvWidth,
        br,
        n1,
        0,
        headDim,
        1,
      );
      rt.matmulNN(
        4 * (dK + kvAt),
        kvWidth,
        4 * ds,
        1,
        len,
        4 * (L.q + headRows),
        qWidth,
        n1,
        br,
        0,
        headDim,
        1,
      );
    }
  }
  dq.set(heap.subarray(dQ, dQ + qFloats));
  dKeys.set(heap.subarray(dK, dK + kvFloats));
  dValues.set(heap.subarray(dV, dV + kvFloats));
  return true;
}
