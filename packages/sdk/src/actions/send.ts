import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  encodeFunctionData,
  isAddressEqual,
  type Abi,
  type AbiParameter,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import type { Connection } from '../connect.ts';

type AbiError = Extract<Abi[number], { type: 'error' }>;
import { PROTOCOL_ABIS } from '../contracts.ts';

/** What every action returns besides its decoded results: the transaction that did it. */
export interface Sent {
  hash: Hex;
  receipt: TransactionReceipt;
}

/** A contract write as `contract.simulate.*` prepares it. */
export interface SimulatedRequest {
  abi: Abi | readonly unknown[];
  address: Address;
  functionName: string;
  args?: readonly unknown[] | undefined;
  value?: bigint | undefined;
}

/**
 * Every custom error of the protocol contracts. A revert that bubbles up from a nested call (the
 * Governor running the Timelock, InferencePayments calling AgentRegistry) carries the callee's
 * error, which the called contract's ABI does not list; this list decodes it anyway.
 */
export const PROTOCOL_ERRORS: readonly AbiError[] = (() => {
  const seen = new Set<string>();
  const errors: AbiError[] = [];
  for (const abi of Object.values(PROTOCOL_ABIS) as readonly (readonly { type: string }[])[]) {
    for (const item of abi) {
      if (item.type !== 'error') continue;
      const error = item as AbiError;
      const key = `${error.name}(${error.inputs.map((i) => i.type).join(',')})`;
      if (seen.has(key)) continue;
      seen.add(key);
      errors.push(error);
    }
  }
  return errors;
})();

/** Why a protocol transaction failed: a revert (with the contract's error name and arguments) or another failure. */
export class ProtocolTxError extends Error {
  override name = 'ProtocolTxError';
  /** The contract function that was called. */
  readonly functionName: string;
  /** The custom error's name (`BondTooLow`), `Error` for a require message, `Panic`, or undefined if not a revert. */
  readonly errorName: string | undefined;
  /** The custom error's arguments, in ABI order. */
  readonly errorArgs: readonly unknown[] | undefined;
  /** Set when the transaction was mined and reverted there (the simulation had passed). */
  readonly hash: Hex | undefined;

  constructor(
    message: string,
    details: {
      functionName: string;
      errorName?: string | undefined;
      errorArgs?: readonly unknown[] | undefined;
      hash?: Hex | undefined;
      cause?: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.functionName = details.functionName;
    this.errorName = details.errorName;
    this.errorArgs = details.errorArgs;
    this.hash = details.hash;
  }
}

/** Thrown by a write on a connection made without an account. */
export class MissingSignerError extends Error {
  override name = 'MissingSignerError';
  constructor() {
    super('this connection has no signing account: connect({ url, account }) to send transactions');
  }
}

/** The connection's wallet and account, or a MissingSignerError. */
export function signerOf(conn: Connection) {
  const wallet = conn.walletClient;
  if (!wallet) throw new MissingSignerError();
  return { wallet, account: wallet.account, address: wallet.account.address };
}

/**
 * Simulates a contract write (so a revert surfaces, decoded, before any gas is spent), sends it,
 * waits for its receipt and throws a ProtocolTxError if it failed at any step.
 */
export async function sendProtocolTx(
  conn: Connection,
  functionName: string,
  simulate: (account: Address) => Promise<{ request: SimulatedRequest }>,
): Promise<Sent> {
  const { wallet, account } = signerOf(conn);
  let request: SimulatedRequest;
  try {
    ({ request } = await simulate(account.address));
  } catch (error) {
    throw protocolTxError(functionName, error);
  }
  const data = encodeFunctionData({
    abi: request.abi as Abi,
    functionName: request.functionName,
    args: request.args ?? [],
  });
  const tx = { account, to: request.address, data, value: request.value ?? 0n };
  let hash: Hex;
  try {
    hash = await wallet.sendTransaction({ ...tx, chain: conn.chain });
  } catch (error) {
    throw protocolTxError(functionName, error);
  }
  const receipt = await conn.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.status !== 'success') {
    // Replay it on the state it ran against (the devnet mines one transaction per block; elsewhere
    // this is the best approximation) to learn the revert reason.
    const replayed = await conn.publicClient.call({ ...tx, blockNumber: receipt.blockNumber - 1n }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const reason = replayed === undefined ? undefined : revertOf(replayed);
    throw new ProtocolTxError(
      `${functionName} reverted in transaction ${hash}${reason ? `: ${formatRevert(reason)}` : ''}`,
      { functionName, errorName: reason?.errorName, errorArgs: reason?.args, hash, cause: replayed },
    );
  }
  return { hash, receipt };
}

interface DecodedRevert {
  errorName: string;
  args: readonly unknown[];
  inputs: readonly AbiParameter[];
}

/** The decoded revert inside a viem error, if it is one. */
export function revertOf(error: unknown): DecodedRevert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError) {
    if (reverted.data?.errorName) {
      return {
        errorName: reverted.data.errorName,
        args: reverted.data.args ?? [],
        inputs: inputsOf(reverted.data.abiItem),
      };
    }
    if (reverted.raw) return decodeRaw(reverted.raw);
    if (reverted.reason) return { errorName: 'Error', args: [reverted.reason], inputs: [] };
    return undefined;
  }
  // A plain eth_call (the replay of a mined revert) reports the raw revert data.
  const withData = error.walk((e) => typeof (e as { data?: unknown }).data === 'string');
  const raw = (withData as { data?: unknown } | null)?.data;
  return typeof raw === 'string' && /^0x[0-9a-f]{8}/i.test(raw) ? decodeRaw(raw as Hex) : undefined;
}

function decodeRaw(raw: Hex): DecodedRevert | undefined {
  try {
    const decoded = decodeErrorResult({ abi: PROTOCOL_ERRORS, data: raw });
    return { errorName: decoded.errorName, args: decoded.args ?? [], inputs: inputsOf(decoded.abiItem) };
  } catch {
    return { errorName: `unknown error ${raw.slice(0, 10)}`, args: [], inputs: [] };
  }
}

function inputsOf(item: Abi[number]): readonly AbiParameter[] {
  return 'inputs' in item ? item.inputs : [];
}

/** `BondTooLow(bond: 0, minimum: 100000000000000000)`, or a require message as is. */
export function formatRevert(revert: DecodedRevert): string {
  if (revert.errorName === 'Error') return String(revert.args[0]);
  if (revert.errorName === 'Panic') return `panic ${String(revert.args[0])}`;
  const args = revert.args.map((value, i) => {
    const name = revert.inputs[i]?.name;
    return name ? `${name}: ${formatValue(value)}` : formatValue(value);
  });
  return `${revert.errorName}(${args.join(', ')})`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return /^0x/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (value && typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${formatValue(v)}`)
      .join(', ')}}`;
  return String(value);
}

/** Turns whatever a write threw into a ProtocolTxError with a one-line message. */
export function protocolTxError(functionName: string, error: unknown, hash?: Hex): ProtocolTxError {
  if (error instanceof ProtocolTxError) return error;
  const revert = revertOf(error);
  if (revert) {
    return new ProtocolTxError(`${functionName} reverted: ${formatRevert(revert)}`, {
      functionName,
      errorName: revert.errorName,
      errorArgs: revert.args,
      hash,
      cause: error,
    });
  }
  return new ProtocolTxError(`${functionName} failed: ${shortMessage(error)}`, {
    functionName,
    hash,
    cause: error,
  });
}

/** viem's short message (plus its details when they say more), or the error's message. */
export function shortMessage(error: unknown): string {
  if (error instanceof BaseError) {
    const details = error.details && !error.shortMessage.includes(error.details) ? `: ${error.details}` : '';
    return `${error.shortMessage.replace(/\.$/, '')}${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The one log of `logs` (decoded events of one name) that `address` emitted; throws if there is none. */
export function emitted<T extends { address: Address }>(
  logs: readonly T[],
  address: Address,
  what: string,
): T {
  const log = logs.find((l) => isAddressEqual(l.address, address));
  if (!log) throw new Error(`the transaction succeeded but emitted no ${what} event`);
  return log;
}
