import type { Block } from '@ethereumjs/block';
import { createBlock } from '@ethereumjs/block';
import type { TypedTransaction } from '@ethereumjs/tx';
import { createTx } from '@ethereumjs/tx';
import type { AccessList } from '@ethereumjs/tx';
import {
  Account,
  createAddressFromString,
  hexToBytes,
  setLengthLeft,
  type Address,
  type PrefixedHexString,
} from '@ethereumjs/util';
import type { RunTxResult, VM } from '@ethereumjs/vm';
import { runTx } from '@ethereumjs/vm';
import type { Chain } from '../chain.ts';
import { CALL_TIMEOUT_MS, abortAfter, isTimeoutMessage } from './call-deadline.ts';
import type { CallRequest, StateOverrides } from '../rpc/params.ts';
import { quantity } from '../rpc/hex.ts';

export interface CallOptions {
  /** The state after this block is the starting point; its header is the execution context. */
  block: Block;
  /** `pending`: execute in the context of the next block (number + 1), as geth does. */
  pending?: boolean;
  overrides?: StateOverrides;
  /** Upper bound for a call's gas, also when the request names more (geth's RPCGasCap). */
  gasCap: bigint;
  /** Wall-clock limit of the run (default: geth's 5 s RPCEVMTimeout). */
  timeoutMs?: number;
  /** Called with the VM right before the call runs, after the overrides: where tracers attach. */
  beforeRun?: (vm: VM) => void;
}

export interface CallOutcome {
  result: RunTxResult;
  vm: VM;
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** Applies eth_call's state overrides (balance, nonce, code, full state or a state diff). */
export async function applyStateOverrides(vm: VM, overrides: StateOverrides): Promise<void> {
  const state = vm.stateManager;
  for (const [addressHex, o] of Object.entries(overrides)) {
    const address = createAddressFromString(addressHex);
    const account = (await state.getAccount(address)) ?? new Account();
    if (o.balance !== undefined) account.balance = o.balance;
    if (o.nonce !== undefined) account.nonce = o.nonce;
    await state.putAccount(address, account);
    if (o.code !== undefined) await state.putCode(address, hexToBytes(o.code));
    if (o.state !== undefined) await state.clearStorage(address);
    for (const [slot, value] of Object.entries(o.state ?? o.stateDiff ?? {})) {
      await state.putStorage(
        address,
        setLengthLeft(hexToBytes(slot as PrefixedHexString), 32),
        hexToBytes(value as PrefixedHexString),
      );
    }
  }
}

/**
 * A transaction from `from` without a signature: the sender is taken as given, the way geth's
 * eth_call builds a message rather than a signed transaction.
 */
export function impersonatedTx(vm: VM, req: CallRequest, gasLimit: bigint, nonce: bigint): TypedTransaction {
  const from = createAddressFromString(req.from ?? ZERO_ADDRESS);
  const input = req.input ?? req.data;
  const base = {
    nonce,
    gasLimit,
    to: req.to ?? undefined,
    value: req.value ?? 0n,
    data: input ?? '0x',
    chainId: vm.common.chainId(),
  };
  const accessList = req.accessList?.map((e) => ({ address: e.address, storageKeys: e.storageKeys })) as
    AccessList | undefined;
  const txData =
    req.gasPrice !== undefined
      ? { ...base, type: accessList ? 1 : 0, gasPrice: req.gasPrice, ...(accessList && { accessList }) }
      : {
          ...base,
          type: req.authorizationList ? 4 : 2,
          maxFeePerGas: req.maxFeePerGas ?? 0n,
          maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? 0n,
          accessList: accessList ?? [],
          ...(req.authorizationList && {
            authorizationList: req.authorizationList.map((a) => ({
              chainId: quantity(a.chainId),
              address: a.address,
              nonce: quantity(a.nonce),
              yParity: quantity(a.yParity),
              r: quantity(a.r),
              s: quantity(a.s),
            })),
          }),
        };
  const tx = createTx(txData as Parameters<typeof createTx>[0], { common: vm.common, freeze: false });
  Object.defineProperty(tx, 'getSenderAddress', { value: (): Address => from });
  Object.defineProperty(tx, 'isSigned', { value: () => true });
  return tx;
}

/** The header a call executes under: the block's own, or its successor's for `pending`. */
function contextBlock(vm: VM, options: CallOptions, req: CallRequest, gasLimit: bigint): Block {
  const h = options.block.header;
  const paysFees = req.gasPrice !== undefined || req.maxFeePerGas !== undefined;
  return createBlock(
    {
      header: {
        number: options.pending ? h.number + 1n : h.number,
        timestamp: options.pending ? h.timestamp + 1n : h.timestamp,
        coinbase: h.coinbase,
        gasLimit: gasLimit > h.gasLimit ? gasLimit : h.gasLimit,
        mixHash: h.mixHash,
        // geth skips the base fee check for calls that pay nothing, so fee-less calls work.
        baseFeePerGas: paysFees ? (options.pending ? h.calcNextBaseFee() : h.baseFeePerGas) : 0n,
        ...(h.excessBlobGas !== undefined && { excessBlobGas: h.excessBlobGas, blobGasUsed: 0n }),
        ...(h.parentBeaconBlockRoot !== undefined && { parentBeaconBlockRoot: h.parentBeaconBlockRoot }),
      },
    },
    { common: vm.common },
  );
}

/** Runs `req` once with `gasLimit` on a fresh copy of the state after `options.block`. */
export async function runCall(
  chain: Chain,
  req: CallRequest,
  gasLimit: bigint,
  options: CallOptions & { reportAccessList?: boolean },
): Promise<CallOutcome> {
  // Without the cap, a loop called with 2^64 gas would hold the node for good.
  const gas = gasLimit > options.gasCap ? options.gasCap : gasLimit;
  const vm = await chain.vmAt(options.block);
  if (options.overrides) await applyStateOverrides(vm, options.overrides);
  const from = createAddressFromString(req.from ?? ZERO_ADDRESS);
  const nonce = req.nonce ?? (await vm.stateManager.getAccount(from))?.nonce ?? 0n;
  const tx = impersonatedTx(vm, req, gas, nonce);
  const block = contextBlock(vm, options, req, gas);
  abortAfter(vm, options.timeoutMs ?? CALL_TIMEOUT_MS);
  options.beforeRun?.(vm);
  const result = await runTx(vm, {
    tx,
    block,
    skipNonce: true,
    skipBalance: req.gasPrice === undefined && req.maxFeePerGas === undefined,
    skipBlockGasLimitValidation: true,
    skipHardForkValidation: true,
    reportAccessList: options.reportAccessList ?? false,
  });
  const halt = result.execResult.exceptionError?.error as string | undefined;
  if (halt !== undefined && isTimeoutMessage(halt)) throw new Error(halt);
  return { result, vm };
}
