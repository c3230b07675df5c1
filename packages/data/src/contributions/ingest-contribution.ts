import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { DedupStage, DuplicatePolicy } from '../dedup/dedup-stage.ts';
import type { Hash } from '../hash.ts';
import { detectFileKind } from '../ingest/detect-kind.ts';
import { parseFile, parseOptionsFor } from '../ingest/parse-file.ts';
import { splitRows } from '../ingest/split-rows.ts';
import { detectLanguage, validateRow } from '../ingest/validate-row.ts';
import { assertKindAllowed, type ValidationStandard } from '../ingest/validation-standard.ts';
import { RowTree } from '../merkle/row-tree.ts';
import { rowFeatures } from '../quality/row-features.ts';
import { scoreContribution } from '../quality/score-contribution.ts';
import { scoreRow } from '../quality/score-row.ts';
import { scrubReport, type ScrubbedRowInput } from '../scrub/scrub-report.ts';
import { scrubRow } from '../scrub/scrub-row.ts';
import type { ContentStore } from '../store/content-store.ts';
import { IngestError, RowError, type Row } from '../types.ts';
import type { ContributionRecord, ContributionReport, RowIssue } from './contribution-record.ts';
import type { RecordDb } from './record-db.ts';
import { readRowHashes, readRows, writeRowPack } from './row-pack.ts';

/** Row issues listed one by one in a report; the counts always cover all of them. */
export const MAX_LISTED_ISSUES = 1_000;
/** Rows between two language detections when the standard has no language rule. */
export const LANGUAGE_SAMPLE_EVERY = 16;
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
      const rows = await readRows(this.stores.blobs, record, 0, record.rowCount);
      const stored = rows.map((r) => ({ index: r.index, text: r.text, source: { file: record.id } }));
      try {
        await stage.commit(await stage.check(stored, record.contributor, record.id));
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
    if (request.files.length === 0)
      throw new IngestError('no-files', 'a contribution needs at least one file');
    const id = randomUUID();
    const issues: RowIssue[] = [];
    let rejected = 0;
    const reject = (error: RowError) => {
      rejected++;
      if (issues.length < MAX_LISTED_ISSUES)
        issues.push({ code: error.code, message: error.message, ...error.source });
    };
    const rows: Row[] = [];
    const scrubbed: ScrubbedRowInput[] = [];
    const languages: Record<string, number> = {};
    const files: ContributionReport['files'] = [];
    for (const file of request.files) {
      const size = (await stat(file.path)).size;
      const limit = request.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
      if (size > limit)
        throw new IngestError('file-too-large', `${file.name} is ${size} bytes; the limit is ${limit}`);
      const kind = await detectFileKind(file.path, file.name);
      assertKindAllowed(request.standard, kind, file.name);
      const before = rows.length;
      const segments = parseFile(file.path, kind, parseOptionsFor(request.standard, file.name));
      for await (const item of splitRows(segments, request.standard)) {
        if (!item.ok) {
          if (!(item.error instanceof RowError)) throw item.error;
          reject(item.error);
          continue;
        }
        let language: string;
        try {
          language = validateRow(item.row, request.standard, item.segment);
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          reject(error);
          continue;
        }
        // Without a language rule, every LANGUAGE_SAMPLE_EVERY-th row is detected, for the statistics.
        if (language === 'und' && rows.length % LANGUAGE_SAMPLE_EVERY === 0)
          language = detectLanguage(item.row.text);
        languages[language] = (languages[language] ?? 0) + 1;
        // Personal data is removed before anything is stored or compared.
        const index = rows.length;
        const { text, reports } = scrubRow({ ...item.row, index }, request.standard.kind === 'structured');
        scrubbed.push(...reports);
        rows.push({ index, text, source: item.row.source });
      }
      files.push({ name: file.name, kind, rows: rows.length - before });
    }
    if (rows.length === 0)
      throw new IngestError('no-valid-rows', `no row passed validation (${rejected} rejected)`);

    const stage = await this.stores.dedup(request.datanetId);
    const dedup = await stage.check(rows, request.contributor, id);
    for (const error of dedup.rejected) reject(error);
    const kept = dedup.keep.map((i) => rows[i]!);

    const nearDupDensity = dedup.counts.near / rows.length;
    const scores = kept.map((row) => scoreRow(rowFeatures(row.text), { nearDupDensity }).score);
    // The dedup stage already hashed every row (keccak256 of its UTF-8 text, its content address).
    const hashes = dedup.keep.map((i) => dedup.results[i]!.hash);
    const tree = RowTree.build(hashes);
    const blobs = this.stores.blobs;
    const packed = await writeRowPack(
      blobs,
      kept.map((row, i) => ({ hash: hashes[i]!, text: row.text, quality: scores[i]! })),
    );
    const scrub = scrubReport(scrubbed);
    const report: ContributionReport = {
      files,
      rowsAccepted: kept.length,
      rowsRejected: rejected,
      issues,
      issuesOmitted: rejected - issues.length,
      scrub: { ...scrub, rowsScanned: rows.length },
      duplicates: { exact: dedup.counts.exact, near: dedup.counts.near, policy: dedup.policy },
      quality: scoreContribution(scores, dedup.results),
      languages,
    };
    const record: ContributionRecord = {
      id,
      datanetId: request.datanetId,
      contributor: request.contributor,
      dataRoot: tree.root,
      rowCount: kept.length,
      byteSize: packed.byteSize,
      pack: packed.pack,
      index: packed.index,
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
    // Index entries name rows by their stored position. When duplicates were dropped, the kept rows
    // are checked again under that numbering: they are unique, so the second check only renumbers.
    const toIndex =
      kept.length === rows.length
        ? dedup
        : await stage.check(
            kept.map((row, index) => ({ ...row, index })),
            request.contributor,
            id,
          );
    await this.stores.records.put(record);
    await stage.commit(toIndex);
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
