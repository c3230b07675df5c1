/*
 * Just enough of the WebAssembly binary format (core spec 1.0 plus the fixed-width SIMD proposal,
 * "Binary Format" chapter) to assemble a few kernel functions from TypeScript, so no compiler or
 * toolchain is needed. A module here is one imported memory and some exported functions:
 *
 *   magic "\0asm", version 1, then the sections in their required order:
 *     1 type      one signature per function: 0x60 vec(param types) vec(result types)
 *     2 import    the memory: module name, field name, kind 0x02, limits (flags, min, max pages)
 *     3 function  each function's type index
 *     7 export    name, kind 0x00 (function), function index
 *    10 code      per function: byte size, vec(local groups), instructions, 0x0b (end)
 *
 * Every section is its id, its byte size (unsigned LEB128) and its contents; a vec is its count
 * (unsigned LEB128) then the items. Instructions are written with `FunctionBuilder`, which names
 * the few opcodes the kernels use (each with its code from the spec's instruction index).
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof V128;

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

export function signedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vec(items: readonly number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, contents: number[]): number[] {
  return [id, ...unsignedLeb(contents.length), ...contents];
}

/** Instructions of one function body, appended in order; locals are declared as they are needed. */
export class FunctionBuilder {
  readonly code: number[] = [];
  readonly localTypes: ValueType[] = [];

  constructor(
    readonly exportName: string,
    readonly params: readonly ValueType[],
  ) {}

  /** A fresh local of `type`; returns its index. */
  local(type: ValueType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  // Control (structured: every block, loop and if closes with end).
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...unsignedLeb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...unsignedLeb(depth));
  }

  // Locals.
  get(index: number): this {
    return this.op(0x20, ...unsignedLeb(index));
  }
  set(index: number): this {
    return this.op(0x21, ...unsignedLeb(index));
  }
  tee(index: number): this {
    return this.op(0x22, ...unsignedLeb(index));
  }

  // i32 arithmetic and comparisons (addresses are unsigned).
  i32Const(value: number): this {
    return this.op(0x41, ...signedLeb(value));
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32LeU(): this {
    return this.op(0x4d);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32DivU(): this {
    return this.op(0x6e);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  i32ShrU(): this {
    return this.op(0x76);
  }
  select(): this {
    return this.op(0x1b);
  }

  // f32 (memarg: alignment exponent 2, then the constant offset).
  f32Load(offset = 0): this {
    return this.op(0x2a, 2, ...unsignedLeb(offset));
  }
  f32Store(offset = 0): this {
    return this.op(0x38, 2, ...unsignedLeb(offset));
  }
  f32Const0(): this {
    return this.op(0x43, 0, 0, 0, 0);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Mul(): this {
    return this.op(0x94);
  }

  // v128 (SIMD proposal: prefix 0xfd, then the opcode as unsigned LEB128).
  v128Load(offset = 0): this {
    return this.op(0xfd, 0x00, 4, ...unsignedLeb(offset));
  }
  v128Store(offset = 0): this {
    return this.op(0xfd, 0x0b, 4, ...unsignedLeb(offset));
  }
  v128Zero(): this {
    return this.op(0xfd, 0x0c, ...new Array<number>(16).fill(0));
  }
  f32x4Splat(): this {
    return this.op(0xfd, 0x13);
  }
  f32x4ExtractLane(lane: number): this {
    return this.op(0xfd, 0x1f, lane);
  }
  f32x4Add(): this {
    return this.op(0xfd, ...unsignedLeb(0xe4));
  }
  f32x4Mul(): this {
    return this.op(0xfd, ...unsignedLeb(0xe6));
  }

  /** `while (cond) body`: cond leaves an i32 on the stack. */
  while(cond: () => void, body: () => void): this {
    this.block().loop();
    cond();
    this.i32Eqz().brIf(1);
    body();
    this.br(0).end().end();
    return this;
  }

  /** local[index] += step (i32). */
  increment(index: number, step: number): this {
    return this.get(index).i32Const(step).i32Add().set(index);
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly field: string;
  /** In 64 KiB pages. */
  readonly minPages: number;
  readonly maxPages: number;
  readonly shared: boolean;
}

/** The module's bytes: the memory import, then each function (no results), exported by name. */
export function assembleModule(memory: MemoryImport, functions: readonly FunctionBuilder[]): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec([])]);
  const limits = [
    memory.shared ? 0x03 : 0x01,
    ...unsignedLeb(memory.minPages),
    ...unsignedLeb(memory.maxPages),
  ];
  const imports = [[...name(memory.module), ...name(memory.field), 0x02, ...limits]];
  const bodies = functions.map((f) => {
    const locals = vec(f.localTypes.map((t) => [1, t]));
    const body = [...locals, ...f.code, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  });
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.exportName), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vec(bodies)),
  ]);
}
