/*
 * The matrix-product inner loops, shared verbatim by the main thread and the kernel workers: the
 * worker's source is built from these functions' text (see kernel-pool.ts), so each must stay
 * self-contained: no imports, no closures, no helpers outside this file's functions, only loops over
 * the arrays it is given.
 *
 * Both compute rows [0, M) and columns [n0, n1) of out = x · wᵀ, where x has M rows of K values and
 * w is stored as llama.cpp stores a weight: one row of K (nIn) values per output. Every output is a
 * dot product of two contiguous rows, so no operand is ever transposed in the hot loop.
 *
 * The JIT keeps float64 accumulators in registers; tiles of 4 x-rows by 4 w-rows reuse each loaded
 * value four times (8 loads for 16 multiply-adds), which measured fastest among 1x4, 1x8, 2x4, 4x2
 * and 4x4. A single row (decode) uses 1x8, the best matrix-vector shape. Columns are blocked so that
 * the rows of w one block needs stay in cache while every row of x passes over them.
 */

/** out[m*ldo + n] (+)= Σ_k x[xOff + m*K + k] · w[wOff + n*K + k] for m < M, n0 <= n < n1. */
export function kernelMatmulNT(
  out: Float32Array,
  outOff: number,
  ldo: number,
  x: Float32Array,
  xOff: number,
  w: Float32Array,
  wOff: number,
  M: number,
  K: number,
  n0: number,
  n1: number,
  accumulate: number,
): void {
  // About 128 KiB of w per block: in L2 on anything recent, while x streams past it.
  let nb = (32768 / K) | 0;
  nb = nb < 8 ? 8 : nb - (nb & 7);
  for (let jb = n0; jb < n1; jb += nb) {
    const je = jb + nb < n1 ? jb + nb : n1;
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const a0 = xOff + m * K;
      const a1 = a0 + K;
      const a2 = a1 + K;
      const a3 = a2 + K;
      let n = jb;
      for (; n + 4 <= je; n += 4) {
        const w0 = wOff + n * K;
        const w1 = w0 + K;
        const w2 = w1 + K;
        const w3 = w2 + K;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        let s20 = 0,
          s21 = 0,
          s22 = 0,
          s23 = 0,
          s30 = 0,
          s31 = 0,
          s32 = 0,
          s33 = 0;
        for (let k = 0; k < K; k++) {
          const v0 = w[w0 + k]!;
          const v1 = w[w1 + k]!;
          const v2 = w[w2 + k]!;
          const v3 = w[w3 + k]!;
          let t = x[a0 + k]!;
          s00 += t * v0;
          s01 += t * v1;
          s02 += t * v2;
          s03 += t * v3;
          t = x[a1 + k]!;
          s10 += t * v0;
          s11 += t * v1;
          s12 += t * v2;
          s13 += t * v3;
          t = x[a2 + k]!;
          s20 += t * v0;
          s21 += t * v1;
          s22 += t * v2;
          s23 += t * v3;
          t = x[a3 + k]!;
          s30 += t * v0;
          s31 += t * v1;
          s32 += t * v2;
          s33 += t * v3;
        }
        let o = outOff + m * ldo + n;
        if (accumulate !== 0) {
          s00 += out[o]!;
          s01 += out[o + 1]!;
          s02 += out[o + 2]!;
          s03 += out[o + 3]!;
          s10 += out[o + ldo]!;
          s11 += out[o + ldo + 1]!;
          s12 += out[o + ldo + 2]!;
          s13 += out[o + ldo + 3]!;
          const o2 = o + 2 * ldo;
          const o3 = o + 3 * ldo;
          s20 += out[o2]!;
          s21 += out[o2 + 1]!;
          s22 += out[o2 + 2]!;
          s23 += out[o2 + 3]!;
          s30 += out[o3]!;
          s31 += out[o3 + 1]!;
          s32 += out[o3 + 2]!;
          s33 += out[o3 + 3]!;
        }
        out[o] = s00;
        out[o + 1] = s01;
        out[o + 2] = s02;
        out[o + 3] = s03;
        o += ldo;
        out[o] = s10;
        out[o + 1] = s11;
        out[o + 2] = s12;
        out[o + 3] = s13;
        o += ldo;
        out[o] = s20;
        out[o + 1] = s21;
        out[o + 2] = s22;
        out[o + 3] = s23;
        o += ldo;
        out[o] = s30;
        out[o + 1] = s31;
        out[o + 2] = s32;
        out[o + 3] = s33;
      }
      for (; n < je; n++) {
        const w0 = wOff + n * K;
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0;
        for (let k = 0; k < K; k++) {
          const v = w[w0 + k]!;
          s0 += x[a0 + k]! * v;
          s1 += x[a1 + k]! * v;
          s2 += x[a2 + k]! * v;
          s3 += x[a3 + k]! * v;
        }
        const o = outOff + m * ldo + n;
        if (accumulate !== 0) {
          s0 += out[o]!;
          s1 += out[o + ldo]!;
          s2 += out[o + 2 * ldo]!;
          s3 += out[o + 3 * ldo]!;
        }
        out[o] = s0;
        out[o + ldo] = s1;
        out[o + 2 * ldo] = s2;
        out[o + 3 * ldo] = s3;
      }
    }
    for (; m < M; m++) {
      const a = xOff + m * K;
      let n = jb;
      for (; n + 8 <= je; n += 8) {
        const w0 = wOff + n * K;
        const w1 = w0 + K;
        const w2 = w1 + K;
        const w3 = w2 + K;
        const w4 = w3 + K;
        const w5 = w4 + K;
        const w6 = w5 + K;
        const w7 = w6 + K;
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0,
          s4 = 0,
          s5 = 0,
          s6 = 0,
          s7 = 0;
        for (let k = 0; k < K; k++) {
          const t = x[a + k]!;
          s0 += t * w[w0 + k]!;
          s1 += t * w[w1 + k]!;
          s2 += t * w[w2 + k]!;
          s3 += t * w[w3 + k]!;
          s4 += t * w[w4 + k]!;
          s5 += t * w[w5 + k]!;
          s6 += t * w[w6 + k]!;
          s7 += t * w[w7 + k]!;
        }
        const o = outOff + m * ldo + n;
        if (accumulate !== 0) {
          s0 += out[o]!;
          s1 += out[o + 1]!;
          s2 += out[o + 2]!;
          s3 += out[o + 3]!;
          s4 += out[o + 4]!;
          s5 += out[o + 5]!;
          s6 += out[o + 6]!;
          s7 += out[o + 7]!;
        }
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
        out[o + 4] = s4;
        out[o + 5] = s5;
        out[o + 6] = s6;
        out[o + 7] = s7;
      }
      for (; n < je; n++) {
        const w0 = wOff + n * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += x[a + k]! * w[w0 + k]!;
        const o = outOff + m * ldo + n;
        out[o] = accumulate !== 0 ? out[o]! + s : s;
      }
    }
  }
}

/**
 * The same product with w in Q8_0 kept quantised: q holds the int8 quants row-major (K per row) and
 * d one float scale per 32 quants (K/32 per row). Each 32-long partial dot product is scaled once,
 * as ggml does, so this costs no more multiplies than the float32 loop while reading a quarter of
 * the bytes. Tiles are 2 x-rows by 4 w-rows: with partial and total sums that is 16 accumulators.
 */
export function kernelMatmulNTQ8(
  out: Float32Array,
  outOff: number,
  ldo: number,
  x: Float32Array,
  xOff: number,
  q: Int8Array,
  qOff: number,
  d: Float32Array,
  dOff: number,
  M: number,
  K: number,
  n0: number,
  n1: number,
  accumulate: number,
): void {
  const blocks = K >> 5;
  let nb = (131072 / K) | 0;
  nb = nb < 4 ? 4 : nb - (nb & 3);
  for (let jb = n0; jb < n1; jb += nb) {
    const je = jb + nb < n1 ? jb + nb : n1;
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const a0 = xOff + m * K;
      const a1 = a0 + K;
      let n = jb;
      for (; n + 4 <= je; n += 4) {
        const r0 = qOff + n * K;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        const b0 = dOff + n * blocks;
        let s00 = 0,
          s01 = 0,
          s02 = 0,
          s03 = 0,
          s10 = 0,
          s11 = 0,
          s12 = 0,
          s13 = 0;
        for (let b = 0; b < blocks; b++) {
          let p00 = 0,
            p01 = 0,
            p02 = 0,
            p03 = 0,
            p10 = 0,
            p11 = 0,
            p12 = 0,
            p13 = 0;
          const kb = b << 5;
          for (let k = kb; k < kb + 32; k++) {
            const v0 = q[r0 + k]!;
            const v1 = q[r1 + k]!;
            const v2 = q[r2 + k]!;
            const v3 = q[r3 + k]!;
            let t = x[a0 + k]!;
            p00 += t * v0;
            p01 += t * v1;
            p02 += t * v2;
            p03 += t * v3;
            t = x[a1 + k]!;
            p10 += t * v0;
            p11 += t * v1;
            p12 += t * v2;
            p13 += t * v3;
          }
          const d0 = d[b0 + b]!;
          const d1 = d[b0 + blocks + b]!;
          const d2 = d[b0 + 2 * blocks + b]!;
          const d3 = d[b0 + 3 * blocks + b]!;
          s00 += p00 * d0;
          s01 += p01 * d1;
          s02 += p02 * d2;
          s03 += p03 * d3;
          s10 += p10 * d0;
          s11 += p11 * d1;
          s12 += p12 * d2;
          s13 += p13 * d3;
        }
        const o = outOff + m * ldo + n;
        const p = o + ldo;
        if (accumulate !== 0) {
          s00 += out[o]!;
          s01 += out[o + 1]!;
          s02 += out[o + 2]!;
          s03 += out[o + 3]!;
          s10 += out[p]!;
          s11 += out[p + 1]!;
          s12 += out[p + 2]!;
          s13 += out[p + 3]!;
        }
        out[o] = s00;
        out[o + 1] = s01;
        out[o + 2] = s02;
        out[o + 3] = s03;
        out[p] = s10;
        out[p + 1] = s11;
        out[p + 2] = s12;
        out[p + 3] = s13;
      }
      for (; n < je; n++) {
        const r = qOff + n * K;
        const b0 = dOff + n * blocks;
        let s0 = 0;
        let s1 = 0;
        for (let b = 0; b < blocks; b++) {
          let p0 = 0;
          let p1 = 0;
          for (let k = b << 5, e = k + 32; k < e; k++) {
            const v = q[r + k]!;
            p0 += x[a0 + k]! * v;
            p1 += x[a1 + k]! * v;
          }
          s0 += p0 * d[b0 + b]!;
          s1 += p1 * d[b0 + b]!;
        }
        const o = outOff + m * ldo + n;
        out[o] = accumulate !== 0 ? out[o]! + s0 : s0;
        out[o + ldo] = accumulate !== 0 ? out[o + ldo]! + s1 : s1;
      }
    }
    for (; m < M; m++) {
      const a = xOff + m * K;
      let n = jb;
      for (; n + 4 <= je; n += 4) {
        const r0 = qOff + n * K;
        const r1 = r0 + K;
        const r2 = r1 + K;
        const r3 = r2 + K;
        const b0 = dOff + n * blocks;
        let s0 = 0,
          s1 = 0,
          s2 = 0,
          s3 = 0;
        for (let b = 0; b < blocks; b++) {
          let p0 = 0,
            p1 = 0,
            p2 = 0,
            p3 = 0;
          for (let k = b << 5, e = k + 32; k < e; k++) {
            const t = x[a + k]!;
            p0 += t * q[r0 + k]!;
            p1 += t * q[r1 + k]!;
            p2 += t * q[r2 + k]!;
            p3 += t * q[r3 + k]!;
          }
          s0 += p0 * d[b0 + b]!;
          s1 += p1 * d[b0 + blocks + b]!;
          s2 += p2 * d[b0 + 2 * blocks + b]!;
          s3 += p3 * d[b0 + 3 * blocks + b]!;
        }
        const o = outOff + m * ldo + n;
        if (accumulate !== 0) {
          s0 += out[o]!;
          s1 += out[o + 1]!;
          s2 += out[o + 2]!;
          s3 += out[o + 3]!;
        }
        out[o] = s0;
        out[o + 1] = s1;
        out[o + 2] = s2;
        out[o + 3] = s3;
      }
      for (; n < je; n++) {
        const r = qOff + n * K;
        const b0 = dOff + n * blocks;
        let s = 0;
        for (let b = 0; b < blocks; b++) {
          let p = 0;
          for (let k = b << 5, e = k + 32; k < e; k++) p += x[a + k]! * q[r + k]!;
          s += p * d[b0 + b]!;
        }
        const o = outOff + m * ldo + n;
        out[o] = accumulate !== 0 ? out[o]! + s : s;
      }
    }
  }
}
