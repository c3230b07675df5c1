import { PRIORITY, type Candidate, type Detector } from '../detector.ts';

/**
 * Four dotted decimal octets, not glued to a word (`v1.2.3.4`, `rfc-6265-4.1.2.7`) and not part
 * of a longer dotted number (`1.2.3.4.5`, `10.0.0.1.2`). The look-arounds make every match maximal.
 */
const IPV4 = /(?<!\w|\w[.-])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\w|\.\d)/g;
/**
 * Hex groups with colons (at least two), maybe ending in a dotted IPv4; validated by `isIPv6`. It
 * may follow a label's colon (`addr:2001:db8::1`) but never starts inside a colon-separated run.
 */
const IPV6_CANDIDATE =
  /(?<![\w.])(?<![0-9A-Fa-f:]:)(?:[0-9A-Fa-f]{1,4}:|::)[0-9A-Fa-f:]*(?:\.\d{1,3}){0,3}(?![\w:])/g;
const IPV6_HINT = /:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function isOctet(s: string): boolean {
  return Number(s) <= 255;
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && isOctet(p));
}

/**
 * A textual IPv6 address: eight groups, or fewer with one `::`, the last two groups maybe written
 * as IPv4. To keep C++/Rust paths and ratios out it must contain a digit, and times (`12:30:45`)
 * and MAC addresses (six groups) fail the group count.
 */
export function isIPv6(s: string): boolean {
  if (!/\d/.test(s)) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groupsOf = (h: string): string[] | null => (h === '' ? [] : h.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return false;
  const all = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i]!;
    if (i === all.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return false;
      count += 2;
    } else if (HEX_GROUP.test(g)) count++;
    else return false;
  }
  if (halves.length === 2) return count <= 7 && count >= 1;
  return count === 8;
}

/**
 * IP addresses: IPv4 (each octet 0-255) and IPv6 (full, `::`-compressed, with an embedded IPv4,
 * e.g. `::ffff:192.0.2.128`). A zone (`%eth0`), a port or a prefix length after the address stays.
 */
export const ipDetector: Detector = {
  kind: 'ip',
  mayMatch: (text) => text.includes('.') || text.includes(':'),
  detect(text: string, out: Candidate[]): void {
    if (text.includes('.')) {
      IPV4.lastIndex = 0;
      for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
        if (isOctet(m[1]!) && isOctet(m[2]!) && isOctet(m[3]!) && isOctet(m[4]!)) {
          out.push({ kind: 'ip', start: m.index, end: m.index + m[0].length, priority: PRIORITY.ip });
        }
      }
    }
    if (text.includes('::') || IPV6_HINT.test(text)) {
      IPV6_CANDIDATE.lastIndex = 0;
      for (let m = IPV6_CANDIDATE.exec(text); m !== null; m = IPV6_CANDIDATE.exec(text)) {
        let value = m[0];
        // "fe80::1: up" — a colon of the sentence, not of the address.
        if (value.endsWith(':') && !value.endsWith('::')) value = value.slice(0, -1);
        if (isIPv6(value)) {
          out.push({ kind: 'ip', start: m.index, end: m.index + value.length, priority: PRIORITY.ip });
        }
      }
    }
  },
};
