import type { DataPlane } from '../service/data-plane.ts';
import type { DatanetStandards } from '../service/standards.ts';
import type { ContributionSubmitter } from '../service/submission.ts';

/** Limits the server enforces, resolved from `DataServerOptions`. */
export interface ServerLimits {
  /** Per uploaded file (default 100 MB). */
  maxFileBytes: number;
  /** Files per upload (default 32). */
  maxFiles: number;
  /** Uploads read or ingested at once; more are answered 429 (default 4). */
  maxConcurrentUploads: number;
  /** Rows per `GET /datanets/{id}/rows` (default 1,000). */
  maxRowsPerRequest: number;
  /** Bytes of row text per `GET /datanets/{id}/rows` (default 16 MiB; at least one row is always served). */
  maxRowBytesPerRequest: number;
}

/** What the route modules share. */
export interface ServerContext {
  plane: DataPlane;
  standards: DatanetStandards;
  submitter: ContributionSubmitter;
  limits: ServerLimits;
  /** Where uploads are spooled while they are ingested. */
  uploadDir: string;
  /** Uploads in progress. */
  uploads: { active: number };
}
