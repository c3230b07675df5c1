import { RLP } from '@ethereumjs/rlp';
import {
  bigIntToUnpaddedBytes,
  bytesToBigInt,
  bytesToHex,
  hexToBytes,
  intToUnpaddedBytes,
} from '@ethereumjs/util';
import type { Address, Hex } from 'viem';
import { MAX_ROUND, NIL, VoteStep, type SignedVote } from './messages.ts';
import { recoverSigner, type RecoverSigner } from './signer.ts';
import { voteDigest, type SigningDomain } from './signing.ts';
import type { ValidatorSet } from './validator-set.ts';

/** One precommit of a commit: who signed and the signature (the vote's fields are the commit's). */
export interface CommitSignature {
  readonly validator: Address;
  readonly signature: Hex;
}

/**
 * The proof that a block was decided: precommits for `blockHash` at (height, round) from more than
 * 2/3 of the height's voting power. Stored with each block; what a syncing node or light client
 * checks with `verifyCommit` against the validator set of that height.
 */
export interface Commit {
  readonly height: bigint;
  readonly round: number;
  readonly blockHash: Hex;
  /** In the validator set's order, one per validator. */
  readonly signatures: readonly CommitSignature[];
}

/** A commit from precommits for one block at one (height, round), ordered as the validator set. */
export function commitFromPrecommits(precommits: readonly SignedVote[], validatorSet: ValidatorSet): Commit {
  const first = precommits[0];
  if (!first) throw new Error('A commit needs at least one precommit');
  for (const p of precommits) {
    if (p.step !== VoteStep.precommit) throw new Error('A commit is made of precommits only');
    if (p.height !== first.height || p.round !== first.round || p.blockHash !== first.blockHash) {
      throw new Error('The precommits of a commit must share height, round and block hash');
    }
  }
  const signatures = precommits
    .map((p) => ({ validator: p.validator.toLowerCase() as Address, signature: p.signature }))
    .sort((a, b) => validatorSet.indexOf(a.validator) - validatorSet.indexOf(b.validator));
  return { height: first.height, round: first.round, blockHash: first.blockHash, signatures };
}

/** The precommit votes a commit stands for, with their signatures. */
export function commitPrecommits(commit: Commit): SignedVote[] {
  return commit.signatures.map((s) => ({
    height: commit.height,
    round: commit.round,
    step: VoteStep.precommit,
    blockHash: commit.blockHash,
    validator: s.validator,
    signature: s.signature,
  }));
}

export type CommitVerification =
  | { readonly valid: true; readonly signedPower: bigint; readonly totalPower: bigint }
  | { readonly valid: false; readonly reason: string };

/**
 * Checks that `commit` proves its block under `validatorSet` (the set of commit.height): every
 * signature is a valid precommit of a distinct member for (height, round, blockHash), and together
 * they hold more than 2/3 of the power. All signatures are checked, not just enough of them, so a
 * stored commit never carries a bad one. The caller compares commit.height and commit.blockHash with
 * the block it wants proven.
 */
export function verifyCommit(
  commit: Commit,
  validatorSet: ValidatorSet,
  domain: SigningDomain,
  options: { recover?: RecoverSigner } = {},
): CommitVerification {
  const recover = options.recover ?? recoverSigner;
  if (commit.blockHash.toLowerCase() === NIL) return { valid: false, reason: 'a commit cannot be for nil' };
  if (!Number.isSafeInteger(commit.round) || commit.round < 0 || commit.round > MAX_ROUND) {
    return { valid: false, reason: `invalid round ${commit.round}` };
  }
  const digest = voteDigest(
    { height: commit.height, round: commit.round, step: VoteStep.precommit, blockHash: commit.blockHash },
    domain,
  );
  const seen = new Set<Address>();
  let signedPower = 0n;
  for (const { validator, signature } of commit.signatures) {
    const address = validator.toLowerCase() as Address;
    const power = validatorSet.powerOf(address);
    if (power === 0n) return { valid: false, reason: `${address} is not in the validator set` };
    if (seen.has(address)) return { valid: false, reason: `${address} signed twice` };
    seen.add(address);
    if (recover(digest, signature) !== address) {
      return { valid: false, reason: `the signature of ${address} is not its precommit for this block` };
    }
    signedPower += power;
  }
  if (!validatorSet.exceedsTwoThirds(signedPower)) {
    return {
      valid: false,
      reason: `signed power ${signedPower} of ${validatorSet.totalPower} is not more than 2/3`,
    };
  }
  return { valid: true, signedPower, totalPower: validatorSet.totalPower };
}

/** RLP([height, round, blockHash, [[validator, signature], …]]): how a commit is stored and sent. */
export function encodeCommit(commit: Commit): Uint8Array {
  return RLP.encode([
    bigIntToUnpaddedBytes(commit.height),
    intToUnpaddedBytes(commit.round),
    hexToBytes(commit.blockHash),
    commit.signatures.map((s) => [hexToBytes(s.validator), hexToBytes(s.signature)]),
  ]);
}

function canonicalInteger(bytes: Uint8Array, what: string): bigint {
  if (bytes.length > 0 && bytes[0] === 0) throw new Error(`Invalid commit: ${what} has leading zeros`);
  return bytesToBigInt(bytes);
}

/** Decodes `encodeCommit`'s bytes, rejecting anything but exactly that shape. */
export function decodeCommit(bytes: Uint8Array): Commit {
  const decoded = RLP.decode(bytes);
  if (!Array.isArray(decoded) || decoded.length !== 4)
    throw new Error('Invalid commit: expected a 4-item list');
  const [heightBytes, roundBytes, hashBytes, list] = decoded;
  if (
    !(heightBytes instanceof Uint8Array) ||
    !(roundBytes instanceof Uint8Array) ||
    !(hashBytes instanceof Uint8Array)
  ) {
    throw new Error('Invalid commit: height, round and block hash must be byte strings');
  }
  if (heightBytes.length > 8) throw new Error('Invalid commit: height is not a uint64');
  if (roundBytes.length > 4) throw new Error('Invalid commit: round is not a uint32');
  const round = Number(canonicalInteger(roundBytes, 'round'));
  if (round > MAX_ROUND) throw new Error('Invalid commit: round is too large');
  if (hashBytes.length !== 32) throw new Error('Invalid commit: block hash is not 32 bytes');
  if (!Array.isArray(list)) throw new Error('Invalid commit: signatures must be a list');
  const signatures = list.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2)
      throw new Error('Invalid commit: a signature entry is not a pair');
    const [validator, signature] = entry;
    if (!(validator instanceof Uint8Array) || validator.length !== 20) {
      throw new Error('Invalid commit: validator is not 20 bytes');
    }
    if (!(signature instanceof Uint8Array) || signature.length !== 65) {
      throw new Error('Invalid commit: signature is not 65 bytes');
    }
    return { validator: bytesToHex(validator) as Address, signature: bytesToHex(signature) as Hex };
  });
  return {
    height: canonicalInteger(heightBytes, 'height'),
    round,
    blockHash: bytesToHex(hashBytes) as Hex,
    signatures,
  };
}
