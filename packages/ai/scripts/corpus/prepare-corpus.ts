/**
 * Prepares the pretraining corpus of our small base model (see docs/models.md, "Pretraining
 * corpus"): reads every source, normalises each document to one line, drops exact duplicates and
 * near-empty documents, and writes
 *
 *   OUT/train.txt      one document per line
 *   OUT/heldout.txt    the held-out documents (default 2%, chosen by a hash of source and id)
 *   OUT/manifest.json  sources, counts, sizes and SHA-256 of both files
 *   OUT/NOTICE.txt     the licence notices that must travel with the corpus
 *
 * The output is the same byte for byte on every run over the same package versions.
 *
 *   node --import tsx packages/ai/scripts/corpus/prepare-corpus.ts --out .openledger/corpus
 *     [--wordnet /usr/share/wordnet] [--sources sotu,wordnet] [--heldout-per-mille 20]
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { normalizeText } from './normalize.ts';
import { sotuSource } from './sources/sotu.ts';
import { DEFAULT_WORDNET_DIR, wordnetSource } from './sources/wordnet.ts';
import { Deduplicator, isHeldOut } from './split.ts';
import type { CorpusSource, SourceDescription } from './types.ts';

/** Shorter documents carry no usable context for a language model. */
const MIN_CHARS = 20;

interface SplitStats {
  documents: number;
  bytes: number;
}

interface SourceStats extends SourceDescription {
  read: number;
  duplicates: number;
  tooShort: number;
  train: SplitStats;
  heldout: SplitStats;
}

/** A line-per-document output file that hashes what it writes. */
class DocumentFile {
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  readonly stats: SplitStats = { documents: 0, bytes: 0 };

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
  }

  async write(text: string): Promise<number> {
    const line = Buffer.from(`${text}\n`, 'utf8');
    this.hash.update(line);
    this.stats.documents++;
    this.stats.bytes += line.length;
    if (!this.stream.write(line)) await once(this.stream, 'drain');
    return line.length;
  }

  async close(): Promise<string> {
    this.stream.end();
    await once(this.stream, 'finish');
    return this.hash.digest('hex');
  }
}

async function prepare(
  sources: readonly CorpusSource[],
  out: string,
  heldoutPerMille: number,
): Promise<void> {
  await mkdir(out, { recursive: true });
  const train = new DocumentFile(join(out, 'train.txt'));
  const heldout = new DocumentFile(join(out, 'heldout.txt'));
  const dedup = new Deduplicator();
  const perSource: SourceStats[] = [];

  for (const source of sources) {
    const stats: SourceStats = {
      ...(await source.describe()),
      read: 0,
      duplicates: 0,
      tooShort: 0,
      train: { documents: 0, bytes: 0 },
      heldout: { documents: 0, bytes: 0 },
    };
    perSource.push(stats);
    for await (const doc of source.documents()) {
      stats.read++;
      const text = normalizeText(doc.text);
      if (text.length < MIN_CHARS) {
        stats.tooShort++;
        continue;
      }
      if (!dedup.admit(text)) {
        stats.duplicates++;
        continue;
      }
      const held = isHeldOut(doc, heldoutPerMille);
      const bytes = await (held ? heldout : train).write(text);
      const split = held ? stats.heldout : stats.train;
      split.documents++;
      split.bytes += bytes;
    }
    console.log(
      `${source.name}: ${stats.read} read, ${stats.train.documents} train (${mb(stats.train.bytes)}), ` +
        `${stats.heldout.documents} held out (${mb(stats.heldout.bytes)}), ${stats.duplicates} duplicates, ` +
        `${stats.tooShort} too short`,
    );
  }

  const manifest = {
    heldoutPerMille,
    minChars: MIN_CHARS,
    files: {
      'train.txt': { ...train.stats, sha256: await train.close() },
      'heldout.txt': { ...heldout.stats, sha256: await heldout.close() },
    },
    sources: perSource.map(({ notice: _notice, ...rest }) => rest),
  };
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const notices = perSource.map((s) => `== ${s.name}: ${s.origin} ==\n\n${s.notice}\n`).join('\n');
  await writeFile(join(out, 'NOTICE.txt'), notices);
  console.log(
    `wrote ${out}: train ${mb(train.stats.bytes)} in ${train.stats.documents} documents, ` +
      `held out ${mb(heldout.stats.bytes)} in ${heldout.stats.documents}`,
  );
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      wordnet: { type: 'string', default: DEFAULT_WORDNET_DIR },
      sources: { type: 'string', default: 'sotu,wordnet' },
      'heldout-per-mille': { type: 'string', default: '20' },
    },
  });
  if (!values.out) throw new Error('prepare-corpus: --out DIR is required (e.g. --out .openledger/corpus)');
  const heldoutPerMille = Number(values['heldout-per-mille']);
  if (!Number.isInteger(heldoutPerMille) || heldoutPerMille < 0 || heldoutPerMille > 1000) {
    throw new Error(
      `prepare-corpus: --heldout-per-mille must be an integer 0..1000, got ${values['heldout-per-mille']}`,
    );
  }
  const available: Record<string, () => CorpusSource> = {
    sotu: sotuSource,
    wordnet: () => wordnetSource(values.wordnet),
  };
  const sources = values.sources.split(',').map((name) => {
    const make = available[name.trim()];
    if (!make)
      throw new Error(
        `prepare-corpus: unknown source '${name}'; known: ${Object.keys(available).join(', ')}`,
      );
    return make();
  });
  return prepare(sources, values.out, heldoutPerMille);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
