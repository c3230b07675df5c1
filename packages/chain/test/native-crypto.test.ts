import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@ethereumjs/util';
import { ecrecover, keccak256 } from '../src/crypto/native.ts';

describe('native crypto', () => {
  it('keccak256 equals the reference implementation for any input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
        expect(bytesToHex(keccak256(data))).toBe(bytesToHex(keccak_256(data)));
      }),
      { numRuns: 500 },
    );
  });

  it('ecrecover returns the signer public key for typed and EIP-155 signatures', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 48, maxLength: 48 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seed, hash) => {
          const key = secp256k1.utils.randomSecretKey(seed);
          const signature = secp256k1.sign(hash, key, { prehash: false, format: 'recovered' });
          const recovery = BigInt(signature[0]!);
          const r = signature.subarray(1, 33);
          const s = signature.subarray(33, 65);
          const expected = bytesToHex(secp256k1.getPublicKey(key, false).subarray(1));
          expect(bytesToHex(ecrecover(hash, recovery, r, s))).toBe(expected);
          expect(bytesToHex(ecrecover(hash, 1612n * 2n + 35n + recovery, r, s, 1612n))).toBe(expected);
          expect(bytesToHex(ecrecover(hash, 27n + recovery, r, s))).toBe(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});
