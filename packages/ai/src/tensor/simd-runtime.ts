import { simdMatmulModule } from './simd-matmul.ts';

/*
 * The WebAssembly SIMD kernels of this thread: the compiled module, one shared linear memory that
 * operands are staged into (the kernel workers instantiate the same module over the same memory),
 * and this thread's instance. Where WebAssembly SIMD or shared memory is missing, `simdRuntime()`
 * is undefined and every product runs in plain JavaScript (matmul-kernels.ts).
 */

/** The WebAssembly JS API as far as it is used here (the project's `lib` setting leaves it out). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export type WasmModule = object;
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Instance: new (
    module: WasmModule,
    imports: { env: { memory: WasmMemory } },
  ) => { readonly exports: Record<string, unknown> };
}

/** The staging memory's limit: 1 GiB (products that do not fit run in plain JavaScript). */
const MAX_PAGES = 16384;
const PAGE_BYTES = 65536;

/** matmulNT(out, ldo, x, ldx, w, ldw, M, K, n0, n1, accumulate), see simd-matmul.ts. */
export type SimdMatmulNT = (
  out: number,
  ldo: number,
  x: number,
  ldx: number,
  w: number,
  ldw: number,
  M: number,
  K: number,
  n0: number,
  n1: number,
  accumulate: number,
) => void;

/** matmulNN(out, ldo, x, xsm, xsk, b, ldb, M, K, n0, n1, accumulate), see simd-matmul.ts. */
export type SimdMatmulNN = (
  out: number,
  ldo: number,
  x: number,
  xsm: number,
  xsk: number,
  b: number,
  ldb: number,
  M: number,
  K: number,
  n0: number,
  n1: number,
  accumulate: number,
) => void;

export interface SimdRuntime {
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly matmulNT: SimdMatmulNT;
  readonly matmulNN: SimdMatmulNN;
}

let runtime: SimdRuntime | null | undefined;
let view: Float32Array | undefined;

/** This thread's SIMD kernels, created on first use; undefined where the platform lacks them. */
export function simdRuntime(): SimdRuntime | undefined {
  if (runtime === undefined) runtime = createRuntime();
  return runtime ?? undefined;
}

function createRuntime(): SimdRuntime | null {
  const WebAssembly = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!WebAssembly) return null;
  try {
    const bytes = simdMatmulModule(MAX_PAGES);
    if (!WebAssembly.validate(bytes)) return null;
    const module = new WebAssembly.Module(bytes);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    return {
      module,
      memory,
      matmulNT: instance.exports.matmulNT as SimdMatmulNT,
      matmulNN: instance.exports.matmulNN as SimdMatmulNN,
    };
  } catch {
    // No SIMD, no shared memory (cross-origin isolation off in a browser), or no address space.
    return null;
  }
}

/** A float32 view of the staging memory, grown to at least `bytes`; undefined beyond the limit. */
export function simdHeap(rt: SimdRuntime, bytes: number): Float32Array | undefined {
  const have = rt.memory.buffer.byteLength;
  if (bytes > have) {
    const pages = Math.ceil((bytes - have) / PAGE_BYTES);
    if (have / PAGE_BYTES + pages > MAX_PAGES) return undefined;
    rt.memory.grow(pages);
  }
  const buffer = rt.memory.buffer;
  if (view?.buffer !== buffer) view = new Float32Array(buffer);
  return view;
}
