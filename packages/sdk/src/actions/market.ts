import { parseEventLogs } from 'viem';
import { dataMarketAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { paramKey } from '../params.ts';
import { emitted, sendProtocolTx } from './send.ts';

const BPS = 10_000n;

/** What a listing sells: a model, or a published version of a Datanet. */
export type ListingAsset =
  { kind: 'model'; modelId: bigint } | { kind: 'datanet'; datanetId: bigint; version: bigint };

export type ListOptions = ListingAsset & {
  /** Wei the buyer pays. */
  price: bigint;
  termsURI?: string;
};

/** The seller bond (and the buyer's dispute bond) for a price, as DataMarket computes it now. */
export async function marketBond(conn: Connection, price: bigint): Promise<bigint> {
  return (price * (await conn.contracts.params.read.get([paramKey('market.disputeBondBps')]))) / BPS;
}

/** Lists an asset the signer owns for sale, posting the seller bond. */
export async function list(conn: Connection, o: ListOptions) {
  const { market } = conn.contracts;
  const bond = await marketBond(conn, o.price);
  const terms = o.termsURI ?? '';
  const sent = await sendProtocolTx(
    conn,
    o.kind === 'model' ? 'listModel' : 'listDatanetVersion',
    (account) =>
      o.kind === 'model'
        ? market.simulate.listModel([o.modelId, o.price, terms], { account, value: bond })
        : market.simulate.listDatanetVersion([o.datanetId, o.version, o.price, terms], {
            account,
            value: bond,
          }),
  );
  const logs = parseEventLogs({ abi: dataMarketAbi, logs: sent.receipt.logs, eventName: 'Listed' });
  const { args } = emitted(logs, market.address, 'Listed');
  return { hash: sent.hash, listingId: args.listingId, price: args.price, bond: args.bond };
}

/** Buys a licence: pays the listing's price plus the dispute bond into escrow. */
export async function buy(conn: Connection, o: { listingId: bigint }) {
  const { market } = conn.contracts;
  const listing = await market.read.listing([o.listingId]);
  // An unknown listing reads as zeroes: the simulation reports UnknownListing.
  const bond = await marketBond(conn, listing.price);
  const sent = await sendProtocolTx(conn, 'buy', (account) =>
    market.simulate.buy([o.listingId], { account, value: listing.price + bond }),
  );
  const purchased = emitted(
    parseEventLogs({ abi: dataMarketAbi, logs: sent.receipt.logs, eventName: 'Purchased' }),
    market.address,
    'Purchased',
  ).args;
  const escrowed = emitted(
    parseEventLogs({ abi: dataMarketAbi, logs: sent.receipt.logs, eventName: 'Escrowed' }),
    market.address,
    'Escrowed',
  ).args;
  return {
    hash: sent.hash,
    purchaseId: purchased.purchaseId,
    listingId: purchased.listingId,
    price: purchased.price,
    bond: escrowed.buyerBond,
    deadline: escrowed.deadline,
  };
}

/** The buyer accepts a purchase: the seller is paid (less the protocol fee) and both bonds are released. */
export async function accept(conn: Connection, o: { purchaseId: bigint }) {
  const { market } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'accept', (account) =>
    market.simulate.accept([o.purchaseId], { account }),
  );
  const logs = parseEventLogs({ abi: dataMarketAbi, logs: sent.receipt.logs, eventName: 'SellerPaid' });
  const { args } = emitted(logs, market.address, 'SellerPaid');
  return {
    hash: sent.hash,
    purchaseId: args.purchaseId,
    seller: args.seller,
    sellerPaid: args.amount,
    protocolFee: args.protocolFee,
  };
}

/** The buyer disputes a purchase within the acceptance window. */
export async function dispute(conn: Connection, o: { purchaseId: bigint; reasonURI: string }) {
  const { market } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'dispute', (account) =>
    market.simulate.dispute([o.purchaseId, o.reasonURI], { account }),
  );
  const logs = parseEventLogs({ abi: dataMarketAbi, logs: sent.receipt.logs, eventName: 'Disputed' });
  const { args } = emitted(logs, market.address, 'Disputed');
  return { hash: sent.hash, disputeId: args.disputeId, purchaseId: args.purchaseId };
}
