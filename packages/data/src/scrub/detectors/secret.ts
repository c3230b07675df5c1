import { Buffer } from 'node:buffer';
import { PRIORITY, type Candidate, type Detector } from '../detector.ts';
import { looksLikeWords, shannonEntropy } from '../entropy.ts';

// ---------------------------------------------------------------------------------------------
// PEM private key blocks
// ---------------------------------------------------------------------------------------------

const PEM_PRIVATE_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/g;
const PEM_PRIVATE_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/g;

/** `-----BEGIN … PRIVATE KEY-----` through its END line; without an END line, to the end of the text. */
function detectPemPrivateKeys(text: string, out: Candidate[]): void {
  PEM_PRIVATE_BEGIN.lastIndex = 0;
  for (let m = PEM_PRIVATE_BEGIN.exec(text); m !== null; m = PEM_PRIVATE_BEGIN.exec(text)) {
    PEM_PRIVATE_END.lastIndex = m.index + m[0].length;
    const endMatch = PEM_PRIVATE_END.exec(text);
    const end = endMatch ? endMatch.index + endMatch[0].length : text.length;
    out.push({ kind: 'secret', start: m.index, end, priority: PRIORITY.pemPrivateKey });
    if (!endMatch) return;
    PEM_PRIVATE_BEGIN.lastIndex = end;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON Web Tokens
// ---------------------------------------------------------------------------------------------

/** A base64url header that starts with `{` ("ey…") and two to four more dot-separated parts. */
const JWT = /(?<![A-Za-z0-9_-])ey[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]*){2,4}/g;

function jwtHeaderHasAlg(part: string): boolean {
  if (part.length > 4096) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/** JWS (three parts, the signature may be empty for `alg: none`) and JWE (five parts) whose header is JSON with `alg`. */
function detectJwts(text: string, out: Candidate[]): void {
  JWT.lastIndex = 0;
  for (let m = JWT.exec(text); m !== null; m = JWT.exec(text)) {
    const parts = m[0].split('.');
    // "… eyJ….eyJ….sig." at the end of a sentence: the last dot is punctuation.
    if (parts.length === 4 || parts.length === 6) parts.pop();
    if (parts.length !== 3 && parts.length !== 5) continue;
    if (parts[1] === '' || !jwtHeaderHasAlg(parts[0]!)) continue;
    const end = m.index + parts.join('.').length;
    out.push({ kind: 'secret', start: m.index, end, priority: PRIORITY.jwt });
  }
}

// ---------------------------------------------------------------------------------------------
// Vendor key shapes
// ---------------------------------------------------------------------------------------------

/** Cheap test for the literal parts of the shapes (`_` covers `gh?_`, `github_pat_` and Stripe's `?k_live_`). */
function mayHaveShape(text: string): boolean {
  return (
    text.includes('_') ||
    text.includes('AKIA') ||
    text.includes('ASIA') ||
    text.includes('AIza') ||
    text.includes('xox') ||
    text.includes('hooks.slack.com')
  );
}

const SHAPES = new RegExp(
  [
    // AWS access key ids (long-term AKIA, temporary ASIA).
    String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`,
    // GitHub personal, OAuth, user-to-server, server-to-server and refresh tokens; fine-grained PATs.
    String.raw`(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{30,251}(?![A-Za-z0-9_])`,
    String.raw`(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,244}(?![A-Za-z0-9_])`,
    // Slack bot, app, user, refresh and legacy tokens; incoming webhooks.
    String.raw`(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])`,
    String.raw`https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/-]{20,200}`,
    // Stripe secret, publishable and restricted keys (live and test).
    String.raw`(?<![A-Za-z0-9_])[spr]k_(?:live|test)_[A-Za-z0-9]{10,247}(?![A-Za-z0-9])`,
    // Google API keys.
    String.raw`(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])`,
  ].join('|'),
  'g',
);

function detectShapes(text: string, out: Candidate[]): void {
  if (!mayHaveShape(text)) return;
  SHAPES.lastIndex = 0;
  for (let m = SHAPES.exec(text); m !== null; m = SHAPES.exec(text)) {
    out.push({ kind: 'secret', start: m.index, end: m.index + m[0].length, priority: PRIORITY.secretShape });
  }
}

/** OpenAI-style keys: `sk-` (with `proj-`, `svcacct-`, … ) and at least 20 characters of a random-looking body. */
const SK_KEY = /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}/g;

function detectSkKeys(text: string, out: Candidate[]): void {
  if (!text.includes('sk-')) return;
  SK_KEY.lastIndex = 0;
  for (let m = SK_KEY.exec(text); m !== null; m = SK_KEY.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    const bodyStart = start + 3;
    if (!/\d/.test(m[0]) || !/[A-Za-z]/.test(m[0].slice(3)) || looksLikeWords(text, bodyStart, end)) continue;
    out.push({ kind: 'secret', start, end, priority: PRIORITY.secretShape });
  }
}

/** `user:password@` right after `://` (sticky). */
const URL_USERINFO = /[^\s/?#@:]{1,256}:([^\s/?#@]{1,256})@/y;
const URL_SCHEME_END = /[A-Za-z][A-Za-z0-9+.-]*$/;

/** The password of `scheme://user:password@host`, found from each `://`. */
function detectUrlCredentials(text: string, out: Candidate[]): void {
  for (let i = text.indexOf('://'); i !== -1; i = text.indexOf('://', i + 3)) {
    URL_USERINFO.lastIndex = i + 3;
    const m = URL_USERINFO.exec(text);
    if (!m || !URL_SCHEME_END.test(text.slice(Math.max(0, i - 20), i))) continue;
    const password = m[1]!;
    if (isNonValue(password)) continue;
    const end = URL_USERINFO.lastIndex - 1;
    out.push({ kind: 'secret', start: end - password.length, end, priority: PRIORITY.secretShape });
  }
}

// ---------------------------------------------------------------------------------------------
// Labelled 64-hex private keys (Ethereum and other secp256k1 / ed25519 keys)
// ---------------------------------------------------------------------------------------------

const HEX64 = /(?<![A-Za-z0-9])(0x)?[0-9a-fA-F]{64}(?![A-Za-z0-9])/g;
/** "private", "secret", "priv", "key(s)", "pk", "seed" as a word or a camelCase / snake_case part. */
const KEY_LABEL_SOURCE = String.raw`(?:(?<![A-Za-z])(?:private|secret|priv|keys?|pk|seed)|(?<![A-Z])(?:Private|Secret|Priv|Keys?|Pk|Seed)|(?<![A-Za-z])(?:PRIVATE|SECRET|PRIV|KEYS?|PK|SEED))(?![a-z])`;
const KEY_LABEL = new RegExp(KEY_LABEL_SOURCE, 'g');
const KEY_LABEL_BEFORE = new RegExp(
  KEY_LABEL_SOURCE + String.raw`["'\x60]?\s*(?:[:=]|=>|:=|\bis\b)?\s*["'\x60]?\s*$`,
);

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineIndex(starts: readonly number[], pos: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * `0x` + 64 hex with a key label (private, secret, key, …) anywhere on the same line, or 64 hex
 * (with or without `0x`) right after such a label. Unlabelled 64-hex values are transaction and
 * block hashes, which are common in data and not secrets.
 */
function detectLabelledHexKeys(text: string, out: Candidate[]): void {
  HEX64.lastIndex = 0;
  let starts: number[] | undefined;
  let labelledLines: Set<number> | undefined;
  for (let m = HEX64.exec(text); m !== null; m = HEX64.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    let labelled = false;
    if (m[1] !== undefined) {
      if (!starts || !labelledLines) {
        starts = lineStarts(text);
        labelledLines = new Set();
        KEY_LABEL.lastIndex = 0;
        for (let l = KEY_LABEL.exec(text); l !== null; l = KEY_LABEL.exec(text)) {
          labelledLines.add(lineIndex(starts, l.index));
        }
      }
      labelled = labelledLines.has(lineIndex(starts, start));
    } else {
      let before = text.slice(Math.max(0, start - 48), start);
      const nl = before.lastIndexOf('\n');
      if (nl !== -1) before = before.slice(nl + 1);
      labelled = KEY_LABEL_BEFORE.test(before);
    }
    if (labelled) out.push({ kind: 'secret', start, end, priority: PRIORITY.labelledSecret });
  }
}

// ---------------------------------------------------------------------------------------------
// `password=…`, `"api_key": "…"`, `secret: …` assignments
// ---------------------------------------------------------------------------------------------

/** The labels, right before an assignment operator (the text before the operator must end with one). */
const ASSIGNMENT_LABEL_BEFORE = new RegExp(
  String.raw`(?:(passw(?:or)?d|passphrase|(?<![A-Za-z])pwd)|(api[_-]?key|apikey|access[_-]?key|private[_-]?key|secret[_-]?key|signing[_-]?key|encryption[_-]?key|client[_-]?secret|app[_-]?secret|(?:auth|access|refresh|bearer|session|api|id)[_-]?token|authorization)|(secret|token|credentials?))["'\x60]?[ \t]{0,3}$`,
  'i',
);
const ASSIGNMENT_OPERATOR = /:=|=>|[:=]/g;
/** How the labels end (lower case): a cheap test before the label expression. */
const LABEL_ENDINGS = new Set(['ord', 'swd', 'pwd', 'ase', 'key', 'ret', 'ken', 'ion', 'ial', 'als']);

/** Whether the text before an operator (after spaces and a quote) could end with a label. */
function mayEndWithLabel(text: string, op: number): boolean {
  let i = op;
  while (i > 0 && (text.charCodeAt(i - 1) === 32 || text.charCodeAt(i - 1) === 9)) i--;
  if (i > 0 && isQuoteCode(text.charCodeAt(i - 1))) i--;
  return i >= 3 && LABEL_ENDINGS.has(text.slice(i - 3, i).toLowerCase());
}
const PLACEHOLDER_AT = /\[(?:EMAIL|PHONE|CARD|IBAN|IP|SECRET)\]/y;
const AUTH_SCHEME = /(?:Bearer|Basic|Token|Digest)[ \t]+/iy;
const NON_VALUE =
  /^(?:null|nil|none|undefined|true|false|yes|no|empty|required|optional|string|str|int|number|bool|boolean|hidden|redacted|removed|masked|secret|password|token|todo|tbd|n\/a|[*xX•·.#?_-]+|<[^>]*>|\[[^\]]*\]|\$\{[^}]*\}?|\{\{[^}]*(?:\}\}?)?|\$\(.*|%[A-Za-z_]+%?|\$[A-Za-z_][A-Za-z0-9_]*|process\.env\.\w+|os\.environ\b.*|your[-_ ].*|env\(.*|(?:0x)?(?:\.{3,}|…)|[\^~>=<v]*\d+\.\d+(?:\.\d+)*(?:[-+][\w.-]+)?)$/i;
const PLAIN_WORD = /^[A-Za-z][a-z]*$/;

function isNonValue(value: string): boolean {
  return NON_VALUE.test(value);
}

/** Ends an unquoted value: whitespace and the punctuation that closes or separates fields. */
function endsValue(c: number): boolean {
  return (
    c <= 32 ||
    c === 44 ||
    c === 59 ||
    c === 38 ||
    c === 34 ||
    c === 39 ||
    c === 96 ||
    c === 60 ||
    c === 62 ||
    c === 41 ||
    c === 93 ||
    c === 125 ||
    c === 124
  );
}

function isQuoteCode(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

/** The value after an assignment operator: the inside of quotes on the same line, or a run up to a field end. */
function readValue(text: string, pos: number): [number, number, boolean] | null {
  const q = text.charCodeAt(pos);
  if (isQuoteCode(q)) {
    const limit = Math.min(text.length, pos + 258);
    for (let i = pos + 1; i < limit; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) break;
      if (c === q) return i > pos + 1 ? [pos + 1, i, true] : null;
    }
    pos++;
  }
  let end = pos;
  const limit = Math.min(text.length, pos + 256);
  while (end < limit && !endsValue(text.charCodeAt(end))) end++;
  // A sentence can end right after the value.
  while (end > pos && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 58)) end--;
  return end > pos ? [pos, end, false] : null;
}

/** Type names that follow `password:` / `privateKey:` in TypeScript signatures. */
const TYPE_NAME =
  /^(?:any|unknown|object|bigint|Uint8Array|Uint8ClampedArray|ArrayBuffer|Buffer|Hex|Bytes|PrivKey|PrivateKey|PublicKey|SecretKey|CryptoKey|KeyObject|KeyLike|Promise|Array|Record|Partial|Readonly)(?:<.*|\[\])?$/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const MEMBER_EXPRESSION = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;

/**
 * An unquoted value that is code rather than a literal: a call (`createKey(`), a member expression
 * (`config.password`), a type (`password: Uint8Array`), or a digit-less identifier inside an open
 * parenthesis or brace on the same line (`login({ password: pwd })`, `fn(secret: string`).
 */
function isCode(text: string, labelStart: number, value: string): boolean {
  if (value.includes('(') || MEMBER_EXPRESSION.test(value) || TYPE_NAME.test(value)) return true;
  if (!IDENTIFIER.test(value) || /\d/.test(value)) return false;
  let depth = 0;
  for (let i = labelStart - 1; i >= 0 && i >= labelStart - 200; i--) {
    const c = text.charCodeAt(i);
    if (c === 10) break;
    if (c === 40 || c === 123) depth++;
    else if (c === 41 || c === 125) depth--;
  }
  return depth > 0;
}

/**
 * Credentials assigned to a label: `password=…`, `DB_PASSWORD: …`, `"api_key": "…"`,
 * `client_secret => '…'`, `Authorization: Bearer …`. Only the value is masked. Placeholders
 * (`[SECRET]`, `***`, `<your key>`, `${VAR}`, `null`, …) and code (`isCode`) are left alone; after
 * the generic labels `secret`, `token` and `credentials` the value must be at least 8 characters
 * and not a plain word.
 */
function detectAssignments(text: string, out: Candidate[]): void {
  let skipUntil = 0;
  ASSIGNMENT_OPERATOR.lastIndex = 0;
  for (let op = ASSIGNMENT_OPERATOR.exec(text); op !== null; op = ASSIGNMENT_OPERATOR.exec(text)) {
    if (op.index < skipUntil) continue;
    let pos = op.index + op[0].length;
    if (text.charCodeAt(pos) === 61) continue; // "==": a comparison
    if (!mayEndWithLabel(text, op.index)) continue;
    const label = ASSIGNMENT_LABEL_BEFORE.exec(text.slice(Math.max(0, op.index - 40), op.index));
    if (!label) continue;
    for (let n = 0; n < 3 && (text.charCodeAt(pos) === 32 || text.charCodeAt(pos) === 9); n++) pos++;
    PLACEHOLDER_AT.lastIndex = pos;
    if (PLACEHOLDER_AT.test(text)) continue;
    // `Authorization: Bearer …`: the scheme is not the secret.
    AUTH_SCHEME.lastIndex = pos;
    if (AUTH_SCHEME.test(text)) pos = AUTH_SCHEME.lastIndex;
    PLACEHOLDER_AT.lastIndex = pos;
    if (PLACEHOLDER_AT.test(text)) continue;
    const span = readValue(text, pos);
    if (!span) continue;
    let start = span[0];
    const end = span[1];
    const quoted = span[2];
    if (quoted) {
      AUTH_SCHEME.lastIndex = start;
      if (AUTH_SCHEME.test(text) && AUTH_SCHEME.lastIndex < end) start = AUTH_SCHEME.lastIndex;
    }
    const value = text.slice(start, end);
    if (isNonValue(value)) continue;
    const labelStart = op.index - (label.input.length - label.index);
    if (!quoted && (isCode(text, labelStart, value) || (op[0] === '=>' && IDENTIFIER.test(value)))) continue;
    if (label[2] !== undefined && value.length < 4) continue;
    // After the generic labels, prose is common ("the secret: it's …"): one word, 8+ characters, not a plain word.
    if (label[3] !== undefined && (value.length < 8 || PLAIN_WORD.test(value) || /\s/.test(value))) continue;
    out.push({ kind: 'secret', start, end, priority: PRIORITY.labelledSecret });
    skipUntil = end;
  }
}

// ---------------------------------------------------------------------------------------------
// Generic high-entropy tokens
// ---------------------------------------------------------------------------------------------

/** Characters of a generic token: base64 and base64url. */
const TOKEN_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  TOKEN_CHAR[c] = /[A-Za-z0-9+/_-]/.test(ch) ? 1 : 0;
}

/**
 * Maximal runs of token characters at least `minLength` long, each with up to two `=` of padding:
 * one table-driven pass over the text (much faster than a regular expression with look-arounds).
 */
export function tokenRuns(text: string, minLength: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  const n = text.length;
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0;
    if (c < 128 && TOKEN_CHAR[c] === 1) {
      if (start === -1) start = i;
      continue;
    }
    if (start !== -1 && i - start >= minLength) {
      let end = i;
      if (text.charCodeAt(end) === 61) end++;
      if (text.charCodeAt(end) === 61) end++;
      runs.push([start, end]);
    }
    start = -1;
  }
  return runs;
}
const HEX_ONLY = /^(?:0x)?[0-9a-fA-F-]+$/;
/** Bitcoin addresses (base58 P2PKH / P2SH, bech32): public, not secrets. */
const BITCOIN_ADDRESS = /^(?:[13][1-9A-HJ-NP-Za-km-z]{25,34}|(?:bc|tb)1[02-9ac-hj-np-z]{11,71})$/;
const HASH_PREFIX = /^sha(?:1|224|256|384|512)-/;
const SSH_PUBLIC_KEY_BEFORE =
  /(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s$/;
const PEM_PUBLIC_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;
/** A path segment: a lower-case slug (`getting-started`, `v1`, `12345`) or words in camel/Pascal case (`UserPanel2`). */
const PATH_SEGMENT = /^(?:[a-z0-9]+(?:[-_.][a-z0-9]+)*|(?:[A-Z]?[a-z]{2,})+\d*)$/;
/** Minimum entropy, in bits per character, of a generic secret token. */
export const MIN_SECRET_ENTROPY = 4.0;
/** Minimum length of a generic secret token. */
export const MIN_SECRET_LENGTH = 24;

/** Spans of certificates, public keys and other PEM blocks that are not private keys: public data. */
function publicPemRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  if (!text.includes('-----BEGIN ')) return ranges;
  PEM_PUBLIC_BEGIN.lastIndex = 0;
  for (let m = PEM_PUBLIC_BEGIN.exec(text); m !== null; m = PEM_PUBLIC_BEGIN.exec(text)) {
    if (m[1]!.includes('PRIVATE')) continue;
    const endMarker = `-----END ${m[1]}-----`;
    const end = text.indexOf(endMarker, m.index + m[0].length);
    if (end === -1) break;
    ranges.push([m.index, end + endMarker.length]);
    PEM_PUBLIC_BEGIN.lastIndex = end + endMarker.length;
  }
  return ranges;
}

function hasLetterAndDigit(text: string, start: number, end: number): boolean {
  let letter = false;
  let digit = false;
  for (let i = start; i < end && !(letter && digit); i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digit = true;
    else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letter = true;
  }
  return letter && digit;
}

function isRandomToken(text: string, start: number, end: number): boolean {
  let core = end;
  while (core > start && text.charCodeAt(core - 1) === 61) core--;
  if (core - start < MIN_SECRET_LENGTH || !hasLetterAndDigit(text, start, core)) return false;
  const token = text.slice(start, core);
  if (HEX_ONLY.test(token) || BITCOIN_ADDRESS.test(token)) return false;
  // Words joined by dashes or underscores, a slug (`9D_code_of_conduct-kept-21bb42`), not base64url.
  const pieces = token.split(/[-_]/);
  if (pieces.length >= 4 && token.length / pieces.length <= 10) return false;
  if (looksLikeWords(text, start, core)) return false;
  return shannonEntropy(text, start, core) >= MIN_SECRET_ENTROPY;
}

/**
 * Runs of `[A-Za-z0-9+/_=-]` of at least 24 characters with letters and digits and a Shannon
 * entropy of at least 4 bits per character. Not secrets: hex strings (hashes, git SHAs, UUIDs,
 * transaction ids), Bitcoin addresses, words and identifiers (`looksLikeWords`), slugs of short
 * words joined by `-`/`_`, URL and file paths (a token with `/` whose segments are mostly words is
 * judged segment by segment), base64 after `base64,` in data URIs (and the wrapped lines that
 * continue it), SSH public keys, SRI hashes (`sha512-…`) and the bodies of certificates and other
 * public PEM blocks.
 */
function detectHighEntropyTokens(
  text: string,
  runs: ReadonlyArray<[number, number]>,
  out: Candidate[],
): void {
  if (runs.length === 0) return;
  const publicRanges = publicPemRanges(text);
  let rangeIndex = 0;
  let dataUriEnd = -2;
  let dataUriPieceLength = 0;
  for (const [start, end] of runs) {
    const token = text.slice(start, end);
    while (rangeIndex < publicRanges.length && publicRanges[rangeIndex]![1] <= start) rangeIndex++;
    const range = publicRanges[rangeIndex];
    if (range && range[0] <= start) continue;
    if (text.startsWith('base64,', start - 7) || (start === dataUriEnd + 1 && dataUriPieceLength >= 60)) {
      dataUriEnd = end;
      dataUriPieceLength = token.length;
      continue;
    }
    if (HASH_PREFIX.test(token) || SSH_PUBLIC_KEY_BEFORE.test(text.slice(Math.max(0, start - 40), start)))
      continue;
    if (!token.includes('/')) {
      if (isRandomToken(text, start, end)) {
        out.push({ kind: 'secret', start, end, priority: PRIORITY.highEntropy });
      }
      continue;
    }
    // With slashes: base64, or a path whose segments may hold a token.
    const segments: Array<[number, number]> = [];
    let wordy = 0;
    let counted = 0;
    for (let s = start; s <= end;) {
      let e = text.indexOf('/', s);
      if (e === -1 || e > end) e = end;
      if (e - s >= 3) {
        counted++;
        if (PATH_SEGMENT.test(text.slice(s, e))) wordy++;
      }
      segments.push([s, e]);
      s = e + 1;
    }
    if (wordy * 2 <= counted) {
      if (isRandomToken(text, start, end)) {
        out.push({ kind: 'secret', start, end, priority: PRIORITY.highEntropy });
      }
      continue;
    }
    for (const [s, e] of segments) {
      if (e - s >= MIN_SECRET_LENGTH && isRandomToken(text, s, e)) {
        out.push({ kind: 'secret', start: s, end: e, priority: PRIORITY.highEntropy });
      }
    }
  }
}

/**
 * Secrets: PEM private keys, JWTs, vendor key shapes (AWS, GitHub, Slack, Stripe, Google, OpenAI),
 * passwords in URLs, labelled 64-hex private keys, credential assignments and generic
 * high-entropy tokens.
 */
export const secretDetector: Detector = {
  kind: 'secret',
  mayMatch: () => true,
  detect(text: string, out: Candidate[]): void {
    if (text.includes('-----BEGIN')) detectPemPrivateKeys(text, out);
    if (text.includes('ey')) detectJwts(text, out);
    detectShapes(text, out);
    detectSkKeys(text, out);
    detectUrlCredentials(text, out);
    const runs = tokenRuns(text, MIN_SECRET_LENGTH);
    if (runs.some(([start, end]) => end - start >= 64)) detectLabelledHexKeys(text, out);
    if (text.includes(':') || text.includes('=')) detectAssignments(text, out);
    detectHighEntropyTokens(text, runs, out);
  },
};
