import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  duplicateError,
  type DedupStage,
  type DedupSummary,
  type DuplicatePolicy,
} from '../dedup/dedup-stage.ts';
import type { Hash } from '../hash.ts';
import { detectFileKind } from '../ingest/detect-kind.ts';
import { parseFile, parseOptionsFor } from '../ingest/parse-file.ts';
import { splitRows } from '../ingest/split-rows.ts';
import { detectLanguage, validateRow } from '../ingest/validate-row.ts';
import { assertKindAllowed, type ValidationStandard } from '../ingest/validation-standard.ts';
import { RowTree } from '../merkle/row-tree.ts';
import { rowFeatures } from '../quality/row-features.ts';
import { scoreContribution } from '../quality/score-contribution.ts';
import { contextFactor, scoreRow } from '../quality/score-row.ts';
import { ScrubReportBuilder } from '../scrub/scrub-report.ts';
import { scrubRow } from '../scrub/scrub-row.ts';
import type { ContentStore } from '../store/content-store.ts';
import { IngestError, RowError, type FileKind, type Row } from '../types.ts';
import type { ContributionRecord, ContributionReport, RowIssue } from './contribution-record.ts';
import type { RecordDb } from './record-db.ts';
import { readRowHashes, readRows, writeRowIndex } from './row-pack.ts';

/** Row issues listed one by one in a report; the counts always cover all of them. */
export const MAX_LISTED_ISSUES = 1_000;
/** Rows between two language detections when the standard has no language rule. */
export const LANGUAGE_SAMPLE_EVERY = 64;
/** Rows checked against the dedup indexes and written to the pack at a time. */
export const CHUNK_ROWS = 2048;
/** Default upload limit per file. */
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

export interface IngestFile {
  /** Where the upload was spooled. */
  path: string;
  /** The name the contributor gave it (its extension decides the parser). */
  name: string;
}

export interface IngestRequest {
  datanetId: string;
  contributor: `0x${string}`;
  files: IngestFile[];
  standard: ValidationStandard;
  policy?: DuplicatePolicy;
  metadataURI?: string;
  maxFileBytes?: number;
}

export interface IngestStores {
  blobs: ContentStore;
  records: RecordDb;
  /** The dedup stage of a Datanet (its indexes cover every committed contribution of that Datanet). */
  dedup(datanetId: string): Promise<DedupStage>;
}

/**
 * Turns uploaded files into a stored contribution: parse → rows → validate → scrub → dedup → score →
 * rows, index and Merkle tree into the content store → one synced record → dedup indexes.
 *
 * Streaming: rows go through the pipeline in chunks of {@link CHUNK_ROWS} and their texts straight into
 * the pack blob, so an upload is never held in memory; what stays per stored row is its hash, length
 * and score (and, for the dedup stage, its signature).
 *
 * Atomic: nothing is visible until the record is written, and the blobs written before it are
 * immutable and unreferenced until then. A crash between the record and the dedup indexes is
 * repaired by `recover()` (the record says `indexed: false`). Contributions to one Datanet are
 * ingested one at a time, so each is deduplicated against every earlier one.
 */
export class ContributionIngestor {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly stores: IngestStores) {}

  ingest(request: IngestRequest): Promise<{ record: ContributionRecord; report: ContributionReport }> {
    const previous = this.queues.get(request.datanetId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.run(request));
    this.queues.set(request.datanetId, run);
    return run;
  }

  /** Puts the rows of records written just before a crash into their Datanet's dedup indexes. */
  async recover(): Promise<number> {
    let repaired = 0;
    for (const record of await this.stores.records.all()) {
      if (record.indexed) continue;
      const stage = await this.stores.dedup(record.datanetId);
      const session = stage.begin(record.contributor, record.id);
      for (let from = 0; from < record.rowCount; from += CHUNK_ROWS) {
        const rows = await readRows(this.stores.blobs, record, from, CHUNK_ROWS);
        await session.add(rows.map((r) => ({ index: r.index, text: r.text, source: { file: record.id } })));
      }
      try {
        await stage.commit(session.finish());
      } catch (error) {
        // Rows that meanwhile all became duplicates of later contributions need no index entries.
        if (!(error instanceof RowError)) throw error;
      }
      await this.stores.records.put({ ...record, indexed: true });
      repaired++;
    }
    return repaired;
  }

  private async run(
    request: IngestRequest,
  ): Promise<{ record: ContributionRecord; report: ContributionReport }> {
    const { standard } = request;
    const kinds = await checkFiles(request);
    const id = randomUUID();
    const stage = await this.stores.dedup(request.datanetId);
    const session = stage.begin(request.contributor, id);
    const issues: RowIssue[] = [];
    let rejected = 0;
    const reject = (error: RowError) => {
      rejected++;
      if (issues.length < MAX_LISTED_ISSUES)
        issues.push({ code: error.code, message: error.message, ...error.source });
    };
    const scrub = new ScrubReportBuilder();
    const languages: Record<string, number> = {};
    const files: ContributionReport['files'] = [];
    let rowCount = 0;
    // Per stored row: what the index blob and the Merkle tree need.
    const stored = { hashes: [] as Hash[], lengths: [] as number[], qualities: [] as number[] };

    /** Checks a chunk of rows and returns the texts of those to store, back to back. */
    const storeChunk = async (rows: Row[]): Promise<Buffer> => {
      const results = await session.add(rows);
      const texts: Buffer[] = [];
      results.forEach((result, i) => {
        const row = rows[i]!;
        if (result.stored === undefined) return reject(duplicateError(result, row.source));
        const bytes = Buffer.from(row.text, 'utf8');
        texts.push(bytes);
        stored.hashes.push(result.hash);
        stored.lengths.push(bytes.length);
        // Without the contribution-level factor, applied once the near-duplicate density is known.
        stored.qualities.push(scoreRow(rowFeatures(row.text)).score);
      });
      return Buffer.concat(texts);
    };

    let summary: DedupSummary | undefined;
    async function* packChunks(): AsyncGenerator<Buffer> {
      let chunk: Row[] = [];
      // The chunk being checked and stored; the next one is parsed meanwhile, while the index lookups
      // run on LevelDB's threads.
      let inFlight: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
      for (const [f, file] of request.files.entries()) {
        const before = rowCount;
        const segments = parseFile(file.path, kinds[f]!, parseOptionsFor(standard, file.name));
        for await (const item of splitRows(segments, standard)) {
          if (!item.ok) {
            if (!(item.error instanceof RowError)) throw item.error;
            reject(item.error);
            continue;
          }
          let language: string;
          try {
            language = validateRow(item.row, standard, item.segment);
          } catch (error) {
            if (!(error instanceof RowError)) throw error;
            reject(error);
            continue;
          }
          // Without a language rule, every LANGUAGE_SAMPLE_EVERY-th row is detected, for the statistics.
          if (language === 'und' && rowCount % LANGUAGE_SAMPLE_EVERY === 0)
            language = detectLanguage(item.row.text);
          languages[language] = (languages[language] ?? 0) + 1;
          // Personal data is removed before anything is stored or compared.
          const index = rowCount++;
          const { text, reports } = scrubRow({ ...item.row, index }, standard.kind === 'structured');
          for (const r of reports) scrub.add(r);
          chunk.push({ index, text, source: item.row.source });
          if (chunk.length >= CHUNK_ROWS) {
            const texts = await inFlight;
            inFlight = storeChunk(chunk);
            inFlight.catch(() => undefined); // awaited (and thrown) with the next chunk
            chunk = [];
            if (texts.length > 0) yield texts;
          }
        }
        files.push({ name: file.name, kind: kinds[f]!, rows: rowCount - before });
      }
      const texts = await inFlight;
      if (texts.length > 0) yield texts;
      if (chunk.length > 0) yield await storeChunk(chunk);
      if (rowCount === 0)
        throw new IngestError('no-valid-rows', `no row passed validation (${rejected} rejected)`);
      summary = session.finish();
    }

    const blobs = this.stores.blobs;
    // A failure anywhere in the pipeline aborts the pack before it is installed in the store.
    const pack = await blobs.putStream(packChunks());
    const { counts, policy } = summary!;
    const factor = contextFactor({ nearDupDensity: counts.near / rowCount });
    const qualities = stored.qualities.map((q) => q * factor);
    const tree = RowTree.build(stored.hashes);
    const report: ContributionReport = {
      files,
      rowsAccepted: stored.hashes.length,
      rowsRejected: rejected,
      issues,
      issuesOmitted: rejected - issues.length,
      scrub: scrub.report(rowCount),
      duplicates: { exact: counts.exact, near: counts.near, policy },
      quality: scoreContribution(qualities, counts),
      languages,
    };
    const record: ContributionRecord = {
      id,
      datanetId: request.datanetId,
      contributor: request.contributor,
      dataRoot: tree.root,
      rowCount: stored.hashes.length,
      byteSize: pack.size,
      pack: pack.hash,
      index: await writeRowIndex(blobs, { ...stored, qualities }),
      tree: await blobs.put(tree.nodes),
      report: await blobs.put(Buffer.from(JSON.stringify(report))),
      metadataURI: request.metadataURI ?? '',
      createdAt: Date.now(),
      status: 'stored',
      indexed: false,
    };
    const existing = await this.stores.records.byDataRoot(record.datanetId, record.dataRoot);
    if (existing)
      throw new IngestError(
        'duplicate-contribution',
        `the same rows are already contribution ${existing.id}`,
      );
    await this.stores.records.put(record);
    await stage.commit(summary!);
    const indexed = { ...record, indexed: true };
    await this.stores.records.put(indexed);
    return { record: indexed, report };
  }

  /** The Merkle leaves of a stored contribution, re-read and checked against its root. */
  async verifiedRowHashes(record: ContributionRecord): Promise<Hash[]> {
    const hashes = await readRowHashes(this.stores.blobs, record.index);
    if (RowTree.build(hashes).root !== record.dataRoot) {
      throw new IngestError(
        'corrupt-contribution',
        `contribution ${record.id} no longer matches its data root`,
      );
    }
    return hashes;
  }
}

/** Every file's size and kind, checked before any work starts; returns the kinds. */
async function checkFiles(request: IngestRequest): Promise<FileKind[]> {
  if (request.files.length === 0) throw new IngestError('no-files', 'a contribution needs at least one file');
  const limit = request.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const kinds: FileKind[] = [];
  for (const file of request.files) {
    const size = (await stat(file.path)).size;
    if (size > limit)
      throw new IngestError('file-too-large', `${file.name} is ${size} bytes; the limit is ${limit}`);
    const kind = await detectFileKind(file.path, file.name);
    assertKindAllowed(request.standard, kind, file.name);
    kinds.push(kind);
  }
  return kinds;
}
