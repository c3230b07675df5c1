/**
 * Markdown (`.md`): streamed line by line like plain text; block markup is recognised per line and inline
 * markup is stripped, keeping the text a reader sees.
 *
 * - Headings (`# Title`, setext underlines) become their own paragraph without the markers.
 * - Emphasis (`*a*`, `**a**`, `_a_`, `__a__`, `~~a~~`) keeps its text; intraword `_` (snake_case) is left alone.
 * - Links and images keep their text / alt text (`[t](url)`, `[t][ref]`, `![alt](src)`); `<https://…>`
 *   autolinks keep the address; link reference definitions, HTML tags and comments are dropped.
 * - Block quote markers (`>`), list markers (`-`, `*`, `+`, `1.`, `1)`, task boxes) and thematic breaks are
 *   dropped; each list item starts a paragraph.
 * - Tables keep their cells as `a | b | c` (outer pipes and the `---|---` row dropped).
 * - Fenced code blocks (``` or ~~~) are kept verbatim as text (the fence lines dropped); a block is one
 *   paragraph, blank lines included. Inline code keeps its content.
 * - Backslash escapes (`\*`) keep the escaped character.
 */
import type { ParseItem, ResolvedParseOptions, Segment } from '../parse-file.ts';
import { isBlank, readLines } from './text.ts';

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})([^`]*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
const ATX_HEADING = /^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const THEMATIC_OR_SETEXT = /^ {0,3}(?:([-*_])(?:[ \t]*\1){2,}|-+|=+)[ \t]*$/;
const SETEXT_EQUALS = /^ {0,3}=+[ \t]*$/;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:[ \t]*\S/;
const HTML_COMMENT_LINE = /^\s*<!--.*-->\s*$/;
const BLOCKQUOTE = /^ {0,3}>[ ]?/;
const LIST_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)(?:\[[ xX]\][ \t]+)?/;
const TABLE_SEPARATOR = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$/;
const TABLE_ROW = /^[ \t]*\|.*\|[ \t]*$/;

interface Block {
  lines: string[];
  start: number;
  len: number;
  overflow: boolean;
  code: boolean;
}

/** `.md`: a segment per paragraph / heading / list item / code block, or per line with `line` granularity. */
export async function* parseMarkdown(path: string, opts: ResolvedParseOptions): AsyncGenerator<ParseItem> {
  const max = opts.maxSegmentChars;
  const perLine = opts.granularity === 'line';
  let block: Block | undefined;
  let fence: { char: string; len: number } | undefined;
  let lastWasText = false; // line granularity: whether the previous line was paragraph text

  const segment = (text: string, line: number, oversized = 0): Segment => {
    const seg: Segment = { text, source: { file: opts.fileName, line }, kind: 'md' };
    if (oversized) seg.oversized = oversized;
    return seg;
  };
  const flush = (): Segment | undefined => {
    const b = block;
    block = undefined;
    if (!b) return undefined;
    if (b.overflow) return segment('', b.start, b.len);
    const raw = b.lines.join('\n');
    const text = b.code ? raw : stripInline(raw);
    return isBlank(text) ? undefined : segment(text, b.start);
  };
  const add = (text: string, line: number, code: boolean): void => {
    block ??= { lines: [], start: line, len: -1, overflow: false, code };
    block.len += 1 + text.length;
    if (block.overflow) return;
    if (block.len > max) {
      block.overflow = true;
      block.lines = [];
    } else {
      block.lines.push(text);
    }
  };

  for await (const l of readLines(path, opts.fileName, max)) {
    if (l.overflow) {
      const s = flush();
      if (s) yield s;
      yield segment('', l.line, l.overflow);
      continue;
    }
    let text = l.text;

    if (fence) {
      const close = FENCE_CLOSE.exec(text);
      if (close && close[1]![0] === fence.char && close[1]!.length >= fence.len) {
        fence = undefined;
        const s = flush();
        if (s) yield s;
      } else if (perLine) {
        if (!isBlank(text)) yield segment(text, l.line);
      } else {
        add(text, l.line, true);
      }
      continue;
    }

    while (BLOCKQUOTE.test(text)) text = text.replace(BLOCKQUOTE, '');
    const afterText = lastWasText;
    lastWasText = false;

    if (isBlank(text)) {
      const s = flush();
      if (s) yield s;
      continue;
    }
    const open = FENCE_OPEN.exec(text);
    if (open) {
      const s = flush();
      if (s) yield s;
      fence = { char: open[1]![0]!, len: open[1]!.length };
      continue;
    }
    const heading = ATX_HEADING.exec(text);
    if (heading) {
      const s = flush();
      if (s) yield s;
      const title = stripInline(heading[1] ?? '');
      if (!isBlank(title)) yield segment(title, l.line);
      continue;
    }
    if (THEMATIC_OR_SETEXT.test(text) && (block || afterText || !SETEXT_EQUALS.test(text))) {
      // A thematic break, or the underline of a setext heading (which ends the heading's paragraph).
      const s = flush();
      if (s) yield s;
      continue;
    }
    if (LINK_DEFINITION.test(text) || HTML_COMMENT_LINE.test(text) || TABLE_SEPARATOR.test(text)) continue;
    if (TABLE_ROW.test(text)) text = tableCells(text);
    const item = LIST_ITEM.exec(text);
    if (item) {
      const s = flush();
      if (s) yield s;
      text = text.slice(item[0].length);
      if (isBlank(text)) continue;
    }
    if (perLine) {
      const stripped = stripInline(text);
      lastWasText = true;
      if (!isBlank(stripped)) yield segment(stripped, l.line);
    } else {
      add(text, l.line, false);
    }
  }
  const s = flush();
  if (s) yield s;
}

function tableCells(row: string): string {
  const inner = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner
    .split(/(?<!\\)\|/)
    .map((c) => c.trim())
    .join(' | ');
}

const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;

/** Strips inline markdown (see the module comment); code spans keep their content untouched. */
export function stripInline(s: string): string {
  let out = '';
  let pos = 0;
  for (const m of s.matchAll(CODE_SPAN)) {
    out += stripMarkup(s.slice(pos, m.index));
    let code = m[2]!;
    if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ')) code = code.slice(1, -1);
    out += code;
    pos = m.index + m[0].length;
  }
  return out + stripMarkup(s.slice(pos));
}

// Escaped ASCII punctuation is parked in the private use area while the markup is stripped.
const ESCAPE_BASE = 0xf000;
const ESCAPED = /\\([!-/:-@[-`{-~])/g;
const PARKED = /[\uF021-\uF07E]/g;
const HAS_PARKED = /[\uF021-\uF07E]/;

function stripMarkup(s: string): string {
  if (s === '') return s;
  const park = !HAS_PARKED.test(s);
  if (park) s = s.replace(ESCAPED, (_, c: string) => String.fromCharCode(ESCAPE_BASE + c.charCodeAt(0)));
  s = s
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/!\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<((?:https?|ftp):\/\/[^\s<>]+|mailto:[^\s<>]+|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)>/gi, '$1')
    .replace(/<\/?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?\/?>/g, '')
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '$1')
    .replace(/(^|[^\p{L}\p{N}_])__(?=\S)([\s\S]*?\S)__(?![\p{L}\p{N}_])/gu, '$1$2')
    .replace(/\*([^\s*](?:[\s\S]*?[^\s*])?)\*/g, '$1')
    .replace(/(^|[^\p{L}\p{N}_])_(?=[^\s_])([\s\S]*?[^\s_]|[^\s_])_(?![\p{L}\p{N}_])/gu, '$1$2')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1');
  if (park) s = s.replace(PARKED, (c) => String.fromCharCode(c.charCodeAt(0) - ESCAPE_BASE));
  return s;
}
