import { PRIORITY, isAsciiAlnumCode, type Candidate, type Detector } from '../detector.ts';

const UNICODE_ALNUM = /^[\p{L}\p{N}\p{M}]$/u;
const TLD = /^(?:\p{L}{2,63}|xn--[a-z0-9-]{1,59})$/iu;
const MAX_LOCAL = 64;
const URL_USERINFO_BEFORE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]+:$/;
const MAX_DOMAIN = 253;

/** Look-alikes that end in a file extension (`logo@2x.png`, `icon@3x.webp`) rather than a top-level domain. */
const FILE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'bmp',
  'ico',
  'tif',
  'tiff',
  'avif',
  'heic',
  'js',
  'mjs',
  'cjs',
  'ts',
  'tsx',
  'jsx',
  'css',
  'scss',
  'less',
  'html',
  'htm',
  'json',
  'yaml',
  'yml',
  'toml',
  'xml',
  'txt',
  'csv',
  'pdf',
  'zip',
  'gz',
  'tgz',
  'tar',
  'rb',
  'rs',
  'java',
  'kt',
  'php',
  'cpp',
  'hpp',
  'lock',
  'map',
  'wasm',
  'mp3',
  'mp4',
  'wav',
  'mov',
  'webm',
  'ogg',
  'woff',
  'woff2',
  'ttf',
  'otf',
  'eot',
]);

function isUnicodeAlnum(text: string, i: number): boolean {
  return UNICODE_ALNUM.test(text[i] ?? '');
}

/** Characters of a practical local part: letters, digits and `._%+-`. */
function isLocalChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return isAsciiAlnumCode(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
  return isUnicodeAlnum(text, i);
}

function isDomainChar(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return isAsciiAlnumCode(c) || c === 45 || c === 46;
  return isUnicodeAlnum(text, i);
}

function hasAlnum(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isAsciiAlnumCode(c) || (c >= 128 && isUnicodeAlnum(text, i))) return true;
  }
  return false;
}

function validDomain(domain: string): boolean {
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-')) return false;
  }
  const tld = labels[labels.length - 1]!;
  return TLD.test(tld) && !FILE_EXTENSIONS.has(tld.toLowerCase());
}

/**
 * E-mail addresses: `local@domain.tld` with a local part of letters, digits and `._%+-` (at most
 * 64 characters) and a domain of at least two labels ending in a top-level domain of two or more
 * letters (Unicode letters and punycode included). Works inside `<…>`, `mailto:` and quotes. Each
 * `@` is looked at once and the scan around it is bounded, so the detector is linear.
 */
export const emailDetector: Detector = {
  kind: 'email',
  mayMatch: (text) => text.includes('@'),
  detect(text: string, out: Candidate[]): void {
    for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
      let start = at;
      while (start > 0 && at - start < MAX_LOCAL && isLocalChar(text, start - 1)) start--;
      while (start < at && text.charCodeAt(start) === 46) start++;
      if (start === at || !hasAlnum(text, start, at)) continue;
      // `scheme://user:password@host`: credentials in a URL, the secret detector's business.
      if (
        text.charCodeAt(start - 1) === 58 &&
        URL_USERINFO_BEFORE.test(text.slice(Math.max(0, start - 80), start))
      ) {
        continue;
      }
      let end = at + 1;
      while (end < text.length && end - at <= MAX_DOMAIN && isDomainChar(text, end)) end++;
      // A sentence or a list can end right after the address: "write to a@b.org." / "a@b.org-".
      while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
      if (end - at - 1 < 4 || !validDomain(text.slice(at + 1, end))) continue;
      out.push({ kind: 'email', start, end, priority: PRIORITY.email });
    }
  },
};
