/**
 * Shared plumbing for the contract suites that run against a devnet process: the dev accounts,
 * viem clients, deploying from artifacts, sending and reading, decoding custom-error reverts and
 * moving chain time.
 *
 * Each suite builds one {@link DevnetContracts} at module level (so its helpers can be destructured
 * into plain functions) and calls {@link DevnetContracts.connect} once the devnet is up.
 */
import { expect } from 'vitest';
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getAddress,
  http,
  parseEventLogs,
  type Abi,
  type Address,
  type TransactionReceipt,
} from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';
import { devnetChain } from '../../../chain/test/support/viem-chain.ts';
import { loadArtifact } from '../../src/index.ts';

/** The devnet's well-known development mnemonic; its accounts start funded. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Dev account number `index` of {@link DEV_MNEMONIC}. */
export const devAccount = (index: number): HDAccount =>
  mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });

/** The first `count` dev accounts. */
export const devAccounts = (count = 10): HDAccount[] =>
  Array.from({ length: count }, (_, i) => devAccount(i));

/** A deployed contract: where it lives and the ABI to talk to it with. */
export interface Contract {
  address: Address;
  abi: Abi;
}

/** A freshly deployed contract and its deployment receipt. */
export interface Deployed extends Contract {
  receipt: TransactionReceipt;
}

/** A mined, successful transaction. */
export interface Sent {
  receipt: TransactionReceipt;
  /** What the sender paid for gas. */
  fee: bigint;
}

/** A decoded custom-error revert. */
export interface RevertInfo {
  name: string | undefined;
  args: readonly unknown[] | undefined;
}

const makePublic = (url: string) =>
  createPublicClient({ chain: devnetChain, transport: http(url), cacheTime: 0, pollingInterval: 50 });
const makeTest = (url: string) =>
  createTestClient({ mode: 'hardhat', chain: devnetChain, transport: http(url) });
const makeWallet = (url: string, from: HDAccount) =>
  createWalletClient({ account: from, chain: devnetChain, transport: http(url) });

export type DevnetPublicClient = ReturnType<typeof makePublic>;
export type DevnetTestClient = ReturnType<typeof makeTest>;
export type DevnetWalletClient = ReturnType<typeof makeWallet>;

/** What the sender of `receipt`'s transaction paid for gas. */
export const feeOf = (receipt: TransactionReceipt): bigint => receipt.gasUsed * receipt.effectiveGasPrice;

export interface DevnetContractsOptions {
  /** The account that deploys contracts. */
  deployer: HDAccount;
  /** Called with each successful `send`'s sender and gas fee (for suites that account for fees). */
  onFee?: (from: HDAccount, fee: bigint) => void;
}

export interface DevnetContracts {
  /** Points the clients at the devnet at `url`; call before any other helper. */
  connect(url: string): void;
  /** The public client (no caching, fast polling). */
  readonly pub: DevnetPublicClient;
  /** The hardhat-mode test client (time travel, mining). */
  readonly testClient: DevnetTestClient;
  /** A wallet client that signs as `from`. */
  wallet(from: HDAccount): DevnetWalletClient;
  /** Deploys artifact `name` as the deployer (optionally with value) and expects success. */
  deploy(name: string, args: readonly unknown[], value?: bigint): Promise<Deployed>;
  /** Calls `functionName` as `from`, waits for the receipt and expects success. */
  send(
    from: HDAccount,
    c: Contract,
    functionName: string,
    args?: readonly unknown[],
    value?: bigint,
    gas?: bigint,
  ): Promise<Sent>;
  /** Reads a view function at the latest block. */
  read<T>(c: Contract, functionName: string, args?: readonly unknown[]): Promise<T>;
  /** Simulates the call against the latest block, expects a revert, and returns the decoded custom error. */
  revertOf(
    from: HDAccount,
    c: Contract,
    functionName: string,
    args?: readonly unknown[],
    value?: bigint,
  ): Promise<RevertInfo>;
  /** Like {@link revertOf}, and expects the custom error to be `errorName`. */
  expectRevert(
    from: HDAccount,
    c: Contract,
    functionName: string,
    args: readonly unknown[],
    errorName: string,
    value?: bigint,
  ): Promise<RevertInfo>;
  /** The OPEN balance of `address` at the latest block (one argument, so it can be passed to `map`). */
  balance(address: Address): Promise<bigint>;
  /** The OPEN balance of `address` at block `blockNumber` (the latest block when undefined). */
  balanceAt(address: Address, blockNumber: bigint | undefined): Promise<bigint>;
  /** The latest block's timestamp. */
  latestTimestamp(): Promise<bigint>;
  /**
   * Mines one block exactly `seconds` after the head. (The devnet's clock runs on from the latest
   * block, and blocks mined faster than one a second run ahead of the wall clock, so the timestamp
   * is pinned rather than left to evm_increaseTime.)
   */
  advance(seconds: number): Promise<void>;
  /** Mines until the head's timestamp is at least `target` (nothing if it already is). */
  advanceTo(target: bigint): Promise<void>;
  /** The arguments of the `eventName` logs of `c` in `receipt`. */
  eventArgs<T>(c: Contract, receipt: TransactionReceipt, eventName: string): T[];
}

/** Helpers for one suite's devnet; see {@link DevnetContracts}. */
export function devnetContracts({ deployer, onFee }: DevnetContractsOptions): DevnetContracts {
  let url: string | undefined;
  let pub: DevnetPublicClient | undefined;
  let testClient: DevnetTestClient | undefined;
  const connected = <T>(client: T | undefined): T => {
    if (client === undefined) throw new Error('devnetContracts: connect(url) first');
    return client;
  };

  const wallet = (from: HDAccount): DevnetWalletClient => makeWallet(connected(url), from);

  const latestTimestamp = async (): Promise<bigint> => (await connected(pub).getBlock()).timestamp;

  const revertOf: DevnetContracts['revertOf'] = async (from, c, functionName, args = [], value = 0n) => {
    const error = await connected(pub)
      .simulateContract({ account: from, address: c.address, abi: c.abi, functionName, args, value })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error, `${functionName} should revert`).toBeInstanceOf(BaseError);
    const revert = (error as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
    expect(revert, String(error)).toBeInstanceOf(ContractFunctionRevertedError);
    const data = (revert as ContractFunctionRevertedError).data;
    return { name: data?.errorName, args: data?.args };
  };

  const advanceTo = async (target: bigint): Promise<void> => {
    for (let now = await latestTimestamp(); now < target; now = await latestTimestamp()) {
      await connected(testClient).increaseTime({ seconds: Number(target - now) });
      await connected(testClient).mine({ blocks: 1 });
    }
  };

  return {
    connect(to) {
      url = to;
      pub = makePublic(to);
      testClient = makeTest(to);
    },
    get pub() {
      return connected(pub);
    },
    get testClient() {
      return connected(testClient);
    },
    wallet,
    async deploy(name, args, value = 0n) {
      const artifact = await loadArtifact(name);
      const hash = await wallet(deployer).deployContract({
        abi: artifact.abi,
        bytecode: artifact.bytecode,
        args,
        value,
      });
      const receipt = await connected(pub).waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe('success');
      return { address: getAddress(receipt.contractAddress!), abi: artifact.abi, receipt };
    },
    async send(from, c, functionName, args = [], value = 0n, gas) {
      const hash = await wallet(from).writeContract({
        address: c.address,
        abi: c.abi,
        functionName,
        args,
        value,
        ...(gas !== undefined && { gas }),
      });
      const receipt = await connected(pub).waitForTransactionReceipt({ hash });
      expect(receipt.status, functionName).toBe('success');
      const fee = feeOf(receipt);
      onFee?.(from, fee);
      return { receipt, fee };
    },
    async read<T>(c: Contract, functionName: string, args: readonly unknown[] = []): Promise<T> {
      return (await connected(pub).readContract({ address: c.address, abi: c.abi, functionName, args })) as T;
    },
    revertOf,
    async expectRevert(from, c, functionName, args, errorName, value = 0n) {
      const info = await revertOf(from, c, functionName, args, value);
      expect(info.name).toBe(errorName);
      return info;
    },
    balance: (address) => connected(pub).getBalance({ address }),
    balanceAt: (address, blockNumber) =>
      connected(pub).getBalance({ address, ...(blockNumber !== undefined && { blockNumber }) }),
    latestTimestamp,
    async advance(seconds) {
      const timestamp = (await latestTimestamp()) + BigInt(seconds);
      await connected(testClient).setNextBlockTimestamp({ timestamp });
      await connected(testClient).mine({ blocks: 1 });
    },
    advanceTo,
    eventArgs: <T>(c: Contract, receipt: TransactionReceipt, eventName: string): T[] =>
      parseEventLogs({ abi: c.abi, logs: receipt.logs, eventName }).map((e) => e.args as T),
  };
}
