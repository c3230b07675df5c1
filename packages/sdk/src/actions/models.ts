import { parseEventLogs, zeroHash, type Address, type Hex } from 'viem';
import { modelRegistryAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { paramKey } from '../params.ts';
import { emitted, sendProtocolTx } from './send.ts';

export interface RegisterModelOptions {
  /** 1..64 bytes of [a-z0-9._-]: the `model` of the OpenAI-compatible API. */
  name: string;
  baseModelHash?: Hex;
  adapterHash?: Hex;
  /** The Datanet versions it was trained on (its provenance). */
  trainedOn?: readonly { datanetId: bigint; version: bigint }[];
  trainingConfigHash?: Hex;
  metadataURI?: string;
  /** Wei per 1,000 tokens (default 0). */
  pricePer1kTokens?: bigint;
}

/** Registers a model owned by the signer, paying the `model.registrationFee` (read from the chain). */
export async function registerModel(conn: Connection, o: RegisterModelOptions) {
  const { models, params } = conn.contracts;
  const fee = await params.read.get([paramKey('model.registrationFee')]);
  const model = {
    name: o.name,
    baseModelHash: o.baseModelHash ?? zeroHash,
    adapterHash: o.adapterHash ?? zeroHash,
    trainedOn: (o.trainedOn ?? []).map((v) => ({ datanetId: v.datanetId, version: v.version })),
    trainingConfigHash: o.trainingConfigHash ?? zeroHash,
    metadataURI: o.metadataURI ?? '',
    pricePer1kTokens: o.pricePer1kTokens ?? 0n,
  };
  const sent = await sendProtocolTx(conn, 'registerModel', (account) =>
    models.simulate.registerModel([model], { account, value: fee }),
  );
  const logs = parseEventLogs({
    abi: modelRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'ModelRegistered',
  });
  const { args } = emitted(logs, models.address, 'ModelRegistered');
  return {
    hash: sent.hash,
    modelId: args.modelId,
    name: args.name,
    owner: args.owner,
    pricePer1kTokens: args.pricePer1kTokens,
    fee: args.fee,
  };
}

/** Sets a model's price per 1,000 tokens (owner only). */
export async function setModelPrice(conn: Connection, o: { modelId: bigint; price: bigint }) {
  const { models } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'setPrice', (account) =>
    models.simulate.setPrice([o.modelId, o.price], { account }),
  );
  const logs = parseEventLogs({ abi: modelRegistryAbi, logs: sent.receipt.logs, eventName: 'PriceChanged' });
  const { args } = emitted(logs, models.address, 'PriceChanged');
  return { hash: sent.hash, modelId: args.modelId, oldPrice: args.oldPrice, newPrice: args.newPrice };
}

/** Hands a model (and its future model-owner fee share) to `newOwner` (owner only). */
export async function transferModelOwnership(conn: Connection, o: { modelId: bigint; newOwner: Address }) {
  const { models } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'transferModelOwnership', (account) =>
    models.simulate.transferModelOwnership([o.modelId, o.newOwner], { account }),
  );
  const logs = parseEventLogs({
    abi: modelRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'ModelOwnershipTransferred',
  });
  const { args } = emitted(logs, models.address, 'ModelOwnershipTransferred');
  return {
    hash: sent.hash,
    modelId: args.modelId,
    previousOwner: args.previousOwner,
    newOwner: args.newOwner,
  };
}

/** Retires a model for good: it stays known but is no longer served (owner only). */
export async function retireModel(conn: Connection, o: { modelId: bigint }) {
  const { models } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'retire', (account) =>
    models.simulate.retire([o.modelId], { account }),
  );
  const logs = parseEventLogs({ abi: modelRegistryAbi, logs: sent.receipt.logs, eventName: 'ModelRetired' });
  emitted(logs, models.address, 'ModelRetired');
  return { hash: sent.hash, modelId: o.modelId };
}
