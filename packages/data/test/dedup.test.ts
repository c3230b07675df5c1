import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { keccak256 } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCorpus, rng } from '../bench/near-dup-corpus.ts';
import { DedupStage } from '../src/dedup/dedup-stage.ts';
import { LocalBandTable } from '../src/dedup/local-band-table.ts';
import {
  contentHash,
  LevelExactIndex,
  MemoryExactIndex,
  type ContentHash,
  type DupRef,
} from '../src/dedup/exact-index.ts';
import { bandKeys, candidateProbability, LevelLshIndex, MemoryLshIndex } from '../src/dedup/lsh-index.ts';
import { estimateJaccard, MinHasher } from '../src/dedup/minhash.ts';
import { jaccard, shingleHashes, tokenize } from '../src/dedup/shingles.ts';
import { RowError, type Row } from '../src/types.ts';

const ALICE = '0x00000000000000000000000000000000000a11ce';
const BOB = '0x0000000000000000000000000000000000000b0b';
const CAROL = '0x00000000000000000000000000000000000ca201';

const rows = (texts: readonly string[]): Row[] =>
  texts.map((text, index) => ({ index, text, source: { file: 'upload.txt', line: index + 1 } }));

const PARAS = [
  'The river rises in the northern hills and flows south through a broad valley where farmers have grown wheat and barley for centuries.',
  'Photosynthesis is the process by which green plants use sunlight to make their own food, mainly in the leaves where chlorophyll absorbs light.',
  'The committee met on Tuesday to discuss the new budget, and after a long debate it agreed to spend more on schools and public libraries.',
  'Our small bakery opens at six every morning and sells fresh bread, butter croissants and a few kinds of cake made with local fruit.',
  'In the winter months the harbour is quiet, the fishing boats stay tied up at the pier and most of the cafes along the front are closed.',
  'Learning a second language takes patience, but reading simple stories every day and speaking with friends makes steady progress possible.',
];
// A near duplicate of PARAS[0]: one word changed at the end (Jaccard ≈ 0.9).
const PARA0_NEAR = PARAS[0]!.replace('for centuries.', 'for generations.');

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dedup-test-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(async () => {
  while (tempDirs.length > 0) await rm(tempDirs.pop()!, { recursive: true, force: true });
});

describe('shingles', () => {
  it('tokenises case- and punctuation-insensitively', () => {
    expect(tokenize('Hello, WORLD! Don’t stop')).toEqual(['hello', 'world', 'don', 't', 'stop']);
    expect(shingleHashes('The quick brown fox jumps over the dog.')).toEqual(
      shingleHashes('the QUICK, brown fox -- jumps over the dog'),
    );
  });

  it('uses word 5-grams for long rows and character 5-grams for short ones', () => {
    const long = shingleHashes('one two three four five six seven');
    expect(long.length).toBe(3);
    const short = shingleHashes('Thank you');
    expect(short.length).toBe('thank you'.length - 4);
    expect(shingleHashes('hi').length).toBe(1);
    expect(shingleHashes('!!! ...').length).toBe(0);
  });

  it('uses character 5-grams for scripts without spaces', () => {
    const text = '光合作用是绿色植物利用阳光制造自身养分的过程';
    expect(shingleHashes(text).length).toBe(text.length - 4);
  });

  it('computes exact Jaccard over sorted sets', () => {
    expect(jaccard(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4))).toBeCloseTo(0.5);
    expect(jaccard(new Uint32Array(0), new Uint32Array(0))).toBe(1);
  });
});

describe('MinHash', () => {
  it('computes (a·x + b) mod p exactly', () => {
    const hasher = new MinHasher({ numPerm: 16 });
    const xs = Uint32Array.of(0, 1, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xffffffff, 123456789, 3000000000);
    for (const x of xs) {
      const sig = hasher.signature(Uint32Array.of(x));
      for (let i = 0; i < 16; i++) expect(sig[i]).toBe(hasher.permute(i, x));
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const s = shingleHashes(PARAS[1]!);
    expect(new MinHasher().signature(s)).toEqual(new MinHasher().signature(s));
    expect(new MinHasher({ seed: 7 }).signature(s)).not.toEqual(new MinHasher().signature(s));
  });

  it('estimates the Jaccard similarity of random pairs within ±0.1 (128 permutations)', () => {
    const random = rng(2024);
    const hasher = new MinHasher();
    const errors: number[] = [];
    for (let pair = 0; pair < 200; pair++) {
      // Two sets sharing a random fraction of their elements.
      const size = 50 + Math.floor(random() * 400);
      const shared = Math.floor(random() * size);
      const common = Array.from({ length: shared }, () => Math.floor(random() * 2 ** 32));
      const a = Uint32Array.from([
        ...common,
        ...Array.from({ length: size - shared }, () => Math.floor(random() * 2 ** 32)),
      ]);
      const b = Uint32Array.from([
        ...common,
        ...Array.from({ length: size - shared }, () => Math.floor(random() * 2 ** 32)),
      ]);
      const truth = jaccard(a.slice().sort(), b.slice().sort());
      errors.push(estimateJaccard(hasher.signature(a), hasher.signature(b)) - truth);
    }
    const within = errors.filter((e) => Math.abs(e) <= 0.1).length / errors.length;
    const meanError = errors.reduce((s, e) => s + e, 0) / errors.length;
    const meanAbsError = errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length;
    // σ ≤ √(0.25/128) = 0.044, so ±0.1 is ≥ 2.26σ: ~98 % of pairs, not all, by chance alone.
    expect(within).toBeGreaterThanOrEqual(0.97);
    expect(Math.max(...errors.map(Math.abs))).toBeLessThan(0.16);
    expect(Math.abs(meanError)).toBeLessThan(0.01);
    expect(meanAbsError).toBeLessThan(0.04);
  });
});

describe('LSH banding', () => {
  it('has the documented S-curve for 32 bands × 4 rows', () => {
    expect(candidateProbability(0.8, 32, 4)).toBeGreaterThan(0.9999999);
    expect(candidateProbability(0.5, 32, 4)).toBeCloseTo(0.873, 2);
    expect(candidateProbability(0.2, 32, 4)).toBeLessThan(0.06);
    expect(candidateProbability(0.8, 16, 8)).toBeCloseTo(0.947, 2);
  });

  it('finds ≥ 95 % of planted pairs with Jaccard ≥ 0.8 on a generated corpus', () => {
    const { rows: corpus } = generateCorpus({
      baseDocs: 1500,
      nearDups: 400,
      exactDups: 50,
      hardNegatives: 200,
      seed: 7,
    });
    const hasher = new MinHasher();
    const index = new MemoryLshIndex();
    const sigs = corpus.map((r) => hasher.signature(shingleHashes(r.text)));
    const idOf: number[] = [];
    corpus.forEach((r, i) => {
      if (r.kind === 'base' || r.kind === 'short') {
        idOf[
          index.add({
            ref: { contributionId: 'c', rowIndex: i, contributor: ALICE },
            signature: sigs[i]!,
            keys: bandKeys(sigs[i]!, 32, 4),
          })
        ] = i;
      }
    });
    let planted = 0;
    let found = 0;
    let verified = 0;
    corpus.forEach((r, i) => {
      if (r.base === undefined || r.jaccard === undefined || r.jaccard < 0.8) return;
      planted++;
      const candidates = index.candidates(bandKeys(sigs[i]!, 32, 4)).map((id) => idOf[id]);
      if (candidates.includes(r.base)) {
        found++;
        if (estimateJaccard(sigs[i]!, sigs[r.base]!) >= 0.742) verified++;
      }
    });
    expect(planted).toBeGreaterThanOrEqual(450);
    expect(found / planted).toBeGreaterThanOrEqual(0.95);
    expect(verified / planted).toBeGreaterThanOrEqual(0.95);
  });

  it('reaches recall and precision ≥ 0.95 through the stage on a generated corpus', async () => {
    const { rows: corpus } = generateCorpus({
      baseDocs: 2000,
      nearDups: 500,
      exactDups: 100,
      hardNegatives: 400,
      shortFraction: 0,
      seed: 11,
    });
    const stage = new DedupStage({ policy: 'link' });
    const shingles = corpus.map((r) => shingleHashes(r.text));
    const size = 200;
    let tp = 0;
    let fp = 0;
    let truth = 0;
    for (let start = 0; start < corpus.length; start += size) {
      const batch = corpus.slice(start, start + size);
      const report = await stage.check(rows(batch.map((r) => r.text)), ALICE, `c${start}`);
      await stage.commit(report);
      report.results.forEach((res, k) => {
        const row = batch[k]!;
        // With one variant per base, a row is a true duplicate when its partner came first and J ≥ 0.8.
        const partner = row.base ?? corpus.findIndex((r) => r.base === row.id);
        const isDup =
          partner >= 0 && partner < row.id && (row.jaccard ?? corpus[partner]!.jaccard ?? 0) >= 0.8;
        if (isDup) truth++;
        if (res.status === 'unique') return;
        const of = Number(res.of!.contributionId.slice(1)) + res.of!.rowIndex;
        if (jaccard(shingles[row.id]!, shingles[of]!) >= 0.8) tp++;
        else fp++;
      });
    }
    expect(tp / truth).toBeGreaterThanOrEqual(0.95);
    expect(tp / (tp + fp)).toBeGreaterThanOrEqual(0.95);
  });
});

describe('content hash', () => {
  it('is keccak256 of the UTF-8 text', () => {
    for (const t of ['', 'abc', 'Grüße, 世界 🌍']) {
      expect(contentHash(t)).toBe(keccak256(new TextEncoder().encode(t)));
    }
  });
});

describe('DedupStage', () => {
  it('links exact duplicates across contributors to the earliest contributor', async () => {
    const stage = new DedupStage({ policy: 'link' });
    const a = await stage.check(rows([PARAS[0]!, PARAS[1]!]), ALICE, 'a');
    expect(a.results.map((r) => r.status)).toEqual(['unique', 'unique']);
    await stage.commit(a);

    const b = await stage.check(rows([PARAS[2]!, PARAS[1]!]), BOB, 'b');
    expect(b.results[1]).toMatchObject({
      status: 'exact-duplicate',
      of: { contributionId: 'a', rowIndex: 1, contributor: ALICE },
      similarity: 1,
    });
    expect(b.keep).toEqual([0, 1]);
    await stage.commit(b);

    // Bob's stored copy is linked, not indexed: Carol's copy still points at Alice.
    const c = await stage.check(rows([PARAS[1]!, PARAS[3]!, PARAS[2]!]), CAROL, 'c');
    expect(c.results[0]!.of).toEqual({ contributionId: 'a', rowIndex: 1, contributor: ALICE });
    expect(c.results[2]!.of).toEqual({ contributionId: 'b', rowIndex: 0, contributor: BOB });
    expect(c.counts).toEqual({ unique: 1, exact: 2, near: 0 });
  });

  it('finds near duplicates across contributors', async () => {
    const stage = new DedupStage();
    await stage.commit(await stage.check(rows([PARAS[0]!]), ALICE, 'a'));
    const b = await stage.check(rows([PARA0_NEAR, PARAS[4]!]), BOB, 'b');
    expect(b.results[0]!.status).toBe('near-duplicate');
    expect(b.results[0]!.of).toEqual({ contributionId: 'a', rowIndex: 0, contributor: ALICE });
    expect(b.results[0]!.similarity).toBeGreaterThan(0.75);
    expect(b.results[1]!.status).toBe('unique');
  });

  it('treats case and punctuation variants as near duplicates with similarity 1', async () => {
    const stage = new DedupStage();
    await stage.commit(await stage.check(rows([PARAS[3]!, 'Thank you so much']), ALICE, 'a'));
    const b = await stage.check(rows([PARAS[3]!.toUpperCase(), 'thank you, so much!', PARAS[5]!]), BOB, 'b');
    expect(b.results.map((r) => [r.status, r.similarity])).toEqual([
      ['near-duplicate', 1],
      ['near-duplicate', 1],
      ['unique', undefined],
    ]);
  });

  it('finds duplicates within a contribution, pointing at the earlier row', async () => {
    const stage = new DedupStage({ policy: 'link' });
    const r = await stage.check(rows([PARAS[0]!, PARAS[1]!, PARAS[0]!, PARA0_NEAR, PARAS[2]!]), ALICE, 'a');
    expect(r.results.map((x) => x.status)).toEqual([
      'unique',
      'unique',
      'exact-duplicate',
      'near-duplicate',
      'unique',
    ]);
    expect(r.results[2]!.of).toEqual({ contributionId: 'a', rowIndex: 0, contributor: ALICE });
    expect(r.results[3]!.of).toEqual({ contributionId: 'a', rowIndex: 0, contributor: ALICE });
  });

  it('prefers a committed original over an earlier row of the same contribution', async () => {
    const stage = new DedupStage();
    await stage.commit(await stage.check(rows([PARAS[0]!]), ALICE, 'a'));
    const r = await stage.check(rows([PARAS[5]!, PARA0_NEAR, PARA0_NEAR]), BOB, 'b');
    expect(r.results[1]!.of!.contributionId).toBe('a');
    expect(r.results[2]!.of!.contributionId).toBe('a');
  });

  it("'reject' drops duplicates with a RowError per row; 'link' keeps them", async () => {
    const original = rows([PARAS[0]!, PARAS[1]!]);
    const upload = rows([PARAS[2]!, PARAS[0]!, PARA0_NEAR, PARAS[2]!]);

    const reject = new DedupStage({ policy: 'reject' });
    await reject.commit(await reject.check(original, ALICE, 'a'));
    const r = await reject.check(upload, BOB, 'b');
    expect(r.keep).toEqual([0]);
    expect(r.rejected.map((e) => [e.code, e.source?.line])).toEqual([
      ['exact-duplicate', 2],
      ['near-duplicate', 3],
      ['exact-duplicate', 4],
    ]);
    expect(r.rejected.every((e) => e instanceof RowError)).toBe(true);
    expect(r.rejected[0]!.message).toContain(ALICE);

    const link = new DedupStage({ policy: 'link' });
    await link.commit(await link.check(original, ALICE, 'a'));
    const l = await link.check(upload, BOB, 'b');
    expect(l.keep).toEqual([0, 1, 2, 3]);
    expect(l.rejected).toEqual([]);
    expect(l.results.map((x) => x.of?.contributor)).toEqual([undefined, ALICE, ALICE, BOB]);
  });

  it('rejects a contribution whose rows are all duplicates', async () => {
    for (const policy of ['reject', 'link'] as const) {
      const exact = new MemoryExactIndex();
      const lsh = new MemoryLshIndex();
      const stage = new DedupStage({ policy, exact, lsh });
      await stage.commit(await stage.check(rows([PARAS[0]!, PARAS[1]!]), ALICE, 'a'));
      const err = await stage
        .check(rows([PARAS[1]!, PARA0_NEAR, PARAS[1]!]), BOB, 'b')
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RowError);
      expect((err as RowError).code).toBe('all-duplicates');
      expect(exact.size).toBe(2);
      expect(lsh.size).toBe(2);
      // A contribution duplicating only itself is not all duplicates: its first row is new.
      const self = await stage.check(rows([PARAS[4]!, PARAS[4]!]), BOB, 'c');
      expect(self.counts).toEqual({ unique: 1, exact: 1, near: 0 });
    }
  });

  it('writes nothing until commit, and commits once', async () => {
    const exact = new MemoryExactIndex();
    const lsh = new MemoryLshIndex();
    const stage = new DedupStage({ exact, lsh });
    const first = await stage.check(rows([PARAS[0]!, PARAS[1]!]), ALICE, 'a');
    expect(exact.size).toBe(0);
    expect(lsh.size).toBe(0);
    // The contribution failed to store: no commit. The same rows are still unique for the next uploader.
    const again = await stage.check(rows([PARAS[0]!, PARAS[1]!]), BOB, 'b');
    expect(again.counts.unique).toBe(2);
    await stage.commit(again);
    await stage.commit(again);
    expect(exact.size).toBe(2);
    expect(lsh.size).toBe(2);
    expect((await exact.get(contentHash(PARAS[0]!)))?.contributor).toBe(BOB);
    // A report from another stage cannot be committed here.
    await expect(new DedupStage().commit(first)).rejects.toThrow(/not checked by this stage/);
  });

  it('re-checking a committed contribution under its own id completes missing entries (crash recovery)', async () => {
    const lsh = new MemoryLshIndex();
    const first = new DedupStage({ lsh, exact: new MemoryExactIndex() });
    const upload = rows([PARAS[0]!, PARAS[1]!, '!!!']);
    await first.commit(await first.check(upload, ALICE, 'a'));
    expect(lsh.size).toBe(2);
    // As if the process died after the LSH write and before the exact one: a fresh exact index.
    const exact = new MemoryExactIndex();
    const stage = new DedupStage({ lsh, exact });
    const again = await stage.check(upload, ALICE, 'a');
    expect(again.counts).toEqual({ unique: 3, exact: 0, near: 0 });
    await stage.commit(again);
    expect(exact.size).toBe(3);
    expect(lsh.size).toBe(2);
    // Fully committed: checking once more changes nothing and is not an all-duplicates error.
    await stage.commit(await stage.check(upload, ALICE, 'a'));
    expect([exact.size, lsh.size]).toEqual([3, 2]);
    // Anyone else's copy is still a duplicate.
    await expect(stage.check(upload, BOB, 'b')).rejects.toThrow(/all 3 rows/);
  });

  it('indexes rows without shingles for exact matching only', async () => {
    const stage = new DedupStage({ policy: 'link' });
    await stage.commit(await stage.check(rows(['!!!', PARAS[0]!]), ALICE, 'a'));
    const r = await stage.check(rows(['!!!', '???', PARAS[1]!]), BOB, 'b');
    expect(r.results.map((x) => x.status)).toEqual(['exact-duplicate', 'unique', 'unique']);
  });

  it('classifies a contribution fed in chunks exactly as one checked at once', async () => {
    const pool = [...PARAS, PARA0_NEAR, PARAS[3]!.toUpperCase(), '!!!', 'Thank you so much'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 14 }),
        fc.array(fc.nat(pool.length - 1), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom('reject' as const, 'link' as const),
        async (committed, upload, cuts, policy) => {
          const stage = new DedupStage({ policy });
          await stage.commit(await stage.check(rows(committed.map((i) => pool[i]!)), ALICE, 'a'));
          const all = rows(upload.map((i) => pool[i]!));
          const whole = await stage.check(all, BOB, 'b').catch((error: Error) => error);
          const session = stage.begin(BOB, 'b');
          const results = [];
          for (let at = 0, c = 0; at < all.length; at += cuts[c++ % cuts.length]!) {
            results.push(...(await session.add(all.slice(at, at + cuts[c % cuts.length]!))));
          }
          if (whole instanceof Error) {
            expect(() => session.finish()).toThrow(whole.message);
            return;
          }
          expect(results).toEqual(whole.results);
          expect(session.finish().counts).toEqual(whole.counts);
          // Stored positions count the kept rows in upload order.
          expect(results.flatMap((r) => (r.stored === undefined ? [] : [r.stored]))).toEqual(
            whole.keep.map((_, i) => i),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('names rows by their stored position, so references survive dropped duplicates', async () => {
    const stage = new DedupStage();
    await stage.commit(await stage.check(rows([PARAS[0]!]), ALICE, 'a'));
    // Row 0 is dropped (a duplicate of Alice's row), so PARAS[1] is stored at position 0.
    const r = await stage.check(rows([PARAS[0]!, PARAS[1]!, PARAS[1]!]), BOB, 'b');
    expect(r.results.map((x) => x.stored)).toEqual([undefined, 0, undefined]);
    expect(r.results[2]!.of).toEqual({ contributionId: 'b', rowIndex: 0, contributor: BOB });
    await stage.commit(r);
    const c = await stage.check(rows([PARAS[1]!, PARAS[2]!]), CAROL, 'c');
    expect(c.results[0]!.of).toEqual({ contributionId: 'b', rowIndex: 0, contributor: BOB });
  });

  it('accepts near duplicates from threshold − z·σ (confidence 0 = the threshold itself)', () => {
    expect(new DedupStage().acceptAt).toBeCloseTo(0.8 - 1.645 * Math.sqrt(0.16 / 128), 6);
    expect(new DedupStage({ confidence: 0, threshold: 0.9 }).acceptAt).toBe(0.9);
    expect(() => new DedupStage({ threshold: 1.5 })).toThrow(RangeError);
  });
});

describe('LocalBandTable', () => {
  it('lists the rows sharing a band key once each, ascending, like the in-memory index', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 4, maxLength: 4 }), {
          maxLength: 60,
        }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 4, maxLength: 4 }),
        (added, query) => {
          // Few distinct keys, so buckets fill; above 2^32, so the fold of the high bits counts (and is
          // injective on these keys: the candidate lists must match exactly).
          const key = (k: number, band: number) => (k * 4 + band) * (2 ** 40 + 1);
          const table = new LocalBandTable(4, 8);
          const reference = new MemoryLshIndex({ numPerm: 8, bands: 4, rows: 2 });
          for (const [i, ks] of added.entries()) {
            const keys = ks.map(key);
            const signature = Uint32Array.from({ length: 8 }, (_, j) => i * 8 + j);
            expect(table.add(signature, keys)).toBe(i);
            reference.add({ ref: { contributionId: 'x', rowIndex: i, contributor: ALICE }, signature, keys });
            expect([...table.signature(i)]).toEqual([...signature]);
          }
          expect(table.candidates(query.map(key))).toEqual(reference.candidates(query.map(key)));
        },
      ),
    );
  });
});

describe('LevelDB indexes', () => {
  it('persist exact and LSH entries across reopen', async () => {
    const dir = await tempDir();
    let exact = await LevelExactIndex.open(path.join(dir, 'exact'));
    let lsh = await LevelLshIndex.open(path.join(dir, 'lsh'));
    let stage = new DedupStage({ exact, lsh });
    const a = await stage.check(rows([PARAS[0]!, PARAS[1]!, PARAS[2]!]), ALICE, 'a');
    await stage.commit(a);
    // Checked but never committed: must not survive.
    await stage.check(rows([PARAS[3]!]), BOB, 'b');
    await exact.close();
    await lsh.close();

    exact = await LevelExactIndex.open(path.join(dir, 'exact'));
    lsh = await LevelLshIndex.open(path.join(dir, 'lsh'));
    expect(lsh.size).toBe(3);
    stage = new DedupStage({ exact, lsh, policy: 'link' });
    const c = await stage.check(rows([PARAS[1]!, PARA0_NEAR, PARAS[3]!]), CAROL, 'c');
    expect(c.results.map((r) => r.status)).toEqual(['exact-duplicate', 'near-duplicate', 'unique']);
    expect(c.results[0]!.of).toEqual({ contributionId: 'a', rowIndex: 1, contributor: ALICE });
    expect(c.results[1]!.of).toEqual({ contributionId: 'a', rowIndex: 0, contributor: ALICE });
    await stage.commit(c);
    expect(lsh.size).toBe(4);
    await exact.close();
    await lsh.close();
  });

  it('keeps the first row per hash', async () => {
    const dir = await tempDir();
    const exact = await LevelExactIndex.open(dir);
    const h = contentHash('x') as ContentHash;
    const first: DupRef = { contributionId: 'a', rowIndex: 0, contributor: ALICE };
    await exact.putMany([
      { hash: h, ref: first },
      { hash: h, ref: { contributionId: 'a', rowIndex: 1, contributor: ALICE } },
    ]);
    await exact.putMany([{ hash: h, ref: { contributionId: 'b', rowIndex: 0, contributor: BOB } }]);
    expect(await exact.get(h)).toEqual(first);
    expect(await exact.getMany([h, contentHash('y')])).toEqual([first, undefined]);
    await exact.close();
  });

  it('refuses to reopen an LSH index with other parameters', async () => {
    const dir = await tempDir();
    const lsh = await LevelLshIndex.open(dir);
    await lsh.close();
    await expect(LevelLshIndex.open(dir, { bands: 16, rows: 8 })).rejects.toThrow(/was built with/);
    const again = await LevelLshIndex.open(dir);
    await again.close();
  });

  it('serves candidates from buckets shared by many rows in id order', async () => {
    const dir = await tempDir();
    const lsh = await LevelLshIndex.open(dir);
    const hasher = new MinHasher();
    const sig = hasher.signature(shingleHashes(PARAS[0]!));
    const keys = bandKeys(sig, 32, 4);
    const ref = (i: number): DupRef => ({ contributionId: `c${i}`, rowIndex: 0, contributor: ALICE });
    // An empty answer first; the writes below must show up in later answers.
    expect(await lsh.query([keys])).toEqual([[]]);
    await lsh.addMany([{ ref: ref(0), signature: sig, keys }]);
    await lsh.addMany([
      { ref: ref(1), signature: sig, keys },
      { ref: ref(2), signature: sig, keys },
    ]);
    const [ids] = await lsh.query([keys]);
    expect(ids).toEqual([0, 1, 2]);
    const entries = await lsh.entries(ids!);
    expect(entries.get(2)?.ref).toEqual(ref(2));
    expect(entries.get(2)?.signature).toEqual(sig);
    await lsh.close();
  });
});
