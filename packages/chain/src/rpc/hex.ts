import { bytesToHex } from '@ethereumjs/util';

export type Hex = `0x${string}`;

/** A JSON-RPC quantity: hex without leading zeros, "0x0" for zero. */
export function quantity(value: bigint | number): Hex {
  return `0x${value.toString(16)}`;
}

export function data(bytes: Uint8Array): Hex {
  return bytesToHex(bytes) as Hex;
}
