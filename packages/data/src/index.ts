/**
 * @openledger/data: the data plane. Contributions are uploaded, parsed into rows, validated against
 * their Datanet's standard, scrubbed of personal data, deduplicated, scored and stored in a content
 * store; their Merkle roots go on the chain through DatanetRegistry. `DataPlane` holds the state,
 * `startDataServer` serves the HTTP API over it.
 */
export { DataPlane, type DataPlaneOptions } from './service/data-plane.ts';
export {
  DatanetStandards,
  StandardError,
  isOwner,
  readDatanet,
  requireDatanet,
  type OnchainDatanet,
} from './service/standards.ts';
export {
  CONTRIBUTION_STATUSES,
  ContributionSubmitter,
  SubmissionError,
  type OnchainContribution,
  type OnchainStatus,
  type SubmissionErrorCode,
  type SubmissionRequest,
  type SubmitterOptions,
} from './service/submission.ts';

export {
  API_VERSION,
  createDataServer,
  registerRoutes,
  startDataServer,
  type DataServerOptions,
  type RunningDataServer,
} from './server/server.ts';
export {
  AUTH_SCHEME,
  MAX_AUTH_LIFETIME_SECONDS,
  accessAuthorization,
  accessMessage,
  authenticate,
  authorizeRows,
  type AccessRight,
  type MessageSigner,
} from './server/auth.ts';
export { HttpError, toHttpError } from './server/errors.ts';
export { openApiDocument, type RouteDocs } from './server/openapi.ts';

export {
  ContributionIngestor,
  DEFAULT_MAX_FILE_BYTES,
  MAX_LISTED_ISSUES,
  type IngestFile,
  type IngestRequest,
  type IngestStores,
} from './contributions/ingest-contribution.ts';
export type {
  ContributionRecord,
  ContributionReport,
  ContributionStatus,
  RowIssue,
} from './contributions/contribution-record.ts';
export { RecordDb } from './contributions/record-db.ts';
export { INDEX_ENTRY_BYTES, readRowHashes, readRows, type StoredRow } from './contributions/row-pack.ts';
export { RowTree, verifyRowProof } from './merkle/row-tree.ts';
export {
  ValidationStandardError,
  canonicalValidationStandard,
  hashValidationStandard,
  parseValidationStandard,
  type ValidationStandard,
} from './ingest/validation-standard.ts';
export type { DuplicatePolicy } from './dedup/dedup-stage.ts';
export { CorruptBlobError, NotFoundError, type ContentStore } from './store/content-store.ts';
export { FsContentStore } from './store/fs-content-store.ts';
export { keccak256, keccakStream, type Hash } from './hash.ts';
export { IngestError, RowError, type FileKind, type Row, type RowSource } from './types.ts';
export { VersionFollower } from './versions/version-follower.ts';
export { VersionStore } from './versions/version-store.ts';
export { verifyPreview } from './preview/verify-preview.ts';
