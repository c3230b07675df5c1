import { createRequire } from 'node:module';
import { bytesToHex, concatBytes, hexToBytes } from '@ethereumjs/util';
import type { Address, Hex } from 'viem';
import { ecrecover, keccak256 } from '../crypto/native.ts';

// libsecp256k1 (the `secp256k1` package crypto/native.ts also uses): signing is RFC 6979
// deterministic, so a validator replaying its WAL after a crash produces byte-identical messages.
const require = createRequire(import.meta.url);
const secp256k1 = require('secp256k1') as {
  ecdsaSign(msg32: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  publicKeyCreate(privateKey: Uint8Array, compressed?: boolean): Uint8Array;
  privateKeyVerify(privateKey: Uint8Array): boolean;
};

/** n / 2 of secp256k1: OpenZeppelin's ECDSA.recover (and so the Staking contract) rejects larger s. */
const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * A validator's consensus key. Synchronous on purpose: the state machine signs inside its handlers so
 * that what it signs and what it records as signed cannot drift apart.
 */
export interface ConsensusSigner {
  /** The consensus signer address (lowercase), as registered in Staking. */
  readonly address: Address;
  /** A 65-byte r ‖ s ‖ v signature of a 32-byte digest, v = 27 or 28, low s. */
  sign(digest: Hex): Hex;
}

function addressOfPublicKey(uncompressed64: Uint8Array): Address {
  return bytesToHex(keccak256(uncompressed64).subarray(12)) as Address;
}

/** A signer over a raw secp256k1 private key (32 bytes). */
export function createPrivateKeySigner(privateKey: Hex | Uint8Array): ConsensusSigner {
  const key = typeof privateKey === 'string' ? hexToBytes(privateKey) : Uint8Array.from(privateKey);
  if (key.length !== 32 || !secp256k1.privateKeyVerify(key)) {
    throw new Error('Invalid consensus private key: expected 32 bytes in [1, n-1] of secp256k1');
  }
  const address = addressOfPublicKey(secp256k1.publicKeyCreate(key, false).subarray(1));
  return {
    address,
    sign(digest: Hex): Hex {
      const { signature, recid } = secp256k1.ecdsaSign(hexToBytes(digest), key);
      return bytesToHex(concatBytes(signature, Uint8Array.of(27 + recid))) as Hex;
    },
  };
}

/** How signatures are turned back into addresses; injectable so a node can cache or batch it. */
export type RecoverSigner = (digest: Hex, signature: Hex) => Address | undefined;

/**
 * The address that signed `digest`, with exactly the rules of OpenZeppelin's ECDSA.recover: 65 bytes,
 * v of 27 or 28, s at most n/2. A signature the contract would reject never counts here, so every
 * piece of evidence a node builds from verified votes is accepted on-chain.
 */
export const recoverSigner: RecoverSigner = (digest, signature) => {
  const bytes = hexToBytes(signature);
  if (bytes.length !== 65) return undefined;
  const v = bytes[64]!;
  if (v !== 27 && v !== 28) return undefined;
  const r = bytes.subarray(0, 32);
  const s = bytes.subarray(32, 64);
  if (BigInt(bytesToHex(s)) > HALF_ORDER) return undefined;
  try {
    return addressOfPublicKey(ecrecover(hexToBytes(digest), BigInt(v), r, s));
  } catch {
    // r or s out of range, or no curve point: the precompile returns address(0), OZ reverts.
    return undefined;
  }
};
