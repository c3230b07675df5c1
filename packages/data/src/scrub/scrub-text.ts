import type { ScrubFinding } from '../types.ts';
import { PLACEHOLDERS, type Candidate, type Detector } from './detector.ts';
import { cardDetector } from './detectors/card.ts';
import { emailDetector } from './detectors/email.ts';
import { ibanDetector } from './detectors/iban.ts';
import { ipDetector } from './detectors/ip.ts';
import { phoneDetector } from './detectors/phone.ts';
import { secretDetector } from './detectors/secret.ts';

/** Every detector, run over the whole text in one pass each; their candidates are resolved together. */
export const DETECTORS: readonly Detector[] = [
  secretDetector,
  emailDetector,
  cardDetector,
  ibanDetector,
  ipDetector,
  phoneDetector,
];

/** What `scrubText` returns: the text with placeholders, and what was replaced (offsets in the input). */
export interface ScrubResult {
  text: string;
  findings: ScrubFinding[];
}

/** Bound on re-scans of the scrubbed text (see `scrubText`); one re-scan is almost always the last. */
const MAX_PASSES = 4;

/** All candidates of all detectors for `text`, unresolved (they may overlap). */
export function detectCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  if (text.length === 0) return out;
  for (const detector of DETECTORS) {
    if (detector.mayMatch(text)) detector.detect(text, out);
  }
  return out;
}

function byRank(a: Candidate, b: Candidate): number {
  return b.end - b.start - (a.end - a.start) || b.priority - a.priority || a.start - b.start;
}

/**
 * Resolves a cluster of overlapping candidates: the longest wins (ties: the most specific rule,
 * then the leftmost), then the next longest that overlaps nothing kept, and so on. A candidate
 * that lost but reaches outside the winners it overlaps is not dropped (that would leak part of
 * it): it is merged with them into one span, which keeps the kind of its best member.
 */
function resolveCluster(cluster: Candidate[], out: Candidate[]): void {
  const ranked = [...cluster].sort(byRank);
  const kept: Candidate[] = [];
  const spill: Candidate[] = [];
  for (const c of ranked) {
    let overlaps = false;
    let inside = false;
    for (const k of kept) {
      if (c.start < k.end && k.start < c.end) {
        overlaps = true;
        if (k.start <= c.start && c.end <= k.end) inside = true;
      }
    }
    if (!overlaps) kept.push(c);
    else if (!inside) spill.push(c);
  }
  if (spill.length === 0) {
    kept.sort((a, b) => a.start - b.start);
    for (const k of kept) out.push(k);
    return;
  }
  const rank = new Map<Candidate, number>(kept.map((k, i) => [k, i]));
  const all = [...kept, ...spill].sort((a, b) => a.start - b.start);
  let current: Candidate | undefined;
  let best = Infinity;
  for (const c of all) {
    const r = rank.get(c) ?? Infinity;
    if (current && c.start < current.end) {
      current.end = Math.max(current.end, c.end);
      if (r < best) {
        best = r;
        current.kind = c.kind;
        current.priority = c.priority;
      }
      continue;
    }
    if (current) out.push(current);
    current = { ...c };
    best = r;
  }
  if (current) out.push(current);
}

/** Non-overlapping spans, sorted by start, from possibly overlapping candidates. */
export function resolveOverlaps(candidates: readonly Candidate[]): Candidate[] {
  if (candidates.length <= 1) return candidates.map((c) => ({ ...c }));
  const sorted = [...candidates].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Candidate[] = [];
  let cluster: Candidate[] = [];
  let clusterEnd = -1;
  for (const c of sorted) {
    if (cluster.length > 0 && c.start >= clusterEnd) {
      if (cluster.length === 1) out.push({ ...cluster[0]! });
      else resolveCluster(cluster, out);
      cluster = [];
    }
    cluster.push(c);
    clusterEnd = cluster.length === 1 ? c.end : Math.max(clusterEnd, c.end);
  }
  if (cluster.length === 1) out.push({ ...cluster[0]! });
  else resolveCluster(cluster, out);
  return out;
}

interface Rendered {
  text: string;
  /** For each span: where its placeholder lies in the output. */
  outStarts: number[];
  outEnds: number[];
}

function render(text: string, spans: readonly Candidate[]): Rendered {
  const parts: string[] = [];
  const outStarts: number[] = [];
  const outEnds: number[] = [];
  let pos = 0;
  let outPos = 0;
  for (const s of spans) {
    const kept = text.slice(pos, s.start);
    parts.push(kept);
    outPos += kept.length;
    const placeholder = PLACEHOLDERS[s.kind];
    parts.push(placeholder);
    outStarts.push(outPos);
    outPos += placeholder.length;
    outEnds.push(outPos);
    pos = s.end;
  }
  parts.push(text.slice(pos));
  return { text: parts.join(''), outStarts, outEnds };
}

/** Maps a span of the rendered text back to the input; a span touching a placeholder takes in what it replaced. */
function mapBack(c: Candidate, spans: readonly Candidate[], rendered: Rendered): Candidate {
  const { outStarts, outEnds } = rendered;
  const toInput = (p: number, isEnd: boolean): number => {
    // Last placeholder starting at or before p (for an end: strictly before p).
    let lo = 0;
    let hi = outStarts.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (isEnd ? outStarts[mid]! < p : outStarts[mid]! <= p) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (k === -1) return p;
    const span = spans[k]!;
    if (p < outEnds[k]! || (isEnd && p === outEnds[k]!)) return isEnd ? span.end : span.start;
    return span.end + (p - outEnds[k]!);
  };
  return { ...c, start: toInput(c.start, false), end: toInput(c.end, true) };
}

/**
 * Finds personal data and secrets in `text` and replaces each with a typed placeholder (`[EMAIL]`,
 * `[PHONE]`, `[CARD]`, `[IBAN]`, `[IP]`, `[SECRET]`). All detectors scan the input, their candidates
 * are resolved into non-overlapping spans (longest, then most specific, wins) and the text is
 * rebuilt in one pass. Findings carry UTF-16 offsets into `text`.
 *
 * Context can hide a value until its neighbour is gone (a phone number after a card number in one
 * run of digits), so when anything was found the output is scanned again and new findings are
 * mapped back to the input; the result is idempotent: scrubbing it again finds nothing.
 */
export function scrubText(text: string): ScrubResult {
  let spans = resolveOverlaps(detectCandidates(text));
  if (spans.length === 0) return { text, findings: [] };
  let rendered = render(text, spans);
  for (let pass = 1; pass < MAX_PASSES; pass++) {
    const extra = resolveOverlaps(detectCandidates(rendered.text));
    if (extra.length === 0) break;
    const mapped = extra.map((c) => mapBack(c, spans, rendered));
    spans = resolveOverlaps([...spans, ...mapped]);
    rendered = render(text, spans);
  }
  return {
    text: rendered.text,
    findings: spans.map((s) => ({
      kind: s.kind,
      start: s.start,
      end: s.end,
      replacement: PLACEHOLDERS[s.kind],
    })),
  };
}
