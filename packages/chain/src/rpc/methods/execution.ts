import type { Block } from '@ethereumjs/block';
import { bytesToHex } from '@ethereumjs/util';
import type { RunTxResult } from '@ethereumjs/vm';
import { z } from 'zod';
import { runCall } from '../../execution/call.ts';
import { isTimeoutMessage } from '../../execution/call-deadline.ts';
import { decodeRevertReason } from '../../execution/revert-reason.ts';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { RpcError, RpcErrorCode, serverError } from '../errors.ts';
import { data, quantity } from '../hex.ts';
import type { CallRequest, StateOverrides } from '../params.ts';
import { blockRef, callRequest, isPendingRef, stateOverrides } from '../params.ts';

/** geth's default RPCGasCap: no single call may use more. */
export const RPC_GAS_CAP = 50_000_000n;

/** The JSON-RPC error for a failed execution: code 3 with the revert data for reverts (as geth). */
export function executionError(result: RunTxResult): RpcError {
  const error = result.execResult.exceptionError;
  const output = result.execResult.returnValue;
  if (error?.error === 'revert') {
    const reason = decodeRevertReason(output);
    return new RpcError(
      RpcErrorCode.executionReverted,
      reason === undefined ? 'execution reverted' : `execution reverted: ${reason}`,
      bytesToHex(output),
    );
  }
  return serverError(error?.error ?? 'execution failed');
}

async function call(
  node: Node,
  req: CallRequest,
  block: Block,
  gas: bigint,
  pending: boolean,
  overrides?: StateOverrides,
  reportAccessList = false,
): Promise<RunTxResult> {
  try {
    return (
      await runCall(node.chain, req, gas, {
        block,
        pending,
        overrides,
        gasCap: RPC_GAS_CAP,
        reportAccessList,
      })
    ).result;
  } catch (error) {
    throw serverError(callFailure(error));
  }
}

/** A call's gas when the request names none: the block's gas limit, at most the RPC gas cap. */
export function gasFor(req: CallRequest, block: Block): bigint {
  return req.gas ?? (block.header.gasLimit > RPC_GAS_CAP ? RPC_GAS_CAP : block.header.gasLimit);
}

/**
 * The least gas limit with which `req` succeeds. Refunds and gas-dependent code paths make the
 * gas a run uses an underestimate, so this binary-searches, starting from an optimistic guess.
 */
export async function estimateGas(
  node: Node,
  req: CallRequest,
  block: Block,
  pending: boolean,
  overrides?: StateOverrides,
): Promise<bigint> {
  const succeeds = async (gas: bigint) => {
    const result = await call(node, req, block, gas, pending, overrides).catch((error: unknown) => {
      if (error instanceof RpcError && /gas limit|intrinsic|out of gas/i.test(error.message))
        return undefined;
      throw error;
    });
    return result !== undefined && !result.execResult.exceptionError;
  };
  let hi = gasFor(req, block);
  if (hi > RPC_GAS_CAP) hi = RPC_GAS_CAP;
  const capped = await call(node, req, block, hi, pending, overrides);
  if (capped.execResult.exceptionError) {
    if (capped.execResult.exceptionError.error === 'revert') throw executionError(capped);
    throw serverError(`gas required exceeds allowance (${hi})`);
  }
  let lo = capped.totalGasSpent - 1n;
  const optimistic = ((capped.totalGasSpent + capped.gasRefund + 2300n) * 64n) / 63n;
  if (optimistic < hi && (await succeeds(optimistic))) hi = optimistic;
  // Like geth: stop within 1.5% of the least limit (each probe re-executes the call), and probe low
  // first, since most calls need little more than they used.
  while (lo + 1n < hi && (hi - lo) * 1000n >= hi * 15n) {
    let mid = (lo + hi) / 2n;
    if (mid > lo * 2n) mid = lo * 2n;
    if (await succeeds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function executionMethods(node: Node): Record<string, Method> {
  return {
    eth_call: method(
      [callRequest, blockRef, stateOverrides, z.unknown()],
      async ([req, ref, overrides]) => {
        const block = await node.resolveBlock(ref);
        const result = await call(node, req, block, gasFor(req, block), isPendingRef(ref), overrides);
        if (result.execResult.exceptionError) throw executionError(result);
        return data(result.execResult.returnValue);
      },
      1,
    ),
    eth_estimateGas: method(
      [callRequest, blockRef, stateOverrides],
      async ([req, ref, overrides]) => {
        const block = await node.resolveBlock(ref);
        return quantity(
          await estimateGas(node, req, block, ref === undefined || isPendingRef(ref), overrides),
        );
      },
      1,
    ),
    eth_createAccessList: method(
      [callRequest, blockRef],
      async ([req, ref]) => {
        const block = await node.resolveBlock(ref);
        const pending = ref === undefined || isPendingRef(ref);
        const exclude = new Set(
          [req.from ?? '0x0000000000000000000000000000000000000000', req.to ?? ''].map((a) =>
            a.toLowerCase(),
          ),
        );
        let accessList = req.accessList ?? [];
        // Declaring an access list changes gas and so possibly the path taken; iterate to a fixed point, as geth does.
        for (let round = 0; round < 8; round++) {
          const result = await call(
            node,
            { ...req, accessList },
            block,
            gasFor(req, block),
            pending,
            undefined,
            true,
          );
          const found = (result.accessList ?? [])
            .filter((e) => !exclude.has(e.address.toLowerCase()) && !isPrecompile(e.address))
            .map((e) => ({
              address: e.address.toLowerCase() as `0x${string}`,
              storageKeys: e.storageKeys.map((k) => k.toLowerCase() as `0x${string}`),
            }));
          if (JSON.stringify(found) === JSON.stringify(accessList) || round === 7) {
            return {
              accessList: found,
              gasUsed: quantity(result.totalGasSpent),
              ...(result.execResult.exceptionError && { error: executionError(result).message }),
            };
          }
          accessList = found;
        }
        throw serverError('access list did not converge');
      },
      1,
    ),
  };
}

function isPrecompile(address: string): boolean {
  const n = BigInt(address);
  return n >= 1n && n <= 0x11n;
}

function callFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isTimeoutMessage(message)) return message;
  if (/insufficient balance|sender doesn't have enough funds/i.test(message))
    return 'insufficient funds for gas * price + value';
  if (/gas limit is too low|intrinsic gas/i.test(message))
    return `intrinsic gas too low: ${message.split(' (')[0]}`;
  if (/less than the block's baseFeePerGas|base fee/i.test(message))
    return 'max fee per gas less than block base fee';
  return message.split(' (')[0]!.replace(/^\[.*?\]\s*/, '');
}
