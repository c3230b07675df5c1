import { createHash } from 'node:crypto';
import type { CorpusDocument } from './types.ts';

/**
 * Exact deduplication on the normalised text: the first document wins, later copies are counted.
 * The caller feeds documents in a fixed order, so which copy survives is reproducible.
 */
export class Deduplicator {
  private readonly seen = new Set<string>();
  duplicates = 0;

  /** True the first time this text is seen. */
  admit(text: string): boolean {
    const key = createHash('sha256').update(text).digest('base64');
    if (this.seen.has(key)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(key);
    return true;
  }
}

/**
 * Held-out membership from a hash of the document's source and id, not of its position: adding or
 * removing other documents, or changing the normalisation, never moves a document between splits.
 */
export function isHeldOut(doc: Pick<CorpusDocument, 'source' | 'id'>, perMille: number): boolean {
  const digest = createHash('sha256').update(`${doc.source}\u0000${doc.id}`).digest();
  return digest.readUInt32BE(0) % 1000 < perMille;
}
