import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Address } from 'viem';
import {
  ValidatorSet,
  createValidatorSet,
  incrementProposerPriority,
  newValidatorPriority,
  type PriorityEntry,
} from '../src/consensus/index.ts';

/** A 20-byte address whose first bytes spell `name`: byte order of the names is kept. */
function named(name: string): Address {
  const hex = Buffer.from(name, 'ascii').toString('hex');
  return `0x${hex.padEnd(40, '0')}` as Address;
}

function nameOf(address: Address): string {
  return Buffer.from(address.slice(2), 'hex').toString('ascii').replace(/\0+$/, '');
}

/** 0x00…0i, as CometBFT's tests write addr0, addr1, addr2. */
function indexed(i: number): Address {
  return `0x${i.toString(16).padStart(40, '0')}` as Address;
}

describe('consensus: proposer priority (CometBFT types/validator_set_test.go vectors)', () => {
  it('TestProposerSelection1: foo 1000, bar 300, baz 330 give the recorded 99-proposer sequence', () => {
    const set = createValidatorSet([
      { address: named('foo'), power: 1000n },
      { address: named('bar'), power: 300n },
      { address: named('baz'), power: 330n },
    ]);
    const proposers = Array.from({ length: 99 }, (_, round) => nameOf(set.proposer(round)));
    expect(proposers.join(' ')).toBe(
      'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo',
    );
    // Heights rotate exactly like rounds: next() is one more increment of the round-0 priorities.
    let height = set;
    const byHeight: string[] = [];
    for (let h = 0; h < 99; h++, height = height.next()) byHeight.push(nameOf(height.proposer()));
    expect(byHeight).toEqual(proposers);
  });

  it('TestProposerSelection2: equal powers go in address order; 400 vs 401 decides a double turn; 4:5:3 gives 40:50:30', () => {
    const equal = createValidatorSet([0, 1, 2].map((i) => ({ address: indexed(i), power: 100n })));
    for (let r = 0; r < 15; r++) expect(equal.proposer(r)).toBe(indexed(r % 3));

    const notTwice = createValidatorSet([
      { address: indexed(0), power: 100n },
      { address: indexed(1), power: 100n },
      { address: indexed(2), power: 400n },
    ]);
    expect([notTwice.proposer(0), notTwice.proposer(1)]).toEqual([indexed(2), indexed(0)]);

    const twice = createValidatorSet([
      { address: indexed(0), power: 100n },
      { address: indexed(1), power: 100n },
      { address: indexed(2), power: 401n },
    ]);
    expect([twice.proposer(0), twice.proposer(1), twice.proposer(2)]).toEqual([
      indexed(2),
      indexed(2),
      indexed(0),
    ]);

    const weighted = createValidatorSet([
      { address: indexed(0), power: 4n },
      { address: indexed(1), power: 5n },
      { address: indexed(2), power: 3n },
    ]);
    const counts = [0, 0, 0];
    for (let r = 0; r < 120; r++) counts[parseInt(weighted.proposer(r).slice(-2), 16)]!++;
    expect(counts).toEqual([40, 50, 30]);
  });

  it('TestAveragingInIncrementProposerPriorityWithVotingPower: exact priorities after 1..11 increments', () => {
    const start: PriorityEntry[] = [
      { address: indexed(0), power: 10n, priority: 0n },
      { address: indexed(1), power: 1n, priority: 0n },
      { address: indexed(2), power: 1n, priority: 0n },
    ];
    // vp0 = 10, vp1 = vp2 = 1, total 12; the average stays 0, so every step is +power, -12 for the top.
    const cases: [times: number, priorities: bigint[], proposer: number][] = [
      [1, [10n - 12n, 1n, 1n], 0],
      [2, [2n * (10n - 12n), 2n, 2n], 0],
      [3, [3n * (10n - 12n), 3n, 3n], 0],
      [4, [4n * (10n - 12n), 4n, 4n], 0],
      [5, [4n * (10n - 12n) + 10n, 5n - 12n, 5n], 1],
      [6, [6n * 10n - 5n * 12n, 6n - 12n, 6n], 0],
      [7, [7n * 10n - 6n * 12n, 7n - 12n, 7n], 0],
      [8, [8n * 10n - 7n * 12n, 8n - 12n, 8n], 0],
      [9, [9n * 10n - 7n * 12n, 9n - 12n, 9n - 12n], 2],
      [10, [10n * 10n - 8n * 12n, 10n - 12n, 10n - 12n], 0],
      [11, [11n * 10n - 9n * 12n, 11n - 12n, 11n - 12n], 0],
    ];
    for (const [times, priorities, proposer] of cases) {
      const { entries, proposer: chosen } = incrementProposerPriority(start, times);
      expect(
        entries.map((e) => e.priority),
        `times ${times}`,
      ).toEqual(priorities);
      expect(chosen, `times ${times}`).toBe(indexed(proposer));
    }
  });

  it('TestAveragingInIncrementProposerPriority: centring subtracts the floor of the average', () => {
    // Zero powers (never in a real set) isolate the centring step, as in CometBFT's test.
    const centred = (priorities: bigint[], times: number) =>
      incrementProposerPriority(
        priorities.map((priority, i) => ({ address: indexed(i), power: 0n, priority })),
        times,
      ).entries.map((e) => e.priority);
    expect(centred([1n, 2n, 3n], 1)).toEqual([-1n, 0n, 1n]);
    expect(centred([10n, -10n, 1n], 11)).toEqual([10n, -10n, 1n]);
    expect(centred([100n, -10n, 1n], 1)).toEqual([70n, -40n, -29n]);
    // A negative sum: big.Int's Div floors, so the average of -5, 0, 1 is -2, not -1.
    const shifted = incrementProposerPriority(
      [
        { address: indexed(0), power: 1n, priority: -5n },
        { address: indexed(1), power: 1n, priority: 0n },
        { address: indexed(2), power: 1n, priority: 1n },
      ],
      1,
    );
    // Centred to -3, 2, 3; +1 each; the top (4) loses the total (3).
    expect(shifted.entries.map((e) => e.priority)).toEqual([-2n, 3n, 1n]);
    expect(shifted.proposer).toBe(indexed(2));
  });
});

describe('consensus: validator set', () => {
  const a = named('a');
  const b = named('b');
  const c = named('c');
  const d = named('d');

  it('orders validators by power then address and counts thresholds by power', () => {
    const set = createValidatorSet([
      { address: c, power: 1n },
      { address: a, power: 5n },
      { address: b, power: 1n },
      { address: d, power: 1n },
    ]);
    expect(set.validators.map((v) => v.address)).toEqual([a, b, c, d]);
    expect(set.totalPower).toBe(8n);
    expect(set.powerOf(a)).toBe(5n);
    expect(set.powerOf(named('zz'))).toBe(0n);
    // 2f + 1 is more than 2/3 of 8: 6 passes, 5.33… does not; f + 1 is more than 8/3.
    expect(set.exceedsTwoThirds(5n)).toBe(false);
    expect(set.exceedsTwoThirds(6n)).toBe(true);
    expect(set.exceedsOneThird(2n)).toBe(false);
    expect(set.exceedsOneThird(3n)).toBe(true);
    expect(set.has(a.toUpperCase().replace('0X', '0x') as Address)).toBe(true);
  });

  it('rejects empty sets, duplicates, zero power in a new set and removals of unknown validators', () => {
    expect(() => createValidatorSet([])).toThrow(/at least one/);
    expect(() =>
      createValidatorSet([
        { address: a, power: 1n },
        { address: a, power: 2n },
      ]),
    ).toThrow(/Duplicate/);
    expect(() => createValidatorSet([{ address: a, power: 0n }])).toThrow(/power 0/);
    expect(() => createValidatorSet([{ address: '0x1234' as Address, power: 1n }])).toThrow(/20 bytes/);
    const set = createValidatorSet([{ address: a, power: 1n }]);
    expect(() => set.next([{ address: b, power: 0n }])).toThrow(/not in the set/);
    expect(() => set.next([{ address: a, power: 0n }])).toThrow(/empty/);
  });

  it('applies changes like UpdateWithChangeSet: a joiner starts at -1.125 × total, leavers go, then rescale and centre', () => {
    const set = createValidatorSet([
      { address: a, power: 10n },
      { address: b, power: 10n },
    ]);
    const next = set.next([
      { address: c, power: 20n },
      { address: b, power: 0n },
    ]);
    // Genesis: 0, 0 → +10 each, tie to the smaller address: a -10, b 10.
    expect(set.validators.map((v) => v.priority)).toEqual([-10n, 10n]);
    // Total after updates (before removals) is 40, so c joins at -45; b leaves; a keeps -10.
    // Centring on floor(-55 / 2) = -28 (Euclidean, as big.Int): c -17, a 18. Then one increment:
    // c 3, a 28 → a proposes and drops by 30 to -2. (Truncating division would give c 2, a -3.)
    expect(newValidatorPriority(40n)).toBe(-45n);
    expect(next.validators.map((v) => [v.address, v.power, v.priority])).toEqual([
      [c, 20n, 3n],
      [a, 10n, -2n],
    ]);
    expect(next.proposer()).toBe(a);
  });

  it('restores from a snapshot to the same proposers', () => {
    let set = createValidatorSet([
      { address: a, power: 3n },
      { address: b, power: 2n },
      { address: c, power: 1n },
    ]);
    for (let i = 0; i < 7; i++) set = set.next();
    const restored = ValidatorSet.restore(set.snapshot());
    for (let r = 0; r < 20; r++) expect(restored.proposer(r)).toBe(set.proposer(r));
    expect(restored.next().proposer(3)).toBe(set.next().proposer(3));
    expect(() => ValidatorSet.restore({ validators: set.validators, proposer: d })).toThrow(/not in the set/);
  });

  it('proposer(h, r) does not depend on the order rounds are asked in (round skipping)', () => {
    const validators = [
      { address: a, power: 7n },
      { address: b, power: 3n },
      { address: c, power: 2n },
    ];
    const stepwise = createValidatorSet(validators);
    const skipping = createValidatorSet(validators);
    const wanted = Array.from({ length: 40 }, (_, r) => stepwise.proposer(r));
    expect(skipping.proposer(39)).toBe(wanted[39]);
    expect(skipping.proposer(5)).toBe(wanted[5]);
  });

  it('rotates round-0 proposers in proportion to power over many heights (fast-check, 40 sets × 2,000 heights)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), (powers) => {
        const validators = powers.map((p, i) => ({ address: indexed(i + 1), power: BigInt(p) }));
        const total = powers.reduce((s, p) => s + p, 0);
        let set = createValidatorSet(validators);
        const heights = 2000;
        const counts = new Map<Address, number>();
        for (let h = 0; h < heights; h++, set = set.next()) {
          counts.set(set.proposer(), (counts.get(set.proposer()) ?? 0) + 1);
        }
        for (const [i, p] of powers.entries()) {
          const expected = (heights * p) / total;
          // Weighted round robin: each validator is within a couple of turns of its exact share.
          expect(Math.abs((counts.get(indexed(i + 1)) ?? 0) - expected)).toBeLessThanOrEqual(2);
        }
      }),
      { numRuns: 40 },
    );
  });
});
