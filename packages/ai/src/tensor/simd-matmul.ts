import { F32, FunctionBuilder, I32, V128, assembleModule } from './wasm-assembler.ts';

/*
 * Float32 matrix products as WebAssembly SIMD functions, assembled here from opcodes (see
 * wasm-assembler.ts), over operands that live in the module's (shared) linear memory. Addresses are
 * in bytes, strides in floats; each call computes rows [0, M) and columns [n0, n1) of out.
 *
 *   matmulNT(out, ldo, x, ldx, w, ldw, M, K, n0, n1, accumulate)
 *     out[m][n] (+)= Σ_k x[m·ldx + k] · w[n·ldw + k]: what kernelMatmulNT computes (y = W x for
 *     llama.cpp's weight layout), with strides so that one head of a wider row can be addressed.
 *
 *   matmulNN(out, ldo, x, xsm, xsk, b, ldb, M, K, n0, n1, accumulate)
 *     out[m][n] (+)= Σ_k x[m·xsm + k·xsk] · b[k·ldb + n]: b's rows contiguous along n, x read with
 *     any strides, so xsm = K, xsk = 1 is a plain product and xsm = 1, xsk = M one with x transposed
 *     (dW = dYᵀ X in the backward pass) without copying it.
 *
 * Rounding is fixed per output, whatever tile computes it, so results do not depend on how columns
 * are split between threads (bit-identical for any thread count). Every multiply and add is a
 * float32 multiply then a float32 add (no fused multiply-add).
 *  - NT: a dot product of two contiguous rows taken four lanes at a time: lane j sums x[k]·w[k] for
 *    k ≡ j (mod 4) in order, the lanes are summed as (l0 + l1) + (l2 + l3), the K mod 4 leftover
 *    products are added one by one, and with `accumulate` the previous value is added last.
 *  - NN: four outputs per lane vector, each summing x·b in k order from 0; the N mod 4 leftover
 *    columns do the same one at a time; with `accumulate` the previous value is added last.
 *
 * Tile shapes were measured on x64 (AMD EPYC, V8 11.3). NT: 4 x-rows by 4 w-rows reuse each loaded
 * vector four times (8 loads for 16 four-lane multiply-adds) and ran at about 32 GFLOP/s on one
 * thread, against 27-30 for 2x4, 4x2, 3x3, 3x4 and 2x6 (its 16 accumulators spill a little, which
 * costs less than the loads it saves); 1x4 was the best single-row (decode) shape. NN: 4 x-rows by 2
 * vectors of b (8 outputs per row). Columns are blocked so that the part of w (or b) one block needs
 * stays in cache while every row of x passes over it.
 */

export interface SimdTiles {
  /** NT: x rows by w rows per tile, and w rows per tile for a lone x row. */
  readonly ntRows: number;
  readonly ntCols: number;
  readonly ntRowCols: number;
  /** NN: x rows by four-column vectors of b per tile. */
  readonly nnRows: number;
  readonly nnVectors: number;
}

export const SIMD_TILES: SimdTiles = { ntRows: 4, ntCols: 4, ntRowCols: 4, nnRows: 4, nnVectors: 2 };
/** Times the NT k loop is unrolled (each step: four floats per row). */
const UNROLL = 2;

/** The kernel module's bytes; `maxPages` bounds the shared memory it imports (64 KiB pages). */
export function simdMatmulModule(maxPages: number, tiles: SimdTiles = SIMD_TILES): Uint8Array {
  return assembleModule({ module: 'env', field: 'memory', minPages: 1, maxPages, shared: true }, [
    matmulNT(tiles.ntRows, tiles.ntCols, tiles.ntRowCols),
    matmulNN(tiles.nnRows, tiles.nnVectors),
  ]);
}

function matmulNT(tileRows: number, tileCols: number, rowCols: number): FunctionBuilder {
  const f = new FunctionBuilder('matmulNT', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [OUT, LDO, X, LDX, W, LDW, M, K, N0, N1, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const rowBytes = f.local(I32);
  const vecBytes = f.local(I32); // bytes of the first K - K mod 4 floats of a row
  const nb = f.local(I32);
  const jb = f.local(I32);
  const je = f.local(I32);
  const m = f.local(I32);
  const n = f.local(I32);
  const k = f.local(I32);
  const addr = f.local(I32);
  const s = f.local(F32);
  const maxCols = Math.max(tileCols, rowCols);
  const xp = Array.from({ length: tileRows }, () => f.local(I32));
  const wp = Array.from({ length: maxCols }, () => f.local(I32));
  const xv = Array.from({ length: tileRows }, () => f.local(V128));
  const wv = f.local(V128);
  const acc = Array.from({ length: tileRows * maxCols }, () => f.local(V128));

  f.get(K).i32Const(2).i32Shl().set(rowBytes);
  f.get(K).i32Const(-4).i32And().i32Const(2).i32Shl().set(vecBytes);
  // nb = max(8, floor(32768 / K) rounded down to a multiple of 8) columns per block.
  f.i32Const(32768).get(K).i32DivU().i32Const(-8).i32And().set(nb);
  f.i32Const(8).get(nb).get(nb).i32Const(8).i32LtU().select().set(nb);

  /** Computes the r×c tile at rows m.., columns n.. */
  const tile = (r: number, c: number): void => {
    for (let i = 0; i < r; i++) {
      f.get(X).get(m).i32Const(i).i32Add().get(LDX).i32Mul().i32Const(2).i32Shl().i32Add().set(xp[i]!);
    }
    for (let j = 0; j < c; j++) {
      f.get(W).get(n).i32Const(j).i32Add().get(LDW).i32Mul().i32Const(2).i32Shl().i32Add().set(wp[j]!);
    }
    for (let a = 0; a < r * c; a++) f.v128Zero().set(acc[a]!);
    f.i32Const(0).set(k);
    const step = (offset: number): void => {
      for (let i = 0; i < r; i++) f.get(xp[i]!).get(k).i32Add().v128Load(offset).set(xv[i]!);
      for (let j = 0; j < c; j++) {
        f.get(wp[j]!).get(k).i32Add().v128Load(offset).set(wv);
        for (let i = 0; i < r; i++) {
          const a = acc[i * c + j]!;
          f.get(a).get(xv[i]!).get(wv).f32x4Mul().f32x4Add().set(a);
        }
      }
    };
    // Unrolled while a whole unrolled step fits, then single steps: the same order of products.
    f.while(
      () =>
        f
          .get(k)
          .i32Const(16 * UNROLL)
          .i32Add()
          .get(vecBytes)
          .i32LeU(),
      () => {
        for (let u = 0; u < UNROLL; u++) step(16 * u);
        f.increment(k, 16 * UNROLL);
      },
    );
    f.while(
      () => f.get(k).get(vecBytes).i32LtU(),
      () => {
        step(0);
        f.increment(k, 16);
      },
    );
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const a = acc[i * c + j]!;
        f.get(a).f32x4ExtractLane(0).get(a).f32x4ExtractLane(1).f32Add();
        f.get(a).f32x4ExtractLane(2).get(a).f32x4ExtractLane(3).f32Add();
        f.f32Add().set(s);
        f.get(vecBytes).set(k);
        f.while(
          () => f.get(k).get(rowBytes).i32LtU(),
          () => {
            f.get(s).get(xp[i]!).get(k).i32Add().f32Load().get(wp[j]!).get(k).i32Add().f32Load();
            f.f32Mul().f32Add().set(s);
            f.increment(k, 4);
          },
        );
        // addr = out + ((m + i)·ldo + n + j)·4
        f.get(OUT).get(m).i32Const(i).i32Add().get(LDO).i32Mul().get(n).i32Add().i32Const(j).i32Add();
        f.i32Const(2).i32Shl().i32Add().set(addr);
        f.get(ACC).if().get(addr).f32Load().get(s).f32Add().set(s).end();
        f.get(addr).get(s).f32Store();
      }
    }
  };

  /** Columns n from jb to je in tiles of c, then one by one. */
  const columns = (r: number, c: number): void => {
    f.get(jb).set(n);
    f.while(
      () => f.get(n).i32Const(c).i32Add().get(je).i32LeU(),
      () => {
        tile(r, c);
        f.increment(n, c);
      },
    );
    f.while(
      () => f.get(n).get(je).i32LtU(),
      () => {
        tile(r, 1);
        f.increment(n, 1);
      },
    );
  };

  blockedRows(
    f,
    { M, N0, N1, nb, jb, je, m },
    tileRows,
    () => columns(tileRows, tileCols),
    () => {
      columns(1, rowCols);
    },
  );
  return f;
}

function matmulNN(tileRows: number, vectors: number): FunctionBuilder {
  const f = new FunctionBuilder('matmulNN', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [OUT, LDO, X, XSM, XSK, B, LDB, M, K, N0, N1, ACC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const xskBytes = f.local(I32);
  const ldbBytes = f.local(I32);
  const nb = f.local(I32);
  const jb = f.local(I32);
  const je = f.local(I32);
  const m = f.local(I32);
  const n = f.local(I32);
  const k = f.local(I32);
  const xo = f.local(I32); // k·xsk in bytes
  const bp = f.local(I32); // &b[k][n]
  const addr = f.local(I32);
  const xp = Array.from({ length: tileRows }, () => f.local(I32));
  const xs = f.local(V128);
  const bv = Array.from({ length: vectors }, () => f.local(V128));
  const acc = Array.from({ length: tileRows * vectors }, () => f.local(V128));
  const sAcc = Array.from({ length: tileRows }, () => f.local(F32));
  const bs = f.local(F32);

  f.get(XSK).i32Const(2).i32Shl().set(xskBytes);
  f.get(LDB).i32Const(2).i32Shl().set(ldbBytes);
  // nb = max(8, floor(65536 / K) rounded down to a multiple of 8): K rows of nb floats of b per block.
  f.i32Const(65536).get(K).i32DivU().i32Const(-8).i32And().set(nb);
  f.i32Const(8).get(nb).get(nb).i32Const(8).i32LtU().select().set(nb);

  const rowPointers = (r: number): void => {
    for (let i = 0; i < r; i++) {
      f.get(X).get(m).i32Const(i).i32Add().get(XSM).i32Mul().i32Const(2).i32Shl().i32Add().set(xp[i]!);
    }
  };
  /** out[m+i][n + 4j ..] for r rows and c vectors of four columns. */
  const vectorTile = (r: number, c: number): void => {
    rowPointers(r);
    for (let a = 0; a < r * c; a++) f.v128Zero().set(acc[a]!);
    f.get(B).get(n).i32Const(2).i32Shl().i32Add().set(bp);
    f.i32Const(0).set(xo);
    f.i32Const(0).set(k);
    f.while(
      () => f.get(k).get(K).i32LtU(),
      () => {
        for (let j = 0; j < c; j++)
          f.get(bp)
            .v128Load(16 * j)
            .set(bv[j]!);
        for (let i = 0; i < r; i++) {
          f.get(xp[i]!).get(xo).i32Add().f32Load().f32x4Splat().set(xs);
          for (let j = 0; j < c; j++) {
            const a = acc[i * c + j]!;
            f.get(a).get(xs).get(bv[j]!).f32x4Mul().f32x4Add().set(a);
          }
        }
        f.get(bp).get(ldbBytes).i32Add().set(bp);
        f.get(xo).get(xskBytes).i32Add().set(xo);
        f.increment(k, 1);
      },
    );
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const a = acc[i * c + j]!;
        f.get(OUT)
          .get(m)
          .i32Const(i)
          .i32Add()
          .get(LDO)
          .i32Mul()
          .get(n)
          .i32Add()
          .i32Const(4 * j)
          .i32Add();
        f.i32Const(2).i32Shl().i32Add().set(addr);
        f.get(ACC).if().get(addr).v128Load().get(a).f32x4Add().set(a).end();
        f.get(addr).get(a).v128Store();
      }
    }
  };
  /** One column n for r rows, lane arithmetic done one float at a time. */
  const scalarTile = (r: number): void => {
    rowPointers(r);
    for (let i = 0; i < r; i++) f.f32Const0().set(sAcc[i]!);
    f.get(B).get(n).i32Const(2).i32Shl().i32Add().set(bp);
    f.i32Const(0).set(xo);
    f.i32Const(0).set(k);
    f.while(
      () => f.get(k).get(K).i32LtU(),
      () => {
        f.get(bp).f32Load().set(bs);
        for (let i = 0; i < r; i++) {
          f.get(sAcc[i]!).get(xp[i]!).get(xo).i32Add().f32Load().get(bs).f32Mul().f32Add().set(sAcc[i]!);
        }
        f.get(bp).get(ldbBytes).i32Add().set(bp);
        f.get(xo).get(xskBytes).i32Add().set(xo);
        f.increment(k, 1);
      },
    );
    for (let i = 0; i < r; i++) {
      f.get(OUT).get(m).i32Const(i).i32Add().get(LDO).i32Mul().get(n).i32Add();
      f.i32Const(2).i32Shl().i32Add().set(addr);
      f.get(ACC).if().get(addr).f32Load().get(sAcc[i]!).f32Add().set(sAcc[i]!).end();
      f.get(addr).get(sAcc[i]!).f32Store();
    }
  };
  const columns = (r: number): void => {
    f.get(jb).set(n);
    for (const c of vectors > 1 ? [vectors, 1] : [1]) {
      f.while(
        () =>
          f
            .get(n)
            .i32Const(4 * c)
            .i32Add()
            .get(je)
            .i32LeU(),
        () => {
          vectorTile(r, c);
          f.increment(n, 4 * c);
        },
      );
    }
    f.while(
      () => f.get(n).get(je).i32LtU(),
      () => {
        scalarTile(r);
        f.increment(n, 1);
      },
    );
  };

  blockedRows(
    f,
    { M, N0, N1, nb, jb, je, m },
    tileRows,
    () => columns(tileRows),
    () => columns(1),
  );
  return f;
}

/**
 * The loops both kernels share: column blocks [jb, je) of nb from n0 to n1, and in each, the rows in
 * tiles of `tileRows` (`tiles`), then one at a time (`single`).
 */
function blockedRows(
  f: FunctionBuilder,
  l: { M: number; N0: number; N1: number; nb: number; jb: number; je: number; m: number },
  tileRows: number,
  tiles: () => void,
  single: () => void,
): void {
  f.get(l.N0).set(l.jb);
  f.while(
    () => f.get(l.jb).get(l.N1).i32LtU(),
    () => {
      // je = min(jb + nb, n1)
      f.get(l.jb).get(l.nb).i32Add().get(l.N1).get(l.jb).get(l.nb).i32Add().get(l.N1).i32LtU().select();
      f.set(l.je);
      f.i32Const(0).set(l.m);
      f.while(
        () => f.get(l.m).i32Const(tileRows).i32Add().get(l.M).i32LeU(),
        () => {
          tiles();
          f.increment(l.m, tileRows);
        },
      );
      f.while(
        () => f.get(l.m).get(l.M).i32LtU(),
        () => {
          single();
          f.increment(l.m, 1);
        },
      );
      f.get(l.jb).get(l.nb).i32Add().set(l.jb);
    },
  );
}
