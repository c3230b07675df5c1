import { AccessList2930Tx, Blob4844Tx, EOACode7702Tx, FeeMarket1559Tx, LegacyTx } from '@ethereumjs/tx';
import { Address } from '@ethereumjs/util';
import { keccak256 } from './native.ts';

/**
 * ethereumjs caches a transaction's recovered public key but derives the address from it again,
 * with pure-JS keccak, on every getSenderAddress() call, and the node asks several times per
 * transaction (admission, pool, execution, receipts). Frozen transactions are immutable, so their
 * sender is remembered after the first derivation (with native keccak).
 */
export function cacheSenderAddresses(): void {
  for (const TxClass of [LegacyTx, AccessList2930Tx, FeeMarket1559Tx, Blob4844Tx, EOACode7702Tx]) {
    const proto = TxClass.prototype as { getSenderAddress(): Address; getSenderPublicKey(): Uint8Array };
    if (Object.prototype.hasOwnProperty.call(proto, 'senderAddressCached')) continue;
    Object.defineProperty(proto, 'senderAddressCached', { value: true });
    proto.getSenderAddress = function (this: {
      cache: { senderAddress?: Address };
      getSenderPublicKey(): Uint8Array;
    }) {
      const cached = this.cache.senderAddress;
      if (cached) return cached;
      const address = new Address(keccak256(this.getSenderPublicKey()).slice(-20));
      if (Object.isFrozen(this)) this.cache.senderAddress = address;
      return address;
    };
  }
}
