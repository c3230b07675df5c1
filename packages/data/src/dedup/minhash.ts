/**
 * MinHash signatures over shingle hash sets.
 *
 * Permutation i maps a shingle hash x to h_i(x) = (a_i·x + b_i) mod p with p = 2^31 − 1 (a Mersenne
 * prime), a_i ∈ [1, p), b_i ∈ [0, p): the classic universal family (Carter–Wegman), so
 * P[min h_i(A) = min h_i(B)] ≈ J(A, B) and the fraction of equal signature positions estimates the
 * Jaccard similarity with standard error √(J(1−J)/n) (≈ 0.035 at J = 0.8 for n = 128).
 *
 * The 62-bit product a·x is reduced exactly without BigInt: x is split into 16-bit halves, each partial
 * product stays below 2^47 (exact in a double), and 2^31 ≡ 1 (mod p) folds the high part back in.
 * The coefficients come from a fixed-seed SplitMix32 stream (Math.imul), so signatures are reproducible
 * across processes and restarts — an index built with one seed must be queried with the same seed.
 */

export const MERSENNE_PRIME = 0x7fffffff;
export const DEFAULT_NUM_PERM = 128;
export const DEFAULT_MINHASH_SEED = 0x4f70656e; // "Open"

/** Value of every position of the signature of an empty set (larger than any h_i(x) < p). */
export const EMPTY_SLOT = 0xffffffff;

const P = MERSENNE_PRIME;
const TWO31 = 2147483648;
const INV_TWO31 = 1 / TWO31;

export interface MinHashOptions {
  /** Number of permutations = signature length (default 128). */
  numPerm?: number;
  /** Seed of the permutation coefficients (default {@link DEFAULT_MINHASH_SEED}). */
  seed?: number;
}

/** SplitMix32: a small, well-mixed deterministic generator of uint32 values. */
function splitMix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class MinHasher {
  readonly numPerm: number;
  readonly seed: number;
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  // Scratch space for the split shingle hashes, grown on demand.
  private lo = new Float64Array(256);
  private hi = new Float64Array(256);

  constructor(options: MinHashOptions = {}) {
    this.numPerm = options.numPerm ?? DEFAULT_NUM_PERM;
    this.seed = options.seed ?? DEFAULT_MINHASH_SEED;
    if (!Number.isInteger(this.numPerm) || this.numPerm < 1) {
      throw new RangeError(`numPerm must be a positive integer, got ${this.numPerm}`);
    }
    const next = splitMix32(this.seed);
    this.a = new Float64Array(this.numPerm);
    this.b = new Float64Array(this.numPerm);
    for (let i = 0; i < this.numPerm; i++) {
      this.a[i] = 1 + (next() % (P - 1));
      this.b[i] = next() % P;
    }
  }

  /** h_i(x) for one permutation, for tests and for readers of the arithmetic below. */
  permute(i: number, x: number): number {
    const a = this.a[i]!;
    const b = this.b[i]!;
    return Number((BigInt(a) * BigInt(x % P) + BigInt(b)) % BigInt(P));
  }

  /** The signature of a set of shingle hashes (duplicates allowed; order irrelevant). */
  signature(shingles: Uint32Array): Uint32Array {
    const n = shingles.length;
    const sig = new Uint32Array(this.numPerm);
    if (n === 0) return sig.fill(EMPTY_SLOT);
    if (this.lo.length < n) {
      this.lo = new Float64Array(n * 2);
      this.hi = new Float64Array(n * 2);
    }
    const lo = this.lo;
    const hi = this.hi;
    for (let j = 0; j < n; j++) {
      // x mod p for a uint32 x: 2^31 ≡ 1.
      let x = (shingles[j]! & P) + (shingles[j]! >>> 31);
      if (x >= P) x -= P;
      lo[j] = x & 0xffff;
      hi[j] = x >>> 16; // < 2^15
    }
    const as = this.a;
    const bs = this.b;
    for (let i = 0; i < this.numPerm; i++) {
      const a = as[i]!;
      const b = bs[i]!;
      let min = P;
      for (let j = 0; j < n; j++) {
        // a·x + b = (a·hi)·2^16 + a·lo + b; reduce a·hi (< 2^46) first, then the sum (< 2^49).
        let w = a * hi[j]!;
        const wq = Math.floor(w * INV_TWO31);
        w = w - wq * TWO31 + wq;
        let v = a * lo[j]! + b + w * 65536;
        const vq = Math.floor(v * INV_TWO31);
        v = v - vq * TWO31 + vq;
        if (v >= P) v -= P;
        if (v < min) min = v;
      }
      sig[i] = min;
    }
    return sig;
  }
}

/** Whether a signature is that of the empty set (such rows take no part in near-duplicate matching). */
export function isEmptySignature(sig: Uint32Array): boolean {
  return sig.length > 0 && sig[0] === EMPTY_SLOT;
}

/** The fraction of positions where two signatures agree: an unbiased estimate of the Jaccard similarity. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) throw new RangeError(`signature lengths differ: ${a.length} vs ${b.length}`);
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal++;
  return equal / a.length;
}
