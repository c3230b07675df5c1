/**
 * A Datanet's validation standard: how its files become rows and what a valid row is. Its hash
 * (keccak256 of its canonical JSON) is what DatanetRegistry stores on-chain.
 *
 * - `{ kind: 'text', granularity: 'paragraph' | 'line' | 'document', minLength, maxLength, languages?,
 *   allowedKinds? }`: lengths in characters (code points; 0 ≤ minLength ≤ maxLength ≤ 10,000,000);
 *   languages are ISO 639-3 codes franc-min can detect; allowedKinds ⊆ txt, md, pdf, docx (default: all four).
 * - `{ kind: 'structured', schema, allowedKinds? }`: a JSON Schema (draft-07 by default; `$schema` may
 *   select 2019-09 or 2020-12; formats from ajv-formats; unknown keywords are errors) that every record must
 *   satisfy, at most 256 KiB as canonical JSON; allowedKinds ⊆ jsonl, csv (default both). Rows are records.
 *
 * Unknown fields are errors. Parsing puts the standard in canonical form: `languages` and `allowedKinds`
 * sorted and deduplicated (they are sets), so the hash depends on neither key order nor list order.
 * Note: ajv compiles schemas to code; patterns are JavaScript regular expressions and an adversarial
 * one can be slow (ReDoS), so standards are to be reviewed like code before a Datanet adopts them.
 */
import { keccak256, toBytes, type Hex } from 'viem';
import { z } from 'zod';
import { IngestError, type FileKind } from '../types.ts';
import { canonicalJson } from './normalize.ts';
import { SUPPORTED_LANGUAGES, compileSchema } from './validate-row.ts';

export const MAX_ROW_CHARS = 10_000_000;
export const MAX_SCHEMA_BYTES = 256 * 1024;

export const TEXT_FILE_KINDS = ['txt', 'md', 'pdf', 'docx'] as const satisfies readonly FileKind[];
export const STRUCTURED_FILE_KINDS = ['jsonl', 'csv'] as const satisfies readonly FileKind[];

const languageCode = z
  .string()
  .regex(/^[a-z]{3}$/, 'must be an ISO 639-3 code such as "eng"')
  .refine((l) => SUPPORTED_LANGUAGES.has(l), { message: 'is not a language franc-min can detect' });

const TextStandardSchema = z
  .strictObject({
    kind: z.literal('text'),
    granularity: z.enum(['paragraph', 'line', 'document']),
    minLength: z.number().int().min(0),
    maxLength: z.number().int().min(1).max(MAX_ROW_CHARS),
    languages: z.array(languageCode).min(1).optional(),
    allowedKinds: z.array(z.enum(TEXT_FILE_KINDS)).min(1).optional(),
  })
  .refine((s) => s.minLength <= s.maxLength, { message: 'must not exceed maxLength', path: ['minLength'] });

const StructuredStandardSchema = z.strictObject({
  kind: z.literal('structured'),
  schema: z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
    let size: number;
    try {
      size = Buffer.byteLength(canonicalJson(schema));
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `is not JSON: ${(e as Error).message}` });
      return;
    }
    if (size > MAX_SCHEMA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `is ${size} bytes, over the ${MAX_SCHEMA_BYTES}-byte limit` });
      return;
    }
    try {
      compileSchema(schema);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `is not a valid JSON Schema: ${(e as Error).message}` });
    }
  }),
  allowedKinds: z.array(z.enum(STRUCTURED_FILE_KINDS)).min(1).optional(),
});

export const ValidationStandardSchema = z
  .discriminatedUnion('kind', [TextStandardSchema, StructuredStandardSchema])
  .transform((s) => {
    const out = { ...s };
    if (out.kind === 'text' && out.languages) out.languages = [...new Set(out.languages)].sort();
    if (out.allowedKinds) out.allowedKinds = [...new Set(out.allowedKinds)].sort() as typeof out.allowedKinds;
    return out;
  });

export type ValidationStandard = z.output<typeof ValidationStandardSchema>;
export type TextStandard = Extract<ValidationStandard, { kind: 'text' }>;
export type StructuredStandard = Extract<ValidationStandard, { kind: 'structured' }>;

/** A standard that does not parse: `issues` lists each bad field (`path: message`). */
export class ValidationStandardError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super(`invalid validation standard: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ValidationStandardError';
  }
}

/**
 * Parses a standard from JSON text or an already-parsed value, into canonical form (see the module
 * comment). Throws a {@link ValidationStandardError} listing every bad field.
 */
export function parseValidationStandard(json: unknown): ValidationStandard {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (e) {
      throw new ValidationStandardError([{ path: '(root)', message: `not JSON: ${(e as Error).message}` }]);
    }
  }
  const result = ValidationStandardSchema.safeParse(value);
  if (!result.success) {
    throw new ValidationStandardError(
      result.error.issues.map((i) => ({
        path: i.path.length ? i.path.map(String).join('.') : '(root)',
        message: i.message,
      })),
    );
  }
  return result.data;
}

/** The canonical JSON of a standard (parsed first, so equal standards give equal bytes). */
export function canonicalValidationStandard(standard: unknown): string {
  return canonicalJson(parseValidationStandard(standard));
}

/** keccak256 of the standard's canonical JSON (UTF-8): the hash DatanetRegistry stores. */
export function hashValidationStandard(standard: unknown): Hex {
  return keccak256(toBytes(canonicalValidationStandard(standard)));
}

/** The file kinds a standard accepts (its `allowedKinds`, or every kind of its sort). */
export function allowedKindsOf(standard: ValidationStandard): readonly FileKind[] {
  return standard.allowedKinds ?? (standard.kind === 'text' ? TEXT_FILE_KINDS : STRUCTURED_FILE_KINDS);
}

/** Throws `IngestError('kind-not-allowed')` unless the standard accepts files of this kind. */
export function assertKindAllowed(standard: ValidationStandard, kind: FileKind, fileName = 'file'): void {
  const allowed = allowedKindsOf(standard);
  if (!allowed.includes(kind)) {
    throw new IngestError(
      'kind-not-allowed',
      `${fileName}: .${kind} files are not accepted by this Datanet (accepted: ${allowed.join(', ')})`,
    );
  }
}
