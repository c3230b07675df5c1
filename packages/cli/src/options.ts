import { InvalidArgumentError } from 'commander';
import type { Hex } from 'viem';

/** Commander parsers that reject bad values with a message naming the expected form. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`expected a number of seconds >= 0, got "${value}"`);
  return n;
}

/** An amount of OPEN ("10000") or of wei ("1000000000000000000wei"). */
export function amountOfOpen(value: string): bigint {
  const wei = /^(\d+)wei$/.exec(value);
  if (wei) return BigInt(wei[1]!);
  const open = /^(\d+)(?:\.(\d{1,18}))?$/.exec(value);
  if (!open)
    throw new InvalidArgumentError(`expected an amount of OPEN such as 10000 or 0.5, or wei such as 5wei`);
  return BigInt(open[1]!) * 10n ** 18n + BigInt((open[2] ?? '').padEnd(18, '0'));
}

export function gasAmount(value: string): bigint {
  if (!/^\d+$/.test(value) || BigInt(value) < 5000n)
    throw new InvalidArgumentError(`expected a gas limit of at least 5000, got "${value}"`);
  return BigInt(value);
}

/** A secp256k1 private key in hex, with or without 0x. */
export function privateKey(value: string): Hex {
  const hex = value.startsWith('0x') ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex))
    throw new InvalidArgumentError('expected a private key of 32 bytes in hex (64 hex digits)');
  return hex as Hex;
}

/** The key a flag gave, else the one in environment variable `env` (named in its error), else none. */
export function keyFromFlagOrEnv(flag: Hex | undefined, env: string): Hex | undefined {
  if (flag) return flag;
  const value = process.env[env]?.trim();
  if (!value) return undefined;
  try {
    return privateKey(value);
  } catch (error) {
    throw new Error(`${env}: ${(error as Error).message}`);
  }
}
