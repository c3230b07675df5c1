import { appendFile, readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';
import { AttributionLog } from '../src/settlement/attribution-log.ts';
import { AttributionRecordError, type AttributionRecord } from '../src/settlement/attribution-record.ts';
import { computeEpochRewards } from '../src/settlement/epoch-rewards.ts';
import { recomputeEpoch } from '../src/settlement/epoch-bundle.ts';
import { useTempDir } from './support/temp-dir.ts';

const file = useTempDir('settlement');
const who = (i: number) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address;

function record(
  id: string,
  epoch: bigint,
  allocations: [number, bigint][],
  unattributed = 0n,
  servedAt = Number(epoch) * 100,
): AttributionRecord {
  const share = allocations.reduce((s, [, a]) => s + a, unattributed);
  return {
    id,
    modelId: 1n,
    epoch,
    servedAt,
    payer: who(99),
    charge: share * 2n,
    contributorsShare: share,
    allocations: allocations.map(([c, amount]) => ({ contributor: who(c), amount })),
    unattributed,
    method: 'span',
  };
}

describe('computeEpochRewards', () => {
  it('pays each epoch’s collection to the oldest records first, pro rata within a record', () => {
    const records = [
      record(
        'a',
        0n,
        [
          [0, 600n],
          [1, 200n],
        ],
        200n,
      ), // share 1000
      record('b', 0n, [[1, 500n]]), // share 500
      record('c', 1n, [[2, 300n]]), // share 300
    ];
    // Epoch 0 collected 1200: a in full (1000: 600 + 200, 200 unattributed), then 200 of b's 500.
    // Epoch 1 collected 600: the 300 left of b, then c in full.
    const [e0, e1] = computeEpochRewards(
      records,
      new Map([
        [0n, 1200n],
        [1n, 600n],
      ]),
      1n,
    );
    expect(e0!.leaves).toEqual([
      { account: who(0), amount: 600n },
      { account: who(1), amount: 200n + 200n },
    ]);
    expect(e0!.total).toBe(1000n);
    expect(e1!.leaves).toEqual([
      { account: who(1), amount: 300n },
      { account: who(2), amount: 300n },
    ]);
    // Records served after an epoch are never paid from it.
    const [early] = computeEpochRewards([record('late', 3n, [[0, 10n]])], new Map([[3n, 0n]]), 3n);
    expect(early!.leaves).toEqual([]);
  });

  it('never pays more than was collected, and pays every allocation in full once enough is collected', () => {
    const arbitraryRecord = fc.record({
      epoch: fc.integer({ min: 0, max: 4 }),
      allocations: fc.uniqueArray(
        fc.tuple(fc.integer({ min: 0, max: 5 }), fc.bigInt({ min: 1n, max: 10n ** 18n })),
        {
          selector: ([c]) => c,
          maxLength: 4,
        },
      ),
      unattributed: fc.bigInt({ min: 0n, max: 10n ** 18n }),
    });
    fc.assert(
      fc.property(
        fc.array(arbitraryRecord, { minLength: 1, maxLength: 12 }),
        fc.array(fc.bigInt({ min: 0n, max: 3n * 10n ** 18n }), { minLength: 5, maxLength: 5 }),
        (raw, amounts) => {
          const records = raw.map((r, i) =>
            record(`r${i}`, BigInt(r.epoch), r.allocations, r.unattributed, i),
          );
          const collected = new Map(amounts.map((a, e) => [BigInt(e), a]));
          const epochs = computeEpochRewards(records, collected, 4n);
          for (const e of epochs) {
            expect(e.total).toBeLessThanOrEqual(e.collected);
            expect(e.total).toBe(e.leaves.reduce((s, l) => s + l.amount, 0n));
          }
          // With a last epoch that collects every share, each contributor ends with its allocations, less
          // at most one wei per record and epoch of flooring.
          const shares = records.reduce((s, r) => s + r.contributorsShare, 0n);
          const settled = computeEpochRewards(records, new Map([...collected, [5n, shares]]), 5n);
          const paid = new Map<string, bigint>();
          for (const e of settled)
            for (const l of e.leaves) paid.set(l.account, (paid.get(l.account) ?? 0n) + l.amount);
          const owed = new Map<string, bigint>();
          for (const r of records)
            for (const a of r.allocations)
              owed.set(a.contributor, (owed.get(a.contributor) ?? 0n) + a.amount);
          for (const [account, amount] of owed) {
            const got = paid.get(account) ?? 0n;
            expect(got).toBeLessThanOrEqual(amount);
            expect(amount - got).toBeLessThanOrEqual(BigInt(records.length * 6));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('recomputes a posted epoch from the records alone', () => {
    const records = [
      record('a', 0n, [
        [0, 70n],
        [1, 30n],
      ]),
      record('b', 1n, [[1, 50n]]),
    ];
    const collected = new Map([
      [0n, 60n],
      [1n, 90n],
    ]);
    const again = recomputeEpoch([...records].reverse(), collected, 1n);
    const first = recomputeEpoch(records, collected, 1n);
    expect(again).toEqual(first);
    expect(first.total).toBe(
      computeEpochRewards(records, collected, 1n)[1]!.leaves.reduce((s, l) => s + l.amount, 0n),
    );
  });
});

describe('AttributionLog', () => {
  it('keeps acknowledged records across reopen, drops a torn last line, refuses duplicates and bad sums', async () => {
    const path = file('attribution.jsonl');
    const log = await AttributionLog.open(path);
    await log.append(record('q1', 0n, [[0, 5n]], 1n));
    await log.append(record('q2', 0n, [[1, 7n]]));
    await expect(log.append(record('q1', 0n, [[0, 5n]]))).rejects.toThrow(/already recorded/);
    await expect(log.append({ ...record('q3', 0n, [[0, 5n]]), contributorsShare: 9n })).rejects.toThrow(
      AttributionRecordError,
    );
    await log.close();
    await appendFile(path, '{"id":"q4","modelId":"1","ep');

    const again = await AttributionLog.open(path);
    expect(again.forModel(1n).map((r) => r.id)).toEqual(['q1', 'q2']);
    expect(again.get('q2')!.allocations[0]!.amount).toBe(7n);
    await again.append(record('q4', 1n, [[2, 3n]]));
    await again.close();
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['q1', 'q2', 'q4']);

    await writeFile(path, `${lines[0]}\nnot json\n${lines[1]}\n`);
    await expect(AttributionLog.open(path)).rejects.toThrow(/corrupt/);
  });
});
