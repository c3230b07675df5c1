import { createRequire } from 'node:module';
import { bytesToHex, concatBytes, hexToBytes, intToBytes } from '@ethereumjs/util';
import { hashTypedData } from 'viem';
import type { TypedDataDefinition } from 'viem';
import { keccak256 } from '../crypto/native.ts';

const require = createRequire(import.meta.url);
const secp256k1 = require('secp256k1') as {
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
};

/** A 65-byte r ‖ s ‖ v signature (v = 27 or 28), the shape eth_sign and personal_sign return. */
function sign(digest: Uint8Array, privateKey: Uint8Array): `0x${string}` {
  const { signature, recid } = secp256k1.ecdsaSign(digest, privateKey);
  return bytesToHex(concatBytes(signature, intToBytes(27 + recid))) as `0x${string}`;
}

/** EIP-191 version 0x45: what eth_sign and personal_sign sign. */
export function signPersonalMessage(message: Uint8Array, privateKey: Uint8Array): `0x${string}` {
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${message.length}`);
  return sign(keccak256(concatBytes(prefix, message)), privateKey);
}

/** EIP-712, as eth_signTypedData_v4 defines it. */
export function signTypedData(typedData: TypedDataDefinition, privateKey: Uint8Array): `0x${string}` {
  return sign(hexToBytes(hashTypedData(typedData)), privateKey);
}
