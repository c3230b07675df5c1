import { Command, InvalidArgumentError, Option } from 'commander';
import type { Hex } from 'viem';
import { registerModel, setModelPrice } from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { bytes32, id, protocolVerb } from './protocol.ts';

interface RegisterFlags {
  baseModelHash?: Hex;
  adapterHash?: Hex;
  trainingConfigHash?: Hex;
  trainedOn: { datanetId: bigint; version: bigint }[];
  metadata: string;
  price?: bigint;
}

function datanetVersion(
  value: string,
  previous: { datanetId: bigint; version: bigint }[],
): { datanetId: bigint; version: bigint }[] {
  const match = /^(\d+):(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected <datanetId>:<version> such as 1:2, got "${value}"`);
  return [...previous, { datanetId: BigInt(match[1]!), version: BigInt(match[2]!) }];
}

/** `openledger model register|price`. */
export function modelCommand(): Command {
  const model = new Command('model').description('models: registration and pricing');

  model.addCommand(
    protocolVerb<RegisterFlags>(
      new Command('register')
        .description('register a model owned by the signer, paying model.registrationFee; prints its id')
        .argument('<name>', 'unique API name: 1 to 64 characters of a-z 0-9 . _ -')
        .addOption(
          new Option('--base-model-hash <bytes32>', 'hash of the base model weights').argParser(bytes32),
        )
        .addOption(new Option('--adapter-hash <bytes32>', 'hash of the adapter weights').argParser(bytes32))
        .addOption(
          new Option('--training-config-hash <bytes32>', 'hash of the training configuration').argParser(
            bytes32,
          ),
        )
        .option(
          '--trained-on <datanetId:version>',
          'a published Datanet version it was trained on (repeatable)',
          datanetVersion,
          [],
        )
        .option('--metadata <uri>', 'URI of the model card', '')
        .option('--price <open>', 'price per 1,000 tokens (default 0)', amountOfOpen),
      async ({ conn, flags, args }) =>
        registerModel(conn, {
          name: args[0] as string,
          trainedOn: flags.trainedOn,
          metadataURI: flags.metadata,
          ...(flags.baseModelHash && { baseModelHash: flags.baseModelHash }),
          ...(flags.adapterHash && { adapterHash: flags.adapterHash }),
          ...(flags.trainingConfigHash && { trainingConfigHash: flags.trainingConfigHash }),
          ...(flags.price !== undefined && { pricePer1kTokens: flags.price }),
        }),
    ),
  );

  model.addCommand(
    protocolVerb(
      new Command('price')
        .description("set a model's price per 1,000 tokens (owner only)")
        .argument('<modelId>', 'the model', id)
        .argument('<price>', 'OPEN per 1,000 tokens, e.g. 0.001 or 1000000wei', amountOfOpen),
      async ({ conn, args }) => setModelPrice(conn, { modelId: args[0] as bigint, price: args[1] as bigint }),
    ),
  );

  return model;
}
