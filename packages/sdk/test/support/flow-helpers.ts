import { expect } from 'vitest';
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Abi,
  type Address,
  type Hex,
  type LocalAccount,
  type TransactionReceipt,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { DEVNET_CHAIN_ID, PROTOCOL_ABIS, connect, type Connection } from '../../src/index.ts';

/**
 * Helpers for tests that drive the protocol end to end on a real devnet through the SDK: one
 * connection (own wallet client) per account, transactions awaited to their receipt with the gas
 * they cost, reverts decoded to the contract's custom error, balances read at a transaction's block
 * and its parent, and chain time moved with `evm_increaseTime` + `evm_mine`.
 */

export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Dev account `i` of the devnet's mnemonic (10,000 OPEN each at genesis; 0 is the validator). */
export const devAccount = (i: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });

/** An account with its own connection: `contracts.*.write` send from it. */
export async function actor(url: string, account: LocalAccount) {
  const connection = await connect({ url, account, chainId: DEVNET_CHAIN_ID });
  return { ...connection, account, address: account.address, wallet: connection.walletClient! };
}

export type Actor = Awaited<ReturnType<typeof actor>>;
export type PublicClient = Connection['publicClient'];

export interface Sent {
  receipt: TransactionReceipt;
  /** What the sender paid for gas: gasUsed × effectiveGasPrice. */
  fee: bigint;
}

/** Awaits a sent transaction's receipt, expects success and returns it with its gas cost. */
export async function mined(
  pub: PublicClient,
  hash: Hex | Promise<Hex>,
  what = 'transaction',
): Promise<Sent> {
  const receipt = await pub.waitForTransactionReceipt({ hash: await hash, pollingInterval: 20 });
  expect(receipt.status, what).toBe('success');
  return { receipt, fee: receipt.gasUsed * receipt.effectiveGasPrice };
}

export interface RevertInfo {
  name: string | undefined;
  args: readonly unknown[] | undefined;
}

/** Awaits a call (a `simulate.*`, a `write.*` or a read) that must revert; returns its decoded custom error. */
export async function revertOf(call: Promise<unknown>): Promise<RevertInfo> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should revert').toBeInstanceOf(BaseError);
  const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
  expect(revert, String(error)).toBeInstanceOf(ContractFunctionRevertedError);
  const { data, raw } = revert as ContractFunctionRevertedError;
  if (data !== undefined || raw === undefined) return { name: data?.errorName, args: data?.args };
  // An error raised by another contract the call went through (the Timelock under the Governor, say).
  try {
    const decoded = decodeErrorResult({ abi: PROTOCOL_ERRORS, data: raw });
    return { name: decoded.errorName, args: decoded.args };
  } catch {
    return { name: undefined, args: undefined };
  }
}

/** Every custom error of every protocol contract, to decode a revert that bubbled up from a callee. */
const PROTOCOL_ERRORS: Abi = Object.values(PROTOCOL_ABIS).flatMap((abi) =>
  (abi as Abi).filter((item) => item.type === 'error'),
);

/** Expects `call` to revert with the custom error `name` (and, when given, exactly these arguments). */
export async function expectRevert(
  call: Promise<unknown>,
  name: string,
  args?: readonly unknown[],
): Promise<RevertInfo> {
  const info = await revertOf(call);
  expect(info.name).toBe(name);
  if (args !== undefined) expect(info.args).toEqual(args);
  return info;
}

/** `address`'s balance after the transaction's block minus before it (one block per transaction). */
export async function balanceDelta(pub: PublicClient, address: Address, sent: Sent): Promise<bigint> {
  const block = sent.receipt.blockNumber;
  const [before, after] = await Promise.all([
    pub.getBalance({ address, blockNumber: block - 1n }),
    pub.getBalance({ address, blockNumber: block }),
  ]);
  return after - before;
}

/** Balances of several addresses at once (latest block), for before/after comparisons. */
export async function balances<const K extends string>(
  pub: PublicClient,
  of: Record<K, Address>,
): Promise<Record<K, bigint>> {
  const keys = Object.keys(of) as K[];
  const values = await Promise.all(keys.map((k) => pub.getBalance({ address: of[k] })));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]!])) as Record<K, bigint>;
}

type DevRequest = (args: { method: string; params: readonly unknown[] }) => Promise<unknown>;

/** Devnet-only RPC methods (not in viem's public schema). */
export function devRpc(pub: PublicClient, method: string, params: readonly unknown[] = []): Promise<unknown> {
  return (pub.request as unknown as DevRequest)({ method, params });
}

export async function headTimestamp(pub: PublicClient): Promise<bigint> {
  return (await pub.getBlock()).timestamp;
}

/** Mines one block at least `seconds` after the head. */
export async function advance(pub: PublicClient, seconds: bigint): Promise<bigint> {
  await devRpc(pub, 'evm_increaseTime', [Number(seconds)]);
  await devRpc(pub, 'evm_mine');
  return headTimestamp(pub);
}

/** Mines one block whose timestamp is at least `timestamp` (no-op when the head is already there). */
export async function advanceTo(pub: PublicClient, timestamp: bigint): Promise<bigint> {
  const head = await headTimestamp(pub);
  if (head >= timestamp) return head;
  const reached = await advance(pub, timestamp - head);
  expect(reached).toBeGreaterThanOrEqual(timestamp);
  return reached;
}

/** Ascending by numeric value, as Solidity sorts addresses. */
export function sortAddresses(list: readonly Address[]): Address[] {
  return [...list].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}
