import type { Hash } from '../hash.ts';
import type { ContributionScore } from '../quality/score-contribution.ts';
import type { ScrubReport } from '../scrub/scrub-report.ts';

/** A rejected row as the contributor sees it. */
export interface RowIssue {
  code: string;
  message: string;
  file?: string;
  line?: number;
  page?: number;
  record?: number;
}

/** What the contributor is told about an upload: what was removed, rejected and how it scored. */
export interface ContributionReport {
  files: { name: string; kind: string; rows: number }[];
  rowsAccepted: number;
  rowsRejected: number;
  /** Row-level rejections (validation, duplicates), the first `MAX_LISTED_ISSUES` listed. */
  issues: RowIssue[];
  issuesOmitted: number;
  scrub: ScrubReport;
  duplicates: { exact: number; near: number; policy: 'reject' | 'link' };
  quality: ContributionScore;
  languages: Record<string, number>;
}

export type ContributionStatus =
  /** Stored off-chain, not yet on the chain. */
  | 'stored'
  /** DatanetRegistry holds it (`onchainId`); curation decides the rest on-chain. */
  | 'submitted';

/**
 * A contribution as the data plane keeps it. The rows themselves live in the content store: `pack`
 * holds their UTF-8 texts back to back, `index` one 45-byte entry per row (keccak256 of the text,
 * offset, length, quality score), `tree` the Merkle tree whose root is `dataRoot`.
 */
export interface ContributionRecord {
  /** Local id (a UUID), known before the rows are final. */
  id: string;
  datanetId: string;
  contributor: `0x${string}`;
  dataRoot: Hash;
  rowCount: number;
  byteSize: number;
  pack: Hash;
  index: Hash;
  tree: Hash;
  /** The ContributionReport, as a JSON blob in the content store. */
  report: Hash;
  metadataURI: string;
  createdAt: number;
  status: ContributionStatus;
  /** Whether the rows are in the Datanet's dedup indexes (set right after the record is durable). */
  indexed: boolean;
  onchainId?: string;
  txHash?: Hash;
}
