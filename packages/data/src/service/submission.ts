/**
 * Putting a stored contribution on the chain. The data plane never holds the contributor's key, so
 * there are two ways, both starting from {@link ContributionSubmitter.prepare}:
 *
 * - relayed: the contributor signs the EIP-712 `Contribution` (see `signContribution`), and the
 *   service's relayer sends `submitContributionWithSig`, paying the Datanet's fee and bond (the
 *   contribution, and its bond when it comes back, belong to the contributor). The signature is
 *   checked here first, so a wrong one costs nothing and sends nothing.
 * - direct: the contributor's wallet sends the prepared `submitContribution` transaction itself and
 *   reports its hash; the receipt's `ContributionSubmitted` event must match the stored record.
 *
 * Either way the record becomes `submitted` with its on-chain id and transaction. A record whose
 * root reached the chain without the service hearing of it (a crash after sending, a wallet that
 * never reported back) is found by {@link ContributionSubmitter.reconcile}.
 */
import {
  encodeFunctionData,
  hashTypedData,
  isAddressEqual,
  keccak256,
  parseEventLogs,
  recoverTypedDataAddress,
  toBytes,
  toHex,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  WaitForTransactionReceiptTimeoutError,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import {
  ProtocolTxError,
  contributionDomain,
  contributionTypes,
  datanetRegistryAbi,
  sendProtocolTx,
  shortMessage,
} from '@openledger/sdk';
import type { ContributionRecord } from '../contributions/contribution-record.ts';
import type { DataPlane } from './data-plane.ts';
import { requireDatanet, type OnchainDatanet } from './standards.ts';

export type SubmissionErrorCode =
  | 'bad-signature'
  | 'deadline-passed'
  | 'already-submitted'
  | 'already-onchain'
  | 'submission-in-progress'
  | 'terms-changed'
  | 'no-relayer'
  | 'relayer-unfunded'
  | 'unknown-transaction'
  | 'not-mined'
  | 'transaction-reverted'
  | 'event-mismatch'
  | 'submission-failed';

export class SubmissionError extends Error {
  constructor(
    readonly code: SubmissionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SubmissionError';
  }
}

/** DatanetRegistry's `Status`, by its ordinal. */
export const CONTRIBUTION_STATUSES = [
  'None',
  'Pending',
  'Approved',
  'Rejected',
  'Expired',
  'Slashed',
] as const;
export type OnchainStatus = (typeof CONTRIBUTION_STATUSES)[number];

/** The EIP-712 domain type, for wallets that want it spelled out (`eth_signTypedData_v4`). */
const EIP712_DOMAIN_TYPE = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
] as const;

/** Everything a contributor needs to put a stored contribution on the chain; integers as decimal strings. */
export interface SubmissionRequest {
  chainId: number;
  /** DatanetRegistry. */
  verifyingContract: Address;
  /** What the relayer (or the contributor's wallet) pays: the Datanet's fee plus its bond, in wei. */
  fee: string;
  bond: string;
  /** The fields of `signContribution` (the SDK's `ContributionSubmission`) plus the contributor. */
  contribution: {
    contributor: Address;
    datanetId: string;
    dataRoot: Hex;
    rowCount: string;
    byteSize: string;
    metadataURI: string;
    nonce: string;
    deadline: string;
  };
  /** The EIP-712 typed data to sign (as `eth_signTypedData_v4` takes it), for the relayed path. */
  typedData: {
    domain: { name: string; version: string; chainId: number; verifyingContract: Address };
    types: {
      EIP712Domain: typeof EIP712_DOMAIN_TYPE;
      Contribution: typeof contributionTypes.Contribution;
    };
    primaryType: 'Contribution';
    message: {
      datanetId: string;
      dataRoot: Hex;
      rowCount: string;
      byteSize: string;
      metadataHash: Hex;
      nonce: string;
      deadline: string;
    };
  };
  /** `submitContribution` for the contributor's own wallet (value: hex wei), for the direct path. */
  unsignedTx: { from: Address; to: Address; data: Hex; value: Hex; chainId: number };
  /** Who relays `POST /contributions/{id}/submit`, or null when this service does not relay. */
  relayer: Address | null;
}

/** What DatanetRegistry says about a submitted contribution. */
export interface OnchainContribution {
  id: string;
  status: OnchainStatus;
  quorum: number;
  approvals: number;
  rejections: number;
  /** 0 until a version includes it. */
  version: string;
  rowOffset: string;
  submittedAt: string;
  approvedAt: string;
  fee: string;
  bond: string;
}

export interface SubmitterOptions {
  /** How long a prepared signature stays valid (default one hour). */
  signatureTtlSeconds?: number;
  /** How long `confirm` waits for a transaction that is known but not mined yet (default 30 s). */
  receiptTimeoutMs?: number;
}

export class ContributionSubmitter {
  /** Records being submitted or confirmed right now (one transition at a time per record). */
  private readonly busy = new Set<string>();
  /** The relayer sends one transaction at a time, so its nonces never collide. */
  private relayQueue: Promise<unknown> = Promise.resolve();
  private readonly ttl: number;
  private readonly receiptTimeout: number;

  constructor(
    private readonly plane: DataPlane,
    options: SubmitterOptions = {},
  ) {
    this.ttl = options.signatureTtlSeconds ?? 3600;
    this.receiptTimeout = options.receiptTimeoutMs ?? 30_000;
  }

  private get registry(): Address {
    return this.plane.chain.contracts.datanets.address;
  }

  /** The typed data (with the contributor's current nonce and a fresh deadline) and the direct transaction. */
  async prepare(record: ContributionRecord, datanet?: OnchainDatanet): Promise<SubmissionRequest> {
    const { chain } = this.plane;
    const terms = datanet ?? (await requireDatanet(this.plane, BigInt(record.datanetId)));
    const nonce = await chain.contracts.datanets.read.nonces([record.contributor]);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + this.ttl);
    const fields = contributionFields(record);
    const domain = contributionDomain(chain.chainId, this.registry);
    const value = terms.contributionFee + terms.contributorBond;
    return {
      chainId: chain.chainId,
      verifyingContract: this.registry,
      fee: terms.contributionFee.toString(),
      bond: terms.contributorBond.toString(),
      contribution: {
        contributor: record.contributor,
        datanetId: record.datanetId,
        dataRoot: record.dataRoot,
        rowCount: String(record.rowCount),
        byteSize: String(record.byteSize),
        metadataURI: record.metadataURI,
        nonce: nonce.toString(),
        deadline: deadline.toString(),
      },
      typedData: {
        domain: { ...domain },
        types: { EIP712Domain: EIP712_DOMAIN_TYPE, Contribution: contributionTypes.Contribution },
        primaryType: 'Contribution',
        message: {
          datanetId: record.datanetId,
          dataRoot: record.dataRoot,
          rowCount: String(record.rowCount),
          byteSize: String(record.byteSize),
          metadataHash: fields.metadataHash,
          nonce: nonce.toString(),
          deadline: deadline.toString(),
        },
      },
      unsignedTx: {
        from: record.contributor,
        to: this.registry,
        data: encodeFunctionData({
          abi: datanetRegistryAbi,
          functionName: 'submitContribution',
          args: [fields.datanetId, fields.dataRoot, fields.rowCount, fields.byteSize, record.metadataURI],
        }),
        value: toHex(value),
        chainId: chain.chainId,
      },
      relayer: this.plane.relayer?.walletClient?.account.address ?? null,
    };
  }

  /**
   * The relayed path: checks that the contributor signed the contribution (with their current nonce)
   * before anything is sent, then sends `submitContributionWithSig` from the relayer.
   */
  async relay(
    record: ContributionRecord,
    input: { signature: Hex; deadline: bigint },
  ): Promise<ContributionRecord> {
    return this.exclusive(record, async (current) => {
      const relayer = this.plane.relayer;
      if (!relayer) throw new SubmissionError('no-relayer', 'this data plane does not relay submissions');
      if (input.deadline <= BigInt(Math.floor(Date.now() / 1000)))
        throw new SubmissionError('deadline-passed', `the signature's deadline ${input.deadline} has passed`);
      const datanet = await requireDatanet(this.plane, BigInt(current.datanetId));
      await this.checkSignature(current, input.signature, input.deadline);
      await this.refuseIfOnchain(current);
      const fields = contributionFields(current);
      const value = datanet.contributionFee + datanet.contributorBond;
      let sent;
      try {
        sent = await this.serially(() =>
          sendProtocolTx(relayer, 'submitContributionWithSig', (account) =>
            relayer.contracts.datanets.simulate.submitContributionWithSig(
              [
                current.contributor,
                fields.datanetId,
                fields.dataRoot,
                fields.rowCount,
                fields.byteSize,
                current.metadataURI,
                input.deadline,
                input.signature,
              ],
              { account, value },
            ),
          ),
        );
      } catch (error) {
        throw relayError(error);
      }
      const event = this.submittedEvent(sent.receipt, current);
      if (!event) {
        throw new SubmissionError(
          'event-mismatch',
          `transaction ${sent.hash} emitted no matching ContributionSubmitted event`,
        );
      }
      return this.markSubmitted(current, event.contributionId, sent.hash);
    });
  }

  /** The direct path: the contributor's wallet sent `submitContribution`; its receipt must say so. */
  async confirm(record: ContributionRecord, txHash: Hex): Promise<ContributionRecord> {
    if (record.status === 'submitted' && record.txHash?.toLowerCase() === txHash.toLowerCase()) return record;
    return this.exclusive(record, async (current) => {
      const receipt = await this.receipt(txHash);
      if (receipt.status !== 'success')
        throw new SubmissionError('transaction-reverted', `transaction ${txHash} reverted`);
      const event = this.submittedEvent(receipt, current);
      if (!event) {
        throw new SubmissionError(
          'event-mismatch',
          `transaction ${txHash} submitted no contribution of Datanet ${current.datanetId} with data root ${current.dataRoot}, ${current.rowCount} rows and ${current.byteSize} bytes from ${current.contributor}`,
        );
      }
      return this.markSubmitted(current, event.contributionId, txHash);
    });
  }

  /**
   * A stored record whose root is on the chain anyway (under this contributor, with these counts)
   * becomes `submitted`. Returns the record as it is now; never throws for a chain that disagrees.
   */
  async reconcile(record: ContributionRecord): Promise<ContributionRecord> {
    if (record.status !== 'stored' || this.busy.has(record.id)) return record;
    const { datanets } = this.plane.chain.contracts;
    const id = await datanets.read.contributionByRoot([BigInt(record.datanetId), record.dataRoot]);
    if (id === 0n) return record;
    const c = await datanets.read.contribution([id]);
    if (
      !isAddressEqual(c.contributor, record.contributor) ||
      c.rowCount !== BigInt(record.rowCount) ||
      c.byteSize !== BigInt(record.byteSize)
    ) {
      return record;
    }
    let txHash: Hex | undefined;
    try {
      const logs = await datanets.getEvents.ContributionSubmitted({ contributionId: id }, { fromBlock: 0n });
      txHash = logs[0]?.transactionHash ?? undefined;
    } catch {
      // Best effort: a node that limits log queries leaves the hash unknown.
    }
    if (this.busy.has(record.id)) return record;
    return this.markSubmitted(record, id, txHash);
  }

  /** DatanetRegistry's view of a submitted contribution (curation status, votes, version). */
  async onchain(record: ContributionRecord): Promise<OnchainContribution | undefined> {
    if (!record.onchainId) return undefined;
    const c = await this.plane.chain.contracts.datanets.read.contribution([BigInt(record.onchainId)]);
    return {
      id: record.onchainId,
      status: CONTRIBUTION_STATUSES[c.status] ?? 'None',
      quorum: c.quorum,
      approvals: c.approvals,
      rejections: c.rejections,
      version: c.version.toString(),
      rowOffset: c.rowOffset.toString(),
      submittedAt: c.submittedAt.toString(),
      approvedAt: c.approvedAt.toString(),
      fee: c.fee.toString(),
      bond: c.bond.toString(),
    };
  }

  private async checkSignature(record: ContributionRecord, signature: Hex, deadline: bigint): Promise<void> {
    const { chain } = this.plane;
    const nonce = await chain.contracts.datanets.read.nonces([record.contributor]);
    const fields = contributionFields(record);
    const typed = {
      domain: contributionDomain(chain.chainId, this.registry),
      types: contributionTypes,
      primaryType: 'Contribution' as const,
      message: {
        datanetId: fields.datanetId,
        dataRoot: fields.dataRoot,
        rowCount: fields.rowCount,
        byteSize: fields.byteSize,
        metadataHash: fields.metadataHash,
        nonce,
        deadline,
      },
    };
    let signer: Address | undefined;
    try {
      signer = await recoverTypedDataAddress({ ...typed, signature });
    } catch {
      signer = undefined;
    }
    if (signer && isAddressEqual(signer, record.contributor)) return;
    // A contract wallet signs by ERC-1271, as DatanetRegistry's SignatureChecker accepts.
    const code = await chain.publicClient.getCode({ address: record.contributor });
    if (code && code !== '0x') {
      const magic = await chain.publicClient
        .readContract({
          address: record.contributor,
          abi: ERC1271_ABI,
          functionName: 'isValidSignature',
          args: [hashTypedData(typed), signature],
        })
        .catch(() => undefined);
      if (magic === '0x1626ba7e') return;
    }
    throw new SubmissionError(
      'bad-signature',
      `the signature is not ${record.contributor}'s over this contribution with nonce ${nonce} and deadline ${deadline}`,
    );
  }

  /** The relayer would only waste a revert on a root the chain already holds. */
  private async refuseIfOnchain(record: ContributionRecord): Promise<void> {
    const { datanets } = this.plane.chain.contracts;
    const existing = await datanets.read.contributionByRoot([BigInt(record.datanetId), record.dataRoot]);
    if (existing === 0n) return;
    const c = await datanets.read.contribution([existing]);
    if (CONTRIBUTION_STATUSES[c.status] === 'Expired') return;
    throw new SubmissionError(
      'already-onchain',
      `Datanet ${record.datanetId} already holds this data root as contribution ${existing}`,
    );
  }

  private async receipt(hash: Hex): Promise<TransactionReceipt> {
    const client = this.plane.chain.publicClient;
    try {
      return await client.getTransactionReceipt({ hash });
    } catch (error) {
      if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
    }
    try {
      await client.getTransaction({ hash });
    } catch (error) {
      if (error instanceof TransactionNotFoundError)
        throw new SubmissionError('unknown-transaction', `the chain knows no transaction ${hash}`);
      throw error;
    }
    try {
      return await client.waitForTransactionReceipt({
        hash,
        timeout: this.receiptTimeout,
        pollingInterval: 250,
      });
    } catch (error) {
      if (error instanceof WaitForTransactionReceiptTimeoutError)
        throw new SubmissionError(
          'not-mined',
          `transaction ${hash} is not mined yet; report it again once it is`,
        );
      throw error;
    }
  }

  private submittedEvent(receipt: TransactionReceipt, record: ContributionRecord) {
    const logs = parseEventLogs({
      abi: datanetRegistryAbi,
      logs: receipt.logs,
      eventName: 'ContributionSubmitted',
    });
    return logs
      .filter((log) => isAddressEqual(log.address, this.registry))
      .map((log) => log.args)
      .find(
        (args) =>
          args.datanetId === BigInt(record.datanetId) &&
          args.dataRoot.toLowerCase() === record.dataRoot.toLowerCase() &&
          isAddressEqual(args.contributor, record.contributor) &&
          args.rowCount === BigInt(record.rowCount) &&
          args.byteSize === BigInt(record.byteSize) &&
          args.metadataURI === record.metadataURI,
      );
  }

  private async markSubmitted(
    record: ContributionRecord,
    onchainId: bigint,
    txHash: Hex | undefined,
  ): Promise<ContributionRecord> {
    const latest = (await this.plane.records.get(record.id)) ?? record;
    const updated: ContributionRecord = {
      ...latest,
      status: 'submitted',
      onchainId: onchainId.toString(),
      ...(txHash && { txHash }),
    };
    await this.plane.records.put(updated);
    return updated;
  }

  /** Runs one state transition of a record at a time, on its latest stored state. */
  private async exclusive<T>(
    record: ContributionRecord,
    run: (current: ContributionRecord) => Promise<T>,
  ): Promise<T> {
    if (this.busy.has(record.id))
      throw new SubmissionError(
        'submission-in-progress',
        `contribution ${record.id} is being submitted right now`,
      );
    this.busy.add(record.id);
    try {
      const current = (await this.plane.records.get(record.id)) ?? record;
      if (current.status !== 'stored') {
        throw new SubmissionError(
          'already-submitted',
          `contribution ${record.id} is already on the chain as ${current.onchainId}${current.txHash ? ` (transaction ${current.txHash})` : ''}`,
        );
      }
      return await run(current);
    } finally {
      this.busy.delete(record.id);
    }
  }

  private serially<T>(send: () => Promise<T>): Promise<T> {
    const next = this.relayQueue.catch(() => undefined).then(send);
    this.relayQueue = next;
    return next;
  }
}

/** A record's contribution as DatanetRegistry types it. */
function contributionFields(record: ContributionRecord) {
  return {
    datanetId: BigInt(record.datanetId),
    dataRoot: record.dataRoot,
    rowCount: BigInt(record.rowCount),
    byteSize: BigInt(record.byteSize),
    metadataHash: keccak256(toBytes(record.metadataURI)),
  };
}

function relayError(error: unknown): Error {
  if (error instanceof ProtocolTxError) {
    switch (error.errorName) {
      case 'InvalidSignature':
        return new SubmissionError('bad-signature', error.message);
      case 'SignatureExpired':
        return new SubmissionError('deadline-passed', error.message);
      case 'DuplicateContribution':
        return new SubmissionError('already-onchain', error.message);
      case 'WrongPayment':
        return new SubmissionError('terms-changed', error.message);
    }
    if (/insufficient funds/i.test(shortMessage(error.cause ?? error)))
      return new SubmissionError('relayer-unfunded', 'the relayer cannot pay the fee, bond and gas');
    return new SubmissionError('submission-failed', error.message);
  }
  return error instanceof Error ? error : new Error(String(error));
}

const ERC1271_ABI = [
  {
    type: 'function',
    name: 'isValidSignature',
    stateMutability: 'view',
    inputs: [
      { name: 'hash', type: 'bytes32' },
      { name: 'signature', type: 'bytes' },
    ],
    outputs: [{ name: 'magicValue', type: 'bytes4' }],
  },
] as const;
