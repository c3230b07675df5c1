/**
 * Ingestion throughput of the data plane, end to end: `npm run -s bench:data` (this file).
 *
 * Generates text corpora of growing size (default 50, 100 and 200 MB of English-looking paragraphs
 * with a sprinkling of personal data), cut into files of `--file-mb` (10 MB, well under the upload
 * limit), and ingests each file as one contribution through the real ContributionIngestor on disk:
 * parse → rows → validate → scrub → exact + near dedup (LevelDB) → quality → row pack, index and
 * Merkle tree in the content store → record. Each corpus is ingested by a fresh child process, which
 * reports MB/s, rows/s and its memory: peak anonymous RSS, the heap that survives a full GC after
 * each contribution, and the kernel's maxRSS. Flat anonymous memory as the corpus grows shows that
 * nothing holds the corpus; maxRSS also counts the pages of LevelDB's memory-mapped table files,
 * which grow with the index on disk and are page cache the kernel reclaims. The reference, run in the
 * same process on the same files, is the floor any ingester pays: reading every byte and hashing
 * every row; `ratio` = pipeline MB/s ÷ reference MB/s.
 *
 * Then it runs near-dup-quality.ts (planted near duplicates) and includes its recall/precision.
 * One JSON object on stdout; progress on stderr.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { ContributionIngestor } from '../src/contributions/ingest-contribution.ts';
import { RecordDb } from '../src/contributions/record-db.ts';
import { DedupStage } from '../src/dedup/dedup-stage.ts';
import { LevelExactIndex } from '../src/dedup/exact-index.ts';
import { LevelLshIndex } from '../src/dedup/lsh-index.ts';
import { keccak256 } from '../src/hash.ts';
import { parseValidationStandard } from '../src/ingest/validation-standard.ts';
import { FsContentStore } from '../src/store/fs-content-store.ts';
import { rng } from './near-dup-corpus.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '50,100,200' },
    'file-mb': { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    'skip-near-dup': { type: 'boolean', default: false },
    /** Internal: ingest the corpus in this directory and print an IngestRun. */
    ingest: { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const fileBytes = Number(values['file-mb']) * 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);

const SYLLABLES =
  'ka lo mi ne ru sa te vo ba di fe go hu ja ki le ma no pe ri so tu ve wa ze an el in or un'.split(' ');
const random = rng(Number(values.seed));
// A 4,000-word vocabulary drawn with Zipf-like frequencies, so rows look like text to every stage.
const vocabulary = Array.from({ length: 4000 }, (_, i) => {
  const n = 1 + (i % 3) + Math.floor(random() * 2);
  return Array.from({ length: n }, () => SYLLABLES[Math.floor(random() * SYLLABLES.length)]).join('');
});
function word(): string {
  return vocabulary[Math.floor(vocabulary.length * random() ** 3)]!;
}
function paragraph(serial: number): string {
  const sentences: string[] = [];
  const count = 3 + Math.floor(random() * 5);
  for (let s = 0; s < count; s++) {
    const words = Array.from({ length: 6 + Math.floor(random() * 14) }, word);
    words[0] = words[0]![0]!.toUpperCase() + words[0]!.slice(1);
    sentences.push(`${words.join(' ')}.`);
  }
  if (serial % 50 === 0)
    sentences.push(`Write to user${serial}@example.org or call +1 415 555 ${1000 + (serial % 9000)}.`);
  return `${sentences.join(' ')} (${serial})`;
}

async function writeCorpus(
  dir: string,
  totalBytes: number,
  serialStart: number,
): Promise<{ files: string[]; serial: number }> {
  const files: string[] = [];
  let serial = serialStart;
  for (let written = 0; written < totalBytes; written += fileBytes) {
    const parts: string[] = [];
    let size = 0;
    // The last file holds only what is left, so a corpus is `totalBytes`, not a multiple of `fileBytes`.
    const target = Math.min(fileBytes, totalBytes - written);
    while (size < target) {
      const p = paragraph(serial++);
      parts.push(p);
      size += p.length + 2;
    }
    const path = join(dir, `part-${files.length}.txt`);
    await writeFile(path, parts.join('\n\n'));
    files.push(path);
  }
  return { files, serial };
}

async function reference(files: string[]): Promise<{ mbPerSec: number; rows: number }> {
  const started = performance.now();
  let bytes = 0;
  let rows = 0;
  for (const file of files) {
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      bytes += line.length + 1;
      if (line.length > 0) {
        keccak256(line);
        rows++;
      }
    }
  }
  return { mbPerSec: round(bytes / 1048576 / ((performance.now() - started) / 1000)), rows };
}

const standard = parseValidationStandard({
  kind: 'text',
  granularity: 'paragraph',
  minLength: 20,
  maxLength: 20_000,
});
interface IngestRun {
  rows: number;
  seconds: number;
  /** The kernel's maxRSS: anonymous memory plus touched pages of mapped files. */
  peakRssMb: number;
  /** Peak RssAnon (/proc/self/status) sampled every 50 ms: memory the process itself holds. */
  peakAnonMb: number | null;
  /** The largest heap left after a full GC between contributions: what stays reachable. */
  retainedHeapMb: number;
}

const MB = 1024 * 1024;

/** RssAnon of this process in bytes, or undefined off Linux. */
async function anonymousRss(): Promise<number | undefined> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const kb = /^RssAnon:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Ingests every file of `dir` (one contribution each) into fresh stores under `dir`. */
async function ingestCorpus(dir: string): Promise<IngestRun> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the ingest child needs --expose-gc');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort(byPart);
  const blobs = await FsContentStore.open(join(dir, 'blobs'));
  const records = await RecordDb.open(join(dir, 'records'));
  const exact = await LevelExactIndex.open(join(dir, 'exact'));
  const lsh = await LevelLshIndex.open(join(dir, 'lsh'));
  const stage = new DedupStage({ exact, lsh });
  const ingestor = new ContributionIngestor({ blobs, records, dedup: () => Promise.resolve(stage) });
  let peakAnon: number | undefined;
  const sampler = setInterval(() => {
    void anonymousRss().then((bytes) => {
      if (bytes !== undefined) peakAnon = Math.max(peakAnon ?? 0, bytes);
    });
  }, 50);
  let retainedHeap = 0;
  const started = performance.now();
  let rows = 0;
  for (const [i, name] of files.entries()) {
    const contributor = `0x${(i + 1).toString(16).padStart(40, '0')}` as const;
    const { record } = await ingestor.ingest({
      datanetId: '1',
      contributor,
      files: [{ path: join(dir, name), name }],
      standard,
    });
    rows += record.rowCount;
    gc();
    retainedHeap = Math.max(retainedHeap, process.memoryUsage().heapUsed);
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  await records.close();
  await exact.close();
  await lsh.close();
  return {
    rows,
    seconds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    peakAnonMb: peakAnon === undefined ? null : Math.round(peakAnon / MB),
    retainedHeapMb: Math.round(retainedHeap / MB),
  };
}

function byPart(a: string, b: string): number {
  return Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]);
}

if (values.ingest) {
  console.log(JSON.stringify(await ingestCorpus(values.ingest)));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
const runs = [];
let serial = 0;
for (const mb of sizes) {
  const dir = await mkdtemp(join(tmpdir(), 'openledger-bench-data-'));
  try {
    log(`generating ${mb} MB corpus…`);
    const corpus = await writeCorpus(dir, mb * 1024 * 1024, serial);
    serial = corpus.serial;
    log(`ingesting ${corpus.files.length} files in a child process…`);
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--expose-gc',
      '--import',
      'tsx',
      self,
      '--ingest',
      dir,
    ]);
    const run = JSON.parse(stdout) as IngestRun;
    const ref = await reference(corpus.files);
    const mbPerSec = round(mb / run.seconds);
    runs.push({
      corpusMb: mb,
      files: corpus.files.length,
      rows: run.rows,
      seconds: round(run.seconds),
      mbPerSec,
      rowsPerSec: Math.round(run.rows / run.seconds),
      peakAnonMb: run.peakAnonMb,
      retainedHeapMb: run.retainedHeapMb,
      peakRssMb: run.peakRssMb,
      reference: ref,
      ratio: round(mbPerSec / ref.mbPerSec, 3),
    });
    log(
      `${mb} MB: ${mbPerSec} MB/s, ${Math.round(run.rows / run.seconds)} rows/s, peak anonymous RSS ${run.peakAnonMb} MB, retained heap ${run.retainedHeapMb} MB, maxRSS ${run.peakRssMb} MB`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let nearDup: unknown = null;
if (!values['skip-near-dup']) {
  log('near-duplicate quality…');
  const script = fileURLToPath(new URL('./near-dup-quality.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
    maxBuffer: 1 << 24,
  });
  nearDup = JSON.parse(stdout) as unknown;
}

console.log(
  JSON.stringify(
    {
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      fileMb: Number(values['file-mb']),
      runs,
      // Flat memory: the largest corpus over the smallest, for the process's own memory and for maxRSS.
      memoryGrowth: runs.length > 1 ? growth(runs[0]!, runs.at(-1)!) : null,
      nearDup,
    },
    null,
    2,
  ),
);

function growth(small: IngestRun, large: IngestRun) {
  return {
    peakAnon: small.peakAnonMb && large.peakAnonMb ? round(large.peakAnonMb / small.peakAnonMb, 3) : null,
    retainedHeap: round(large.retainedHeapMb / small.retainedHeapMb, 3),
    peakRss: round(large.peakRssMb / small.peakRssMb, 3),
  };
}

function round(x: number, digits = 2): number {
  return Number(x.toFixed(digits));
}
