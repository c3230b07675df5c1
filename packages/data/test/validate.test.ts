import { keccak256, toBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { RowError, type Row } from '../src/types.ts';
import { MAX_JSON_DEPTH, canonicalJson, charLength, normalize } from '../src/ingest/normalize.ts';
import {
  ValidationStandardError,
  allowedKindsOf,
  canonicalValidationStandard,
  hashValidationStandard,
  parseValidationStandard,
} from '../src/ingest/validation-standard.ts';
import {
  SUPPORTED_LANGUAGES,
  compileSchema,
  detectLanguage,
  validateRow,
} from '../src/ingest/validate-row.ts';

function rowError(f: () => unknown): RowError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RowError);
    return e as RowError;
  }
  throw new Error('expected a RowError');
}

function standardError(input: unknown): ValidationStandardError {
  try {
    parseValidationStandard(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationStandardError);
    return e as ValidationStandardError;
  }
  throw new Error('expected a ValidationStandardError');
}

const row = (text: string, index = 0): Row => ({ index, text, source: { file: 'f.txt', line: index + 1 } });

const ENGLISH =
  'The community collects carefully reviewed examples so that models learn from trustworthy data.';
const GERMAN =
  'Die Gemeinschaft sammelt sorgfältig geprüfte Beispiele, damit Modelle aus verlässlichen Daten lernen.';
const FRENCH =
  'La communauté rassemble des exemples soigneusement vérifiés pour que les modèles apprennent bien.';

describe('normalize', () => {
  it('applies NFC', () => {
    const decomposed = 'Cafe\u0301 n\u0303';
    expect(normalize(decomposed)).toBe('Café ñ');
    expect(normalize(decomposed)).toBe('Caf\u00e9 \u00f1');
  });

  it('collapses whitespace and trims', () => {
    expect(normalize('  a \t b\n\n c\u00a0\u2003d  ')).toBe('a b c d');
    expect(normalize('line one\r\nline two\rthree')).toBe('line one line two three');
  });

  it('keeps single line breaks with document granularity', () => {
    expect(normalize(' first  line \r\n\r\n\n  second\tline\n third ', 'document')).toBe(
      'first line\nsecond line\nthird',
    );
    expect(normalize('a\fb\u2028c', 'document')).toBe('a\nb\nc');
  });

  it('removes control characters but keeps tabs and newlines as whitespace', () => {
    expect(normalize('a\u0000b\u0007c\u001bd\u007fe\u0085f\u009fg')).toBe('abcde fg');
    expect(normalize('\uFEFFstart')).toBe('start');
    expect(normalize('tab\there')).toBe('tab here');
    expect(normalize('x\u000by')).toBe('x y');
    // A lone surrogate becomes U+FFFD; a pair stays.
    expect(normalize('a\uD800b 😀')).toBe('a\uFFFDb 😀');
    expect(normalize('\u0000\u0001 \n ')).toBe('');
  });

  it('counts characters as code points', () => {
    expect(charLength('😀a')).toBe(2);
    expect(charLength('é')).toBe(1);
    expect(charLength('')).toBe(0);
  });
});

describe('canonicalJson', () => {
  it('sorts keys recursively and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,1,{"y":null,"z":true}]},"b":1}',
    );
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });

  it('applies NFC to strings and keys', () => {
    expect(canonicalJson({ 'e\u0301': 'Cafe\u0301', list: ['n\u0303'] })).toBe('{"list":["ñ"],"é":"Café"}');
    expect(() => canonicalJson({ 'e\u0301': 1, é: 2 })).toThrow(/duplicate key/);
  });

  it('handles numbers, escapes, undefined and __proto__ keys like JSON', () => {
    expect(canonicalJson({ n: 1e21, f: 0.1, neg: -0, s: 'quote " \n \u0001', u: undefined })).toBe(
      '{"f":0.1,"n":1e+21,"neg":0,"s":"quote \\" \\n \\u0001"}',
    );
    const parsed = JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('rejects non-JSON values and deep nesting', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(RowError);
    expect(() => canonicalJson({ x: new Date(0) })).toThrow(RowError);
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    expect(rowError(() => canonicalJson(deep)).code).toBe('invalid-json');
  });
});

describe('parseValidationStandard', () => {
  it('parses text and structured standards', () => {
    const text = parseValidationStandard({
      kind: 'text',
      granularity: 'paragraph',
      minLength: 10,
      maxLength: 2000,
      languages: ['fra', 'eng', 'eng'],
      allowedKinds: ['pdf', 'txt'],
    });
    expect(text).toEqual({
      kind: 'text',
      granularity: 'paragraph',
      minLength: 10,
      maxLength: 2000,
      languages: ['eng', 'fra'],
      allowedKinds: ['pdf', 'txt'],
    });
    const structured = parseValidationStandard(
      JSON.stringify({ kind: 'structured', schema: { type: 'object', required: ['q'] } }),
    );
    expect(structured).toEqual({ kind: 'structured', schema: { type: 'object', required: ['q'] } });
    expect(allowedKindsOf(structured)).toEqual(['jsonl', 'csv']);
    expect(allowedKindsOf(text)).toEqual(['pdf', 'txt']);
  });

  it('lists every bad field', () => {
    const e = standardError({
      kind: 'text',
      granularity: 'sentence',
      minLength: -1,
      maxLength: 1.5,
      languages: ['en', 'xyz'],
      allowedKinds: ['csv'],
      extra: true,
    });
    const paths = e.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'granularity',
        'minLength',
        'maxLength',
        'languages.0',
        'languages.1',
        'allowedKinds.0',
        '(root)',
      ]),
    );
    expect(e.message).toMatch(/languages\.1: is not a language franc-min can detect/);
    expect(e.message).toMatch(/extra/);
  });

  it('rejects minLength > maxLength, unknown kinds, bad JSON and bad schemas', () => {
    expect(standardError({ kind: 'text', granularity: 'line', minLength: 10, maxLength: 5 }).message).toMatch(
      /minLength: must not exceed maxLength/,
    );
    expect(standardError({ kind: 'image' }).issues[0]!.path).toBe('kind');
    expect(standardError('{not json').message).toMatch(/not JSON/);
    expect(
      standardError({ kind: 'text', granularity: 'record', minLength: 0, maxLength: 5 }).issues[0]!.path,
    ).toBe('granularity');
    const badSchema = standardError({ kind: 'structured', schema: { type: 'objekt' } });
    expect(badSchema.message).toMatch(/schema: is not a valid JSON Schema/);
    // Unknown keywords (typos) are errors too.
    expect(standardError({ kind: 'structured', schema: { type: 'object', requird: ['a'] } }).message).toMatch(
      /requird/,
    );
    expect(
      standardError({ kind: 'structured', schema: { type: 'object' }, allowedKinds: ['txt'] }).issues[0]!
        .path,
    ).toBe('allowedKinds.0');
  });

  it('knows the languages franc-min detects', () => {
    for (const l of ['eng', 'deu', 'fra', 'spa', 'cmn', 'jpn', 'rus', 'arb', 'hin'])
      expect(SUPPORTED_LANGUAGES.has(l)).toBe(true);
    expect(SUPPORTED_LANGUAGES.has('xyz')).toBe(false);
  });
});

describe('hashValidationStandard', () => {
  const a = {
    kind: 'text',
    granularity: 'paragraph',
    minLength: 20,
    maxLength: 4000,
    languages: ['eng', 'fra'],
    allowedKinds: ['md', 'txt'],
  };
  const b = {
    allowedKinds: ['txt', 'md'],
    languages: ['fra', 'eng'],
    maxLength: 4000,
    minLength: 20,
    granularity: 'paragraph',
    kind: 'text',
  };

  it('ignores key order and set order', () => {
    expect(hashValidationStandard(a)).toBe(hashValidationStandard(b));
    expect(hashValidationStandard(JSON.stringify(b))).toBe(hashValidationStandard(a));
    const s1 = {
      kind: 'structured',
      schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
    };
    const s2 = {
      schema: { required: ['q'], properties: { q: { type: 'string' } }, type: 'object' },
      kind: 'structured',
    };
    expect(hashValidationStandard(s1)).toBe(hashValidationStandard(s2));
  });

  it('is keccak256 of the canonical JSON, and changes with the content', () => {
    const canonical = canonicalValidationStandard(a);
    expect(canonical).toBe(
      '{"allowedKinds":["md","txt"],"granularity":"paragraph","kind":"text","languages":["eng","fra"],"maxLength":4000,"minLength":20}',
    );
    expect(hashValidationStandard(a)).toBe(keccak256(toBytes(canonical)));
    // Pinned: the on-chain hash of a standard must not change between releases.
    expect(hashValidationStandard(a)).toBe(
      '0x2853e87a060bcc9258c04439395a02a8019ac810f4e1b162308ab47de26f295b',
    );
    expect(hashValidationStandard({ ...a, maxLength: 4001 })).not.toBe(hashValidationStandard(a));
    expect(() => hashValidationStandard({ ...a, maxLength: 0 })).toThrow(ValidationStandardError);
  });
});

describe('validateRow: text', () => {
  const standard = parseValidationStandard({
    kind: 'text',
    granularity: 'paragraph',
    minLength: 5,
    maxLength: 120,
  });

  it('checks the length bounds in characters', () => {
    expect(rowError(() => validateRow(row('abcd'), standard)).code).toBe('too-short');
    expect(validateRow(row('abcde'), standard)).toBe('und');
    // 120 emoji are 240 UTF-16 units but 120 characters.
    expect(() => validateRow(row('😀'.repeat(120)), standard)).not.toThrow();
    const e = rowError(() => validateRow(row('x'.repeat(121), 3), standard));
    expect(e.code).toBe('row-too-long');
    expect(e.source).toEqual({ file: 'f.txt', line: 4 });
  });

  it('detects the language of rows of 40+ characters, and only when the standard has a language rule', () => {
    expect(detectLanguage(ENGLISH)).toBe('eng');
    expect(detectLanguage(GERMAN)).toBe('deu');
    expect(detectLanguage(FRENCH)).toBe('fra');
    const any = parseValidationStandard({ ...standard, languages: ['eng', 'deu'] });
    expect(validateRow(row(ENGLISH), any)).toBe('eng');
    expect(validateRow(row(GERMAN), any)).toBe('deu');
    // Without a rule nothing is detected (the ingestor samples rows for statistics).
    expect(validateRow(row(ENGLISH), standard)).toBe('und');
    // Shorter rows are not checked.
    expect(validateRow(row('Bonjour tout le monde'), any)).toBe('und');
  });

  it('enforces required languages', () => {
    const eng = parseValidationStandard({ ...standard, languages: ['eng'] });
    expect(validateRow(row(ENGLISH), eng)).toBe('eng');
    const e = rowError(() => validateRow(row(GERMAN), eng));
    expect(e.code).toBe('language');
    expect(e.message).toBe('detected language deu, expected eng');
    const engFra = parseValidationStandard({ ...standard, languages: ['fra', 'eng'] });
    expect(validateRow(row(FRENCH), engFra)).toBe('fra');
    // Too short to tell: passes.
    expect(validateRow(row('Guten Tag zusammen'), eng)).toBe('und');
    // Long enough but undeterminable: fails only when languages are required.
    const digits = '1234567890 '.repeat(5);
    expect(validateRow(row(digits), standard)).toBe('und');
    expect(rowError(() => validateRow(row(digits), eng)).message).toMatch(/could not determine the language/);
  });

  it('accepts close relatives within the tolerance', () => {
    const croatian = 'Brza smeđa lisica skače preko lijenog psa dok ga poljoprivrednik promatra s trijema.';
    const hrv = parseValidationStandard({ ...standard, languages: ['hrv'] });
    expect(detectLanguage(croatian)).not.toBe('hrv');
    expect(validateRow(row(croatian), hrv)).toBe('hrv');
  });
});

describe('validateRow: structured', () => {
  const standard = parseValidationStandard({
    kind: 'structured',
    schema: {
      type: 'object',
      properties: {
        question: { type: 'string', minLength: 3 },
        answer: { type: 'string' },
        score: { type: 'integer', minimum: 0, maximum: 10 },
        email: { type: 'string', format: 'email' },
        tags: { type: 'array', items: { enum: ['a', 'b'] } },
      },
      required: ['question', 'answer'],
      additionalProperties: false,
    },
  });
  const rec = (o: unknown): Row => ({
    index: 0,
    text: canonicalJson(o),
    source: { file: 'f.jsonl', line: 1, record: 1 },
  });

  it('accepts valid records', () => {
    expect(validateRow(rec({ question: 'why?', answer: 'because', score: 3, tags: ['a'] }), standard)).toBe(
      'und',
    );
  });

  it('reports every schema error with its path', () => {
    const e = rowError(() =>
      validateRow(rec({ question: 'x', score: 11, email: 'nope', tags: ['c'], extra: 1 }), standard),
    );
    expect(e.code).toBe('schema');
    expect(e.source).toEqual({ file: 'f.jsonl', line: 1, record: 1 });
    expect(e.message).toContain("/ must have required property 'answer'");
    expect(e.message).toContain('/ must NOT have additional properties (extra)');
    expect(e.message).toContain('/question must NOT have fewer than 3 characters');
    expect(e.message).toContain('/score must be <= 10');
    expect(e.message).toContain('/email must match format "email"');
    expect(e.message).toContain('/tags/0 must be equal to one of the allowed values ("a", "b")');
  });

  it('coerces CSV strings but not JSON ones', () => {
    const r = rec({ question: 'why?', answer: 'yes', score: '7' });
    expect(rowError(() => validateRow(r, standard)).message).toContain('/score must be integer');
    expect(validateRow(r, standard, { text: '', source: r.source, kind: 'csv' })).toBe('und');
    // The stored row is untouched.
    expect(r.text).toBe('{"answer":"yes","question":"why?","score":"7"}');
  });

  it('compiles each schema once', () => {
    const schema = { type: 'object', properties: { a: { type: 'number' } } };
    expect(compileSchema(schema)).toBe(
      compileSchema({ properties: { a: { type: 'number' } }, type: 'object' }),
    );
    expect(compileSchema(schema, true)).not.toBe(compileSchema(schema));
    // Two schemas sharing an $id do not clash.
    const v1 = compileSchema({ $id: 'https://x/s', type: 'string' });
    const v2 = compileSchema({ $id: 'https://x/s', type: 'number' });
    expect([v1('a'), v1(1), v2('a'), v2(1)]).toEqual([true, false, false, true]);
  });

  it('supports draft 2020-12 schemas', () => {
    const s = parseValidationStandard({
      kind: 'structured',
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { pair: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'string' }] } },
      },
    });
    expect(validateRow(rec({ pair: [1, 'a'] }), s)).toBe('und');
    expect(rowError(() => validateRow(rec({ pair: ['a', 1] }), s)).message).toContain(
      '/pair/0 must be number',
    );
    expect(
      standardError({ kind: 'structured', schema: { $schema: 'http://json-schema.org/draft-04/schema#' } })
        .message,
    ).toMatch(/unsupported \$schema/);
  });
});
