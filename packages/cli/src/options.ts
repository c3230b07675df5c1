import { InvalidArgumentError } from 'commander';

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
