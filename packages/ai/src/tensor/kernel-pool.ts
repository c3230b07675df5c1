import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { kernelMatmulNT, kernelMatmulNTQ8 } from './matmul-kernels.ts';
import {
  simdRuntime,
  type SimdRuntime,
  type WasmApi,
  type WasmMemory,
  type WasmModule,
} from './simd-runtime.ts';

/*
 * A small pool of worker threads that split large matrix products with the main thread. The forward
 * and backward passes are synchronous code, so the hand-off is too: the main thread writes one task
 * per worker into a shared control block, wakes the workers with Atomics.notify, does its own share
 * and sleeps in Atomics.wait until the last worker is done (Node allows blocking waits on the main
 * thread). No promise, no event-loop turn, no message per task: a dispatch costs a futex wake.
 *
 * Operands must live in SharedArrayBuffers. Each buffer is posted to every worker once, the first
 * time a task uses it, under a small integer id; the worker picks such messages up synchronously
 * (receiveMessageOnPort) before running the task, since it never returns to its event loop. When the
 * main thread's buffer object is collected, the workers are told to drop theirs.
 *
 * Workers start asynchronously; until all have reported ready, callers get `undefined` from
 * `readyPool()` and compute on the main thread, so nothing ever waits for a worker to boot.
 *
 * The WebAssembly SIMD product (simd-matmul.ts) takes no buffers at all: its operands are staged in
 * the SIMD runtime's shared linear memory, which every worker instantiates the kernel module over
 * once at boot, so its tasks carry byte addresses only.
 */

const GEN = 0; // bumped once per dispatch; workers sleep on it
const PENDING = 1; // workers still busy with the current dispatch
const READY = 2; // workers booted
const FAILED = 3; // set by a worker whose task threw
const STOP = 4;
const SLOT_BASE = 8;
const SLOT_SIZE = 16;
/** Task fields within a worker's slot. */
const OP = 0;
const OUT = 1;
const OUT_OFF = 2;
const LDO = 3;
const X = 4;
const X_OFF = 5;
const W = 6;
const W_OFF = 7;
const D = 8;
const D_OFF = 9;
const ROWS = 10;
const DEPTH = 11;
const N0 = 12;
const N1 = 13;
const ACC = 14;
const OP_F32 = 1;
const OP_Q8 = 2;
const OP_SIMD_NT = 3;
const OP_SIMD_NN = 4;
const MAX_WORKERS = 15;
/** A wait longer than this means a worker died; fail loudly rather than hang. */
const DISPATCH_TIMEOUT_MS = 60_000;

type SharedArray = Float32Array | Int8Array;

interface Kernels {
  readonly nt: typeof kernelMatmulNT;
  readonly q8: typeof kernelMatmulNTQ8;
}

/**
 * The worker's whole program; run from its source text, so it may use nothing from this module
 * (module imports are rewritten by the TypeScript loader): the kernels come in as an argument.
 */
function workerMain(threads: typeof WorkerThreads, kernels: Kernels): void {
  const { parentPort, workerData, receiveMessageOnPort } = threads;
  if (!parentPort) return;
  const ctrl = new Int32Array(workerData.control as SharedArrayBuffer);
  const wasm = workerData.simd as { module: WasmModule; memory: WasmMemory } | undefined;
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const simd = wasm
    ? (new api.Instance(wasm.module, { env: { memory: wasm.memory } }).exports as Record<
        'matmulNT' | 'matmulNN',
        (...args: number[]) => void
      >)
    : undefined;
  const slot = 8 + (workerData.index as number) * 16;
  const buffers = new Map<number, Float32Array | Int8Array>();
  const drain = (): void => {
    for (;;) {
      const received = receiveMessageOnPort(parentPort);
      if (received === undefined) return;
      const msg = received.message as { id: number; buffer?: SharedArrayBuffer; kind?: string };
      if (msg.buffer === undefined) buffers.delete(msg.id);
      else buffers.set(msg.id, msg.kind === 'i8' ? new Int8Array(msg.buffer) : new Float32Array(msg.buffer));
    }
  };
  const f32 = (id: number): Float32Array => {
    const b = buffers.get(id);
    if (!(b instanceof Float32Array)) throw new Error(`kernel worker: unknown float buffer ${id}`);
    return b;
  };
  // Read the generation before announcing readiness: the main thread dispatches only after that.
  let seen = Atomics.load(ctrl, 0);
  Atomics.add(ctrl, 2, 1);
  Atomics.notify(ctrl, 2);
  for (;;) {
    Atomics.wait(ctrl, 0, seen);
    const gen = Atomics.load(ctrl, 0);
    if (gen === seen) continue;
    seen = gen;
    if (Atomics.load(ctrl, 4) !== 0) return;
    try {
      drain();
      const op = ctrl[slot]!;
      if (op === 3 || op === 4) {
        // The kernel's arguments in order: 11 for NT, 12 for NN.
        if (!simd) throw new Error('kernel worker: no SIMD kernels');
        const args = Array.from(ctrl.subarray(slot + 1, slot + (op === 3 ? 12 : 13)));
        (op === 3 ? simd.matmulNT : simd.matmulNN)(...args);
      } else if (op === 1 || op === 2) {
        const out = f32(ctrl[slot + 1]!);
        const x = f32(ctrl[slot + 4]!);
        if (op === 1) {
          kernels.nt(
            out,
            ctrl[slot + 2]!,
            ctrl[slot + 3]!,
            x,
            ctrl[slot + 5]!,
            f32(ctrl[slot + 6]!),
            ctrl[slot + 7]!,
            ctrl[slot + 10]!,
            ctrl[slot + 11]!,
            ctrl[slot + 12]!,
            ctrl[slot + 13]!,
            ctrl[slot + 14]!,
          );
        } else {
          const q = buffers.get(ctrl[slot + 6]!);
          if (!(q instanceof Int8Array)) throw new Error('kernel worker: unknown quant buffer');
          kernels.q8(
            out,
            ctrl[slot + 2]!,
            ctrl[slot + 3]!,
            x,
            ctrl[slot + 5]!,
            q,
            ctrl[slot + 7]!,
            f32(ctrl[slot + 8]!),
            ctrl[slot + 9]!,
            ctrl[slot + 10]!,
            ctrl[slot + 11]!,
            ctrl[slot + 12]!,
            ctrl[slot + 13]!,
            ctrl[slot + 14]!,
          );
        }
      }
    } catch (error) {
      // A bug, not an input problem (inputs are checked on the main thread): say what it was.
      console.error('kernel worker:', error);
      Atomics.store(ctrl, 3, 1);
    }
    if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
  }
}

/**
 * The worker source: the kernels and the loop, as text. `__name` is defined because tsx (esbuild with
 * keepNames) wraps nested functions in calls to a helper that only exists in the bundled module.
 */
function workerSource(): string {
  return [
    "'use strict';",
    'var __name = (f) => f;',
    kernelMatmulNT.toString(),
    kernelMatmulNTQ8.toString(),
    `(${workerMain.toString()})(require('node:worker_threads'), { nt: ${kernelMatmulNT.name}, q8: ${kernelMatmulNTQ8.name} });`,
  ].join('\n');
}

/** One operand of a dispatched product: a shared buffer and the element offset into it. */
interface Operand {
  readonly array: SharedArray;
}

export interface MatmulTask {
  readonly out: Float32Array;
  readonly outOff: number;
  readonly ldo: number;
  readonly x: Float32Array;
  readonly xOff: number;
  readonly rows: number;
  readonly depth: number;
  readonly n: number;
  readonly accumulate: boolean;
  /** float32 weights, or int8 quants with their scales. */
  readonly w: Float32Array | { quants: Int8Array; scales: Float32Array };
}

/** A product over operands staged in the SIMD runtime's memory (see simd-matmul.ts). */
export interface SimdMatmulTask {
  readonly kernel: 'nt' | 'nn';
  /** The kernel's arguments before n0: (out, ldo, x, ldx, w, ldw, M, K) or (out, ldo, x, xsm, xsk, b, ldb, M, K). */
  readonly args: readonly number[];
  readonly n: number;
  readonly accumulate: boolean;
}

export class KernelPool {
  private readonly control = new SharedArrayBuffer(4 * (SLOT_BASE + SLOT_SIZE * MAX_WORKERS));
  private readonly ctrl = new Int32Array(this.control);
  private readonly workers: Worker[] = [];
  private readonly ids = new WeakMap<ArrayBufferLike, number>();
  private nextId = 1;
  private readonly released = new FinalizationRegistry<number>((id) => {
    for (const worker of this.workers) worker.postMessage({ id });
  });

  private readonly simd: SimdRuntime | undefined = simdRuntime();

  constructor(readonly workerCount: number) {
    const source = workerSource();
    const simd = this.simd ? { module: this.simd.module, memory: this.simd.memory } : undefined;
    for (let index = 0; index < workerCount; index++) {
      const worker = new Worker(source, {
        eval: true,
        // The source is plain JavaScript: no loader (tsx) needs to boot in the worker.
        execArgv: [],
        workerData: { control: this.control, index, simd },
      });
      // Workers never hold the process open: they only ever run inside a synchronous dispatch.
      worker.unref();
      worker.on('error', () => Atomics.store(this.ctrl, FAILED, 1));
      this.workers.push(worker);
    }
  }

  get ready(): boolean {
    return Atomics.load(this.ctrl, READY) === this.workerCount;
  }

  /** Waits (blocking, up to `timeoutMs`) until every worker has booted. */
  waitReady(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ready = Atomics.load(this.ctrl, READY);
      if (ready === this.workerCount) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctrl, READY, ready, left);
    }
  }

  /**
   * Splits the task's n output columns between the workers and the main thread (which takes the
   * first share) and returns when all are done. Every operand must be SharedArrayBuffer-backed.
   */
  matmul(task: MatmulTask): void {
    const threads = this.workerCount + 1;
    // Shares in multiples of 8 columns, so tiles never straddle two threads.
    const share = Math.ceil(task.n / threads / 8) * 8;
    const out = this.idOf(task.out);
    const x = this.idOf(task.x);
    const quantised = !(task.w instanceof Float32Array);
    const w = task.w instanceof Float32Array ? this.idOf(task.w) : this.idOf(task.w.quants);
    const d = task.w instanceof Float32Array ? 0 : this.idOf(task.w.scales);
    for (let i = 0; i < this.workerCount; i++) {
      const base = SLOT_BASE + i * SLOT_SIZE;
      const n0 = Math.min(task.n, (i + 1) * share);
      const n1 = Math.min(task.n, (i + 2) * share);
      const slot = this.ctrl;
      slot[base + OP] = n1 > n0 ? (quantised ? OP_Q8 : OP_F32) : 0;
      slot[base + OUT] = out;
      slot[base + OUT_OFF] = task.outOff;
      slot[base + LDO] = task.ldo;
      slot[base + X] = x;
      slot[base + X_OFF] = task.xOff;
      slot[base + W] = w;
      slot[base + W_OFF] = task.w instanceof Float32Array ? task.w.byteOffset >> 2 : task.w.quants.byteOffset;
      slot[base + D] = d;
      slot[base + D_OFF] = task.w instanceof Float32Array ? 0 : task.w.scales.byteOffset >> 2;
      slot[base + ROWS] = task.rows;
      slot[base + DEPTH] = task.depth;
      slot[base + N0] = n0;
      slot[base + N1] = n1;
      slot[base + ACC] = task.accumulate ? 1 : 0;
    }
    this.wake();

    const mine = Math.min(task.n, share);
    const acc = task.accumulate ? 1 : 0;
    if (task.w instanceof Float32Array) {
      const { out: o, outOff, ldo, x: xs, xOff, rows, depth } = task;
      const wFull = new Float32Array(task.w.buffer);
      kernelMatmulNT(o, outOff, ldo, xs, xOff, wFull, task.w.byteOffset >> 2, rows, depth, 0, mine, acc);
    } else {
      const q = new Int8Array(task.w.quants.buffer);
      const s = new Float32Array(task.w.scales.buffer);
      kernelMatmulNTQ8(
        task.out,
        task.outOff,
        task.ldo,
        task.x,
        task.xOff,
        q,
        task.w.quants.byteOffset,
        s,
        task.w.scales.byteOffset >> 2,
        task.rows,
        task.depth,
        0,
        mine,
        acc,
      );
    }
    this.join();
  }

  /** The same split for a SIMD kernel, over the runtime's staged operands. */
  simdMatmul(task: SimdMatmulTask): void {
    const simd = this.simd;
    if (!simd) throw new Error('kernel pool: WebAssembly SIMD is not available');
    const share = Math.ceil(task.n / (this.workerCount + 1) / 8) * 8;
    const acc = task.accumulate ? 1 : 0;
    for (let i = 0; i < this.workerCount; i++) {
      const base = SLOT_BASE + i * SLOT_SIZE;
      const n0 = Math.min(task.n, (i + 1) * share);
      const n1 = Math.min(task.n, (i + 2) * share);
      this.ctrl[base + OP] = n1 > n0 ? (task.kernel === 'nt' ? OP_SIMD_NT : OP_SIMD_NN) : 0;
      this.ctrl.set([...task.args, n0, n1, acc], base + 1);
    }
    this.wake();
    const mine = Math.min(task.n, share);
    if (mine > 0) {
      const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = task.args as number[];
      if (task.kernel === 'nt') simd.matmulNT(a0!, a1!, a2!, a3!, a4!, a5!, a6!, a7!, 0, mine, acc);
      else simd.matmulNN(a0!, a1!, a2!, a3!, a4!, a5!, a6!, a7!, a8!, 0, mine, acc);
    }
    this.join();
  }

  /** Starts the dispatch whose tasks are in the slots. */
  private wake(): void {
    Atomics.store(this.ctrl, FAILED, 0);
    Atomics.store(this.ctrl, PENDING, this.workerCount);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
  }

  /** Waits until every worker has finished its share of the dispatch. */
  private join(): void {
    for (;;) {
      const pending = Atomics.load(this.ctrl, PENDING);
      if (pending === 0) break;
      if (Atomics.wait(this.ctrl, PENDING, pending, DISPATCH_TIMEOUT_MS) === 'timed-out') {
        throw new Error('kernel pool: a worker did not finish its share in time (did it crash?)');
      }
    }
    if (Atomics.load(this.ctrl, FAILED) !== 0) {
      throw new Error('kernel pool: a worker failed while computing a matrix product');
    }
  }

  terminate(): Promise<void> {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    return Promise.all(this.workers.map((w) => w.terminate())).then(() => undefined);
  }

  /** The buffer's id in the workers, posting it to them the first time. */
  private idOf(array: Operand['array']): number {
    const buffer = array.buffer;
    if (!(buffer instanceof SharedArrayBuffer)) {
      throw new Error('kernel pool: operands must be backed by a SharedArrayBuffer');
    }
    let id = this.ids.get(buffer);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(buffer, id);
      const kind = array instanceof Int8Array ? 'i8' : 'f32';
      for (const worker of this.workers) worker.postMessage({ id, buffer, kind });
      this.released.register(buffer, id);
    }
    return id;
  }
}

export interface KernelSettings {
  /** Threads for large products, the main thread included; default: the machine's cores (max 16). */
  readonly threads?: number;
  /** Products smaller than this many multiply-adds stay on the main thread (dispatch costs more). */
  readonly parallelMinMacs?: number;
  /**
   * Float32 products in WebAssembly SIMD where the platform has it (default true); false keeps them
   * in plain JavaScript, which accumulates in float64 (slower, for comparisons).
   */
  readonly simd?: boolean;
}

let settings: Required<KernelSettings> = {
  threads: Math.min(MAX_WORKERS + 1, Math.max(1, availableParallelism())),
  parallelMinMacs: 1 << 17,
  simd: true,
};
let pool: KernelPool | undefined;

/** Changes the thread count or threshold; an existing pool of another size is shut down. */
export function configureKernels(next: KernelSettings): void {
  const threads = next.threads ?? settings.threads;
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WORKERS + 1) {
    throw new RangeError(`kernel threads must be an integer from 1 to ${MAX_WORKERS + 1}, got ${threads}`);
  }
  settings = {
    threads,
    parallelMinMacs: next.parallelMinMacs ?? settings.parallelMinMacs,
    simd: next.simd ?? settings.simd,
  };
  if (pool && pool.workerCount !== threads - 1) {
    void pool.terminate();
    pool = undefined;
  }
}

export function kernelSettings(): Required<KernelSettings> {
  return settings;
}

/**
 * The pool if the product is worth splitting (at least `minMacs` multiply-adds, by default the
 * setting) and the workers are up; starts them on first need.
 */
export function poolFor(macs: number, minMacs = settings.parallelMinMacs): KernelPool | undefined {
  if (settings.threads < 2 || macs < minMacs) return undefined;
  pool ??= new KernelPool(settings.threads - 1);
  return pool.ready ? pool : undefined;
}

/** Starts the workers now and waits (blocking) until they are up; for benchmarks and tests. */
export function startKernelPool(timeoutMs = 10_000): boolean {
  if (settings.threads < 2) return false;
  pool ??= new KernelPool(settings.threads - 1);
  return pool.waitReady(timeoutMs);
}

export async function stopKernelPool(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.terminate();
}
