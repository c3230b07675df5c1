/**
 * GPT-2's reversible byte ↔ character mapping. Byte-level BPE vocabularies spell every token as a string of
 * these characters, one per byte, so that no token contains whitespace or control characters: printable
 * Latin-1 bytes stand for themselves, the other 68 bytes for U+0100 onwards, in byte order (space → 'Ġ',
 * newline → 'Ċ').
 */

const utf8 = new TextEncoder();

function isPrintable(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteToChar(): string[] {
  const chars: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    chars.push(String.fromCharCode(isPrintable(byte) ? byte : next++));
  }
  return chars;
}

/** Byte value → its character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Character code (all are below U+0144) → byte value, or -1 for a character outside the mapping. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((char, byte) => (table[char.charCodeAt(0)] = byte));
  return table;
})();

export function byteOfChar(code: number): number {
  return code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code]! : -1;
}

/** UTF-8 bytes → their byte-level spelling. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * A byte-level spelling → bytes. A character outside the mapping (a vocabulary entry that was never
 * byte-encoded) contributes its own UTF-8 bytes, so nothing is silently lost.
 */
export function byteLevelToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const byte = byteOfChar(char.codePointAt(0)!);
    if (byte >= 0) out.push(byte);
    else out.push(...utf8.encode(char));
  }
  return Uint8Array.from(out);
}
