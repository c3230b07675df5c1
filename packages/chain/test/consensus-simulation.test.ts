import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keccak256, toBytes, type Address, type Hex } from 'viem';
import { PREDEPLOYS } from '@openledger/contracts';
// Test-only: the node (cli) injects the sdk's digest as the VoteCodec; chain itself never imports the sdk.
import { consensusVoteDigest } from '@openledger/sdk';
import {
  ConsensusMachine,
  VoteStep,
  createPrivateKeySigner,
  createValidatorSet,
  decodeCommit,
  encodeCommit,
  recoverSigner,
  verifyCommit,
  verifyDuplicateVoteEvidence,
  type Commit,
  type ConsensusEffect,
  type ConsensusInput,
  type ConsensusSigner,
  type DuplicateVoteEvidence,
  type RecoverSigner,
  type SignedProposal,
  type SigningDomain,
  type ValidatorSet,
  type VoteCodec,
} from '../src/consensus/index.ts';

/*
 * A deterministic network of validators for the consensus state machine: one event queue in
 * simulated milliseconds, random delays (so messages are reordered), drops before GST, partitions
 * that heal, crashes with restarts from a WAL prefix, and Byzantine validators run as Twins (two
 * correct replicas sharing one key, each talking to a different part of the network, so they sign
 * conflicting messages). Everything random comes from a seed that fast-check draws and prints on
 * failure. The gossip layer is modelled as the paper assumes it after GST: replicas that make no
 * progress re-send their own messages of the height, and a replica behind gets the proposal and
 * the commit of the height it is missing (the `commit` input).
 *
 * CONSENSUS_SIM_SCALE=k multiplies the number of scenarios (k = 1 keeps the suite under ~10 s).
 */
const SCALE = Math.max(1, Number(process.env.CONSENSUS_SIM_SCALE ?? '1') || 1);

const CHAIN_ID = 4242;
const digests = new Map<string, Hex>();
const voteCodec: VoteCodec = {
  // The sdk digest costs ~0.5 ms; every vote is checked by every replica, so compute each once.
  voteDigest(vote, chainId, verifyingContract) {
    const key = `${chainId}:${verifyingContract}:${vote.height}:${vote.round}:${vote.step}:${vote.blockHash}`;
    let digest = digests.get(key);
    if (!digest) digests.set(key, (digest = consensusVoteDigest(vote, chainId, verifyingContract)));
    return digest;
  },
};
const recovered = new Map<string, Address | undefined>();
/** Recovery is a pure function of (digest, signature): one recovery per message for the whole network. */
const recover: RecoverSigner = (digest, signature) => {
  const key = digest + signature;
  if (!recovered.has(key)) recovered.set(key, recoverSigner(digest, signature));
  return recovered.get(key);
};
const domain: SigningDomain = { chainId: CHAIN_ID, verifyingContract: PREDEPLOYS.Staking, voteCodec };
const keyPool = Array.from({ length: 10 }, (_, i) =>
  createPrivateKeySigner(keccak256(toBytes(`simulated ${i}`))),
);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type SimEvent =
  | { kind: 'deliver'; to: number; input: ConsensusInput }
  | { kind: 'local'; to: number; incarnation: number; input: ConsensusInput }
  | { kind: 'gossip' }
  | { kind: 'crash'; replica: number }
  | { kind: 'restart'; replica: number };

/** A binary heap on (time, insertion order): equal times run in the order they were scheduled. */
class EventQueue {
  private heap: { time: number; seq: number; event: SimEvent }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: SimEvent): void {
    const item = { time, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.before(h[parent]!, item)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = item;
  }

  pop(): { time: number; event: SimEvent } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (!top || !last || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const child = r < h.length && this.before(h[r]!, h[l]!) ? r : l;
      if (this.before(last, h[child]!)) break;
      h[i] = h[child]!;
      i = child;
    }
    h[i] = last;
    return top;
  }

  private before(a: { time: number; seq: number }, b: { time: number; seq: number }): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

interface Scenario {
  seed: number;
  powers: number[];
  heights: number;
  minDelayMs: number;
  delaySpreadMs: number;
  /** Drop probability of each message before GST; none after. */
  dropRate: number;
  gstMs: number;
  /** Validators cut off from the others during [fromMs, untilMs). */
  partition?: { isolated: number[]; fromMs: number; untilMs: number };
  /** Validators run as Twins (Byzantine). */
  twins?: number[];
  crashes?: { validator: number; atMs: number; downMs: number }[];
  /** A validator whose blocks are all invalid (a buggy or malicious block builder). */
  invalidProposer?: number;
  /** Every block built before this time is invalid (say, an upgrade not yet reached): rounds fail. */
  invalidUntilMs?: number;
}

interface Replica {
  id: number;
  validator: number;
  key: ConsensusSigner;
  byzantine: boolean;
  machine: ConsensusMachine;
  alive: boolean;
  incarnation: number;
  /** The WAL of the current height: its inputs in order, own messages included. */
  wal: { height: bigint; inputs: ConsensusInput[]; lastOwn: number };
  /** Own signed messages per height, for re-sending. */
  own: Map<bigint, ConsensusInput[]>;
  decisions: Map<bigint, { blockHash: Hex; commit: Commit }>;
  proposals: Map<string, SignedProposal>;
  links: number[];
  progress: string;
}

interface Outcome {
  decided: Map<bigint, Hex>;
  replicas: Replica[];
  evidence: { reporter: number; evidence: DuplicateVoteEvidence }[];
  rejected: string[];
  violations: string[];
  endMs: number;
  maxRound: number;
  restarts: number;
  commitsChecked: number;
  /** Rounds each validator signed something in, per height. */
  signedRounds: Map<string, Set<number>>;
}

const TIMEOUTS = { proposeMs: 1000, proposeDeltaMs: 500, prevoteMs: 500, prevoteDeltaMs: 250 };
const BUILD_MS = 15;
const VALIDATE_MS = 25;
const APPLY_MS = 10;
const GOSSIP_MS = 400;

function simulate(s: Scenario): Outcome {
  const random = mulberry32(s.seed);
  const n = s.powers.length;
  const keys = keyPool.slice(0, n);
  const sets = new Map<bigint, ValidatorSet>();
  sets.set(1n, createValidatorSet(keys.map((k, i) => ({ address: k.address, power: BigInt(s.powers[i]!) }))));
  const setAt = (h: bigint): ValidatorSet => {
    let set = sets.get(h);
    if (!set) {
      set = setAt(h - 1n).next();
      sets.set(h, set);
    }
    return set;
  };
  const twins = new Set(s.twins ?? []);
  const blocks = new Map<Hex, { height: bigint; valid: boolean }>();
  const queue = new EventQueue();
  const out: Outcome = {
    decided: new Map(),
    replicas: [],
    evidence: [],
    rejected: [],
    violations: [],
    endMs: 0,
    maxRound: 0,
    restarts: 0,
    commitsChecked: 0,
    signedRounds: new Map(),
  };
  const signedBy = new Map<string, Hex>();
  let now = 0;

  const newMachine = (key: ConsensusSigner, height: bigint) =>
    new ConsensusMachine({
      domain,
      height,
      validatorSet: setAt(height),
      signer: key,
      recover,
      timeouts: TIMEOUTS,
    });

  // Replicas: one per honest validator, two per twin.
  for (let v = 0; v < n; v++) {
    for (let copy = 0; copy < (twins.has(v) ? 2 : 1); copy++) {
      out.replicas.push({
        id: out.replicas.length,
        validator: v,
        key: keys[v]!,
        byzantine: twins.has(v),
        machine: newMachine(keys[v]!, 1n),
        alive: true,
        incarnation: 0,
        wal: { height: 1n, inputs: [], lastOwn: -1 },
        own: new Map(),
        decisions: new Map(),
        proposals: new Map(),
        links: [],
        progress: '',
      });
    }
  }
  const replicas = out.replicas;
  const honest = replicas.filter((r) => !r.byzantine);
  // Honest replicas talk to everyone; each twin to a random part of the honest ones (some to both).
  for (const r of replicas) {
    if (!r.byzantine) {
      r.links = replicas.filter((o) => o !== r).map((o) => o.id);
    }
  }
  for (const v of twins) {
    const [a, b] = replicas.filter((r) => r.validator === v);
    for (const h of honest) {
      const side = Math.floor(random() * 3); // 0: twin a, 1: twin b, 2: both
      if (side !== 1) a!.links.push(h.id);
      if (side !== 0) b!.links.push(h.id);
    }
  }

  const cut = (from: Replica, to: Replica): boolean => {
    const p = s.partition;
    if (!p || now < p.fromMs || now >= p.untilMs) return false;
    return p.isolated.includes(from.validator) !== p.isolated.includes(to.validator);
  };
  const send = (from: Replica, input: ConsensusInput, to: number[] = from.links) => {
    for (const id of to) {
      const target = replicas[id]!;
      if (cut(from, target)) continue;
      if (now < s.gstMs && random() < s.dropRate) continue;
      queue.push(now + s.minDelayMs + Math.floor(random() * (s.delaySpreadMs + 1)), {
        kind: 'deliver',
        to: id,
        input,
      });
    }
  };
  const local = (r: Replica, delayMs: number, input: ConsensusInput) =>
    queue.push(now + delayMs, { kind: 'local', to: r.id, incarnation: r.incarnation, input });

  const recordOwn = (r: Replica, input: ConsensusInput & { type: 'vote' | 'proposal' }) => {
    const message = input.type === 'vote' ? input.vote : input.proposal;
    const step = input.type === 'vote' ? input.vote.step : 0;
    const value = input.type === 'vote' ? input.vote.blockHash : input.proposal.blockHash;
    // Honest keys must never sign two values for one (height, round, step), across crashes too.
    if (!r.byzantine) {
      const key = `${r.validator}:${message.height}:${message.round}:${step}`;
      const earlier = signedBy.get(key);
      if (earlier !== undefined && earlier !== value) out.violations.push(`double sign by ${key}`);
      signedBy.set(key, value);
      const at = `${r.validator}:${message.height}`;
      (out.signedRounds.get(at) ?? out.signedRounds.set(at, new Set()).get(at)!).add(message.round);
    }
    if (input.type === 'proposal')
      r.proposals.set(`${message.height}:${message.round}:${value}`, input.proposal);
    const list = r.own.get(message.height) ?? r.own.set(message.height, []).get(message.height)!;
    if (
      !list.some(
        (m) =>
          (m.type === 'vote' ? m.vote.signature : m.type === 'proposal' ? m.proposal.signature : '') ===
          message.signature,
      )
    ) {
      list.push(input);
    }
    if (message.height === r.wal.height) {
      r.wal.inputs.push(input); // written before it is sent, as a WAL must
      r.wal.lastOwn = r.wal.inputs.length - 1;
    }
  };

  const apply = (r: Replica, effects: ConsensusEffect[]) => {
    for (const e of effects) {
      switch (e.type) {
        case 'broadcastVote':
        case 'broadcastProposal': {
          const input: ConsensusInput & { type: 'vote' | 'proposal' } =
            e.type === 'broadcastVote'
              ? { type: 'vote', vote: e.vote }
              : { type: 'proposal', proposal: e.proposal };
          recordOwn(r, input);
          send(r, input);
          break;
        }
        case 'scheduleTimeout':
          local(r, e.durationMs, { type: 'timeout', timeout: e.timeout });
          out.maxRound = Math.max(out.maxRound, e.timeout.round);
          break;
        case 'getValue': {
          const blockHash = keccak256(toBytes(`${s.seed}:${e.height}:${e.round}:${r.id}:${now}`));
          const valid = r.validator !== s.invalidProposer && now >= (s.invalidUntilMs ?? 0);
          blocks.set(blockHash, { height: e.height, valid });
          local(r, BUILD_MS, { type: 'value', height: e.height, round: e.round, blockHash });
          break;
        }
        case 'validate': {
          const known = blocks.get(e.blockHash);
          const valid = known !== undefined && known.valid && known.height === e.height;
          local(r, VALIDATE_MS, { type: 'validated', height: e.height, blockHash: e.blockHash, valid });
          break;
        }
        case 'decide': {
          const verdict = verifyCommit(e.commit, setAt(e.height), domain, { recover });
          out.commitsChecked++;
          if (!verdict.valid)
            out.violations.push(`replica ${r.id}: invalid commit at ${e.height}: ${verdict.reason}`);
          if (decodeCommit(encodeCommit(e.commit)).signatures.length !== e.commit.signatures.length) {
            out.violations.push('commit encoding lost signatures');
          }
          const block = blocks.get(e.blockHash);
          if (!block?.valid || block.height !== e.height) {
            out.violations.push(`replica ${r.id} decided invalid block ${e.blockHash} at ${e.height}`);
          }
          const previous = r.decisions.get(e.height);
          if (previous && previous.blockHash !== e.blockHash)
            out.violations.push(`replica ${r.id} changed its decision`);
          r.decisions.set(e.height, { blockHash: e.blockHash, commit: e.commit });
          if (!r.byzantine) {
            const agreed = out.decided.get(e.height);
            if (agreed !== undefined && agreed !== e.blockHash) {
              out.violations.push(`disagreement at height ${e.height}: ${agreed} vs ${e.blockHash}`);
            }
            out.decided.set(e.height, e.blockHash);
          }
          local(r, APPLY_MS, {
            type: 'nextHeight',
            height: e.height + 1n,
            validatorSet: setAt(e.height + 1n),
          });
          break;
        }
        case 'evidence': {
          out.evidence.push({ reporter: r.id, evidence: e.evidence });
          const check = verifyDuplicateVoteEvidence(e.evidence, domain, { recover });
          if (!check.valid) out.violations.push(`unverifiable evidence: ${check.reason}`);
          break;
        }
        case 'rejected':
          out.rejected.push(`replica ${r.id}: ${e.reason}`);
          break;
      }
    }
  };

  const handle = (r: Replica, input: ConsensusInput) => {
    if (!r.alive) return;
    if (input.type === 'proposal')
      r.proposals.set(
        `${input.proposal.height}:${input.proposal.round}:${input.proposal.blockHash}`,
        input.proposal,
      );
    const before = r.machine.state.height;
    if (before === r.wal.height) r.wal.inputs.push(input);
    const effects = r.machine.handle(input);
    const after = r.machine.state.height;
    // A new height starts a new WAL (CometBFT's EndHeight marker): older heights are in the block store.
    if (after !== before) r.wal = { height: after, inputs: [], lastOwn: -1 };
    apply(r, effects);
  };

  const gossip = () => {
    for (const r of replicas) {
      if (!r.alive) continue;
      const state = r.machine.state;
      // Catch-up: a peer behind gets the proposal and commit of the height it is missing.
      for (const id of r.links) {
        const peer = replicas[id]!;
        if (!peer.alive) continue;
        const behind = peer.machine.state.height;
        const decision = r.decisions.get(behind);
        if (behind >= state.height || !decision) continue;
        const proposal = r.proposals.get(`${behind}:${decision.commit.round}:${decision.blockHash}`);
        const messages: ConsensusInput[] = [{ type: 'commit', commit: decision.commit }];
        if (proposal) messages.unshift({ type: 'proposal', proposal });
        for (const m of messages) send(r, m, [id]);
      }
      // Re-send own messages of the height when stuck: the gossip property after GST.
      const progress = `${state.height}/${state.round}/${state.step}/${state.decision ?? ''}`;
      if (progress === r.progress) for (const m of r.own.get(state.height) ?? []) send(r, m);
      r.progress = progress;
    }
  };

  const crash = (r: Replica) => {
    if (!r.alive) return;
    r.alive = false;
    r.incarnation++; // its timers and pending answers die with it
  };
  const restart = (r: Replica) => {
    if (r.alive) return;
    // A decided height is in the block store: the node restarts at the next one with an empty WAL.
    if (r.decisions.has(r.wal.height)) r.wal = { height: r.wal.height + 1n, inputs: [], lastOwn: -1 };
    // Everything up to its last own message survived (fsynced before sending); later inputs may not.
    const keep = r.wal.lastOwn + 1 + Math.floor(random() * (r.wal.inputs.length - r.wal.lastOwn));
    const inputs = r.wal.inputs.slice(0, keep);
    const { machine, effects } = ConsensusMachine.restore(
      {
        domain,
        height: r.wal.height,
        validatorSet: setAt(r.wal.height),
        signer: r.key,
        recover,
        timeouts: TIMEOUTS,
      },
      inputs,
    );
    r.machine = machine;
    r.alive = true;
    r.wal = { height: r.wal.height, inputs: [...inputs], lastOwn: r.wal.lastOwn };
    out.restarts++;
    const heightNow = machine.state.height;
    if (heightNow !== r.wal.height) r.wal = { height: heightNow, inputs: [], lastOwn: -1 };
    apply(r, effects);
  };

  for (const r of replicas) apply(r, r.machine.start());
  queue.push(GOSSIP_MS, { kind: 'gossip' });
  for (const c of s.crashes ?? []) {
    const r = honest.find((h) => h.validator === c.validator % n);
    if (!r) continue;
    queue.push(c.atMs, { kind: 'crash', replica: r.id });
    queue.push(c.atMs + c.downMs, { kind: 'restart', replica: r.id });
  }

  const stable = Math.max(
    s.gstMs,
    s.partition?.untilMs ?? 0,
    ...(s.crashes ?? []).map((c) => c.atMs + c.downMs),
  );
  const deadline = stable + 30_000 + s.heights * 5_000;
  const done = () => honest.every((r) => r.alive && r.decisions.has(BigInt(s.heights)));
  while (queue.size > 0 && !done()) {
    const next = queue.pop()!;
    now = next.time;
    if (now > deadline) break;
    const e = next.event;
    switch (e.kind) {
      case 'deliver':
        handle(replicas[e.to]!, e.input);
        break;
      case 'local': {
        const r = replicas[e.to]!;
        if (r.incarnation === e.incarnation) handle(r, e.input);
        break;
      }
      case 'gossip':
        gossip();
        queue.push(now + GOSSIP_MS, { kind: 'gossip' });
        break;
      case 'crash':
        crash(replicas[e.replica]!);
        break;
      case 'restart':
        restart(replicas[e.replica]!);
        break;
    }
  }
  out.endMs = now;
  return out;
}

function expectSafeAndLive(s: Scenario, out: Outcome) {
  expect(out.violations, `seed ${s.seed}`).toEqual([]);
  expect(out.rejected, `seed ${s.seed}`).toEqual([]);
  // Termination after GST: every correct validator decided every height.
  for (const r of out.replicas.filter((x) => !x.byzantine)) {
    for (let h = 1n; h <= BigInt(s.heights); h++) {
      expect(r.decisions.get(h)?.blockHash, `seed ${s.seed}: replica ${r.id}, height ${h}`).toBe(
        out.decided.get(h),
      );
    }
  }
}

const delays = {
  minDelayMs: fc.integer({ min: 1, max: 20 }),
  delaySpreadMs: fc.integer({ min: 0, max: 250 }),
  dropRate: fc.double({ min: 0, max: 0.3, noNaN: true }),
  gstMs: fc.integer({ min: 0, max: 6_000 }),
};

describe('consensus simulation: N validators over an in-memory network', () => {
  it('keeps agreement and validity and terminates after GST under delays, drops, reordering, healed partitions and invalid blocks', () => {
    let heights = 0;
    let partitions = 0;
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          powers: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 4, maxLength: 7 }),
          ...delays,
          partition: fc.option(
            fc.record({
              size: fc.integer({ min: 1, max: 3 }),
              fromMs: fc.integer({ min: 0, max: 3_000 }),
              lengthMs: fc.integer({ min: 500, max: 8_000 }),
            }),
            { nil: undefined },
          ),
          invalidProposer: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
        }),
        (p) => {
          const scenario: Scenario = {
            ...p,
            heights: 6,
            partition: p.partition && {
              isolated: Array.from({ length: Math.min(p.partition.size, p.powers.length - 1) }, (_, i) => i),
              fromMs: p.partition.fromMs,
              untilMs: p.partition.fromMs + p.partition.lengthMs,
            },
            invalidProposer:
              p.invalidProposer !== undefined ? p.invalidProposer % p.powers.length : undefined,
          };
          const out = simulate(scenario);
          expectSafeAndLive(scenario, out);
          heights += scenario.heights;
          if (scenario.partition) partitions++;
        },
      ),
      { numRuns: 14 * SCALE },
    );
    expect(heights).toBe(14 * SCALE * 6);
    expect(partitions).toBeGreaterThan(0);
  });

  it('tolerates f Byzantine validators run as Twins: no disagreement, evidence against them only', () => {
    let evidence = 0;
    fc.assert(
      fc.property(
        fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), n: fc.constantFrom(4, 7), ...delays }),
        ({ n, ...p }) => {
          const f = Math.floor((n - 1) / 3);
          const scenario: Scenario = {
            ...p,
            powers: Array.from({ length: n }, () => 1),
            heights: 6,
            twins: Array.from({ length: f }, (_, i) => i),
          };
          const out = simulate(scenario);
          expectSafeAndLive(scenario, out);
          const byzantine = new Set(scenario.twins!.map((v) => keyPool[v]!.address));
          for (const { evidence: e } of out.evidence) {
            expect(
              byzantine.has(e.voteA.validator),
              `seed ${p.seed}: evidence against a correct validator`,
            ).toBe(true);
          }
          evidence += out.evidence.length;
        },
      ),
      { numRuns: 10 * SCALE },
    );
    // Twins that propose or vote differently on each side are caught by replicas that hear both.
    expect(evidence).toBeGreaterThan(0);
  });

  it('restarts crashed validators from a WAL prefix without double-signing, and they catch up', () => {
    let restarts = 0;
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          powers: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 4, maxLength: 6 }),
          ...delays,
          crashes: fc.array(
            fc.record({
              validator: fc.nat(),
              atMs: fc.integer({ min: 0, max: 6_000 }),
              downMs: fc.integer({ min: 50, max: 4_000 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        (p) => {
          const scenario: Scenario = { ...p, heights: 6 };
          const out = simulate(scenario);
          expectSafeAndLive(scenario, out);
          expect(out.evidence, `seed ${p.seed}: a restarted validator double-signed`).toEqual([]);
          restarts += out.restarts;
        },
      ),
      { numRuns: 12 * SCALE },
    );
    expect(restarts).toBeGreaterThan(0);
  });

  it('brings a validator cut off at round 0 into the others’ round by f + 1 of their messages (line 55)', () => {
    // Four equal validators; 3 is cut off for 8 s while every block is invalid, so 0, 1 and 2 go
    // through round after round (nil prevotes, nil precommits, precommit timeout) and 3, alone,
    // waits at round 0 for 2f + 1 prevotes. At the heal it must jump, not walk, to their round.
    const scenario: Scenario = {
      seed: 7,
      powers: [1, 1, 1, 1],
      heights: 3,
      minDelayMs: 5,
      delaySpreadMs: 20,
      dropRate: 0,
      gstMs: 0,
      partition: { isolated: [3], fromMs: 0, untilMs: 8_000 },
      invalidUntilMs: 8_000,
    };
    const out = simulate(scenario);
    expectSafeAndLive(scenario, out);
    const majority = [...out.signedRounds.get('0:1')!];
    const isolated = [...out.signedRounds.get('3:1')!].sort((a, b) => a - b);
    expect(Math.max(...majority)).toBeGreaterThanOrEqual(3);
    // It signed in round 0, then only from the round it jumped to (the others' round at the heal):
    // rounds 1 and 2 were never entered.
    expect(isolated[0]).toBe(0);
    expect(isolated[1]).toBeGreaterThanOrEqual(3);
    expect(isolated).toHaveLength(1 + isolated.filter((r) => r >= isolated[1]!).length);
  });

  it('verifies every real commit and rejects forged or insufficient ones', () => {
    const scenario: Scenario = {
      seed: 11,
      powers: [4, 3, 2, 1],
      heights: 4,
      minDelayMs: 2,
      delaySpreadMs: 30,
      dropRate: 0,
      gstMs: 0,
    };
    const out = simulate(scenario);
    expectSafeAndLive(scenario, out);
    expect(out.commitsChecked).toBeGreaterThanOrEqual(16);
    const replica = out.replicas[0]!;
    const set1 = createValidatorSet(
      keyPool.slice(0, 4).map((k, i) => ({ address: k.address, power: BigInt(scenario.powers[i]!) })),
    );
    const { commit } = replica.decisions.get(1n)!;
    expect(verifyCommit(commit, set1, domain)).toMatchObject({ valid: true, totalPower: 10n });
    expect(decodeCommit(encodeCommit(commit))).toEqual(commit);

    const reasons = (c: Commit, d: SigningDomain = domain) => {
      const result = verifyCommit(c, set1, d);
      return result.valid ? 'valid' : result.reason;
    };
    const [first, ...rest] = commit.signatures;
    const flipped =
      `${first!.signature.slice(0, 10)}${first!.signature[10] === '0' ? '1' : '0'}${first!.signature.slice(11)}` as Hex;
    expect(reasons({ ...commit, signatures: [{ ...first!, signature: flipped }, ...rest] })).toMatch(
      /signature|signed power/,
    );
    expect(reasons({ ...commit, signatures: [first!, first!, ...rest] })).toMatch(/signed twice/);
    const stranger = createPrivateKeySigner(keccak256(toBytes('not in the set')));
    const strangerSig = stranger.sign(
      voteCodec.voteDigest(
        { height: commit.height, round: commit.round, step: VoteStep.precommit, blockHash: commit.blockHash },
        CHAIN_ID,
        PREDEPLOYS.Staking,
      ),
    );
    expect(
      reasons({
        ...commit,
        signatures: [...commit.signatures, { validator: stranger.address, signature: strangerSig }],
      }),
    ).toMatch(/not in the validator set/);
    expect(reasons({ ...commit, blockHash: keccak256(toBytes('another block')) })).toMatch(
      /not its precommit/,
    );
    expect(reasons({ ...commit, round: commit.round + 1 })).toMatch(/not its precommit/);
    expect(reasons({ ...commit, height: commit.height + 1n })).toMatch(/not its precommit/);
    expect(reasons(commit, { ...domain, chainId: CHAIN_ID + 1 })).toMatch(/not its precommit/);
    expect(reasons({ ...commit, blockHash: `0x${'00'.repeat(32)}` })).toMatch(/nil/);
    // Drop the smallest signers until what is left is not more than 2/3 of the power (10).
    const byPower = [...commit.signatures].sort((a, b) =>
      Number(set1.powerOf(a.validator) - set1.powerOf(b.validator)),
    );
    let kept = byPower;
    while (kept.reduce((sum, s) => sum + set1.powerOf(s.validator), 0n) * 3n > 20n) kept = kept.slice(1);
    expect(reasons({ ...commit, signatures: kept })).toMatch(/not more than 2\/3/);
    // Prevotes are not precommits, even for the same block and signers.
    const prevoteDigest = voteCodec.voteDigest(
      { height: commit.height, round: commit.round, step: VoteStep.prevote, blockHash: commit.blockHash },
      CHAIN_ID,
      PREDEPLOYS.Staking,
    );
    const prevotes = commit.signatures.map((sig) => ({
      validator: sig.validator,
      signature: keyPool.find((k) => k.address === sig.validator)!.sign(prevoteDigest),
    }));
    expect(reasons({ ...commit, signatures: prevotes })).toMatch(/not its precommit/);
    expect(() => decodeCommit(new Uint8Array([0xc0]))).toThrow(/4-item list/);
    const encoded = encodeCommit(commit);
    expect(() => decodeCommit(encoded.slice(0, encoded.length - 1))).toThrow();
  });
});
