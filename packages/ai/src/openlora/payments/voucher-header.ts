/**
 * The `OpenLedger-Voucher` request header:
 *
 *     OpenLedger-Voucher: <base64url(JSON {payer, node, modelId, cumulativeAmount, deadline})>.<0x signature>
 *
 * Addresses are 0x hex; modelId, cumulativeAmount and deadline are decimal strings (uint256 does not
 * fit a JSON number). The signature is the payer's EIP-712 signature of the voucher for
 * InferencePayments (see `voucherDigest` in the SDK), or whatever its ERC-1271 wallet accepts.
 */
import type { Voucher } from '@openledger/sdk';
import { getAddress, isAddress, isHex, type Hex } from 'viem';
import type { SignedVoucher } from './types.ts';

export const VOUCHER_HEADER = 'OpenLedger-Voucher';

const MAX_UINT256 = 2n ** 256n - 1n;
/** Longest header value accepted: a voucher is ~250 bytes; contract-wallet signatures can be longer. */
const MAX_HEADER_LENGTH = 8_192;

/** The header value for a signed voucher. */
export function encodeVoucherHeader(voucher: Voucher, signature: Hex): string {
  const json = JSON.stringify({
    payer: voucher.payer,
    node: voucher.node,
    modelId: voucher.modelId.toString(),
    cumulativeAmount: voucher.cumulativeAmount.toString(),
    deadline: voucher.deadline.toString(),
  });
  return `${Buffer.from(json, 'utf8').toString('base64url')}.${signature}`;
}

/** The voucher in a header value, or why it is not one (a sentence for the client). */
export function decodeVoucherHeader(value: string): SignedVoucher | { error: string } {
  const text = value.trim();
  if (text.length > MAX_HEADER_LENGTH)
    return { error: `the header is longer than ${MAX_HEADER_LENGTH} characters` };
  const dot = text.lastIndexOf('.');
  if (dot <= 0) return { error: 'expected <base64url(voucher JSON)>.<0x signature>' };
  const signature = text.slice(dot + 1);
  if (!isHex(signature, { strict: true }) || signature.length < 4 || signature.length % 2 !== 0) {
    return { error: 'the signature after the last "." is not 0x-prefixed hex bytes' };
  }
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(text.slice(0, dot), 'base64url').toString('utf8'));
  } catch {
    return { error: 'the part before the last "." is not base64url-encoded JSON' };
  }
  const voucher = voucherFromJson(fields);
  return 'error' in voucher ? voucher : { voucher, signature };
}

/** A voucher from its JSON form (addresses as hex, numbers as decimal strings or bigints), or why it is not one. */
export function voucherFromJson(fields: unknown): Voucher | { error: string } {
  if (typeof fields !== 'object' || fields === null) return { error: 'the voucher is not a JSON object' };
  const f = fields as Record<string, unknown>;
  const payer = f.payer;
  const node = f.node;
  if (typeof payer !== 'string' || !isAddress(payer, { strict: false })) {
    return { error: 'voucher.payer is not an address' };
  }
  if (typeof node !== 'string' || !isAddress(node, { strict: false })) {
    return { error: 'voucher.node is not an address' };
  }
  const numbers: Partial<Record<'modelId' | 'cumulativeAmount' | 'deadline', bigint>> = {};
  for (const name of ['modelId', 'cumulativeAmount', 'deadline'] as const) {
    const n = uint256Of(f[name]);
    if (n === undefined) return { error: `voucher.${name} is not a uint256 as a decimal string` };
    numbers[name] = n;
  }
  return {
    payer: getAddress(payer),
    node: getAddress(node),
    modelId: numbers.modelId!,
    cumulativeAmount: numbers.cumulativeAmount!,
    deadline: numbers.deadline!,
  };
}

/** The JSON form of a voucher, as the header and `POST /v1/payments/vouchers` carry it. */
export function voucherToJson(voucher: Voucher) {
  return {
    payer: voucher.payer,
    node: voucher.node,
    modelId: voucher.modelId.toString(),
    cumulativeAmount: voucher.cumulativeAmount.toString(),
    deadline: voucher.deadline.toString(),
  };
}

/** A decimal string (or safe integer, or bigint) in uint256 range, else undefined. */
function uint256Of(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n && value <= MAX_UINT256 ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value !== 'string' || !/^[0-9]{1,78}$/.test(value)) return undefined;
  const n = BigInt(value);
  return n <= MAX_UINT256 ? n : undefined;
}
