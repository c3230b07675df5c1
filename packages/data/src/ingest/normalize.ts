/**
 * Text and record normalisation: what a row's `text` is made of before it is scrubbed, hashed and stored.
 *
 * Text: line breaks unified, control characters removed, lone surrogates replaced, Unicode NFC, runs of
 * whitespace collapsed, trimmed. Records: canonical JSON (object keys sorted recursively by UTF-16 code
 * unit, as in RFC 8785; strings and keys in NFC; numbers as JavaScript prints them).
 */
import { RowError, type RowGranularity } from '../types.ts';

/** Records nested deeper than this are rejected (protects the recursive canonicaliser and validator). */
export const MAX_JSON_DEPTH = 64;

// \r\n and lone \r are line breaks; so are the vertical tab, form feed, NEL and the Unicode line/paragraph
// separators (mapping them to \n keeps the words they separate apart instead of gluing them together).
const LINE_BREAKS = /\r\n?|[\v\f\u0085\u2028\u2029]/g;
// C0 and C1 control characters except \t and \n, DEL, and U+FEFF (byte order mark / zero-width no-break space).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFEFF]/g;
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ALL_WHITESPACE = /\s+/g;
const AROUND_NEWLINES = /\s*\n\s*/g;
const NON_NEWLINE_WHITESPACE = /[^\S\n]+/g;

/**
 * Normalises a piece of text. With `document` granularity, whitespace runs that contain a line break become a
 * single `\n` (so lines stay apart) and other runs one space; with any other granularity every whitespace run,
 * line breaks included, becomes one space.
 */
export function normalize(text: string, granularity: RowGranularity = 'paragraph'): string {
  let s = text.replace(LINE_BREAKS, '\n').replace(CONTROL_CHARS, '').replace(LONE_SURROGATES, '\uFFFD');
  s = s.normalize('NFC');
  if (granularity === 'document') {
    s = s.replace(AROUND_NEWLINES, '\n').replace(NON_NEWLINE_WHITESPACE, ' ');
  } else {
    s = s.replace(ALL_WHITESPACE, ' ');
  }
  return s.trim();
}

/** Length in characters (Unicode code points), the unit of a standard's `minLength` / `maxLength`. */
export function charLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * Canonical JSON of a JSON value: no whitespace, object keys sorted recursively, strings (values and keys)
 * in NFC. Two keys that become equal under NFC, values that are not JSON (functions, symbols, bigints,
 * non-finite numbers, class instances other than plain objects/arrays) or nesting deeper than
 * {@link MAX_JSON_DEPTH} throw a `RowError('invalid-json')`. `undefined` object members are dropped, as
 * JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  return canon(value, 0);
}

function canon(value: unknown, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.normalize('NFC'));
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new RowError('invalid-json', `not a JSON number: ${value}`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new RowError('invalid-json', `not a JSON value: ${typeof value}`);
  }
  if (depth >= MAX_JSON_DEPTH) {
    throw new RowError('invalid-json', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    return '[' + value.map((v) => (v === undefined ? 'null' : canon(v, depth + 1))).join(',') + ']';
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new RowError('invalid-json', 'not a JSON value: a non-plain object');
  }
  const entries = new Map<string, unknown>();
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const key = k.normalize('NFC');
    if (entries.has(key)) {
      throw new RowError('invalid-json', `duplicate key after Unicode normalisation: ${JSON.stringify(key)}`);
    }
    entries.set(key, v);
  }
  const keys = [...entries.keys()].sort();
  // The string is built directly (never an intermediate object), so a "__proto__" key is just a key.
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canon(entries.get(k), depth + 1)).join(',') + '}';
}
