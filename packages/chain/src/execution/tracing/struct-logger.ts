import type { EVMResult, InterpreterStep, Message } from '@ethereumjs/evm';
import { bigIntToBytes, bytesToHex, setLengthLeft } from '@ethereumjs/util';
import type { VM } from '@ethereumjs/vm';
import type { TracedRun, Tracer } from './tracer.ts';
import {
  DEFAULT_TRACE_TIMEOUT_MS,
  Deadline,
  TraceAbortedError,
  evmEvents,
  gethVmError,
  settleEvent,
} from './tracer.ts';

export interface StructLoggerConfig {
  enableMemory?: boolean;
  disableStack?: boolean;
  disableStorage?: boolean;
  enableReturnData?: boolean;
  /** geth's `limit`: recording stops once the encoded logs exceed this many bytes; 0 means no limit. */
  limit?: number;
  timeoutMs?: number;
}

/**
 * One step, in geth's legacy JSON layout (eth/tracers/logger: structLogLegacy). Every key is set
 * when the object is made, undefined when absent, so JSON keeps geth's field order even for
 * fields filled in later (`error`, `storage`), and drops the absent ones as geth's omitempty does.
 */
export interface StructLog {
  pc: number;
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  error: string | undefined;
  stack: string[] | undefined;
  returnData: string | undefined;
  memory: string[] | undefined;
  storage: Record<string, string> | undefined;
  refund: number | undefined;
}

export interface StructLoggerResult {
  gas: number;
  failed: boolean;
  /** Hex with 0x, as geth has written it since it became hexutil.Bytes (older geth: bare hex). */
  returnValue: string;
  structLogs: StructLog[];
}

/**
 * The node's own ceiling on a struct-log trace, in encoded bytes, whatever `limit` asks for: geth
 * has none, but a long loop with memory enabled would otherwise take the whole heap.
 */
export const MAX_STRUCT_LOG_BYTES = 64 * 1024 * 1024;

const CALL_OPS = new Set(['CALL', 'CALLCODE', 'DELEGATECALL', 'STATICCALL']);
/** Gas a value-carrying CALL/CALLCODE adds for free to what the callee gets (Frontier onwards). */
const CALL_STIPEND = 2300n;

interface Frame {
  isCreate: boolean;
  /** The return data buffer as RETURNDATACOPY sees it: the output of this frame's last call. */
  returnData: Uint8Array;
}

/** geth's default tracer: one log per executed opcode, with stack, memory and storage as asked. */
export class StructLogger implements Tracer {
  private readonly logs: StructLog[] = [];
  private size = 0;
  /** The log of the latest step, while it is the latest: a failure or a call's gas lands in it. */
  private last: StructLog | undefined;
  private readonly frames: Frame[] = [];
  /** Slots each contract has read or written so far, as geth reports them (per address, not per frame). */
  private readonly storage = new Map<string, Map<string, string>>();
  private failure: unknown;
  /** Started when the traced transaction starts, as geth's timeout is for that transaction alone. */
  private deadline: Deadline | undefined;

  constructor(private readonly config: StructLoggerConfig = {}) {}

  attach(vm: VM): void {
    this.deadline = new Deadline(this.config.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS);
    const events = evmEvents(vm);
    // Two parameters make ethereumjs wait for `resolve`, which SLOAD needs to read the slot first.
    events.on('step', (step: InterpreterStep, resolve?: () => void) =>
      settleEvent(this.step(step), resolve, (error) => (this.failure = error)),
    );
    events.on('beforeMessage', (message: Message) => this.enter(message));
    events.on('afterMessage', (result: EVMResult) => this.exit(result));
  }

  result(run: TracedRun): StructLoggerResult {
    if (this.failure !== undefined) throw this.failure;
    const exec = run.result.execResult;
    const failed = exec.exceptionError !== undefined;
    // geth: the output when successful, the revert data when reverted, nothing for other failures.
    const output = failed && exec.exceptionError?.error !== 'revert' ? new Uint8Array() : exec.returnValue;
    return {
      gas: Number(run.result.totalGasSpent),
      failed,
      returnValue: bytesToHex(output),
      structLogs: this.logs,
    };
  }

  /** Records `step`; returns a promise when the record still waits for a storage read. */
  private step(step: InterpreterStep): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    this.deadline?.check();
    this.last = undefined;
    const limit = this.config.limit ?? 0;
    if (limit > 0 && this.size > limit) return undefined;
    const log: StructLog = {
      pc: step.pc,
      op: step.opcode.name,
      gas: Number(step.gasLeft),
      gasCost: Number(step.opcode.dynamicFee ?? BigInt(step.opcode.fee)),
      depth: step.depth + 1,
      error: undefined,
      stack: this.config.disableStack ? undefined : step.stack.map((v) => `0x${v.toString(16)}`),
      returnData: this.returnData(),
      memory: this.config.enableMemory && step.memory.length > 0 ? memoryWords(step.memory) : undefined,
      storage: undefined,
      refund: step.gasRefund > 0n ? Number(step.gasRefund) : undefined,
    };
    this.last = log;
    this.logs.push(log);
    const top = step.stack.length - 1;
    if (this.config.disableStorage || top < 0) return this.account(log);
    if (log.op === 'SSTORE' && top >= 1) {
      log.storage = this.touch(step, step.stack[top]!, word(step.stack[top - 1]!));
    } else if (log.op === 'SLOAD') {
      // geth reports the value the slot holds when SLOAD runs, so it is read before the step executes.
      const key = step.stack[top]!;
      return step.stateManager
        .getStorage(step.address, setLengthLeft(bigIntToBytes(key), 32))
        .then((value) => {
          log.storage = this.touch(step, key, bytesToHex(setLengthLeft(value, 32)).slice(2));
          this.account(log);
        });
    }
    return this.account(log);
  }

  /** Adds `log` to the encoded size: stops recording at `limit`, aborts at the node's ceiling. */
  private account(log: StructLog): undefined {
    this.size += JSON.stringify(log).length + 1;
    if (this.size > MAX_STRUCT_LOG_BYTES) {
      throw new TraceAbortedError(
        `trace exceeds the node's limit of ${MAX_STRUCT_LOG_BYTES} bytes of struct logs; pass a smaller "limit" or disable stack/storage`,
      );
    }
    return undefined;
  }

  private touch(step: InterpreterStep, key: bigint, value: string): Record<string, string> {
    const address = step.address.toString();
    let slots = this.storage.get(address);
    if (!slots) this.storage.set(address, (slots = new Map()));
    slots.set(word(key), value);
    // Go writes map keys sorted.
    return Object.fromEntries([...slots].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  private returnData(): string | undefined {
    if (!this.config.enableReturnData) return undefined;
    const data = this.frames.at(-1)?.returnData;
    return data && data.length > 0 ? bytesToHex(data) : undefined;
  }

  private enter(message: Message): void {
    const last = this.last;
    // geth counts the gas a call hands over as part of the CALL's cost; ethereumjs does not.
    if (message.depth > 0 && last && last.depth === message.depth && CALL_OPS.has(last.op)) {
      const stipend =
        (last.op === 'CALL' || last.op === 'CALLCODE') && message.value > 0n ? CALL_STIPEND : 0n;
      last.gasCost += Number(message.gasLimit - stipend);
    }
    this.frames.push({ isCreate: message.to === undefined, returnData: new Uint8Array() });
  }

  private exit(result: EVMResult): void {
    const frame = this.frames.pop();
    const depth = this.frames.length + 1;
    const error = result.execResult.exceptionError;
    // A frame that halts exceptionally stops at its latest step, which geth marks with the error.
    if (error && error.error !== 'revert' && this.last?.depth === depth) {
      this.last.error = gethVmError(error, this.last.op);
    }
    const parent = this.frames.at(-1);
    if (!parent) return;
    // RETURNDATACOPY sees a call's output, or a failed creation's revert data; a creation's code stays out.
    parent.returnData = frame?.isCreate && !error ? new Uint8Array() : result.execResult.returnValue;
  }
}

function word(value: bigint): string {
  return value.toString(16).padStart(64, '0');
}

/** Memory as geth lists it: 32-byte words, hex without 0x. */
function memoryWords(memory: Uint8Array): string[] {
  const hex = Buffer.from(memory.buffer, memory.byteOffset, memory.byteLength).toString('hex');
  const words: string[] = [];
  for (let i = 0; i < hex.length; i += 64) words.push(hex.slice(i, i + 64));
  return words;
}
