import {
  bigIntToBytes,
  bytesToHex,
  concatBytes,
  hexToBytes,
  intToBytes,
  setLengthLeft,
  utf8ToBytes,
} from '@ethereumjs/util';
import type { Address, Hex } from 'viem';
import { keccak256 } from '../crypto/native.ts';
import { voteFields, type Proposal, type SignedProposal, type SignedVote, type Vote } from './messages.ts';
import { recoverSigner, type ConsensusSigner, type RecoverSigner } from './signer.ts';

/**
 * The EIP-712 digest of a vote, exactly as the Staking contract computes it (`voteDigest`). The chain
 * package does not depend on the sdk (ARCHITECTURE: chain → contracts only; the sdk is the client
 * side), so the node injects the sdk's `consensusVoteDigest`, whose signature this matches:
 * `{ voteDigest: consensusVoteDigest }` is a VoteCodec.
 */
export interface VoteCodec {
  voteDigest(vote: Vote, chainId: number, verifyingContract?: Address): Hex;
}

/**
 * Where consensus signatures are valid: one chain, one Staking contract (the EIP-712 verifying
 * contract of votes and proposals; PREDEPLOYS.Staking on every OpenLedger network).
 */
export interface SigningDomain {
  chainId: number;
  verifyingContract: Address;
  voteCodec: VoteCodec;
}

export function voteDigest(vote: Vote, domain: SigningDomain): Hex {
  return domain.voteCodec.voteDigest(voteFields(vote), domain.chainId, domain.verifyingContract);
}

/**
 * Proposals are EIP-712 typed data under the same domain as votes (name "OpenLedger Consensus",
 * version "1", the chain id, the Staking contract): a wallet or remote signer signs them like votes,
 * and Staking, already an EIP712 contract of that domain, could verify proposer equivocation with one
 * more type hash. The type hash differs from Vote's, so a proposal digest is never a vote digest.
 */
export const PROPOSAL_TYPE = 'Proposal(uint64 height,uint32 round,bytes32 blockHash,int32 validRound)';
const DOMAIN_TYPE = 'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)';
const DOMAIN_NAME = 'OpenLedger Consensus';
const DOMAIN_VERSION = '1';

const PROPOSAL_TYPEHASH = keccak256(utf8ToBytes(PROPOSAL_TYPE));
const DOMAIN_TYPEHASH = keccak256(utf8ToBytes(DOMAIN_TYPE));
const domainSeparators = new Map<string, Uint8Array>();

function word(value: bigint): Uint8Array {
  // Two's complement in 256 bits, as abi.encode does for int types.
  return setLengthLeft(bigIntToBytes(BigInt.asUintN(256, value)), 32);
}

/** keccak256(abi.encode(EIP712Domain typehash, name, version, chainId, verifyingContract)), cached. */
export function consensusDomainSeparator(chainId: number, verifyingContract: Address): Uint8Array {
  const key = `${chainId}:${verifyingContract.toLowerCase()}`;
  let separator = domainSeparators.get(key);
  if (!separator) {
    separator = keccak256(
      concatBytes(
        DOMAIN_TYPEHASH,
        keccak256(utf8ToBytes(DOMAIN_NAME)),
        keccak256(utf8ToBytes(DOMAIN_VERSION)),
        word(BigInt(chainId)),
        setLengthLeft(hexToBytes(verifyingContract), 32),
      ),
    );
    domainSeparators.set(key, separator);
  }
  return separator;
}

/** The EIP-712 digest a proposer signs: keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(proposal)). */
export function proposalDigest(
  proposal: Proposal,
  domain: Pick<SigningDomain, 'chainId' | 'verifyingContract'>,
): Hex {
  const structHash = keccak256(
    concatBytes(
      PROPOSAL_TYPEHASH,
      word(proposal.height),
      word(BigInt(proposal.round)),
      setLengthLeft(hexToBytes(proposal.blockHash), 32),
      word(BigInt(proposal.validRound)),
    ),
  );
  const separator = consensusDomainSeparator(domain.chainId, domain.verifyingContract);
  return bytesToHex(keccak256(concatBytes(intToBytes(0x1901), separator, structHash))) as Hex;
}

export function signVote(vote: Vote, signer: ConsensusSigner, domain: SigningDomain): SignedVote {
  const fields = voteFields(vote);
  return {
    ...fields,
    validator: signer.address.toLowerCase() as Address,
    signature: signer.sign(voteDigest(fields, domain)),
  };
}

export function signProposal(
  proposal: Proposal,
  signer: ConsensusSigner,
  domain: SigningDomain,
): SignedProposal {
  const fields: Proposal = {
    height: proposal.height,
    round: proposal.round,
    blockHash: proposal.blockHash,
    validRound: proposal.validRound,
  };
  return {
    ...fields,
    proposer: signer.address.toLowerCase() as Address,
    signature: signer.sign(proposalDigest(fields, domain)),
  };
}

/** True when `vote.signature` is `vote.validator`'s over the vote's fields in `domain`. */
export function verifyVoteSignature(
  vote: SignedVote,
  domain: SigningDomain,
  recover: RecoverSigner = recoverSigner,
): boolean {
  return recover(voteDigest(vote, domain), vote.signature) === vote.validator.toLowerCase();
}

export function verifyProposalSignature(
  proposal: SignedProposal,
  domain: SigningDomain,
  recover: RecoverSigner = recoverSigner,
): boolean {
  return recover(proposalDigest(proposal, domain), proposal.signature) === proposal.proposer.toLowerCase();
}
