import type { Block } from '@ethereumjs/block';
import { hexToBytes } from '@ethereumjs/util';
import { z } from 'zod';
import { runCall } from '../../execution/call.ts';
import { CallTracer } from '../../execution/tracing/call-tracer.ts';
import { StructLogger } from '../../execution/tracing/struct-logger.ts';
import { findMinedTx, traceTransaction } from '../../execution/tracing/trace-transaction.ts';
import type { Tracer } from '../../execution/tracing/tracer.ts';
import {
  DEFAULT_TRACE_TIMEOUT_MS,
  TraceAbortedError,
  parseGoDuration,
} from '../../execution/tracing/tracer.ts';
import { isTimeoutMessage } from '../../execution/call-deadline.ts';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { RpcError, serverError } from '../errors.ts';
import type { CallRequest } from '../params.ts';
import { blockRef, callRequest, hash, isPendingRef, stateOverrides } from '../params.ts';
import { RPC_GAS_CAP, gasFor } from './execution.ts';

// geth's TraceConfig (eth/tracers/api.go) with the struct logger's options inlined; like Go's JSON
// decoding, unknown fields are ignored. `reexec` is accepted and needs nothing: all state is kept.
const traceConfigFields = {
  tracer: z.string().optional(),
  tracerConfig: z.unknown().optional(),
  timeout: z.string().optional(),
  reexec: z.number().int().nonnegative().optional(),
  enableMemory: z.boolean().optional(),
  disableStack: z.boolean().optional(),
  disableStorage: z.boolean().optional(),
  enableReturnData: z.boolean().optional(),
  limit: z.number().int().nonnegative().optional(),
};

const traceConfig = z.object(traceConfigFields);
type TraceConfig = z.infer<typeof traceConfig>;

const traceCallConfig = z.object({
  ...traceConfigFields,
  stateOverrides: stateOverrides.optional(),
  blockOverrides: z.record(z.string(), z.unknown()).optional(),
});

const callTracerConfig = z.object({ onlyTopCall: z.boolean().optional(), withLog: z.boolean().optional() });

/** The trace's `timeout` option (a Go duration) in milliseconds, or undefined for the default. */
function traceTimeout(config: TraceConfig | undefined): number | undefined {
  if (config?.timeout === undefined) return undefined;
  const timeoutMs = parseGoDuration(config.timeout);
  if (timeoutMs === undefined) throw serverError(`time: invalid duration ${JSON.stringify(config.timeout)}`);
  return timeoutMs;
}

/** The tracer `config` names: the struct logger by default, or a native tracer by name. */
function createTracer(config: TraceConfig | undefined): Tracer {
  const timeoutMs = traceTimeout(config);
  if (config?.tracer === undefined) return new StructLogger({ ...config, timeoutMs });
  if (config.tracer === 'callTracer') {
    const parsed = callTracerConfig.safeParse(config.tracerConfig ?? {});
    if (!parsed.success)
      throw serverError(`invalid callTracer config: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
    return new CallTracer({ ...parsed.data, timeoutMs });
  }
  // geth would try the name as JavaScript tracer code; this node has no JavaScript tracers.
  throw serverError(
    `tracer not found: ${config.tracer} (this node supports callTracer and the default struct logger)`,
  );
}

/** Errors of a traced run as geth words them: aborts and invalid calls are -32000. */
function traceFailure(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof TraceAbortedError) return serverError(error.message);
  const message = error instanceof Error ? error.message : String(error);
  if (isTimeoutMessage(message)) return serverError(message);
  return serverError(message.split(' (')[0]!.replace(/^\[.*?\]\s*/, ''));
}

async function traceCall(
  node: Node,
  req: CallRequest,
  block: Block,
  pending: boolean,
  config: z.infer<typeof traceCallConfig> | undefined,
) {
  if (config?.blockOverrides !== undefined && Object.keys(config.blockOverrides).length > 0) {
    throw serverError('block overrides are not supported by this node');
  }
  const tracer = createTracer(config);
  const gasLimit = gasFor(req, block);
  try {
    const { result } = await runCall(node.chain, req, gasLimit, {
      block,
      pending,
      overrides: config?.stateOverrides,
      gasCap: RPC_GAS_CAP,
      // The trace's own timeout, not eth_call's, bounds the run.
      timeoutMs: traceTimeout(config) ?? DEFAULT_TRACE_TIMEOUT_MS,
      beforeRun: (vm) => tracer.attach(vm),
    });
    return tracer.result({ gasLimit, result });
  } catch (error) {
    throw traceFailure(error);
  }
}

export function debugMethods(node: Node): Record<string, Method> {
  return {
    debug_traceTransaction: method(
      [hash, traceConfig],
      async ([txHash, config]) => {
        const mined = await findMinedTx(node.chain, hexToBytes(txHash));
        if (!mined) throw serverError('transaction not found');
        const tracer = createTracer(config);
        try {
          return await traceTransaction(node.chain, mined, tracer);
        } catch (error) {
          if (error instanceof TraceAbortedError) throw serverError(error.message);
          throw error;
        }
      },
      1,
    ),
    debug_traceCall: method(
      [callRequest, blockRef, traceCallConfig],
      async ([req, ref, config]) =>
        traceCall(node, req, await node.resolveBlock(ref), isPendingRef(ref), config),
      1,
    ),
  };
}
