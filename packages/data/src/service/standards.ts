/**
 * A Datanet's validation standard as the data plane keeps it. DatanetRegistry stores only its hash
 * (`validationStandardHash`, keccak256 of the standard's canonical JSON); the standard itself is
 * registered here by value and kept in the content store under that same hash: the store addresses
 * blobs by keccak256, so the blob address of the canonical JSON IS the on-chain commitment, and a
 * Datanet's standard is found from its on-chain record alone, without a mapping that could drift.
 *
 * A standard is accepted only when its hash equals the Datanet's on-chain commitment, so who
 * registers it does not matter (anyone may; the Datanet owner normally does, right after creating
 * the Datanet): a wrong one is refused, the right one cannot be replaced.
 */
import { isAddressEqual, zeroHash, type Address, type Hex } from 'viem';
import { revertOf } from '@openledger/sdk';
import {
  canonicalValidationStandard,
  parseValidationStandard,
  type ValidationStandard,
} from '../ingest/validation-standard.ts';
import { keccak256 } from '../hash.ts';
import { NotFoundError } from '../store/content-store.ts';
import type { DataPlane } from './data-plane.ts';

export class StandardError extends Error {
  constructor(
    readonly code: 'unknown-datanet' | 'standard-mismatch' | 'no-standard' | 'standard-not-registered',
    message: string,
  ) {
    super(message);
    this.name = 'StandardError';
  }
}

/** What DatanetRegistry stores about a Datanet (`datanet(id)`), with its id. */
export interface OnchainDatanet {
  id: bigint;
  owner: Address;
  curatorQuorum: number;
  createdAt: bigint;
  totalRows: bigint;
  queueHead: bigint;
  validationStandardHash: Hex;
  contributionFee: bigint;
  contributorBond: bigint;
  metadataURI: string;
  validationStandardURI: string;
}

/** The Datanet's on-chain record, or undefined for an id DatanetRegistry does not know. */
export async function readDatanet(plane: DataPlane, id: bigint): Promise<OnchainDatanet | undefined> {
  try {
    const d = await plane.chain.contracts.datanets.read.datanet([id]);
    return { id, ...d };
  } catch (error) {
    if (revertOf(error)?.errorName === 'UnknownDatanet') return undefined;
    throw error;
  }
}

/** Like {@link readDatanet}, but an unknown id is a `StandardError('unknown-datanet')`. */
export async function requireDatanet(plane: DataPlane, id: bigint): Promise<OnchainDatanet> {
  const datanet = await readDatanet(plane, id);
  if (!datanet) throw new StandardError('unknown-datanet', `there is no Datanet ${id}`);
  return datanet;
}

/** True if `account` owns the Datanet. */
export function isOwner(datanet: OnchainDatanet, account: Address): boolean {
  return isAddressEqual(datanet.owner, account);
}

/** The validation standards of Datanets, in the plane's content store by their hash. */
export class DatanetStandards {
  /** Parsed standards by hash (immutable: a hash names one standard forever). */
  private readonly parsed = new Map<Hex, ValidationStandard>();

  constructor(private readonly plane: DataPlane) {}

  /**
   * Registers the standard of a Datanet: parses it (a `ValidationStandardError` lists bad fields),
   * checks its hash against the on-chain commitment and stores its canonical JSON. Idempotent.
   */
  async register(
    datanet: OnchainDatanet,
    standard: unknown,
  ): Promise<{ hash: Hex; standard: ValidationStandard; created: boolean }> {
    const parsed = parseValidationStandard(standard);
    const canonical = canonicalValidationStandard(parsed);
    const committed = datanet.validationStandardHash;
    if (committed === zeroHash) {
      throw new StandardError(
        'no-standard',
        `Datanet ${datanet.id} committed to no validation standard (its validationStandardHash is zero)`,
      );
    }
    const bytes = Buffer.from(canonical, 'utf8');
    // Hash first, store second: a standard that is not the committed one never reaches the store.
    const hash = keccak256(bytes);
    if (hash !== committed.toLowerCase()) {
      throw new StandardError(
        'standard-mismatch',
        `this standard hashes to ${hash}, but Datanet ${datanet.id} committed to ${committed}`,
      );
    }
    const created = !(await this.plane.blobs.has(hash));
    await this.plane.blobs.put(bytes);
    this.parsed.set(hash, parsed);
    return { hash, standard: parsed, created };
  }

  /** The Datanet's registered standard, or undefined when none is (or none was committed to). */
  async get(datanet: OnchainDatanet): Promise<ValidationStandard | undefined> {
    const hash = datanet.validationStandardHash.toLowerCase() as Hex;
    if (hash === zeroHash) return undefined;
    const cached = this.parsed.get(hash);
    if (cached) return cached;
    let bytes: Uint8Array;
    try {
      bytes = await this.plane.blobs.get(hash);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const standard = parseValidationStandard(Buffer.from(bytes).toString('utf8'));
    this.parsed.set(hash, standard);
    return standard;
  }

  /** The standard uploads to the Datanet are checked against; a `StandardError` when there is none. */
  async require(datanet: OnchainDatanet): Promise<ValidationStandard> {
    if (datanet.validationStandardHash === zeroHash) {
      throw new StandardError(
        'no-standard',
        `Datanet ${datanet.id} committed to no validation standard, so nothing can be checked against it`,
      );
    }
    const standard = await this.get(datanet);
    if (!standard) {
      throw new StandardError(
        'standard-not-registered',
        `the validation standard of Datanet ${datanet.id} (${datanet.validationStandardHash}) is not registered: PUT it to /datanets/${datanet.id}/standard first`,
      );
    }
    return standard;
  }
}
