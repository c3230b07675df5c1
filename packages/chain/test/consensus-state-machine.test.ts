import { describe, expect, it } from 'vitest';
import { keccak256, toBytes, type Address, type Hex } from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';
// Test-only: the node (cli) injects the sdk's digest as the VoteCodec; chain itself never imports the sdk.
import { consensusVoteDigest } from '@openledger/sdk';
import {
  ConsensusMachine,
  DEFAULT_TIMEOUTS,
  NIL,
  VoteStep,
  createPrivateKeySigner,
  createValidatorSet,
  signProposal,
  signVote,
  verifyCommit,
  verifyDuplicateVoteEvidence,
  type ConsensusEffect,
  type ConsensusInput,
  type ConsensusSigner,
  type SigningDomain,
  type ValidatorSet,
  type VoteCodec,
} from '../src/consensus/index.ts';

const CHAIN_ID = 1337;
// The sdk digest costs ~0.5 ms (viem's typed-data hashing); votes repeat across tests, so keep them.
const digests = new Map<string, Hex>();
const voteCodec: VoteCodec = {
  voteDigest(vote, chainId, verifyingContract) {
    const key = `${chainId}:${verifyingContract}:${vote.height}:${vote.round}:${vote.step}:${vote.blockHash}`;
    let digest = digests.get(key);
    if (!digest) digests.set(key, (digest = consensusVoteDigest(vote, chainId, verifyingContract)));
    return digest;
  },
};
const domain: SigningDomain = { chainId: CHAIN_ID, verifyingContract: PREDEPLOYS.Staking, voteCodec };
const A = keccak256(toBytes('block A'));
const B = keccak256(toBytes('block B'));
const C = keccak256(toBytes('block C'));

function signers(n: number, tag: string): ConsensusSigner[] {
  return Array.from({ length: n }, (_, i) => createPrivateKeySigner(keccak256(toBytes(`${tag} ${i}`))));
}

type EffectOf<T extends ConsensusEffect['type']> = Extract<ConsensusEffect, { type: T }>;
function only<T extends ConsensusEffect['type']>(effects: ConsensusEffect[], type: T): EffectOf<T>[] {
  return effects.filter((e): e is EffectOf<T> => e.type === type);
}

/** Seven validators of power 1 (2f + 1 = 5, f + 1 = 3); `me` proposes round 1 of height 1, not round 0. */
function network(options: { powers?: bigint[]; meIndex?: number } = {}) {
  const keys = signers(options.powers?.length ?? 7, 'state machine');
  const set = createValidatorSet(
    keys.map((k, i) => ({ address: k.address, power: options.powers?.[i] ?? 1n })),
  );
  const byAddress = new Map(keys.map((k) => [k.address, k]));
  const me = options.meIndex !== undefined ? keys[options.meIndex]! : byAddress.get(set.proposer(1))!;
  const others = keys.filter((k) => k !== me);
  const keyOf = (address: Address) => byAddress.get(address)!;

  const vote = (
    key: ConsensusSigner,
    round: number,
    step: VoteStep,
    blockHash: Hex,
    height = 1n,
  ): ConsensusInput => ({
    type: 'vote',
    vote: signVote({ height, round, step, blockHash }, key, domain),
  });
  const proposal = (
    round: number,
    blockHash: Hex,
    validRound = -1,
    height = 1n,
    s: ValidatorSet = set,
  ): ConsensusInput => ({
    type: 'proposal',
    proposal: signProposal({ height, round, blockHash, validRound }, keyOf(s.proposer(round)), domain),
  });
  const machine = (extra: Partial<ConstructorParameters<typeof ConsensusMachine>[0]> = {}) =>
    new ConsensusMachine({ domain, height: 1n, validatorSet: set, signer: me, ...extra });
  /** Feeds inputs in order and returns every effect. */
  const feed = (m: ConsensusMachine, inputs: ConsensusInput[]): ConsensusEffect[] =>
    inputs.flatMap((i) => m.handle(i));
  const prevotes = (keys: ConsensusSigner[], round: number, blockHash: Hex) =>
    keys.map((k) => vote(k, round, VoteStep.prevote, blockHash));
  const precommits = (keys: ConsensusSigner[], round: number, blockHash: Hex) =>
    keys.map((k) => vote(k, round, VoteStep.precommit, blockHash));
  const timeout = (
    round: number,
    step: 'propose' | 'prevote' | 'precommit' | 'commit',
    height = 1n,
  ): ConsensusInput => ({
    type: 'timeout',
    timeout: { height, round, step },
  });
  const validated = (blockHash: Hex, valid = true, height = 1n): ConsensusInput => ({
    type: 'validated',
    height,
    blockHash,
    valid,
  });
  /** f + 1 nil precommits of `round` from the last three others: enough to skip there (line 55). */
  const skipTo = (m: ConsensusMachine, round: number) => feed(m, precommits(others.slice(3, 6), round, NIL));
  return {
    skipTo,
    keys,
    set,
    me,
    others,
    keyOf,
    vote,
    proposal,
    machine,
    feed,
    prevotes,
    precommits,
    timeout,
    validated,
  };
}

function myVotes(effects: ConsensusEffect[]) {
  return only(effects, 'broadcastVote').map(({ vote }) => ({
    round: vote.round,
    step: vote.step === VoteStep.prevote ? 'prevote' : 'precommit',
    blockHash: vote.blockHash,
  }));
}

/** Round 0 up to `me` locked on A: proposal A, valid, prevote A, four more prevotes for A, precommit A. */
function lockedOnA(n: ReturnType<typeof network>) {
  const m = n.machine();
  m.start();
  const effects = n.feed(m, [n.proposal(0, A), n.validated(A), ...n.prevotes(n.others.slice(0, 4), 0, A)]);
  expect(m.state).toMatchObject({
    step: 'precommit',
    lockedValue: A,
    lockedRound: 0,
    validValue: A,
    validRound: 0,
  });
  return { m, effects };
}

describe('consensus state machine: one height, lines 11-54', () => {
  it('decides on the happy path: lines 22, 34, 36, 47, 49, then waits for the commit timeout and the next set', () => {
    const n = network();
    const m = n.machine();
    expect(m.start()).toEqual([
      {
        type: 'scheduleTimeout',
        timeout: { height: 1n, round: 0, step: 'propose' },
        durationMs: DEFAULT_TIMEOUTS.proposeMs,
      },
    ]);
    const onProposal = m.handle(n.proposal(0, A));
    expect(onProposal).toEqual([
      { type: 'validate', height: 1n, round: 0, blockHash: A, proposer: n.set.proposer(0) },
    ]);
    expect(m.state.step).toBe('propose'); // valid(v) is not known yet
    expect(myVotes(m.handle(n.validated(A)))).toEqual([{ round: 0, step: 'prevote', blockHash: A }]); // line 24

    const polka = n.feed(m, n.prevotes(n.others.slice(0, 4), 0, A));
    expect(only(polka, 'scheduleTimeout').map((e) => e.timeout.step)).toEqual(['prevote']); // line 35
    expect(myVotes(polka)).toEqual([{ round: 0, step: 'precommit', blockHash: A }]); // line 40
    expect(m.state).toMatchObject({
      step: 'precommit',
      lockedValue: A,
      lockedRound: 0,
      validValue: A,
      validRound: 0,
    });

    const commit = n.feed(m, n.precommits(n.others.slice(0, 4), 0, A));
    const [decided] = only(commit, 'decide');
    expect(decided).toMatchObject({ height: 1n, round: 0, blockHash: A });
    expect(decided!.commit.signatures).toHaveLength(5);
    expect(verifyCommit(decided!.commit, n.set, domain)).toMatchObject({ valid: true, signedPower: 5n });
    expect(only(commit, 'scheduleTimeout').map((e) => [e.timeout.step, e.durationMs])).toEqual([
      ['commit', DEFAULT_TIMEOUTS.commitMs],
    ]);
    expect(m.state.decision).toBe(A);

    // Late precommits and stale timeouts change nothing once decided.
    expect(n.feed(m, [...n.precommits(n.others.slice(4), 0, A), n.timeout(0, 'precommit')])).toEqual([]);
    const next = n.set.next();
    expect(m.handle({ type: 'nextHeight', height: 2n, validatorSet: next })).toEqual([]);
    const newHeight = m.handle(n.timeout(0, 'commit'));
    expect(m.state).toEqual({
      height: 2n,
      round: 0,
      step: 'propose',
      lockedValue: null,
      lockedRound: -1,
      validValue: null,
      validRound: -1,
      decision: null,
    });
    expect(only(newHeight, 'scheduleTimeout')[0]!.timeout).toEqual({ height: 2n, round: 0, step: 'propose' });
    expect(only(newHeight, 'getValue')).toHaveLength(next.proposer(0) === n.me.address ? 1 : 0);
  });

  it('asks for valid(v) once and waits for it: invalid → prevote nil; too late → the propose timeout wins', () => {
    const n = network();
    const invalid = n.machine();
    invalid.start();
    expect(only(invalid.handle(n.proposal(0, A)), 'validate')).toHaveLength(1);
    expect(myVotes(invalid.handle(n.validated(A, false)))).toEqual([
      { round: 0, step: 'prevote', blockHash: NIL },
    ]);
    // A polka for an invalid block does not make this validator precommit it (line 36 needs valid(v)).
    expect(myVotes(n.feed(invalid, n.prevotes(n.others.slice(0, 5), 0, A)))).toEqual([]);

    const slow = n.machine();
    slow.start();
    slow.handle(n.proposal(0, A));
    expect(myVotes(slow.handle(n.timeout(0, 'propose')))).toEqual([
      { round: 0, step: 'prevote', blockHash: NIL },
    ]); // line 59
    expect(myVotes(slow.handle(n.validated(A)))).toEqual([]);
    expect(slow.state.step).toBe('prevote');
  });

  it('prevotes nil without a proposal and precommits nil on 2f + 1 nil prevotes (line 44) or the prevote timeout (line 61)', () => {
    const n = network();
    const m = n.machine();
    m.start();
    expect(myVotes(m.handle(n.timeout(0, 'propose')))).toEqual([
      { round: 0, step: 'prevote', blockHash: NIL },
    ]);
    const nil = n.feed(m, n.prevotes(n.others.slice(0, 4), 0, NIL));
    expect(myVotes(nil)).toEqual([{ round: 0, step: 'precommit', blockHash: NIL }]);

    const t = n.machine();
    t.start();
    t.handle(n.timeout(0, 'propose'));
    // Four prevotes for A plus our nil: 2f + 1 of anything but no polka, so only the timeout is scheduled.
    const mixed = n.feed(t, n.prevotes(n.others.slice(0, 4), 0, A));
    expect(only(mixed, 'scheduleTimeout').map((e) => [e.timeout.step, e.durationMs])).toEqual([
      ['prevote', DEFAULT_TIMEOUTS.prevoteMs],
    ]);
    expect(myVotes(t.handle(n.timeout(1, 'prevote')))).toEqual([]); // not this round: ignored
    expect(myVotes(t.handle(n.timeout(0, 'prevote')))).toEqual([
      { round: 0, step: 'precommit', blockHash: NIL },
    ]);
  });

  it('moves to the next round on the precommit timeout (line 65), with timeouts that grow per round', () => {
    const n = network();
    const m = n.machine({
      timeouts: { proposeMs: 100, proposeDeltaMs: 10, precommitMs: 50, precommitDeltaMs: 5 },
    });
    m.start();
    m.handle(n.timeout(0, 'propose'));
    const quorum = n.feed(m, n.precommits(n.others.slice(0, 5), 0, NIL));
    expect(only(quorum, 'scheduleTimeout').map((e) => [e.timeout.step, e.durationMs])).toEqual([
      ['precommit', 50],
    ]); // line 48
    const round1 = m.handle(n.timeout(0, 'precommit'));
    expect(m.state).toMatchObject({ round: 1, step: 'propose' });
    // `me` proposes round 1: with no validValue it asks for a new block (line 18).
    expect(round1).toContainEqual({ type: 'getValue', height: 1n, round: 1 });
    expect(round1).toContainEqual({
      type: 'scheduleTimeout',
      timeout: { height: 1n, round: 1, step: 'propose' },
      durationMs: 110,
    });
    const proposed = m.handle({ type: 'value', height: 1n, round: 1, blockHash: C });
    const [sent] = only(proposed, 'broadcastProposal');
    expect(sent!.proposal).toMatchObject({
      height: 1n,
      round: 1,
      blockHash: C,
      validRound: -1,
      proposer: n.me.address,
    });
    // Its own proposal is delivered to itself: it is valid (it built it), so it prevotes it (line 24).
    expect(myVotes(proposed)).toEqual([{ round: 1, step: 'prevote', blockHash: C }]);
  });
});

describe('consensus state machine: locks (lines 22-43 of the paper)', () => {
  it('a locked validator prevotes nil for a new value (line 23) and its locked value for a re-proposal (line 29)', () => {
    const n = network();
    const { m } = lockedOnA(n);
    n.skipTo(m, 2);
    expect(m.state.round).toBe(2);
    const fresh = n.feed(m, [n.proposal(2, B), n.validated(B)]);
    expect(myVotes(fresh)).toEqual([{ round: 2, step: 'prevote', blockHash: NIL }]);
    n.skipTo(m, 3);
    expect(m.state.round).toBe(3);
    const reproposal = n.feed(m, [n.proposal(3, A, 0)]);
    expect(myVotes(reproposal)).toEqual([{ round: 3, step: 'prevote', blockHash: A }]);
  });

  it('re-proposes validValue with its validRound when proposer (lines 15-16, 19)', () => {
    const n = network();
    const { m } = lockedOnA(n);
    n.feed(m, [...n.precommits(n.others.slice(0, 4), 0, NIL)]);
    const round1 = m.handle(n.timeout(0, 'precommit'));
    expect(only(round1, 'getValue')).toEqual([]);
    expect(only(round1, 'broadcastProposal').map((e) => e.proposal)).toMatchObject([
      { round: 1, blockHash: A, validRound: 0 },
    ]);
    // Its own re-proposal passes line 28 (polka for A at round 0; it is locked on A).
    expect(myVotes(round1)).toEqual([{ round: 1, step: 'prevote', blockHash: A }]);
  });

  it('a newer polka seen in the current round moves the lock even after prevoting nil (lines 36-41)', () => {
    const n = network();
    const { m } = lockedOnA(n);
    n.skipTo(m, 2);
    expect(m.state.round).toBe(2);
    const effects = n.feed(m, [n.proposal(2, B), n.validated(B)]);
    expect(myVotes(effects)).toEqual([{ round: 2, step: 'prevote', blockHash: NIL }]);
    const polka = n.feed(m, n.prevotes(n.others.slice(0, 5), 2, B));
    expect(myVotes(polka)).toEqual([{ round: 2, step: 'precommit', blockHash: B }]);
    expect(m.state).toMatchObject({ lockedValue: B, lockedRound: 2, validValue: B, validRound: 2 });
  });

  it('a lock gives way to a proposal whose validRound polka is newer than the lock (line 29: lockedRound ≤ vr)', () => {
    const n = network();
    const { m } = lockedOnA(n);
    n.skipTo(m, 2); // round 2: proposal B, prevote nil (locked on A)
    n.feed(m, [n.proposal(2, B), n.validated(B)]);
    n.skipTo(m, 3); // leave round 2 before its polka arrives
    expect(m.state).toMatchObject({ round: 3, lockedValue: A, lockedRound: 0 });
    // The polka for B at round 2 arrives late: no lock change (this is no longer round 2)…
    expect(myVotes(n.feed(m, n.prevotes(n.others.slice(0, 5), 2, B)))).toEqual([]);
    expect(m.state).toMatchObject({ lockedValue: A, lockedRound: 0, validValue: A, validRound: 0 });
    // …but a proposal of B with validRound 2 is now prevoted: the lock (round 0) is older than vr.
    expect(myVotes(n.feed(m, [n.proposal(3, B, 2)]))).toEqual([{ round: 3, step: 'prevote', blockHash: B }]);
  });

  it('waits for the polka a re-proposal points at; without it the propose timeout gives nil', () => {
    const n = network();
    const m = n.machine();
    m.start();
    n.skipTo(m, 2);
    n.feed(m, [n.proposal(2, A, 1), n.validated(A)]);
    expect(m.state.step).toBe('propose'); // no 2f + 1 prevotes for A at round 1 (line 28 waits)
    expect(myVotes(m.handle(n.timeout(2, 'propose')))).toEqual([
      { round: 2, step: 'prevote', blockHash: NIL },
    ]);
  });

  it('records validValue from a polka seen after precommitting nil, without locking (lines 42-43)', () => {
    const n = network();
    const m = n.machine();
    m.start();
    n.feed(m, [n.proposal(0, A), n.timeout(0, 'propose'), n.validated(A)]); // prevote nil: too late
    n.feed(m, [...n.prevotes(n.others.slice(0, 4), 0, A), n.timeout(0, 'prevote')]); // precommit nil
    expect(m.state.step).toBe('precommit');
    const polka = m.handle(n.prevotes(n.others.slice(4, 5), 0, A)[0]!);
    expect(myVotes(polka)).toEqual([]);
    expect(m.state).toMatchObject({ lockedValue: null, lockedRound: -1, validValue: A, validRound: 0 });
    n.feed(m, n.precommits(n.others.slice(0, 5), 0, NIL));
    const round1 = m.handle(n.timeout(0, 'precommit'));
    expect(only(round1, 'broadcastProposal').map((e) => e.proposal)).toMatchObject([
      { round: 1, blockHash: A, validRound: 0 },
    ]);
  });
});

describe('consensus state machine: rounds, messages and restarts', () => {
  it('skips to a higher round on f + 1 of its messages counted by power, not by count (line 55)', () => {
    // Power 5, then five validators of power 1: total 10, f + 1 means more than 10/3.
    const n = network({ powers: [5n, 1n, 1n, 1n, 1n, 1n], meIndex: 5 });
    const heavy = n.keys[0]!;
    const light = n.keys.slice(1, 5);
    const byCount = n.machine();
    byCount.start();
    n.feed(
      byCount,
      light.slice(0, 3).map((k) => n.vote(k, 4, VoteStep.prevote, NIL)),
    );
    expect(byCount.state.round).toBe(0); // three validators, 3 of 10 power
    const jump = byCount.handle(n.vote(light[3]!, 4, VoteStep.precommit, NIL));
    expect(byCount.state).toMatchObject({ round: 4, step: 'propose' });
    expect(only(jump, 'scheduleTimeout')[0]).toMatchObject({
      timeout: { round: 4, step: 'propose' },
      durationMs: DEFAULT_TIMEOUTS.proposeMs + 4 * DEFAULT_TIMEOUTS.proposeDeltaMs,
    });

    const byPower = n.machine();
    byPower.start();
    byPower.handle(n.vote(heavy, 7, VoteStep.precommit, NIL));
    expect(byPower.state.round).toBe(7); // one validator, 5 of 10 power
    // Votes of lower rounds never take it back.
    n.feed(
      byPower,
      light.map((k) => n.vote(k, 3, VoteStep.prevote, NIL)),
    );
    expect(byPower.state.round).toBe(7);
  });

  it('decides on 2f + 1 precommits of an earlier round it never took part in (line 49, any round)', () => {
    const n = network();
    const m = n.machine();
    m.start();
    n.feed(m, n.prevotes(n.others.slice(0, 3), 5, NIL));
    expect(m.state.round).toBe(5);
    const effects = n.feed(m, [n.proposal(2, B), ...n.precommits(n.others.slice(0, 5), 2, B)]);
    expect(only(effects, 'decide')).toEqual([]); // valid(B) still unknown
    expect(only(effects, 'validate')).toHaveLength(1);
    const decided = only(m.handle(n.validated(B)), 'decide');
    expect(decided).toMatchObject([{ height: 1n, round: 2, blockHash: B }]);
    expect(verifyCommit(decided[0]!.commit, n.set, domain).valid).toBe(true);
  });

  it('decides what the others committed even if its proposer equivocated and it saw the other proposal first', () => {
    const n = network();
    const m = n.machine();
    m.start();
    const proposer = n.keyOf(n.set.proposer(0));
    const other = (blockHash: Hex): ConsensusInput => ({
      type: 'proposal',
      proposal: signProposal({ height: 1n, round: 0, blockHash, validRound: -1 }, proposer, domain),
    });
    n.feed(m, [other(A), n.validated(A), other(B), n.validated(B)]);
    expect(m.state.step).toBe('prevote'); // it prevoted A, the proposal it saw first
    const peers = n.others.filter((k) => k !== proposer).slice(0, 4);
    const decided = only(n.feed(m, [...n.precommits([proposer, ...peers], 0, B)]), 'decide');
    expect(decided).toMatchObject([{ round: 0, blockHash: B }]);
  });

  it('decides from a verified commit handed over by sync, and rejects a forged one', () => {
    const n = network();
    const source = n.machine({ signer: undefined });
    source.start();
    const [decided] = only(
      n.feed(source, [n.proposal(2, B), n.validated(B), ...n.precommits(n.others.slice(0, 5), 2, B)]),
      'decide',
    );
    const m = n.machine();
    m.start();
    const forged = { ...decided!.commit, signatures: decided!.commit.signatures.slice(0, 3) };
    expect(only(m.handle({ type: 'commit', commit: forged }), 'rejected')).toMatchObject([
      { reason: expect.stringMatching(/invalid commit: .*not more than 2\/3/) },
    ]);
    const effects = n.feed(m, [
      { type: 'commit', commit: decided!.commit },
      n.proposal(2, B),
      n.validated(B),
    ]);
    expect(only(effects, 'decide')).toMatchObject([
      { height: 1n, round: 2, blockHash: B, commit: decided!.commit },
    ]);
  });

  it('rejects messages that break the protocol and ignores stale ones', () => {
    const n = network();
    const m = n.machine();
    m.start();
    const notProposer = n.keys.find((k) => k.address !== n.set.proposer(0))!;
    const forged = signProposal({ height: 1n, round: 0, blockHash: A, validRound: -1 }, notProposer, domain);
    const wrongSigner = { ...forged, proposer: n.set.proposer(0) };
    const stranger = createPrivateKeySigner(keccak256(toBytes('stranger')));
    const reasons = (input: ConsensusInput) => only(m.handle(input), 'rejected').map((e) => e.reason);
    expect(reasons({ type: 'proposal', proposal: forged })).toEqual([
      expect.stringMatching(/not from proposer/),
    ]);
    expect(reasons({ type: 'proposal', proposal: wrongSigner })).toEqual([
      expect.stringMatching(/signature/),
    ]);
    expect(reasons(n.proposal(3, A, 3))).toEqual([expect.stringMatching(/validRound/)]);
    expect(reasons(n.vote(stranger, 0, VoteStep.prevote, A))).toEqual([
      expect.stringMatching(/not a validator/),
    ]);
    const vote = signVote(
      { height: 1n, round: 0, step: VoteStep.prevote, blockHash: A },
      n.others[0]!,
      domain,
    );
    expect(reasons({ type: 'vote', vote: { ...vote, blockHash: B } })).toEqual([
      expect.stringMatching(/signature/),
    ]);
    expect(reasons({ type: 'vote', vote: { ...vote, signature: '0x1234' } })).toEqual([
      expect.stringMatching(/65 bytes/),
    ]);
    // Old heights and rounds far ahead are dropped without a word; nothing was counted.
    expect(m.handle(n.vote(n.others[0]!, 0, VoteStep.prevote, A, 0n))).toEqual([]);
    expect(m.handle(n.vote(n.others[0]!, 5000, VoteStep.prevote, A))).toEqual([]);
    expect(m.state).toMatchObject({ round: 0, step: 'propose' });
  });

  it('turns a double vote into evidence once; a third value from the same validator is not counted', () => {
    const n = network();
    const m = n.machine();
    m.start();
    const cheat = n.others[0]!;
    m.handle(n.vote(cheat, 0, VoteStep.prevote, A));
    const [reported] = only(m.handle(n.vote(cheat, 0, VoteStep.prevote, B)), 'evidence');
    expect(reported!.evidence.voteA.validator).toBe(cheat.address);
    expect(verifyDuplicateVoteEvidence(reported!.evidence, domain)).toEqual({
      valid: true,
      signer: cheat.address,
    });
    expect(only(m.handle(n.vote(cheat, 0, VoteStep.prevote, C)), 'evidence')).toEqual([]);
    // Our prevote and three more for C make four of seven: the cheat's C vote (its third value) is dropped.
    n.feed(m, [n.proposal(0, C), n.validated(C)]);
    expect(myVotes(n.feed(m, n.prevotes(n.others.slice(1, 4), 0, C)))).toEqual([]);
    expect(m.state.lockedValue).toBeNull();
  });

  it('keeps next-height messages until that height starts, then checks them against its set', () => {
    const n = network();
    const m = n.machine();
    m.start();
    const next = n.set.next();
    expect(m.handle(n.proposal(0, C, -1, 2n, next))).toEqual([]);
    n.feed(m, [n.proposal(0, A), n.validated(A), ...n.prevotes(n.others.slice(0, 4), 0, A)]);
    n.feed(m, n.precommits(n.others.slice(0, 4), 0, A));
    n.feed(m, [n.timeout(0, 'commit'), { type: 'nextHeight', height: 2n, validatorSet: next }]);
    expect(m.state.height).toBe(2n);
    // The buffered proposal was delivered on entering height 2.
    const effects = m.handle(n.validated(C, true, 2n));
    expect(myVotes(effects)).toEqual([{ round: 0, step: 'prevote', blockHash: C }]);
  });

  it('follows and decides without a key (a non-validator node), signing nothing', () => {
    const n = network();
    const m = n.machine({ signer: undefined });
    m.start();
    const effects = n.feed(m, [
      n.proposal(0, A),
      n.validated(A),
      ...n.prevotes(n.others.slice(0, 5), 0, A),
      ...n.precommits(n.others.slice(0, 5), 0, A),
    ]);
    expect(myVotes(effects)).toEqual([]);
    expect(only(effects, 'decide')).toMatchObject([{ blockHash: A }]);
  });

  it('replays its WAL to the same state and the same signatures (RFC 6979)', () => {
    const n = network();
    const m = n.machine();
    const inputs = [n.proposal(0, A), n.validated(A), ...n.prevotes(n.others.slice(0, 4), 0, A)];
    const original = [...m.start(), ...n.feed(m, inputs)];
    const { machine, effects } = ConsensusMachine.restore(
      { domain, height: 1n, validatorSet: n.set, signer: n.me },
      inputs,
    );
    expect(machine.state).toEqual(m.state);
    expect(only(effects, 'broadcastVote')).toEqual(only(original, 'broadcastVote'));
  });

  it('never signs a second vote for a step it signed before a crash, even from a truncated WAL', () => {
    const n = network();
    const before = n.machine();
    before.start();
    const [nilPrevote] = only(before.handle(n.timeout(0, 'propose')), 'broadcastVote');
    // The WAL kept our own prevote (written before sending) but lost the timeout that caused it.
    const { machine } = ConsensusMachine.restore({ domain, height: 1n, validatorSet: n.set, signer: n.me }, [
      { type: 'vote', vote: nilPrevote!.vote },
    ]);
    const effects = n.feed(machine, [n.proposal(0, A), n.validated(A)]);
    // Line 24 would prevote A now; the prevote already signed is sent again instead.
    expect(only(effects, 'broadcastVote').map((e) => e.vote)).toEqual([nilPrevote!.vote]);

    // With only a privval-style record of the last signed step, it signs nothing up to that step.
    const guarded = n.machine({ lastSigned: { height: 1n, round: 0, step: VoteStep.precommit } });
    guarded.start();
    const silent = n.feed(guarded, [
      n.proposal(0, A),
      n.validated(A),
      ...n.prevotes(n.others.slice(0, 5), 0, A),
      ...n.precommits(n.others.slice(0, 4), 0, NIL),
      n.timeout(0, 'precommit'),
    ]);
    // Nothing at round 0; round 1 is its own: it re-proposes A, (1, 1, 0) > (1, 0, 2), and prevotes it.
    expect(guarded.state.round).toBe(1);
    expect(only(silent, 'broadcastProposal')).toHaveLength(1);
    expect(myVotes(silent)).toEqual([{ round: 1, step: 'prevote', blockHash: A }]);
  });
});
