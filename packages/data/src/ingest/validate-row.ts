/**
 * Row validation against a Datanet's standard.
 *
 * Text rows: length in characters (code points) within [minLength, maxLength] (`too-short`,
 * `row-too-long`), then language. The language is detected with franc-min on rows of at least
 * {@link LANGUAGE_MIN_CHARS} characters (franc only reads the first 2,048); shorter rows are not checked and
 * come back as 'und'. When the standard lists languages, a row long enough to be checked passes if one of
 * them scores within {@link LANGUAGE_TOLERANCE} of the best guess (this accepts close relatives that franc
 * cannot tell apart reliably: Croatian text often scores 'bos' first and 'hrv' at 0.95); a row whose
 * language cannot be determined ('und': digits, symbols) fails, since it cannot be shown to be in a
 * required language. Without required languages every row passes and the best guess is returned.
 *
 * Structured rows: the row's canonical JSON is parsed and checked with the standard's JSON Schema by ajv
 * (all errors, each `path message`, in one `RowError('schema')`). CSV fields are strings: rows from CSV are
 * validated with type coercion ("42" passes `type: integer`), without changing the stored row.
 * Schemas are compiled once per standard (cached by object and by content).
 */
import { Ajv, type ErrorObject, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { francAll } from 'franc-min';
import { data as francData } from 'franc-min/data.js';
import { expressions as francScripts } from 'franc-min/expressions.js';
import { RowError, type Row } from '../types.ts';
import { canonicalJson, charLength } from './normalize.ts';
import type { Segment } from './parse-file.ts';
import type { StructuredStandard, ValidationStandard } from './validation-standard.ts';

/** Rows shorter than this (in characters) are not language-checked. */
export const LANGUAGE_MIN_CHARS = 40;
/** A required language passes when its franc score (the best guess scores 1) is at least this. */
export const LANGUAGE_TOLERANCE = 0.9;

/** The ISO 639-3 codes franc-min can detect: the only ones a standard may require. */
export const SUPPORTED_LANGUAGES: ReadonlySet<string> = new Set([
  ...Object.values(francData).flatMap((langs) => Object.keys(langs)),
  // Scripts used by a single language (e.g. 'cmn', 'jpn', 'kor', 'ell', 'heb', 'tha') are detected by script.
  ...Object.keys(francScripts).filter((k) => /^[a-z]{3}$/.test(k)),
]);

/** franc-min's best guess for a text ('und' when shorter than {@link LANGUAGE_MIN_CHARS} or undetermined). */
export function detectLanguage(text: string): string {
  const sample = text.length > LANGUAGE_SAMPLE_CHARS ? text.slice(0, LANGUAGE_SAMPLE_CHARS) : text;
  return francAll(sample, { minLength: LANGUAGE_MIN_CHARS })[0]?.[0] ?? 'und';
}

/**
 * Characters of a row that language detection reads: franc's cost grows with the text, and a few
 * hundred characters decide the language as well as a whole page.
 */
export const LANGUAGE_SAMPLE_CHARS = 300;

/**
 * Validates a row (see the module comment): returns the detected language (ISO 639-3, or 'und'; always
 * 'und' for structured rows) or throws a `RowError` (`too-short`, `row-too-long`, `language`, `schema`,
 * `invalid-json`) carrying the row's source. `segment` is the row's segment from splitRows; only its `kind`
 * is used (CSV coercion).
 */
export function validateRow(row: Row, standard: ValidationStandard, segment?: Segment): string {
  if (standard.kind === 'structured') {
    let data: unknown;
    try {
      data = JSON.parse(row.text);
    } catch (e) {
      throw new RowError('invalid-json', `row ${row.index}: ${(e as Error).message}`, row.source);
    }
    const validate = validatorFor(standard, segment?.kind === 'csv');
    if (!validate(data)) throw new RowError('schema', formatAjvErrors(validate.errors), row.source);
    return 'und';
  }
  const n = charLength(row.text);
  if (n < standard.minLength) {
    throw new RowError('too-short', `${n} characters, the minimum is ${standard.minLength}`, row.source);
  }
  if (n > standard.maxLength) {
    throw new RowError('row-too-long', `${n} characters, the maximum is ${standard.maxLength}`, row.source);
  }
  if (n < LANGUAGE_MIN_CHARS) return 'und';
  const required = standard.languages;
  // Detection is the costliest check; without a language rule the caller samples rows for statistics.
  if (!required || required.length === 0) return 'und';
  const sample =
    row.text.length > LANGUAGE_SAMPLE_CHARS ? row.text.slice(0, LANGUAGE_SAMPLE_CHARS) : row.text;
  const scores = francAll(sample, { minLength: LANGUAGE_MIN_CHARS });
  const best = scores[0]?.[0] ?? 'und';
  const expected = `expected ${required.length === 1 ? '' : 'one of '}${required.join(', ')}`;
  if (best === 'und') {
    throw new RowError('language', `could not determine the language (${expected})`, row.source);
  }
  for (const [lang, score] of scores) {
    if (score < LANGUAGE_TOLERANCE) break;
    if (required.includes(lang)) return lang;
  }
  throw new RowError('language', `detected language ${best}, ${expected}`, row.source);
}

/** ajv's errors as one line: `/path message; /other message` (`/` for the record itself). */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'does not match the schema';
  return errors
    .map((e) => {
      let msg = `${e.instancePath || '/'} ${e.message ?? e.keyword}`;
      const params = e.params as Record<string, unknown>;
      if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
        msg += ` (${params.additionalProperty})`;
      } else if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
        msg += ` (${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')})`;
      }
      return msg;
    })
    .join('; ');
}

// ---------------------------------------------------------------------------------------------------------
// Schema compilation

type AjvInstance = InstanceType<typeof Ajv>;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: AjvInstance,
) => AjvInstance;

const AJV_OPTIONS: AjvOptions = {
  allErrors: true,
  // Unknown keywords are errors (a typo in a standard should not silently accept everything).
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  logger: false,
};

const instances = new Map<string, AjvInstance>();

function ajvFor(draft: 'draft-07' | '2019-09' | '2020-12', coerce: boolean): AjvInstance {
  const key = `${draft}:${coerce}`;
  let ajv = instances.get(key);
  if (!ajv) {
    const opts: AjvOptions = { ...AJV_OPTIONS, coerceTypes: coerce };
    ajv = draft === '2020-12' ? new Ajv2020(opts) : draft === '2019-09' ? new Ajv2019(opts) : new Ajv(opts);
    addFormats(ajv);
    instances.set(key, ajv);
  }
  return ajv;
}

function draftOf(schema: Record<string, unknown>): 'draft-07' | '2019-09' | '2020-12' {
  const id = schema.$schema;
  if (id === undefined) return 'draft-07';
  if (typeof id !== 'string') throw new Error('$schema must be a string');
  if (id.includes('2020-12')) return '2020-12';
  if (id.includes('2019-09')) return '2019-09';
  if (id.includes('draft-07')) return 'draft-07';
  throw new Error(`unsupported $schema ${JSON.stringify(id)} (supported: draft-07, 2019-09, 2020-12)`);
}

const MAX_CACHED_SCHEMAS = 64;
const byContent = new Map<string, { fn: ValidateFunction; ajv: AjvInstance; schema: object }>();
const byStandard = new WeakMap<
  StructuredStandard,
  { strict?: ValidateFunction; coerce?: ValidateFunction }
>();

/**
 * Compiles a JSON Schema (throws ajv's error for an invalid one). Cached by content: the same schema is
 * compiled once per process (the {@link MAX_CACHED_SCHEMAS} most recently used are kept; evicted ones are
 * removed from ajv's own cache too). Two different schemas may share an `$id`: the later one replaces the
 * earlier in ajv's registry (a function compiled earlier keeps working).
 */
export function compileSchema(schema: Record<string, unknown>, coerce = false): ValidateFunction {
  const key = `${coerce ? 'c' : 's'}${canonicalJson(schema)}`;
  let hit = byContent.get(key);
  if (hit) {
    byContent.delete(key); // refresh its place in the LRU order
  } else {
    const ajv = ajvFor(draftOf(schema), coerce);
    const copy = structuredClone(schema);
    if (typeof copy.$id === 'string') ajv.removeSchema(copy.$id);
    hit = { fn: ajv.compile(copy), ajv, schema: copy };
    if (byContent.size >= MAX_CACHED_SCHEMAS) {
      const oldest = byContent.keys().next().value!;
      const evicted = byContent.get(oldest)!;
      byContent.delete(oldest);
      evicted.ajv.removeSchema(evicted.schema);
    }
  }
  byContent.set(key, hit);
  return hit.fn;
}

function validatorFor(standard: StructuredStandard, coerce: boolean): ValidateFunction {
  let slot = byStandard.get(standard);
  if (!slot) {
    slot = {};
    byStandard.set(standard, slot);
  }
  const which = coerce ? 'coerce' : 'strict';
  return (slot[which] ??= compileSchema(standard.schema, coerce));
}
