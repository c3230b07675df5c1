import type { ContributionReport } from '../contributions/contribution-record.ts';
import { readRows } from '../contributions/row-pack.ts';
import type { DataPlane } from '../service/data-plane.ts';
import { VersionNotFoundError, VersionStore, type MaterializedVersion } from '../versions/version-store.ts';

/** Approximate tokens per whitespace-separated word (the rule `tokens` follows). */
export const TOKENS_PER_WORD = 1.3;
/** Rows read per batch while computing statistics. */
const BATCH_ROWS = 1_024;

/**
 * A version's statistics, computed from the stored rows of its contributions.
 *
 * - `rows`, `bytes`: rows counted and their UTF-8 bytes.
 * - `tokens`: round(1.3 × words), words = whitespace-separated runs (`/\S+/g`) over all rows.
 * - `quality`: from each row's quality byte in the contribution's row index (score = byte / 255);
 *   `histogram[i]` counts scores in [i/10, (i+1)/10), the last bin closed ([0.9, 1]).
 * - `duplicates`: from the contributions' ingest reports: rows found to duplicate rows already in the
 *   Datanet (exact, near) over the rows that reached the dedup stage (validated rows);
 *   `rate` = (exact + near) / checked.
 * - `languages`: validated rows per detected language (ISO 639-3), summed over the reports.
 *
 * `complete` is false when some contributions of the version are not stored here (their rows are not
 * counted).
 */
export interface VersionStats {
  datanetId: string;
  version: number;
  complete: boolean;
  contributions: number;
  contributors: number;
  rows: number;
  bytes: number;
  words: number;
  tokens: number;
  tokenRule: string;
  quality: { mean: number; histogram: number[] };
  duplicates: { exact: number; near: number; checked: number; rate: number };
  languages: Record<string, number>;
}

/** Statistics of a materialised version (cached in the VersionStore per materialisation). */
export async function versionStats(
  plane: DataPlane,
  datanetId: string | bigint,
  version: number | bigint,
  options: { store?: VersionStore } = {},
): Promise<VersionStats> {
  const store = options.store ?? (await VersionStore.forPlane(plane));
  const id = datanetId.toString();
  const v = Number(version);
  const summary = await store.summary(id, v);
  if (!summary) throw new VersionNotFoundError(id, v);
  const cached = await store.cachedStats(summary);
  if (cached) return JSON.parse(Buffer.from(cached).toString('utf8')) as VersionStats;
  const materialized = await store.get(id, v);
  if (!materialized) throw new VersionNotFoundError(id, v);
  const stats = await computeVersionStats(plane, materialized);
  await store.putStats(summary, Buffer.from(JSON.stringify(stats)));
  return stats;
}

/** Reads every stored row of the version once and summarises it (see VersionStats). */
export async function computeVersionStats(
  plane: DataPlane,
  version: MaterializedVersion,
): Promise<VersionStats> {
  let rows = 0;
  let bytes = 0;
  let words = 0;
  let qualitySum = 0;
  const histogram = new Array<number>(10).fill(0);
  const duplicates = { exact: 0, near: 0, checked: 0, rate: 0 };
  const languages: Record<string, number> = {};
  let complete = true;
  for (const entry of version.entries) {
    const record = entry.recordId === null ? undefined : await plane.records.get(entry.recordId);
    if (!record) {
      complete = false;
      continue;
    }
    for (let from = 0; from < record.rowCount; from += BATCH_ROWS) {
      for (const row of await readRows(plane.blobs, record, from, BATCH_ROWS)) {
        rows++;
        bytes += Buffer.byteLength(row.text, 'utf8');
        words += row.text.match(/\S+/g)?.length ?? 0;
        const byte = Math.round(row.quality * 255);
        qualitySum += byte / 255;
        histogram[Math.min(9, Math.floor((byte * 10) / 255))]!++;
      }
    }
    const report = JSON.parse(
      Buffer.from(await plane.blobs.get(record.report)).toString('utf8'),
    ) as ContributionReport;
    duplicates.exact += report.duplicates.exact;
    duplicates.near += report.duplicates.near;
    duplicates.checked += report.scrub.rowsScanned;
    for (const [language, count] of Object.entries(report.languages))
      languages[language] = (languages[language] ?? 0) + count;
  }
  duplicates.rate = duplicates.checked === 0 ? 0 : (duplicates.exact + duplicates.near) / duplicates.checked;
  return {
    datanetId: version.datanetId,
    version: version.version,
    complete,
    contributions: version.entries.length,
    contributors: new Set(version.entries.map((e) => e.contributor.toLowerCase())).size,
    rows,
    bytes,
    words,
    tokens: Math.round(words * TOKENS_PER_WORD),
    tokenRule: `round(${TOKENS_PER_WORD} × whitespace-separated words)`,
    quality: { mean: rows === 0 ? 0 : qualitySum / rows, histogram },
    duplicates,
    languages,
  };
}
