/** Types shared by the ingestion stages (parse → rows → scrub → dedup → score → commit). */

export type FileKind = 'txt' | 'md' | 'jsonl' | 'csv' | 'pdf' | 'docx';

/** Where a row came from inside its uploaded file (1-based line, page or record). */
export interface RowSource {
  file: string;
  line?: number;
  page?: number;
  record?: number;
}

/** One row: the unit that is scrubbed, deduplicated, scored, stored and proven on-chain. */
export interface Row {
  /** Position in the contribution, from 0. */
  index: number;
  /** Normalised text (NFC, whitespace collapsed); for structured data, canonical JSON of the record. */
  text: string;
  source: RowSource;
}

/** How a Datanet's files become rows (part of its validation standard). */
export type RowGranularity = 'paragraph' | 'line' | 'record' | 'document';

/** What a scrubber removed: the kind, where (UTF-16 offsets in the row before scrubbing) and the replacement. */
export interface ScrubFinding {
  kind: 'email' | 'phone' | 'card' | 'iban' | 'ip' | 'secret';
  start: number;
  end: number;
  replacement: string;
}

/** A row-level rejection: the row is not stored, and the contributor is told why. */
export class RowError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly source?: RowSource,
  ) {
    super(message);
    this.name = 'RowError';
  }
}

/** A file-level rejection (empty, wrong type, corrupt, too large, a zip bomb): nothing of the file is stored. */
export class IngestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}
