/**
 * Near-duplicate detection quality and speed of the dedup stage on a generated corpus
 * (near-dup-corpus.ts): `node --import tsx packages/data/bench/near-dup-quality.ts [options]`.
 *
 * The shuffled corpus is cut into contributions (default 250 rows, contributors cycling over 40
 * addresses), each checked with policy 'link' (every row classified and kept) and committed, in order.
 * Progress goes to stderr; one JSON object goes to stdout:
 *
 *   recall      true duplicates flagged with a correct `of` / true duplicates
 *   precision   rows flagged whose `of` really is a duplicate / rows flagged
 *   f1          harmonic mean of the two
 *   rowsPerSec  rows through check + commit per second, in-memory indexes (LevelDB in `level.rowsPerSec`)
 *
 * Ground truth is exact, not the generator's labels: every row's shingle set is compared (through an
 * inverted index) with every earlier row's; a row is a true duplicate when some earlier row has the
 * same text or shingle Jaccard ≥ the threshold. A flag is correct when the row it points at has
 * Jaccard ≥ the threshold with it (or the same text).
 *
 * Options: --base N --near N --exact N --negatives N (corpus sizes), --seed N, --contribution N (rows
 * per contribution), --threshold X, --confidence Z (see dedup-stage.ts), --store memory|level|both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DedupStage, type DedupReport } from '../src/dedup/dedup-stage.ts';
import { contentHashBackend, LevelExactIndex, type ExactIndex } from '../src/dedup/exact-index.ts';
import { LevelLshIndex, MemoryLshIndex, type LshIndex } from '../src/dedup/lsh-index.ts';
import { jaccard, shingleHashes } from '../src/dedup/shingles.ts';
import { RowError, type Row } from '../src/types.ts';
import { generateCorpus, type CorpusRow } from './near-dup-corpus.ts';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', default: '12000' },
    near: { type: 'string', default: '5000' },
    exact: { type: 'string', default: '1000' },
    negatives: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '42' },
    contribution: { type: 'string', default: '250' },
    threshold: { type: 'string', default: '0.8' },
    confidence: { type: 'string' },
    store: { type: 'string', default: 'both' },
  },
});

const threshold = Number(args.threshold);
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

interface Truth {
  shingles: Uint32Array[];
  /** For each row: the earlier row most similar to it (if any shares a shingle or its text) and that Jaccard. */
  best: { row: number; jaccard: number }[];
}

function groundTruth(rows: readonly CorpusRow[]): Truth {
  const shingles = rows.map((r) => shingleHashes(r.text));
  const postings = new Map<number, number[]>();
  const byText = new Map<string, number>();
  const counts = new Map<number, number>();
  const best = rows.map((r, i) => {
    let top = { row: -1, jaccard: 0 };
    const same = byText.get(r.text);
    if (same !== undefined) top = { row: same, jaccard: 1 };
    else byText.set(r.text, i);
    counts.clear();
    const a = shingles[i]!;
    for (const s of a) {
      const list = postings.get(s);
      if (list) for (const j of list) counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    for (const [j, c] of counts) {
      const jac = c / (a.length + shingles[j]!.length - c);
      if (jac > top.jaccard) top = { row: j, jaccard: jac };
    }
    for (const s of a) {
      const list = postings.get(s);
      if (list) list.push(i);
      else postings.set(s, [i]);
    }
    return top;
  });
  return { shingles, best };
}

interface RunResult {
  reports: (DedupReport | undefined)[];
  seconds: number;
  allDuplicateErrors: number;
}

async function run(
  rows: readonly CorpusRow[],
  exact: ExactIndex | undefined,
  lsh: LshIndex | undefined,
): Promise<RunResult> {
  const size = Number(args.contribution);
  const stage = new DedupStage({
    policy: 'link',
    threshold,
    ...(args.confidence === undefined ? {} : { confidence: Number(args.confidence) }),
    ...(exact ? { exact } : {}),
    ...(lsh ? { lsh } : {}),
  });
  const reports: (DedupReport | undefined)[] = [];
  let allDuplicateErrors = 0;
  const t0 = performance.now();
  for (let start = 0, c = 0; start < rows.length; start += size, c++) {
    const batch: Row[] = rows
      .slice(start, start + size)
      .map((r, index) => ({ index, text: r.text, source: { file: `c${c}.txt`, line: index + 1 } }));
    const contributor = `0x${(c % 40).toString(16).padStart(40, '0')}`;
    try {
      const report = await stage.check(batch, contributor, `c${c}`);
      await stage.commit(report);
      reports.push(report);
    } catch (e) {
      if (!(e instanceof RowError) || e.code !== 'all-duplicates') throw e;
      allDuplicateErrors++;
      reports.push(undefined);
    }
  }
  return { reports, seconds: (performance.now() - t0) / 1000, allDuplicateErrors };
}

function evaluate(rows: readonly CorpusRow[], truth: Truth, result: RunResult) {
  const size = Number(args.contribution);
  const idOf = (contributionId: string, rowIndex: number): number =>
    Number(contributionId.slice(1)) * size + rowIndex;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let truePositivesTotal = 0;
  const buckets = ['exact-text', '[0.95,1]', '[0.9,0.95)', '[0.85,0.9)', '[0.8,0.85)'] as const;
  const byBucket = Object.fromEntries(buckets.map((b) => [b, { truth: 0, found: 0 }])) as Record<
    (typeof buckets)[number],
    { truth: number; found: number }
  >;
  const negatives = {
    rows: 0,
    flagged: 0,
    byJaccard: {} as Record<string, { rows: number; flagged: number }>,
  };
  const falsePositiveJaccards: number[] = [];
  result.reports.forEach((report, c) => {
    const n = Math.min(size, rows.length - c * size);
    for (let k = 0; k < n; k++) {
      const id = c * size + k;
      const r = report?.results[k];
      const best = truth.best[id]!;
      const isDup = best.row >= 0 && (best.jaccard >= threshold || rows[best.row]!.text === rows[id]!.text);
      if (isDup) {
        truePositivesTotal++;
        const bucket =
          rows[best.row]!.text === rows[id]!.text
            ? 'exact-text'
            : best.jaccard >= 0.95
              ? '[0.95,1]'
              : best.jaccard >= 0.9
                ? '[0.9,0.95)'
                : best.jaccard >= 0.85
                  ? '[0.85,0.9)'
                  : '[0.8,0.85)';
        byBucket[bucket].truth++;
        if (r && r.status !== 'unique') byBucket[bucket].found++;
      }
      const row = rows[id]!;
      if (row.kind === 'negative') {
        negatives.rows++;
        const key =
          row.jaccard! < 0.55
            ? '[0.5,0.55)'
            : row.jaccard! < 0.6
              ? '[0.55,0.6)'
              : row.jaccard! < 0.65
                ? '[0.6,0.65)'
                : '[0.65,0.7]';
        const slot = (negatives.byJaccard[key] ??= { rows: 0, flagged: 0 });
        slot.rows++;
        if (r && r.status !== 'unique') {
          negatives.flagged++;
          slot.flagged++;
        }
      }
      if (!r || r.status === 'unique') {
        if (isDup) fn++;
        continue;
      }
      const of = idOf(r.of!.contributionId, r.of!.rowIndex);
      const j = rows[of]!.text === row.text ? 1 : jaccard(truth.shingles[id]!, truth.shingles[of]!);
      if (of < id && j >= threshold) tp++;
      else {
        fp++;
        falsePositiveJaccards.push(round(j, 3));
      }
    }
  });
  const recall = truePositivesTotal === 0 ? 1 : tp / truePositivesTotal;
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const f1 = recall + precision === 0 ? 0 : (2 * recall * precision) / (recall + precision);
  const recallByJaccard = Object.fromEntries(
    buckets.map((b) => [
      b,
      { ...byBucket[b], recall: byBucket[b].truth ? round(byBucket[b].found / byBucket[b].truth) : null },
    ]),
  );
  falsePositiveJaccards.sort((x, y) => x - y);
  return {
    recall,
    precision,
    f1,
    truth: truePositivesTotal,
    tp,
    fp,
    fn,
    recallByJaccard,
    hardNegatives: {
      ...negatives,
      flaggedRate: negatives.rows ? round(negatives.flagged / negatives.rows) : 0,
    },
    falsePositiveJaccard: falsePositiveJaccards.length
      ? {
          min: falsePositiveJaccards[0],
          median: falsePositiveJaccards[falsePositiveJaccards.length >> 1],
          max: falsePositiveJaccards[falsePositiveJaccards.length - 1],
        }
      : null,
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const corpus = generateCorpus({
    baseDocs: Number(args.base),
    nearDups: Number(args.near),
    exactDups: Number(args.exact),
    hardNegatives: Number(args.negatives),
    seed: Number(args.seed),
  });
  const rows = corpus.rows;
  log(
    `corpus: ${rows.length} rows ${JSON.stringify(corpus.counts)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const t1 = performance.now();
  const truth = groundTruth(rows);
  log(`ground truth in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

  const store = args.store;
  if (!['memory', 'level', 'both'].includes(store)) throw new Error(`--store must be memory, level or both`);
  let memory: (ReturnType<typeof evaluate> & { rowsPerSec: number; seconds: number }) | undefined;
  let level: (ReturnType<typeof evaluate> & { rowsPerSec: number; seconds: number }) | undefined;
  if (store !== 'level') {
    const r = await run(rows, undefined, new MemoryLshIndex());
    memory = { ...evaluate(rows, truth, r), rowsPerSec: rows.length / r.seconds, seconds: r.seconds };
    log(
      `memory: ${r.seconds.toFixed(2)} s, recall ${memory.recall.toFixed(4)}, precision ${memory.precision.toFixed(4)}`,
    );
  }
  if (store !== 'memory') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'near-dup-bench-'));
    try {
      const exact = await LevelExactIndex.open(path.join(dir, 'exact'));
      const lsh = await LevelLshIndex.open(path.join(dir, 'lsh'));
      const r = await run(rows, exact, lsh);
      await exact.close();
      await lsh.close();
      level = { ...evaluate(rows, truth, r), rowsPerSec: rows.length / r.seconds, seconds: r.seconds };
      log(
        `level: ${r.seconds.toFixed(2)} s, recall ${level.recall.toFixed(4)}, precision ${level.precision.toFixed(4)}`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const main = (memory ?? level)!;
  const stage = new DedupStage(
    args.confidence === undefined ? { threshold } : { threshold, confidence: Number(args.confidence) },
  );
  const output = {
    recall: round(main.recall),
    precision: round(main.precision),
    f1: round(main.f1),
    rowsPerSec: Math.round(main.rowsPerSec),
    rows: rows.length,
    planted: corpus.counts,
    params: {
      shingleSize: 5,
      numPerm: stage.lsh.params.numPerm,
      bands: stage.lsh.params.bands,
      rowsPerBand: stage.lsh.params.rows,
      threshold,
      acceptEstimateAt: round(stage.acceptAt),
      contributionSize: Number(args.contribution),
      keccak: contentHashBackend,
    },
    detail: { tp: main.tp, fp: main.fp, fn: main.fn, truthDuplicates: main.truth },
    recallByJaccard: main.recallByJaccard,
    hardNegatives: main.hardNegatives,
    falsePositiveJaccard: main.falsePositiveJaccard,
    ...(memory && level
      ? {
          level: {
            recall: round(level.recall),
            precision: round(level.precision),
            rowsPerSec: Math.round(level.rowsPerSec),
          },
        }
      : {}),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  };
  console.log(JSON.stringify(output, null, 2));
}

await main();
