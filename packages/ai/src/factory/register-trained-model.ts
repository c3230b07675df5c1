import type { ContentStore } from '@openledger/data';
import { registerModel, transferModelOwnership, type Connection } from '@openledger/sdk';
import type { Address, Hex } from 'viem';
import { FactoryError } from './factory-error.ts';
import { modelCardMarkdown, type ModelCard } from './model-card.ts';

/** The URI scheme of blobs in the content store: `keccak256:0x…` names the bytes it hashes. */
export function contentUri(hash: Hex): string {
  return `keccak256:${hash}`;
}

export interface PublishedModel {
  readonly modelId: bigint;
  readonly registrationTx: Hex;
  readonly cardHash: Hex;
  readonly cardMarkdownHash: Hex;
}

/**
 * Puts the model card (JSON and Markdown) into the content store, then registers the model in
 * ModelRegistry with its provenance: base model hash, adapter hash, the Datanet versions it was
 * trained on, the training config hash and the card's address as metadata. The service signs the
 * registration (and pays its fee); when the job belongs to someone else the model is then handed
 * to them, so the owner never needs to be online for a job to finish.
 */
export async function publishTrainedModel(
  signer: Connection,
  store: ContentStore,
  card: ModelCard,
  pricePer1kTokens: bigint,
): Promise<PublishedModel> {
  const cardHash = (await store.put(new TextEncoder().encode(JSON.stringify(card, null, 2)))) as Hex;
  const cardMarkdownHash = (await store.put(new TextEncoder().encode(modelCardMarkdown(card)))) as Hex;
  let registered: Awaited<ReturnType<typeof registerModel>>;
  try {
    registered = await registerModel(signer, {
      name: card.name,
      baseModelHash: card.base.hash,
      adapterHash: card.adapter.hash,
      trainedOn: card.data.versions.map((v) => ({
        datanetId: BigInt(card.data.datanetId),
        version: BigInt(v.version),
      })),
      trainingConfigHash: card.trainingConfigHash,
      metadataURI: contentUri(cardHash),
      pricePer1kTokens,
    });
  } catch (error) {
    throw new FactoryError(
      'registration-failed',
      `registering ${card.name} failed: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  const operator = signer.walletClient?.account.address;
  if (operator && !sameAddress(operator, card.owner)) {
    await transferModelOwnership(signer, { modelId: registered.modelId, newOwner: card.owner });
  }
  return { modelId: registered.modelId, registrationTx: registered.hash, cardHash, cardMarkdownHash };
}

function sameAddress(a: Address, b: Address): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
