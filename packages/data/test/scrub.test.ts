import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Row, ScrubFinding } from '../src/types.ts';
import {
  PLACEHOLDERS,
  cardScheme,
  ibanChecksumValid,
  isIPv6,
  isValidIban,
  luhnValid,
  maskPreview,
  resolveOverlaps,
  scrubReport,
  scrubRows,
  scrubText,
  shannonEntropy,
  type Candidate,
  type ScrubKind,
} from '../src/scrub/index.ts';

/** What was found in `text`: kind and exact value, in order. */
function found(text: string): Array<[ScrubKind, string]> {
  return scrubText(text).findings.map((f) => [f.kind, text.slice(f.start, f.end)]);
}

/** `text` holds exactly one finding, of `kind`, whose value is `value` (default: the whole text). */
function expectOne(text: string, kind: ScrubKind, value = text): void {
  expect(found(text), text).toEqual([[kind, value]]);
}

function expectNone(text: string, kind?: ScrubKind): void {
  const hits = found(text);
  if (kind)
    expect(
      hits.filter(([k]) => k === kind),
      text,
    ).toEqual([]);
  else expect(hits, text).toEqual([]);
}

/** Findings are sorted, disjoint, inside the input, and the output is the input with placeholders. */
function expectWellFormed(input: string): void {
  const { text, findings } = scrubText(input);
  let pos = 0;
  let rebuilt = '';
  for (const f of findings) {
    expect(f.start).toBeGreaterThanOrEqual(pos);
    expect(f.end).toBeGreaterThan(f.start);
    expect(f.end).toBeLessThanOrEqual(input.length);
    expect(f.replacement).toBe(PLACEHOLDERS[f.kind]);
    rebuilt += input.slice(pos, f.start) + f.replacement;
    pos = f.end;
  }
  expect(text).toBe(rebuilt + input.slice(pos));
}

describe('email', () => {
  it.each([
    ['john.doe@example.com'],
    ['john.doe+newsletter@sub.example.co.uk'],
    ['first_last-99@company-name.com'],
    ['USER.NAME@EXAMPLE.ORG'],
    ['a@b.io'],
    ['jürgen.müller@bücher.de'],
    ['ops%team@mail.example.net'],
  ])('finds %s', (email) => {
    expectOne(email, 'email');
    expectOne(`Contact: ${email} (work)`, 'email', email);
  });

  it.each([
    ['<mary@test.org>', 'mary@test.org'],
    ['"Mary Smith" <mary.smith@test.org>,', 'mary.smith@test.org'],
    ['mailto:bob@x.io?subject=hi', 'bob@x.io'],
    ['[mail me](mailto:ann@corp.io)', 'ann@corp.io'],
    ['{"email":"ann@corp.io"}', 'ann@corp.io'],
    ['write to support@openledger.xyz.', 'support@openledger.xyz'],
    ["it's carl@site.dev's address", 'carl@site.dev'],
  ])('finds the address in %s', (text, email) => {
    expectOne(text, 'email', email);
  });

  it.each([
    ['logo@2x.png'],
    ['icon@3x.webp is the retina asset'],
    ['user@localhost'],
    ['follow @openledger on X'],
    ['name@domain.c'],
    ['john.doe@ is incomplete'],
    ['npm install @scope/pkg@latest'],
    ['pkg@1.2.3'],
    ['a @ b.com'],
    ['x@-bad.com and y@bad-.com'],
    ['foo@bar..com'],
    ['@Component({ selector: "app" })'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'email');
  });

  it('does not take the password of a URL for an e-mail', () => {
    const text = 'postgres://admin:hunter22@db.example.com:5432/app';
    expect(found(text)).toEqual([['secret', 'hunter22']]);
  });
});

describe('phone', () => {
  it.each([
    ['+14155552671'],
    ['+1 (415) 555-2671'],
    ['+44 20 7946 0958'],
    ['+44 (0)20 7946 0958'],
    ['+49 30 1234567'],
    ['+33 6 12 34 56 78'],
    ['+91 98765 43210'],
    ['(415) 555-2671'],
    ['415-555-2671'],
    ['415.555.2671'],
    ['1-800-555-0199'],
    ['020 7946 0958'],
    ['06 12 34 56 78'],
    ['0171/1234567'],
    ['0412 345 678'],
  ])('finds %s', (phone) => {
    expectOne(phone, 'phone');
    expectOne(`call ${phone}, thanks`, 'phone', phone);
  });

  it.each([
    ['Phone: 4155552671', '4155552671'],
    ['tel:+14155552671', '+14155552671'],
    ['Mobile number: 0612345678', '0612345678'],
    ['I am 25 415 555 2671 is my number', '415 555 2671'],
    ['(call 415-555-2671)', '415-555-2671'],
  ])('finds the number in %s', (text, phone) => {
    expectOne(text, 'phone', phone);
  });

  it.each([
    ['2024-01-15'],
    ['on 2024-01-15 10:30 we met'],
    ['15.01.2024 and 01/15/2024'],
    ['12:30:45'],
    ['version 1.2.3 and v10.15.7'],
    ['ISBN 978-3-16-148410-0'],
    ['ISBN 0-306-40615-2'],
    ['$1,234,567.89 and 1 234 567,89 €'],
    ['a population of 12 345 678 901'],
    ['order 123456789012'],
    ['ref 1234-5678-9012'],
    ['abc415-555-2671'],
    ['0x4155552671'],
    ['id 550e8400-e29b-41d4-a716-446655440000'],
    ['pi is 3.14159265358979'],
    ['pages 100 - 200'],
    ['+12345'],
    ['build 2024.01.15.1234'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'phone');
  });

  it('leaves IP addresses to the IP detector and card numbers to the card detector', () => {
    expect(found('host 192.168.100.200 up')).toEqual([['ip', '192.168.100.200']]);
    expect(found('pay 4111 1111 1111 1111 now')).toEqual([['card', '4111 1111 1111 1111']]);
    expect(found('pay 378282246310005 now')).toEqual([['card', '378282246310005']]);
  });
});

describe('card', () => {
  it.each([
    ['4111 1111 1111 1111'],
    ['4111-1111-1111-1111'],
    ['4111111111111111'],
    ['5555 5555 5555 4444'],
    ['2223 0031 2200 3222'],
    ['3782 822463 10005'],
    ['371449635398431'],
    ['6011 1111 1111 1117'],
    ['3530 1113 3330 0000'],
    ['30569309025904'],
    ['4222222222222'],
    ['6200000000000005'],
  ])('finds %s', (card) => {
    expectOne(card, 'card');
    expectOne(`card: ${card}.`, 'card', card);
  });

  it('finds a card next to other numbers', () => {
    expect(found('qty 12 4111 1111 1111 1111 34 units')).toEqual([['card', '4111 1111 1111 1111']]);
  });

  it.each([
    ['4111 1111 1111 1112'],
    ['order 1234 5678 9012 3456'],
    ['1111111111111111'],
    ['x4111111111111111'],
    ['4111111111111111x'],
    ['0.4111111111111111'],
    ['41 11 11 11 11 11 11 11'],
    ['4111 1111-1111 1111'],
    ['tracking 12345678901234'],
    ['4111111111111111111111'],
    ['ISBN 9783161484100'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'card');
  });

  it('knows the IIN ranges and the Luhn check', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(cardScheme('4111111111111111')).toBe('visa');
    expect(cardScheme('2221000000000009')).toBe('mastercard');
    expect(cardScheme('378282246310005')).toBe('amex');
    expect(cardScheme('6011111111111117')).toBe('discover');
    expect(cardScheme('9111111111111111')).toBeNull();
    expect(cardScheme('41111111111111')).toBeNull(); // Visa is 13, 16 or 19 digits
  });
});

describe('iban', () => {
  it.each([
    ['DE89 3704 0044 0532 0130 00'],
    ['DE89370400440532013000'],
    ['GB82 WEST 1234 5698 7654 32'],
    ['GB82WEST12345698765432'],
    ['FR14 2004 1010 0505 0001 3M02 606'],
    ['NL91ABNA0417164300'],
    ['BE68539007547034'],
    ['ES9121000418450200051332'],
    ['IT60X0542811101000000123456'],
    ['CH9300762011623852957'],
    ['NO93 8601 1117 947'],
    ['PL61109010140000071219812874'],
    ['MT84MALT011000012345MTLCAST001S'],
    ['de89370400440532013000'],
  ])('finds %s', (iban) => {
    expectOne(iban, 'iban');
    expectOne(`IBAN: ${iban}, BIC COBADEFFXXX`, 'iban', iban);
  });

  it.each([
    ['DE89 3704 0044 0532 0130 01'],
    ['DE88370400440532013000'],
    ['DE8937040044053201300'],
    ['DE893704004405320130001'],
    ['XX89370400440532013000'],
    ['DE89370400440532013000X'],
    ['XDE89370400440532013000'],
    ['DE89 3704 0044 0532 0130 0'],
    ['GB82 WEST 1234 5698 7654 33'],
    ['model AB12 CDEF 3456'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'iban');
  });

  it('validates checksums and lengths', () => {
    expect(ibanChecksumValid('GB82WEST12345698765432')).toBe(true);
    expect(isValidIban('gb82 west 1234 5698 7654 32')).toBe(true);
    expect(isValidIban('GB82WEST1234569876543')).toBe(false);
  });
});

describe('ip', () => {
  it.each([
    ['192.168.1.1'],
    ['10.0.0.1'],
    ['255.255.255.255'],
    ['0.0.0.0'],
    ['2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
    ['2001:db8::1'],
    ['::1'],
    ['2001:db8::'],
    ['::ffff:192.0.2.128'],
    ['64:ff9b::192.0.2.33'],
  ])('finds %s', (ip) => {
    expectOne(ip, 'ip');
    expectOne(`from ${ip} at noon`, 'ip', ip);
  });

  it.each([
    ['dns 8.8.8.8:53', '8.8.8.8'],
    ['net 172.16.254.1/24', '172.16.254.1'],
    ['link fe80::1%eth0 up', 'fe80::1'],
    ['https://[2001:db8::ff00:42:8329]:443/', '2001:db8::ff00:42:8329'],
    ['addr:2001:db8::1', '2001:db8::1'],
    ['ping 10.1.2.3.', '10.1.2.3'],
    ['iface fe80::1: up', 'fe80::1'],
  ])('finds the address in %s', (text, ip) => {
    expectOne(text, 'ip', ip);
  });

  it.each([
    ['256.1.1.1'],
    ['10.0.0.256'],
    ['1.2.3'],
    ['1.2.3.4.5'],
    ['v1.2.3.4'],
    ['at 12:30'],
    ['12:30:45'],
    ['std::vector<int> and Foo::Bar'],
    ['mac 00:1A:2B:3C:4D:5E'],
    ['build 10.0.19041.1234'],
    ['pi 3.14'],
    ['1:2:3:4:5:6:7:8:9'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'ip');
  });

  it('parses IPv6 forms', () => {
    expect(isIPv6('1:2:3:4:5:6:7:8')).toBe(true);
    expect(isIPv6('1::2::3')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:7:8:9')).toBe(false);
    expect(isIPv6('::ffff:999.0.0.1')).toBe(false);
  });
});

const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const ETH_KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';

describe('secret', () => {
  it.each([
    ['AKIAIOSFODNN7EXAMPLE'],
    ['ASIAY34FZKBOKMUTVV7A'],
    ['ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['gho_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV'],
    ['xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['pk_live_51H8xYzABCdefGHIjkl'],
    ['rk_live_51H8xYzABCdefGHIjkl'],
    ['AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI'],
    ['sk-proj-Ab3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW'],
    ['sk-Ab3dE5fG7hI9jK1lM3nO5pQ7'],
    [JWT],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0In0.'],
    [PEM],
    ['https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'],
    ['Zx9Qm2Lp8Rt4Vw6Yb1Nc3Kd5Hf7Jg0As'],
    ['Kx8vQ2mZr/Tn5Lw9Yb3+Hd7Fc1Gs6Jp0Ae4Ui2Oq'],
  ])('finds %s', (secret) => {
    expectOne(secret, 'secret');
    expectOne(`use ${secret} here`, 'secret', secret);
  });

  it.each([
    ['password=hunter2', 'hunter2'],
    ['DB_PASSWORD: s3cr3t!', 's3cr3t!'],
    ['"api_key": "abcd1234efgh"', 'abcd1234efgh'],
    ["client_secret => 'Xy7 with spaces'", 'Xy7 with spaces'],
    ['Server=db;User Id=app;Pwd=Tr0ub4dor;', 'Tr0ub4dor'],
    ['secret: 9f8e7d6c5b4a', '9f8e7d6c5b4a'],
    ['Authorization: Bearer abc.def-ghi_123', 'abc.def-ghi_123'],
    ['token=Qm9hdCBob3VzZQ99&x=1', 'Qm9hdCBob3VzZQ99'],
    ['sha1 secret=da39a3ee5e6b4b0d3255bfef95601890afd80709', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    [`private key: ${ETH_KEY}`, ETH_KEY],
    [`{"address": "0xabc", "privateKey": "${ETH_KEY}"}`, ETH_KEY],
    [`wallet ${ETH_KEY} is the secret`, ETH_KEY],
    [`PRIVATE_KEY=${ETH_KEY.slice(2)}`, ETH_KEY.slice(2)],
    ['mysql://root:pa55word@127.0.0.1/db', 'pa55word'],
    [
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    ],
  ])('finds the secret in %s', (text, secret) => {
    expect(found(text).filter(([k]) => k === 'secret')).toEqual([['secret', secret]]);
  });

  it.each([
    ['commit da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [`tx ${ETH_KEY} confirmed`],
    ['id 550e8400-e29b-41d4-a716-446655440000'],
    [
      '![pixel](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)',
    ],
    ['https://example.com/api/v1/users/12345/orders/abc123def456ghi789jkl012'],
    ['src/components/UserAccountSettingsPanel2024/index.tsx'],
    ['getUserAccountBalanceForCustomer2024'],
    ['my-blog-post-2024-update-final-version'],
    ['SOME_CONSTANT_NAME_WITH_DIGITS_2024_V2'],
    ['password: ********'],
    ['password=[SECRET]'],
    ['password: <your password>'],
    ['api_key=${API_KEY}'],
    ['token: required'],
    ['the secret: sauce'],
    ['sk-learn-is-a-library-for-ml'],
    [
      '"integrity": "sha512-Xk3J9vYqLZ2oP4aB7cD1eF5gH8iJ0kL6mN9oP2qR5sT8uV1wX4yZ7aB0cD3eF6gH9iJ2kL5mN8oP1qR4sT7uV0wX=="',
    ],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host'],
    [
      '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----',
    ],
    ['AKIA1234'],
    ['price: 12.99 EUR'],
    ['internationalization2024localization'],
  ])('does not flag %s', (text) => {
    expectNone(text, 'secret');
  });

  it('computes Shannon entropy', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBeCloseTo(2);
    expect(shannonEntropy('')).toBe(0);
  });
});

describe('overlaps', () => {
  it('keeps one finding when rules agree on a span', () => {
    expect(found('api_key=AKIAIOSFODNN7EXAMPLE')).toEqual([['secret', 'AKIAIOSFODNN7EXAMPLE']]);
    expect(found('card=4111111111111111')).toEqual([['card', '4111111111111111']]);
    expect(found(`x ${JWT} y`)).toEqual([['secret', JWT]]);
  });

  it('lets the longest span win over the values inside it', () => {
    expect(found('a1b2c3d4e5f6g7h8i9j0k1l2m3n4@example.com')).toEqual([
      ['email', 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4@example.com'],
    ]);
    expect(found('::ffff:192.0.2.128')).toEqual([['ip', '::ffff:192.0.2.128']]);
    const pem = `${PEM.split('\n')[0]} Comment: ops@example.com 10.0.0.1 ${PEM.split('\n').slice(1).join(' ')}`;
    expect(found(pem)).toEqual([['secret', pem]]);
    expect(found('password: "4111 1111 1111 1111 x"')).toEqual([['secret', '4111 1111 1111 1111 x']]);
  });

  it('breaks ties by specificity', () => {
    const c = (kind: ScrubKind, start: number, end: number, priority: number): Candidate => ({
      kind,
      start,
      end,
      priority,
    });
    expect(resolveOverlaps([c('phone', 0, 16, 40), c('card', 0, 16, 70)])).toEqual([c('card', 0, 16, 70)]);
    expect(resolveOverlaps([c('secret', 5, 10, 10), c('email', 0, 20, 60)])).toEqual([c('email', 0, 20, 60)]);
  });

  it('never leaks the part of a losing candidate that sticks out', () => {
    const c = (kind: ScrubKind, start: number, end: number, priority: number): Candidate => ({
      kind,
      start,
      end,
      priority,
    });
    const resolved = resolveOverlaps([c('card', 4, 20, 70), c('secret', 0, 6, 75), c('ip', 30, 37, 50)]);
    expect(resolved).toEqual([c('card', 0, 20, 70), c('ip', 30, 37, 50)]);
    expect(found('key= 4111 1111 1111 1111')).toEqual([['card', '4111 1111 1111 1111']]);
  });

  it('finds what a neighbour hid, in the same result', () => {
    // One run of digits: a phone number, then a card number (too many digits for a phone as a whole).
    const text = 'call 0412 345 678 4111111111111111';
    expect(found(text)).toEqual([
      ['phone', '0412 345 678'],
      ['card', '4111111111111111'],
    ]);
  });
});

const MIXED = [
  'Hi, I am Jane (jane.doe@example.com, +44 20 7946 0958).',
  'Please refund card 4111 1111 1111 1111 to IBAN DE89 3704 0044 0532 0130 00.',
  '😀 server 192.168.0.10 / 2001:db8::1 — key AKIAIOSFODNN7EXAMPLE, password=hunter2!',
  `jwt ${JWT} and ghp_16C7e42F292c6912E7710c838347Ae178B4a`,
  'Dates 2024-01-15, v1.2.3, commit da39a3ee5e6b4b0d3255bfef95601890afd80709, $19.99',
  PEM,
];

describe('offsets', () => {
  it('are UTF-16 offsets into the input, exact to the value', () => {
    const text = MIXED.join('\n');
    const { findings } = scrubText(text);
    expect(findings.map((f) => [f.kind, text.slice(f.start, f.end)])).toEqual([
      ['email', 'jane.doe@example.com'],
      ['phone', '+44 20 7946 0958'],
      ['card', '4111 1111 1111 1111'],
      ['iban', 'DE89 3704 0044 0532 0130 00'],
      ['ip', '192.168.0.10'],
      ['ip', '2001:db8::1'],
      ['secret', 'AKIAIOSFODNN7EXAMPLE'],
      ['secret', 'hunter2!'],
      ['secret', JWT],
      ['secret', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['secret', PEM],
    ]);
    const emoji = '😀 a@b.io';
    expect(scrubText(emoji).findings[0]).toMatchObject({ start: 3, end: 9 });
    expectWellFormed(text);
  });

  it('replaces with typed placeholders', () => {
    expect(scrubText(MIXED[0]!).text).toBe('Hi, I am Jane ([EMAIL], [PHONE]).');
    expect(scrubText(MIXED[1]!).text).toBe('Please refund card [CARD] to IBAN [IBAN].');
    expect(scrubText('no personal data here').text).toBe('no personal data here');
    expect(scrubText('')).toEqual({ text: '', findings: [] });
  });
});

describe('idempotence', () => {
  it('finds nothing new in scrubbed text', () => {
    for (const text of [...MIXED, MIXED.join(' '), 'call 0412 345 678 4111111111111111']) {
      const once = scrubText(text);
      const twice = scrubText(once.text);
      expect(twice.findings, text).toEqual([]);
      expect(twice.text).toBe(once.text);
    }
  });
});

describe('scrubReport', () => {
  const rows: Row[] = [
    { index: 0, text: MIXED[0]!, source: { file: 'a.txt', line: 1 } },
    { index: 1, text: 'nothing to see', source: { file: 'a.txt', line: 2 } },
    { index: 2, text: `${MIXED[1]}\n${MIXED[2]}\n${MIXED[3]}`, source: { file: 'a.txt', line: 3 } },
    { index: 3, text: PEM, source: { file: 'b.pdf', page: 4 } },
    { index: 4, text: '{"email":"x@y.io","pwd":"abc"}', source: { file: 'c.jsonl', record: 7, line: 7 } },
  ];

  it('counts per kind and locates each finding', () => {
    const { rows: scrubbed, report } = scrubRows(rows);
    expect(scrubbed[1]).toBe(rows[1]);
    expect(scrubbed[0]!.text).toBe('Hi, I am Jane ([EMAIL], [PHONE]).');
    expect(report.rowsScanned).toBe(5);
    expect(report.rowsWithFindings).toBe(4);
    expect(report.counts).toEqual({ email: 2, phone: 1, card: 1, iban: 1, ip: 2, secret: 6 });
    expect(report.totalFindings).toBe(13);
    expect(report.omitted).toBe(0);
    expect(report.findings[0]).toEqual({
      row: 0,
      file: 'a.txt',
      line: 1,
      kind: 'email',
      start: 15,
      end: 35,
      preview: 'j***@example.com',
    });
    const inRow2 = report.findings.filter((f) => f.row === 2);
    expect(inRow2.map((f) => [f.kind, f.line])).toEqual([
      ['card', 3],
      ['iban', 3],
      ['ip', 4],
      ['ip', 4],
      ['secret', 4],
      ['secret', 4],
      ['secret', 5],
      ['secret', 5],
    ]);
    expect(report.findings.find((f) => f.row === 3)).toMatchObject({
      file: 'b.pdf',
      page: 4,
      kind: 'secret',
    });
    expect(report.findings.find((f) => f.row === 3)).not.toHaveProperty('line');
    expect(report.findings.filter((f) => f.row === 4)).toMatchObject([
      { record: 7, line: 7, preview: 'x***@y.io' },
      { record: 7, line: 7, preview: '*** (3 chars)' },
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('masks previews and never repeats a removed value', () => {
    const { report } = scrubRows(rows);
    const byRow = new Map(rows.map((r) => [r.index, r.text]));
    for (const f of report.findings) {
      const raw = byRow.get(f.row)!.slice(f.start, f.end);
      expect(f.preview).not.toContain(raw);
      if (f.kind === 'email') continue; // the domain is shown on purpose: j***@example.com
      // Not even a piece of 8 characters, beyond the public prefix of a key shape ("AKIA", "github_pat_", PEM armour).
      const secretPart = raw.replace(/-----(?:BEGIN|END) [A-Z ]+-----/g, '');
      for (let i = 11; i + 8 <= secretPart.length; i++) {
        expect(f.preview).not.toContain(secretPart.slice(i, i + 8));
      }
    }
    const serialised = JSON.stringify(report);
    for (const secret of [
      'hunter2!',
      'AKIAIOSFODNN7EXAMPLE',
      JWT,
      '4111 1111 1111 1111',
      'DE89 3704',
      '2001:db8::1',
    ]) {
      expect(serialised).not.toContain(secret);
    }
    expect(maskPreview('card', '4111 1111 1111 1111')).toBe('**** 1111');
    expect(maskPreview('iban', 'DE89 3704 0044 0532 0130 00')).toBe('DE**…3000');
    expect(maskPreview('phone', '+44 20 7946 0958')).toBe('+** ** **** **58');
    expect(maskPreview('ip', '192.168.0.10')).toBe('192.*.*.*');
    expect(maskPreview('ip', '2001:db8::1')).toBe('2001:…');
    expect(maskPreview('secret', 'AKIAIOSFODNN7EXAMPLE')).toBe('AKIA… (20 chars)');
    expect(maskPreview('secret', PEM)).toBe(`-----BEGIN RSA PRIVATE KEY-----… (${PEM.length} chars)`);
    expect(maskPreview('secret', 'hunter2')).toBe('*** (7 chars)');
  });

  it('lists at most maxEntries findings but counts all', () => {
    const report = scrubReport(
      [
        {
          index: 0,
          text: 'a@b.io c@d.io e@f.io',
          source: { file: 'x' },
          findings: scrubText('a@b.io c@d.io e@f.io').findings,
        },
      ],
      { maxEntries: 2 },
    );
    expect(report.findings).toHaveLength(2);
    expect(report.omitted).toBe(1);
    expect(report.counts.email).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: planted values are always found and never survive
// ---------------------------------------------------------------------------------------------

const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const chars = (alphabet: string, min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });

const emailArb = fc
  .tuple(
    chars('abcdefghijklmnopqrstuvwxyz0123456789', 1, 12),
    fc.option(chars('abcdefghijklmnopqrstuvwxyz0123456789_+-', 1, 8)),
    fc.array(chars('abcdefghijklmnopqrstuvwxyz0123456789', 1, 10), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('com', 'org', 'io', 'de', 'co', 'info', 'dev'),
  )
  .map(([a, b, labels, tld]) => `${a}${b === null ? '' : `.${b}`}@${labels.join('.')}.${tld}`);

function luhnComplete(body: string): string {
  for (let d = 0; d <= 9; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable');
}

/** How card numbers of each length are printed. */
const CARD_GROUPS: Record<number, number[]> = {
  13: [4, 3, 3, 3],
  14: [4, 6, 4],
  15: [4, 6, 5],
  16: [4, 4, 4, 4],
};

const cardArb = fc
  .tuple(
    fc.constantFrom<[string, number]>(
      ['4', 16],
      ['4', 13],
      ['51', 16],
      ['55', 16],
      ['2221', 16],
      ['34', 15],
      ['37', 15],
      ['6011', 16],
      ['65', 16],
      ['3530', 16],
      ['36', 14],
    ),
    fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
    fc.constantFrom('', ' ', '-'),
  )
  .map(([[prefix, length], digits, sep]) => {
    const number = luhnComplete(prefix + digits.join('').slice(0, length - prefix.length - 1));
    if (sep === '') return number;
    const groups = CARD_GROUPS[length]!;
    let pos = 0;
    return groups.map((g) => number.slice(pos, (pos += g))).join(sep);
  });

const IBAN_COUNTRIES: Array<[string, number]> = [
  ['DE', 22],
  ['FR', 27],
  ['GB', 22],
  ['NL', 18],
  ['ES', 24],
  ['IT', 27],
  ['BE', 16],
  ['NO', 15],
  ['PL', 28],
  ['CH', 21],
];

function mod97(numeric: string): number {
  let rem = 0;
  for (const ch of numeric) rem = (rem * 10 + Number(ch)) % 97;
  return rem;
}

const ibanArb = fc
  .tuple(
    fc.constantFrom(...IBAN_COUNTRIES),
    chars('0123456789', 30, 30),
    chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 4, 4),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([[cc, length], digits, letters, withLetters, spaced]) => {
    const bban = (withLetters ? letters : '') + digits.slice(0, length - 4 - (withLetters ? 4 : 0));
    const numeric = (bban + cc + '00').replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
    const check = String(98 - mod97(numeric)).padStart(2, '0');
    const iban = cc + check + bban;
    return spaced ? iban.replace(/(.{4})(?=.)/g, '$1 ') : iban;
  });

const ipArb = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':')),
  fc
    .tuple(
      fc.array(fc.nat(0xffff), { minLength: 1, maxLength: 3 }),
      fc.array(fc.nat(0xffff), { minLength: 1, maxLength: 3 }),
    )
    .map(([a, b]) => `${a.map((x) => x.toString(16)).join(':')}::${b.map((x) => x.toString(16)).join(':')}`)
    .filter((s) => /\d/.test(s)),
);

const b64url = (n: number) => chars(`${alnum}_-`, n, n);
const keyArb = fc.oneof(
  chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', 16, 16).map((s) => `AKIA${s}`),
  fc
    .tuple(fc.constantFrom('ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'), chars(alnum, 36, 36))
    .map(([p, s]) => p + s),
  fc.tuple(fc.constantFrom('sk_live_', 'pk_live_', 'rk_live_'), chars(alnum, 24, 24)).map(([p, s]) => p + s),
  chars(`${alnum}_-`, 35, 35).map((s) => `AIza${s}`),
  fc
    .tuple(fc.constantFrom('xoxb-', 'xoxp-'), chars('0123456789', 12, 12), chars(alnum, 24, 24))
    .map(([p, a, b]) => `${p}${a}-${b}`),
  fc
    .tuple(fc.constantFrom('HS256', 'RS256', 'ES256'), b64url(24), b64url(43))
    .map(
      ([alg, payload, sig]) =>
        `${Buffer.from(JSON.stringify({ alg, typ: 'JWT' })).toString('base64url')}.${payload}.${sig}`,
    ),
);

const planted = fc.oneof(
  emailArb.map((v) => ({ kind: 'email' as const, v })),
  cardArb.map((v) => ({ kind: 'card' as const, v })),
  ibanArb.map((v) => ({ kind: 'iban' as const, v })),
  ipArb.map((v) => ({ kind: 'ip' as const, v })),
  keyArb.map((v) => ({ kind: 'secret' as const, v })),
);

const fillerWord = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('the', 'data', 'set', 'row', 'of', 'and', 'to', 'model', 'weights', 'is', 'a'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '2024-01-15',
      'v1.2.3',
      '12:30',
      '$19.99',
      '#42',
      '3.14',
      '(see',
      'below)',
      '-',
      '—',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      '550e8400-e29b-41d4-a716-446655440000',
    ),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
);

const document = fc.array(
  fc.oneof({ weight: 4, arbitrary: fillerWord.map((w) => ({ kind: null, v: w })) }, planted),
  {
    maxLength: 40,
  },
);

/** More runs for a soak: SCRUB_PROPERTY_RUNS=20000 npx vitest run packages/data/test/scrub.test.ts */
const PROPERTY_RUNS = Number(process.env.SCRUB_PROPERTY_RUNS ?? 400);

describe('property', () => {
  it('finds every planted value, at its offsets, and none survives', () => {
    fc.assert(
      fc.property(document, fc.constantFrom(' ', '\n', ', ', ' | '), (parts, sep) => {
        let text = '';
        const spots: Array<{ start: number; end: number; v: string }> = [];
        for (const p of parts) {
          if (text) text += sep;
          if (p.kind !== null) spots.push({ start: text.length, end: text.length + p.v.length, v: p.v });
          text += p.v;
        }
        const result = scrubText(text);
        for (const spot of spots) {
          const covering = result.findings.find(
            (f: ScrubFinding) => f.start <= spot.start && spot.end <= f.end,
          );
          expect(covering, `${spot.v} in ${JSON.stringify(text)}`).toBeDefined();
          expect(result.text.includes(spot.v), `${spot.v} survived in ${JSON.stringify(result.text)}`).toBe(
            false,
          );
        }
        expectWellFormed(text);
        expect(scrubText(result.text).findings).toEqual([]);
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it('never throws, and its findings are well formed, on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expectWellFormed(text);
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Throughput (reported, not asserted)
// ---------------------------------------------------------------------------------------------

describe('throughput', () => {
  it('scrubs a generated 20 MB mixed corpus', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const words =
      'the of and to in is was for on that with as by at from this it an be are or have not but they which one you were all there would their we been has when who will more no if out so said what up about into than them can only other new some could time these two may then do first any like over even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might great old year off come since against go came right used take three'.split(
        ' ',
      );
    const specials = [
      () => `user${Math.floor(rand() * 1e4)}@example.com`,
      () => `+1 (415) 555-${1000 + Math.floor(rand() * 9000)}`,
      () => '4111 1111 1111 1111',
      () => 'DE89 3704 0044 0532 0130 00',
      () => `10.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`,
      () => 'AKIAIOSFODNN7EXAMPLE',
      () => 'password=hunter2',
      () => '2024-01-15',
      () => 'v1.2.3',
      () => 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      () => '$1,234.56',
      () => 'order #123456789',
      () => 'https://example.com/docs/getting-started/install',
      () => 'Zx9Qm2Lp8Rt4Vw6Yb1Nc3Kd5Hf7Jg0As',
    ];
    const rows: string[] = [];
    let bytes = 0;
    while (bytes < 20 * 1024 * 1024) {
      const n = 10 + Math.floor(rand() * 150);
      const parts: string[] = [];
      for (let i = 0; i < n; i++) parts.push(rand() < 0.03 ? pick(specials)() : pick(words));
      const row = `${parts.join(' ')}.`;
      rows.push(row);
      bytes += Buffer.byteLength(row);
    }
    for (let i = 0; i < 2000; i++) scrubText(rows[i]!); // warm-up
    const t0 = performance.now();
    let findings = 0;
    for (const row of rows) findings += scrubText(row).findings.length;
    const seconds = (performance.now() - t0) / 1000;
    const mb = bytes / (1024 * 1024);
    console.log(
      `scrub throughput: ${rows.length} rows, ${mb.toFixed(1)} MB, ${findings} findings in ${seconds.toFixed(2)} s: ` +
        `${Math.round(rows.length / seconds)} rows/s, ${(mb / seconds).toFixed(1)} MB/s`,
    );
    expect(findings).toBeGreaterThan(0);
  });
});
