import { MerklePatriciaTrie } from '@ethereumjs/mpt';
import type { Common } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import type { RunTxResult } from '@ethereumjs/vm';
import { encodeReceipt } from '@ethereumjs/vm';
import type { TypedTransaction } from '@ethereumjs/tx';

export async function receiptsRoot(
  common: Common,
  txs: TypedTransaction[],
  results: RunTxResult[],
): Promise<Uint8Array> {
  const trie = new MerklePatriciaTrie({ common });
  for (let i = 0; i < results.length; i++) {
    await trie.put(RLP.encode(i), encodeReceipt(results[i]!.receipt, txs[i]!.type));
  }
  return trie.root();
}
