import { bytesToHex } from '@ethereumjs/util';

const ERROR_SELECTOR = '0x08c379a0';
const PANIC_SELECTOR = '0x4e487b71';

const PANIC_REASONS: Record<number, string> = {
  0x01: 'assert(false)',
  0x11: 'arithmetic underflow or overflow',
  0x12: 'division or modulo by zero',
  0x21: 'enum overflow',
  0x22: 'invalid encoded storage byte array accessed',
  0x31: 'out-of-bounds array access; popping on an empty array',
  0x32: 'out-of-bounds access of an array or bytesN',
  0x41: 'out of memory',
  0x51: 'uninitialized function',
};

/** The human part of geth's "execution reverted: <reason>" for Error(string) and Panic(uint256) data. */
export function decodeRevertReason(output: Uint8Array): string | undefined {
  const hex = bytesToHex(output);
  if (hex.startsWith(ERROR_SELECTOR) && output.length >= 68) {
    const offset = Number(BigInt(`0x${hex.slice(10, 74)}`));
    const start = 4 + offset;
    if (start + 32 > output.length) return undefined;
    const length = Number(BigInt(bytesToHex(output.subarray(start, start + 32))));
    if (start + 32 + length > output.length) return undefined;
    return new TextDecoder().decode(output.subarray(start + 32, start + 32 + length));
  }
  if (hex.startsWith(PANIC_SELECTOR) && output.length === 36) {
    // A uint256: Number() would round large codes and print a code the contract never used.
    const code = BigInt(bytesToHex(output.subarray(4)));
    const reason = (code <= 0xffn ? PANIC_REASONS[Number(code)] : undefined) ?? 'unknown panic code';
    return `${reason} (0x${code.toString(16).padStart(2, '0')})`;
  }
  return undefined;
}
