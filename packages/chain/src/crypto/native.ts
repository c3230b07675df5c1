import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { CustomCrypto } from '@ethereumjs/common';
import { bytesToBigInt, setLengthLeft } from '@ethereumjs/util';
import { lazyKzg } from './kzg.ts';

// Native keccak (XKCP) and libsecp256k1 are ~10-25x faster than the pure-JS defaults, and signature
// recovery dominates transaction admission; both packages ship prebuilt binaries inside the npm tarball.
const require = createRequire(import.meta.url);
// The keccak package's own API wraps every hash in a stream object; its native state, used
// directly, hashes small inputs (trie nodes, storage keys) twice as fast.
interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Buffer): void;
  absorbLastFewBits(bits: number): void;
  squeeze(length: number): Buffer;
}
const loadBinding = require('node-gyp-build') as (dir: string) => new () => KeccakState;
const NativeKeccak = loadBinding(dirname(require.resolve('keccak/package.json')));
const state = new NativeKeccak();
const secp256k1 = require('secp256k1') as {
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed?: boolean): Uint8Array;
};

export function keccak256(data: Uint8Array): Uint8Array {
  state.initialize(1088, 512);
  state.absorb(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  state.absorbLastFewBits(0x01);
  const digest = state.squeeze(32);
  return new Uint8Array(digest.buffer, digest.byteOffset, 32);
}

/** Recovery id from a signature's `v`, for legacy (27/28), EIP-155 (chainId*2+35/36) and typed (0/1) signatures. */
function recoveryId(v: bigint, chainId?: bigint): number {
  if (v === 0n || v === 1n) return Number(v);
  if (chainId === undefined) return Number(v - 27n);
  return Number(v - (chainId * 2n + 35n));
}

/** Uncompressed public key without the 0x04 prefix, the shape @ethereumjs expects from `ecrecover`. */
export function ecrecover(
  msgHash: Uint8Array,
  v: bigint,
  r: Uint8Array,
  s: Uint8Array,
  chainId?: bigint,
): Uint8Array {
  const recid = recoveryId(v, chainId);
  if (recid !== 0 && recid !== 1) throw new Error('Invalid signature v value');
  const signature = new Uint8Array(64);
  signature.set(setLengthLeft(r, 32), 0);
  signature.set(setLengthLeft(s, 32), 32);
  if (bytesToBigInt(r) === 0n || bytesToBigInt(s) === 0n) throw new Error('Invalid signature');
  return secp256k1.ecdsaRecover(signature, recid, msgHash, false).subarray(1);
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export const nativeCrypto: CustomCrypto = { keccak256, ecrecover, sha256, kzg: lazyKzg };
