import type { EVMResult, InterpreterStep, Message } from '@ethereumjs/evm';
import { Address, bytesToHex, createAddressFromBigInt } from '@ethereumjs/util';
import type { VM } from '@ethereumjs/vm';
import { decodeRevertReason } from '../revert-reason.ts';
import type { TracedRun, Tracer } from './tracer.ts';
import { DEFAULT_TRACE_TIMEOUT_MS, Deadline, evmEvents, gethVmError, settleEvent } from './tracer.ts';
import { quantity } from '../../rpc/hex.ts';

export interface CallTracerConfig {
  onlyTopCall?: boolean;
  withLog?: boolean;
  timeoutMs?: number;
}

export type CallType =
  'CALL' | 'STATICCALL' | 'DELEGATECALL' | 'CALLCODE' | 'CREATE' | 'CREATE2' | 'SELFDESTRUCT';

export interface CallLog {
  address: string;
  topics: string[];
  data: string;
  /** How many sub-calls of the frame came before the log (geth PR 28389). */
  position: string;
}

/**
 * One call frame in geth's JSON layout (eth/tracers/native: callFrame and its generated
 * MarshalJSON), where `type` comes last; absent optional fields are left out, as omitempty does.
 */
export interface CallFrameJson {
  from: string;
  gas: string;
  gasUsed: string;
  to?: string;
  input: string;
  output?: string;
  error?: string;
  revertReason?: string;
  calls?: CallFrameJson[];
  logs?: CallLog[];
  value?: string;
  type: CallType;
}

interface Frame {
  type: CallType;
  from: Address;
  to: Address | undefined;
  input: Uint8Array;
  gas: bigint;
  gasUsed: bigint;
  value: bigint | undefined;
  output: Uint8Array | undefined;
  error: string | undefined;
  revertReason: string | undefined;
  calls: Frame[];
  logs: CallLog[];
}

/**
 * Something a step does that only counts if the opcode then succeeds (a LOG, a SELFDESTRUCT):
 * ethereumjs reports a step before charging its gas, geth reports these effects after.
 */
interface PendingEffect {
  frame: Frame;
  apply(): void;
}

const CALL_TYPES = new Set<string>(['CALL', 'STATICCALL', 'DELEGATECALL', 'CALLCODE', 'CREATE', 'CREATE2']);

interface OpenFrame {
  /** undefined where `onlyTopCall` leaves the frame out. */
  frame: Frame | undefined;
  /** Whether this frame's steps are watched (see `needsSteps`). */
  watched: boolean;
}

type StepListener = (step: InterpreterStep, resolve?: () => void) => void;

/**
 * geth's callTracer: the tree of calls a transaction makes, with gas, input, output and errors.
 *
 * Messages give almost everything; steps are watched only in frames that need them, because
 * ethereumjs copies the stack and memory for every step while anyone listens, which makes a
 * memory-hungry loop quadratic. A frame is watched when its code can SELFDESTRUCT, when logs are
 * wanted and its code can LOG, and when it is static with CALLs in its code: there only the
 * opcode tells a CALL from a STATICCALL.
 */
export class CallTracer implements Tracer {
  private readonly open: OpenFrame[] = [];
  private root: Frame | undefined;
  private lastOp: { name: string; depth: number } | undefined;
  private pending: PendingEffect | undefined;
  private failure: unknown;
  /** Started when the traced transaction starts, as geth's timeout is for that transaction alone. */
  private deadline: Deadline | undefined;
  private vm: VM | undefined;
  private watching = false;

  constructor(private readonly config: CallTracerConfig = {}) {}

  attach(vm: VM): void {
    this.deadline = new Deadline(this.config.timeoutMs ?? DEFAULT_TRACE_TIMEOUT_MS);
    this.vm = vm;
    const events = evmEvents(vm);
    // Two parameters make ethereumjs wait for `resolve`: entering reads the callee's code first.
    events.on('beforeMessage', (message: Message, resolve?: () => void) =>
      settleEvent(this.enter(message), resolve, this.fail),
    );
    events.on('afterMessage', (result: EVMResult) => this.exit(result));
  }

  result(run: TracedRun): CallFrameJson {
    if (this.failure !== undefined) throw this.failure;
    const root = this.root;
    if (!root) throw new Error('the traced transaction started no call');
    // The top frame reports the transaction's gas limit and its receipt's gas used (after refunds).
    root.gas = run.gasLimit;
    root.gasUsed = run.result.totalGasSpent;
    if (this.config.withLog) clearFailedLogs(root, false);
    return toJson(root);
  }

  private readonly onStep: StepListener = (step, resolve) => settleEvent(this.step(step), resolve, this.fail);

  private readonly fail = (error: unknown): void => {
    this.failure = error;
  };

  /** Subscribes to steps while the running frame is watched, and only then. */
  private watch(on: boolean): void {
    if (on === this.watching || !this.vm) return;
    const events = evmEvents(this.vm);
    if (on) events.on('step', this.onStep);
    else events.off('step', this.onStep);
    this.watching = on;
  }

  private step(step: InterpreterStep): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    this.deadline?.check();
    // The previous step did not halt its frame, so its effect happened.
    this.settle(true);
    const op = step.opcode.name;
    this.lastOp = { name: op, depth: step.depth };
    const frame = this.open.at(-1)?.frame;
    if (!frame) return undefined;
    if (this.config.withLog && op.startsWith('LOG')) {
      const log = logOf(step, frame.calls.length);
      this.pending = { frame, apply: () => frame.logs.push(log) };
    } else if (op === 'SELFDESTRUCT' && !this.config.onlyTopCall) {
      return this.selfdestruct(step, frame);
    }
    return undefined;
  }

  /** geth adds a SELFDESTRUCT frame carrying the balance the contract hands to its beneficiary. */
  private async selfdestruct(step: InterpreterStep, frame: Frame): Promise<void> {
    const beneficiary = createAddressFromBigInt(step.stack.at(-1) ?? 0n);
    const balance = (await step.stateManager.getAccount(step.address))?.balance ?? 0n;
    const call = newFrame('SELFDESTRUCT', step.address, beneficiary, new Uint8Array(), 0n, balance);
    this.pending = { frame, apply: () => frame.calls.push(call) };
  }

  private settle(happened: boolean): void {
    if (happened) this.pending?.apply();
    this.pending = undefined;
  }

  private async enter(message: Message): Promise<void> {
    this.deadline?.check();
    const parent = this.open.at(-1);
    const frame = message.depth === 0 || !this.config.onlyTopCall ? this.frameOf(message, parent) : undefined;
    if (message.depth === 0) this.root = frame;
    const watched = await this.needsSteps(message, frame);
    this.open.push({ frame, watched });
    this.lastOp = undefined;
    this.watch(watched);
  }

  private frameOf(message: Message, parent: OpenFrame | undefined): Frame {
    if (!parent) {
      const type = message.to ? 'CALL' : 'CREATE';
      return newFrame(type, message.caller, message.to, message.data, 0n, message.value);
    }
    const type = this.callType(message, parent);
    // ethereumjs runs DELEGATECALL and CALLCODE as a message to the caller itself with foreign code;
    // geth reports them from the calling contract to the code's address.
    const from = type === 'DELEGATECALL' ? message.to! : message.caller;
    const to = type === 'DELEGATECALL' || type === 'CALLCODE' ? message.codeAddress : message.to;
    const value = type === 'STATICCALL' ? undefined : message.value;
    return newFrame(type, from, to, message.data, message.gasLimit, value);
  }

  /** The opcode that made `message`, from the parent's latest step where it is watched. */
  private callType(message: Message, parent: OpenFrame): CallType {
    const op = this.lastOp;
    const fromParent = parent.watched && op?.depth === message.depth - 1 && CALL_TYPES.has(op.name);
    if (fromParent) return op.name as CallType;
    if (message.to === undefined) return message.salt ? 'CREATE2' : 'CREATE';
    if (message.delegatecall) return 'DELEGATECALL';
    // Only CALLCODE names code apart from the callee (DELEGATECALL aside).
    if (message._codeAddress !== undefined) return 'CALLCODE';
    // A static parent's calls are STATICCALLs unless its code has CALL, and then it is watched.
    return message.isStatic ? 'STATICCALL' : 'CALL';
  }

  /** Whether the frame's code has opcodes whose steps this tracer must see. */
  private async needsSteps(message: Message, frame: Frame | undefined): Promise<boolean> {
    const wantLogs = this.config.withLog === true && frame !== undefined;
    const wantSelfdestructs = !this.config.onlyTopCall;
    if (!wantLogs && !wantSelfdestructs) return false;
    const ops = scanOpcodes(await this.codeOf(message));
    // In a static frame neither LOG nor SELFDESTRUCT can succeed, but a CALL looks like a STATICCALL.
    if (message.isStatic) return !this.config.onlyTopCall && ops.call;
    return (wantLogs && ops.log) || (wantSelfdestructs && ops.selfdestruct);
  }

  /** The code a message will run, resolved the way ethereumjs does (precompiles, EIP-7702). */
  private async codeOf(message: Message): Promise<Uint8Array> {
    if (message.code instanceof Uint8Array) return message.code;
    if (message.to === undefined) return message.data;
    const evm = this.vm!.evm;
    if (evm.getPrecompile?.(message.codeAddress)) return new Uint8Array();
    const code = await evm.stateManager.getCode(message.codeAddress);
    if (code.length === 23 && code[0] === 0xef && code[1] === 0x01 && code[2] === 0x00) {
      return evm.stateManager.getCode(new Address(code.slice(3)));
    }
    return code;
  }

  private exit(result: EVMResult): void {
    if (this.failure !== undefined) throw this.failure;
    const open = this.open.pop();
    const frame = open?.frame;
    const exec = result.execResult;
    const error = exec.exceptionError;
    if (this.pending && this.pending.frame === frame) this.settle(!error);
    const parent = this.open.at(-1);
    this.watch(parent?.watched ?? false);
    const ownOp = open?.watched && this.lastOp?.depth === this.open.length ? this.lastOp.name : undefined;
    this.lastOp = undefined;
    if (!frame) return;
    frame.gasUsed = exec.executionGasUsed;
    if (frame.type === 'CREATE' || frame.type === 'CREATE2') frame.to = result.createdAddress;
    if (!error) {
      frame.output = exec.returnValue;
    } else {
      frame.error = gethVmError(error, ownOp);
      if (frame.type === 'CREATE' || frame.type === 'CREATE2') frame.to = undefined;
      if (error.error === 'revert' && exec.returnValue.length > 0) {
        frame.output = exec.returnValue;
        if (exec.returnValue.length >= 4) frame.revertReason = decodeRevertReason(exec.returnValue);
      }
    }
    if (parent?.frame) parent.frame.calls.push(frame);
  }
}

/**
 * Which opcodes of interest `code` holds, skipping PUSH data and the compiler's metadata. The scan
 * may over-approximate (data read as code), which costs speed, never correctness.
 */
function scanOpcodes(code: Uint8Array): { log: boolean; selfdestruct: boolean; call: boolean } {
  const ops = { log: false, selfdestruct: false, call: false };
  const end = code.length - metadataLength(code);
  for (let pc = 0; pc < end; pc++) {
    const op = code[pc]!;
    if (op >= 0x60 && op <= 0x7f) pc += op - 0x5f;
    else if (op >= 0xa0 && op <= 0xa4) ops.log = true;
    else if (op === 0xff) ops.selfdestruct = true;
    else if (op === 0xf1 || op === 0xf2) ops.call = true;
  }
  return ops;
}

/**
 * solc ends runtime code with CBOR metadata and its 2-byte length; the metadata's hash bytes would
 * otherwise read as opcodes (often as SELFDESTRUCT).
 */
function metadataLength(code: Uint8Array): number {
  if (code.length < 4) return 0;
  const length = (code[code.length - 2]! << 8) | code[code.length - 1]!;
  const start = code.length - 2 - length;
  // A CBOR map whose first key is a text string ("ipfs", "bzzr0", "solc") opens solc's metadata.
  const isMetadata =
    start >= 0 &&
    code[start]! >= 0xa1 &&
    code[start]! <= 0xb7 &&
    code[start + 1]! >= 0x60 &&
    code[start + 1]! <= 0x77;
  return isMetadata ? length + 2 : 0;
}

function newFrame(
  type: CallType,
  from: Address,
  to: Address | undefined,
  input: Uint8Array,
  gas: bigint,
  value: bigint | undefined,
): Frame {
  return {
    type,
    from,
    to,
    // A copy: ethereumjs hands a nested call its input as a view of the caller's memory, which later steps overwrite.
    input: input.slice(),
    gas,
    gasUsed: 0n,
    value,
    output: undefined,
    error: undefined,
    revertReason: undefined,
    calls: [],
    logs: [],
  };
}

/** A LOGn's address, topics and data, read off the step before it executes. */
function logOf(step: InterpreterStep, position: number): CallLog {
  const stack = step.stack;
  const top = stack.length - 1;
  const offset = Number(stack[top] ?? 0n);
  const size = Number(stack[top - 1] ?? 0n);
  const count = Number(step.opcode.name.slice(3));
  const topics: string[] = [];
  for (let i = 0; i < count; i++)
    topics.push(`0x${(stack[top - 2 - i] ?? 0n).toString(16).padStart(64, '0')}`);
  // The step's memory predates the LOG's own expansion; whatever lies beyond it reads as zeros.
  const data = new Uint8Array(size);
  if (offset < step.memory.length)
    data.set(step.memory.subarray(offset, Math.min(offset + size, step.memory.length)));
  return { address: step.address.toString(), topics, data: bytesToHex(data), position: quantity(position) };
}

/** geth keeps no logs of frames that failed, nor of anything they called. */
function clearFailedLogs(frame: Frame, parentFailed: boolean): void {
  const failed = parentFailed || frame.error !== undefined;
  if (failed) frame.logs = [];
  for (const call of frame.calls) clearFailedLogs(call, failed);
}

function toJson(frame: Frame): CallFrameJson {
  const json: CallFrameJson = {
    from: frame.from.toString(),
    gas: quantity(frame.gas),
    gasUsed: quantity(frame.gasUsed),
    ...(frame.to && { to: frame.to.toString() }),
    input: bytesToHex(frame.input),
    ...(frame.output && frame.output.length > 0 && { output: bytesToHex(frame.output) }),
    ...(frame.error !== undefined && { error: frame.error }),
    ...(frame.revertReason && { revertReason: frame.revertReason }),
    ...(frame.calls.length > 0 && { calls: frame.calls.map(toJson) }),
    ...(frame.logs.length > 0 && { logs: frame.logs }),
    ...(frame.value !== undefined && { value: quantity(frame.value) }),
    type: frame.type,
  };
  return json;
}
