import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { keccak256, toHex, type Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { splitForEvaluation } from '../src/factory/eval-split.ts';
import { FactoryError } from '../src/factory/factory-error.ts';
import { JobStore } from '../src/factory/job-store.ts';
import { renderLossCurve } from '../src/factory/loss-curve.ts';
import { parseTrainingJob, trainingConfigHash } from '../src/factory/training-spec.ts';
import type { TrainingRow } from '../src/factory/version-rows.ts';

const OWNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function row(i: number): TrainingRow {
  const text = `row ${i}`;
  return {
    row: i,
    version: 1,
    text,
    hash: keccak256(toHex(text)),
    contributor: OWNER,
    contributionId: 1n,
    offsetInContribution: i,
  };
}

const minimal = {
  datanetId: '3',
  versions: [1, 2],
  baseModel: 'openledger-tiny',
  name: 'stories-v1',
  owner: OWNER,
  authorization: 'OpenLedger x',
};

describe('parseTrainingJob', () => {
  it('fills defaults and keeps what was given', () => {
    const job = parseTrainingJob({ ...minimal, hyperParameters: { rank: 4, targets: ['q', 'k', 'v'] } });
    expect(job.datanetId).toBe(3n);
    expect(job.pricePer1kTokens).toBe(0n);
    expect(job.hyperParameters).toMatchObject({ rank: 4, alpha: 16, targets: ['q', 'k', 'v'], epochs: 3 });
  });

  it('names the field that is out of range, before any work', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: 'Stories V1' }, /^name:/],
      [{ versions: [] }, /^versions:/],
      [{ versions: [1, 1] }, /versions must not repeat/],
      [{ datanetId: '0' }, /^datanetId:/],
      [{ owner: '0x12' }, /^owner:/],
      [{ hyperParameters: { rank: 0 } }, /^hyperParameters\.rank:/],
      [{ hyperParameters: { rank: 65 } }, /^hyperParameters\.rank:/],
      [{ hyperParameters: { learningRate: -1 } }, /^hyperParameters\.learningRate:/],
      [{ hyperParameters: { targets: ['q', 'x'] } }, /^hyperParameters\.targets\.1:/],
      [{ hyperParameters: { epochs: 1.5 } }, /^hyperParameters\.epochs:/],
      [{ hyperParameters: { evalFraction: 0.9 } }, /^hyperParameters\.evalFraction:/],
      [{ surprise: true }, /surprise/],
    ];
    for (const [change, message] of bad) {
      const error = (() => {
        try {
          parseTrainingJob({ ...minimal, ...change });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(FactoryError);
      expect((error as FactoryError).code).toBe('bad-request');
      expect((error as FactoryError).message).toMatch(message);
    }
  });

  it('hashes the training config canonically', () => {
    const a = parseTrainingJob({ ...minimal, hyperParameters: { rank: 4, alpha: 8 } });
    const b = parseTrainingJob({ ...minimal, hyperParameters: { alpha: 8, rank: 4 } });
    const base = `0x${'ab'.repeat(32)}` as Hex;
    const hash = (j: typeof a) =>
      trainingConfigHash({
        baseModelHash: base,
        datanetId: j.datanetId,
        versions: j.versions,
        hyperParameters: j.hyperParameters,
      });
    expect(hash(a)).toBe(hash(b));
    expect(hash(a)).not.toBe(hash(parseTrainingJob({ ...minimal, hyperParameters: { rank: 5, alpha: 8 } })));
  });
});

describe('splitForEvaluation', () => {
  it('partitions the rows, holds out about the fraction, and does not depend on their order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 400 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const rows = Array.from({ length: n }, (_, i) => row(i));
        const split = splitForEvaluation(rows, 0.1, seed);
        expect(split.train.length + split.eval.length).toBe(n);
        expect(split.train.length).toBeGreaterThan(0);
        expect(split.eval.length).toBeGreaterThan(0);
        const reversed = splitForEvaluation([...rows].reverse(), 0.1, seed);
        expect(new Set(reversed.eval.map((r) => r.row))).toEqual(new Set(split.eval.map((r) => r.row)));
      }),
      { numRuns: 50 },
    );
    const big = splitForEvaluation(
      Array.from({ length: 5000 }, (_, i) => row(i)),
      0.1,
      7,
    );
    expect(big.eval.length).toBeGreaterThan(400);
    expect(big.eval.length).toBeLessThan(600);
  });
});

describe('renderLossCurve', () => {
  it('draws the training line and the evaluation points as standalone SVG', () => {
    const svg = renderLossCurve(
      [
        { step: 0, tokens: 0, trainLoss: 5.2, evalLoss: 5.3 },
        { step: 10, tokens: 640, trainLoss: 4.1 },
        { step: 20, tokens: 1280, trainLoss: 3.3, evalLoss: 3.6 },
      ],
      'stories <v1>',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('<polyline points="');
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('stories &#60;v1&#62;');
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(renderLossCurve([])).not.toMatch(/NaN|Infinity/);
  });
});

describe('JobStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openledger-jobs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps jobs and their events across a reopen, skipping a torn last event and unfinished folders', async () => {
    const store = await JobStore.open(dir);
    const job = await store.create(parseTrainingJob({ ...minimal, name: '12n', purchaseId: '5' }));
    await store.update(job.id, (j) => {
      j.status = 'training';
    });
    await store.append(job.id, 'log', 'exported 8 rows');
    await store.append(job.id, 'progress', { step: 1 });
    await appendFile(join(store.folder(job.id), 'events.jsonl'), '{"seq":2,"at":"x","ty');
    await writeFile(join(dir, 'half-made'), '');
    await rm(join(dir, 'half-made'));
    await (await import('node:fs/promises')).mkdir(join(dir, 'no-job-json'));

    const again = await JobStore.open(dir);
    const back = again.get(job.id);
    expect(back.status).toBe('training');
    expect(back.request).toEqual(job.request);
    expect(back.request.name).toBe('12n');
    expect(back.request.purchaseId).toBe(5n);
    expect((await again.events(job.id)).map((e) => e.type)).toEqual(['log', 'progress']);
    expect((await again.events(job.id, 0)).map((e) => e.seq)).toEqual([1]);
    expect(again.list().map((j) => j.id)).toEqual([job.id]);
    expect(() => again.get('nope')).toThrow(FactoryError);
    // The next event continues the numbering after the torn line is overwritten by nothing.
    const next = await again.append(job.id, 'log', 'resumed');
    expect(next.seq).toBe(2);
    expect(await readFile(join(store.folder(job.id), 'job.json'), 'utf8')).not.toContain('"purchaseId":5n');
  });
});
