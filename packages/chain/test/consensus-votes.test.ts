import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeEventLog,
  decodeFunctionResult,
  encodeFunctionData,
  hashTypedData,
  keccak256,
  toBytes,
  type Abi,
  type Address,
  type Hex,
} from 'viem';
import { PREDEPLOYS, loadArtifact } from '@openledger/contracts';
// Test-only: the node (cli) injects the sdk's digest as the VoteCodec; chain itself never imports the sdk.
import { consensusVoteDigest } from '@openledger/sdk';
import { Chain } from '../src/chain.ts';
import { keccak256 as nativeKeccak } from '../src/crypto/native.ts';
import { runCall } from '../src/execution/call.ts';
import { createDevnetGenesis, withProtocolContracts } from '../src/genesis/devnet-genesis.ts';
import {
  NIL,
  PROPOSAL_TYPE,
  VoteSet,
  VoteStep,
  consensusDomainSeparator,
  createDuplicateVoteEvidence,
  createPrivateKeySigner,
  createValidatorSet,
  normalizeProposal,
  normalizeVote,
  proposalDigest,
  recoverSigner,
  signProposal,
  signVote,
  stakingEvidenceArgs,
  verifyDuplicateVoteEvidence,
  verifyProposalSignature,
  verifyVoteSignature,
  voteDigest,
  type SignedVote,
  type SigningDomain,
  type VoteCodec,
} from '../src/consensus/index.ts';

const CHAIN_ID = 1337;
const voteCodec: VoteCodec = { voteDigest: consensusVoteDigest };
const domain: SigningDomain = { chainId: CHAIN_ID, verifyingContract: PREDEPLOYS.Staking, voteCodec };
const keys = Array.from({ length: 4 }, (_, i) =>
  createPrivateKeySigner(keccak256(toBytes(`consensus votes ${i}`))),
);
const block = (name: string): Hex => keccak256(toBytes(name));

describe('consensus: vote and proposal signatures', () => {
  it('signs votes with the sdk digest the Staking contract verifies, and recovers the signer', () => {
    const vote = { height: 7n, round: 2, step: VoteStep.precommit, blockHash: block('A') };
    const signed = signVote(vote, keys[0]!, domain);
    expect(signed.validator).toBe(keys[0]!.address);
    expect(voteDigest(vote, domain)).toBe(consensusVoteDigest(vote, CHAIN_ID));
    expect(recoverSigner(consensusVoteDigest(vote, CHAIN_ID), signed.signature)).toBe(keys[0]!.address);
    expect(verifyVoteSignature(signed, domain)).toBe(true);
    // Every signed field and the domain matter.
    expect(verifyVoteSignature({ ...signed, round: 3 }, domain)).toBe(false);
    expect(verifyVoteSignature({ ...signed, step: VoteStep.prevote }, domain)).toBe(false);
    expect(verifyVoteSignature({ ...signed, blockHash: NIL }, domain)).toBe(false);
    expect(verifyVoteSignature(signed, { ...domain, chainId: CHAIN_ID + 1 })).toBe(false);
    expect(verifyVoteSignature({ ...signed, validator: keys[1]!.address }, domain)).toBe(false);
  });

  it('defines proposals as EIP-712 typed data under the votes’ domain (checked against viem and the sdk)', () => {
    const proposal = { height: 9n, round: 3, blockHash: block('B'), validRound: -1 };
    const eip712Domain = {
      name: 'OpenLedger Consensus',
      version: '1',
      chainId: CHAIN_ID,
      verifyingContract: PREDEPLOYS.Staking,
    } as const;
    const types = {
      Proposal: [
        { name: 'height', type: 'uint64' },
        { name: 'round', type: 'uint32' },
        { name: 'blockHash', type: 'bytes32' },
        { name: 'validRound', type: 'int32' },
      ],
    } as const;
    expect(PROPOSAL_TYPE).toBe('Proposal(uint64 height,uint32 round,bytes32 blockHash,int32 validRound)');
    for (const validRound of [-1, 0, 2]) {
      const message = { ...proposal, validRound };
      expect(proposalDigest(message, domain)).toBe(
        hashTypedData({ domain: eip712Domain, types, primaryType: 'Proposal', message }),
      );
    }
    // The native domain separator is the one the sdk's vote digests (and Staking) use.
    const vote = { height: 9n, round: 3, step: VoteStep.prevote, blockHash: block('B') };
    const typeHash = nativeKeccak(toBytes('Vote(uint64 height,uint32 round,uint8 step,bytes32 blockHash)'));
    const word = (n: bigint) => toBytes(n, { size: 32 });
    const structHash = nativeKeccak(
      new Uint8Array([...typeHash, ...word(9n), ...word(3n), ...word(1n), ...toBytes(vote.blockHash)]),
    );
    const separator = consensusDomainSeparator(CHAIN_ID, PREDEPLOYS.Staking);
    const digest = keccak256(new Uint8Array([0x19, 0x01, ...separator, ...structHash]));
    expect(digest).toBe(consensusVoteDigest(vote, CHAIN_ID));

    const signed = signProposal(proposal, keys[1]!, domain);
    expect(verifyProposalSignature(signed, domain)).toBe(true);
    expect(verifyProposalSignature({ ...signed, validRound: 0 }, domain)).toBe(false);
    expect(verifyProposalSignature({ ...signed, proposer: keys[0]!.address }, domain)).toBe(false);
  });

  it('recovers only what OpenZeppelin ECDSA.recover accepts: 65 bytes, v 27/28, low s', () => {
    const digest = block('digest');
    const signature = keys[2]!.sign(digest);
    expect(recoverSigner(digest, signature)).toBe(keys[2]!.address);
    const bytes = toBytes(signature);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${Buffer.from(bytes.subarray(32, 64)).toString('hex')}`);
    const highS = new Uint8Array(bytes);
    highS.set(toBytes(n - s, { size: 32 }), 32);
    highS[64] = bytes[64] === 27 ? 28 : 27; // the same signature, malleated
    expect(recoverSigner(digest, `0x${Buffer.from(highS).toString('hex')}`)).toBeUndefined();
    const v01 = new Uint8Array(bytes);
    v01[64] = bytes[64]! - 27;
    expect(recoverSigner(digest, `0x${Buffer.from(v01).toString('hex')}`)).toBeUndefined();
    expect(recoverSigner(digest, signature.slice(0, 130) as Hex)).toBeUndefined();
    expect(recoverSigner(digest, `0x${'00'.repeat(65)}`)).toBeUndefined();
  });

  it('normalizes messages from outside and says what is malformed', () => {
    const signed = signVote(
      { height: 1n, round: 0, step: VoteStep.prevote, blockHash: block('A') },
      keys[0]!,
      domain,
    );
    const upper = { ...signed, validator: signed.validator.toUpperCase().replace('0X', '0x') as Address };
    expect(normalizeVote(upper)).toEqual(signed);
    expect(normalizeVote({ ...signed, step: 3 as VoteStep })).toMatch(/step/);
    expect(normalizeVote({ ...signed, round: -1 })).toMatch(/round/);
    expect(normalizeVote({ ...signed, height: 2n ** 64n })).toMatch(/height/);
    expect(normalizeVote({ ...signed, blockHash: '0x12' })).toMatch(/blockHash/);
    const proposal = signProposal(
      { height: 1n, round: 2, blockHash: block('A'), validRound: 1 },
      keys[0]!,
      domain,
    );
    expect(normalizeProposal(proposal)).toEqual(proposal);
    expect(normalizeProposal({ ...proposal, validRound: 2 })).toMatch(/validRound/);
    expect(normalizeProposal({ ...proposal, validRound: -2 })).toMatch(/validRound/);
    expect(normalizeProposal({ ...proposal, blockHash: NIL })).toMatch(/nil/);
  });
});

describe('consensus: vote sets', () => {
  const set = createValidatorSet([
    { address: keys[0]!.address, power: 5n },
    { address: keys[1]!.address, power: 1n },
    { address: keys[2]!.address, power: 1n },
    { address: keys[3]!.address, power: 1n },
  ]);
  const vote = (i: number, hash: Hex, round = 0): SignedVote =>
    signVote({ height: 3n, round, step: VoteStep.prevote, blockHash: hash }, keys[i]!, domain);

  it('counts power, not votes, for +2/3 of a value and of anything', () => {
    const votes = new VoteSet(3n, 0, VoteStep.prevote, set);
    for (const i of [1, 2, 3]) expect(votes.add(vote(i, block('A'))).kind).toBe('added');
    // Three of four validators, but only 3 of 8 power.
    expect(votes.size).toBe(3);
    expect(votes.powerFor(block('A'))).toBe(3n);
    expect(votes.hasTwoThirdsAny()).toBe(false);
    expect(votes.add(vote(0, NIL)).kind).toBe('added');
    expect(votes.hasTwoThirdsAny()).toBe(true);
    expect(votes.twoThirdsMajority()).toBeUndefined();

    const heavy = new VoteSet(3n, 0, VoteStep.prevote, set);
    heavy.add(vote(0, block('A')));
    expect(heavy.hasTwoThirdsFor(block('A'))).toBe(false); // 5 of 8 is not more than 2/3
    heavy.add(vote(1, block('A')));
    expect(heavy.hasTwoThirdsFor(block('A'))).toBe(true); // 6 of 8 is
    expect(heavy.votesFor(block('A')).map((v) => v.validator)).toEqual([keys[0]!.address, keys[1]!.address]);
  });

  it('never counts a validator twice in a tally: a conflicting vote counts for its own value only, a third not at all', () => {
    const votes = new VoteSet(3n, 0, VoteStep.prevote, set);
    const first = vote(0, block('A'));
    expect(votes.add(first).kind).toBe('added');
    expect(votes.add(first).kind).toBe('duplicate');
    const second = vote(0, block('B'));
    expect(votes.add(second)).toEqual({ kind: 'conflict', existing: first, counted: true });
    expect(votes.add(second).kind).toBe('duplicate');
    // 2f + 1 ⟨∗⟩ counts the equivocator once; each value's tally counts its message for that value.
    expect(votes.power).toBe(5n);
    expect(votes.size).toBe(1);
    expect(votes.powerFor(block('A'))).toBe(5n);
    expect(votes.powerFor(block('B'))).toBe(5n);
    expect(votes.add(vote(0, block('C')))).toEqual({ kind: 'conflict', existing: first, counted: false });
    expect(votes.powerFor(block('C'))).toBe(0n);
    expect(votes.votesFor(block('B'))).toEqual([second]);
    const stranger = createPrivateKeySigner(keccak256(toBytes('not a validator')));
    const outsider = signVote(
      { height: 3n, round: 0, step: VoteStep.prevote, blockHash: block('A') },
      stranger,
      domain,
    );
    expect(votes.add(outsider).kind).toBe('unknownValidator');
    expect(votes.add(vote(1, block('A'), 1)).kind).toBe('wrongSet');
  });
});

describe('consensus: duplicate-vote evidence', () => {
  const a = signVote(
    { height: 5n, round: 1, step: VoteStep.precommit, blockHash: block('A') },
    keys[0]!,
    domain,
  );
  const b = signVote({ height: 5n, round: 1, step: VoteStep.precommit, blockHash: NIL }, keys[0]!, domain);

  it('is canonical, verifiable, and rejects what Staking would reject', () => {
    const evidence = createDuplicateVoteEvidence(a, b);
    expect(createDuplicateVoteEvidence(b, a)).toEqual(evidence);
    expect(evidence.voteA.blockHash).toBe(NIL); // the smaller hash first
    expect(verifyDuplicateVoteEvidence(evidence, domain)).toEqual({ valid: true, signer: keys[0]!.address });
    const other = signVote({ ...a, blockHash: block('B') }, keys[1]!, domain);
    expect(verifyDuplicateVoteEvidence({ voteA: a, voteB: other }, domain)).toMatchObject({ valid: false });
    expect(verifyDuplicateVoteEvidence({ voteA: a, voteB: a }, domain)).toMatchObject({
      valid: false,
      reason: 'votes are for the same block hash',
    });
    const laterRound = signVote({ ...b, round: 2 }, keys[0]!, domain);
    expect(verifyDuplicateVoteEvidence({ voteA: a, voteB: laterRound }, domain)).toMatchObject({
      valid: false,
    });
    const set = createValidatorSet([{ address: keys[1]!.address, power: 1n }]);
    expect(verifyDuplicateVoteEvidence(evidence, domain, { validatorSet: set })).toMatchObject({
      valid: false,
    });
  });

  describe('on the real Staking contract (genesis predeploys, eth_call semantics)', () => {
    let dataDir: string;
    let chain: Chain;
    let stakingAbi: Abi;
    const validator = keys[3]!;

    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'openledger-consensus-'));
      const genesis = await withProtocolContracts(
        createDevnetGenesis({ chainId: CHAIN_ID, accounts: [validator.address] }),
        validator.address,
      );
      chain = await Chain.open(dataDir, genesis);
      stakingAbi = (await loadArtifact('Staking')).abi as Abi;
    });

    afterAll(async () => {
      await chain?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    const call = (data: Hex) =>
      runCall(chain, { from: validator.address, to: PREDEPLOYS.Staking, data }, 5_000_000n, {
        block: chain.head,
        gasCap: 30_000_000n,
      });

    it('slashes evidence built from votes this package signed', async () => {
      const va = signVote(
        { height: 5n, round: 1, step: VoteStep.prevote, blockHash: block('X') },
        validator,
        domain,
      );
      const vb = signVote({ ...va, blockHash: NIL }, validator, domain);
      const evidence = createDuplicateVoteEvidence(va, vb);

      const digestCall = await call(
        encodeFunctionData({
          abi: stakingAbi,
          functionName: 'voteDigest',
          args: [stakingEvidenceArgs(evidence)[0]],
        }),
      );
      const digest = decodeFunctionResult({
        abi: stakingAbi,
        functionName: 'voteDigest',
        data: `0x${Buffer.from(digestCall.result.execResult.returnValue).toString('hex')}`,
      });
      expect(digest).toBe(voteDigest(evidence.voteA, domain));

      const { result } = await call(
        encodeFunctionData({
          abi: stakingAbi,
          functionName: 'submitDoubleSignEvidence',
          args: [...stakingEvidenceArgs(evidence)],
        }),
      );
      expect(result.execResult.exceptionError).toBeUndefined();
      const events = result.receipt.logs.flatMap(([, topics, data]) => {
        try {
          return [
            decodeEventLog({
              abi: stakingAbi,
              topics: topics.map((t) => `0x${Buffer.from(t).toString('hex')}`) as [Hex, ...Hex[]],
              data: `0x${Buffer.from(data).toString('hex')}`,
            }).eventName,
          ];
        } catch {
          return [];
        }
      });
      expect(events).toContain('DoubleSignEvidence');
      expect(events).toContain('Tombstoned');
    });
  });
});
