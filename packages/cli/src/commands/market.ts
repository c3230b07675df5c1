import { Command, InvalidArgumentError, Option } from 'commander';
import { accept, buy, dispute, list } from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { id, protocolVerb } from './protocol.ts';

interface ListFlags {
  model?: bigint;
  datanet?: { datanetId: bigint; version: bigint };
  price: bigint;
  terms: string;
}

/** `<datanetId>:<version>` (a plain --version would be taken by the program's own --version). */
function datanetVersion(value: string): { datanetId: bigint; version: bigint } {
  const match = /^([1-9]\d*):([1-9]\d*)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`expected <datanetId>:<version> such as 1:2, got "${value}"`);
  return { datanetId: BigInt(match[1]!), version: BigInt(match[2]!) };
}

/** `openledger market list|buy|accept|dispute`. */
export function marketCommand(): Command {
  const market = new Command('market').description(
    'the data market: licences to Datanet versions and models',
  );

  market.addCommand(
    protocolVerb<ListFlags>(
      new Command('list')
        .description('list a model or a published Datanet version the signer owns, posting the seller bond')
        .addOption(
          new Option('--model <modelId>', 'sell licences to this model').argParser(id).conflicts('datanet'),
        )
        .option(
          '--datanet <datanetId:version>',
          'sell licences to this published Datanet version',
          datanetVersion,
        )
        .requiredOption('--price <open>', 'price of a licence', amountOfOpen)
        .option('--terms <uri>', 'URI of the licence terms', ''),
      async ({ conn, flags }) => {
        if (flags.model !== undefined)
          return list(conn, {
            kind: 'model',
            modelId: flags.model,
            price: flags.price,
            termsURI: flags.terms,
          });
        if (flags.datanet !== undefined)
          return list(conn, { kind: 'datanet', ...flags.datanet, price: flags.price, termsURI: flags.terms });
        throw new Error('pass --model <modelId> or --datanet <datanetId:version>');
      },
    ),
  );

  market.addCommand(
    protocolVerb(
      new Command('buy')
        .description("buy a licence: pays the listing's price plus the dispute bond into escrow")
        .argument('<listingId>', 'the listing', id),
      async ({ conn, args }) => buy(conn, { listingId: args[0] as bigint }),
    ),
  );

  market.addCommand(
    protocolVerb(
      new Command('accept')
        .description('accept a purchase as its buyer: the seller is paid and both bonds are released')
        .argument('<purchaseId>', 'the purchase', id),
      async ({ conn, args }) => accept(conn, { purchaseId: args[0] as bigint }),
    ),
  );

  market.addCommand(
    protocolVerb<{ reason: string }>(
      new Command('dispute')
        .description('dispute a purchase as its buyer, within the acceptance window')
        .argument('<purchaseId>', 'the purchase', id)
        .requiredOption('--reason <uri>', 'URI of the complaint'),
      async ({ conn, flags, args }) =>
        dispute(conn, { purchaseId: args[0] as bigint, reasonURI: flags.reason }),
    ),
  );

  return market;
}
