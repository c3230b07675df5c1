import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex } from '@ethereumjs/util';
import { orderedTrieRoot } from '../src/execution/ordered-trie-root.ts';

async function referenceRoot(values: Uint8Array[]): Promise<string> {
  const trie = new MerklePatriciaTrie();
  for (let i = 0; i < values.length; i++) await trie.put(RLP.encode(i), values[i]!);
  return bytesToHex(trie.root());
}

describe('orderedTrieRoot', () => {
  it('equals the root of @ethereumjs/mpt for any list of values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 80 }), { maxLength: 300 }),
        async (values) => {
          expect(bytesToHex(orderedTrieRoot(values))).toBe(await referenceRoot(values));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('handles lists that cross the one-byte and two-byte RLP key boundaries', async () => {
    for (const n of [0, 1, 2, 16, 17, 127, 128, 129, 255, 256, 1500]) {
      const values = Array.from({ length: n }, (_, i) => RLP.encode([i, 'x'.repeat(i % 50)]));
      expect(bytesToHex(orderedTrieRoot(values))).toBe(await referenceRoot(values));
    }
  });
});
