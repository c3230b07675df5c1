import { EVMError } from '@ethereumjs/evm';
import type { VM } from '@ethereumjs/vm';

/** geth's RPCEVMTimeout: how long one eth_call-style run may take. */
export const CALL_TIMEOUT_MS = 5_000;

/** geth's words for a run stopped by its deadline. */
export function timeoutMessage(ms: number): string {
  return `execution aborted (timeout = ${ms / 1000}s)`;
}

export const CALL_TIMEOUT_MESSAGE = timeoutMessage(CALL_TIMEOUT_MS);

export function isTimeoutMessage(message: string): boolean {
  return message.startsWith('execution aborted (timeout = ');
}

const JUMP = 0x56;
const JUMPI = 0x57;

interface OpEntry {
  opHandler: (...args: unknown[]) => unknown;
}

/**
 * Makes `vm` abort after `ms`. ethereumjs has no clock of its own; every loop jumps, so JUMP and
 * JUMPI check the deadline (cheaper than a per-step listener, which makes ethereumjs copy the
 * stack and memory on every instruction). The run ends as an exceptional halt with geth's message.
 */
export function abortAfter(vm: VM, ms = CALL_TIMEOUT_MS): void {
  const deadline = Date.now() + ms;
  const message = timeoutMessage(ms);
  const evm = vm.evm as unknown as { _opcodeMap: OpEntry[] };
  const map = [...evm._opcodeMap];
  for (const op of [JUMP, JUMPI]) {
    const entry = map[op]!;
    map[op] = {
      ...entry,
      opHandler: (...args: unknown[]) => {
        if (Date.now() > deadline) throw new EVMError(message as never);
        return entry.opHandler(...args);
      },
    };
  }
  evm._opcodeMap = map;
}
