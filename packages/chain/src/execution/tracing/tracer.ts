import type { EVMError } from '@ethereumjs/evm';
import type { RunTxResult, VM } from '@ethereumjs/vm';

/** What a tracer needs to know about the traced transaction once it has run. */
export interface TracedRun {
  /** The transaction's gas limit: geth reports it as the top call frame's `gas`. */
  gasLimit: bigint;
  result: RunTxResult;
}

/**
 * One geth-style tracer: it subscribes to the EVM's events right before the traced transaction
 * runs (and only then, so earlier transactions of the block replay at full speed), and turns what
 * it saw into the JSON-RPC result afterwards.
 */
export interface Tracer {
  attach(vm: VM): void;
  result(run: TracedRun): unknown;
}

/**
 * Stops a trace that outgrows what the node is willing to hold or spend. Thrown from an EVM event
 * handler it is not an EVM error, so ethereumjs lets it through and the (scratch) execution ends.
 */
export class TraceAbortedError extends Error {
  override readonly name = 'TraceAbortedError';
}

/**
 * Finishes an EVM event handler that ethereumjs awaits through `resolve` (listeners with two
 * parameters). An error cannot be thrown back into the EVM from there, so it goes to `fail`, and
 * the tracer reports it when asked for its result.
 */
export function settleEvent(
  work: Promise<unknown> | undefined,
  resolve: (() => void) | undefined,
  fail: (error: unknown) => void,
): void {
  if (!work) return resolve?.();
  work.then(
    () => resolve?.(),
    (error: unknown) => {
      fail(error);
      resolve?.();
    },
  );
}

/** geth's default for a single transaction's trace (eth/tracers: defaultTraceTimeout). */
export const DEFAULT_TRACE_TIMEOUT_MS = 5_000;

/** A wall-clock budget for one trace, checked from the step handler. */
export class Deadline {
  private readonly end: number;
  private steps = 0;

  constructor(timeoutMs: number) {
    this.end = Date.now() + timeoutMs;
  }

  /** Cheap enough for every step: the clock is read once every 256 calls. */
  check(): void {
    if ((++this.steps & 0xff) === 0 && Date.now() > this.end)
      throw new TraceAbortedError('execution timeout');
  }
}

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("5s", "1m30s", "500ms"), the format of geth's `timeout` trace option. */
export function parseGoDuration(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g))
    ms += Number(amount) * UNIT_MS[unit!]!;
  return ms;
}

// ethereumjs names EVM errors differently from geth; tracers report geth's wording (core/vm/errors.go).
const GETH_VM_ERRORS: Record<string, string> = {
  'out of gas': 'out of gas',
  'code store out of gas': 'contract creation code storage out of gas',
  'code size to deposit exceeds maximum code size': 'max code size exceeded',
  'invalid JUMP': 'invalid jump destination',
  revert: 'execution reverted',
  'static state change': 'write protection',
  'create collision': 'contract address collision',
  'insufficient balance': 'insufficient balance for transfer',
  'invalid bytecode deployed': 'invalid code: must not begin with 0xef',
  'initcode exceeds max initcode size': 'max initcode size exceeded',
  'value out of range': 'return data out of bounds',
};

/** The message geth's tracers give for `error`; `op` names the opcode that failed, when known. */
export function gethVmError(error: EVMError, op?: string): string {
  if (error.error === 'invalid opcode' && op !== undefined) return `invalid opcode: ${op}`;
  return GETH_VM_ERRORS[error.error] ?? error.error;
}

/** The EVM's event emitter; every VM this node creates has one, so its absence is a bug. */
export function evmEvents(vm: VM): NonNullable<VM['evm']['events']> {
  const events = vm.evm.events;
  if (!events) throw new Error('this EVM emits no events, so it cannot be traced');
  return events;
}
