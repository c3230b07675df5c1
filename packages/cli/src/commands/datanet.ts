import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { keccak256, toBytes, type Hex } from 'viem';
import {
  challengeContribution,
  createDatanet,
  publishVersion,
  rowTree,
  stakeAsCurator,
  submitContribution,
  voteOnContribution,
} from '@openledger/sdk';
import { amountOfOpen, integer } from '../options.ts';
import { bytes32, id, protocolVerb, uint } from './protocol.ts';

interface CreateFlags {
  metadata: string;
  standardUri?: string;
  standardHash?: Hex;
  standardFile?: string;
  fee?: bigint;
  bond?: bigint;
  quorum?: number;
}

interface ContributeFlags {
  rowsFile?: string;
  dataRoot?: Hex;
  rows?: bigint;
  bytes?: bigint;
  metadata: string;
}

/** `openledger datanet create|contribute|curate|publish|challenge`. */
export function datanetCommand(): Command {
  const datanet = new Command('datanet').description(
    'Datanets: community datasets, their curation and versions',
  );

  datanet.addCommand(
    protocolVerb<CreateFlags>(
      new Command('create')
        .description('create a Datanet owned by the signer; prints its id')
        .requiredOption('--metadata <uri>', 'URI of the Datanet description')
        .option('--standard-uri <uri>', 'URI of the validation standard curators apply', '')
        .addOption(
          new Option('--standard-hash <bytes32>', 'hash committing to the validation standard')
            .argParser(bytes32)
            .conflicts('standardFile'),
        )
        .option('--standard-file <path>', 'hash this file (keccak256) as the validation standard')
        .option('--fee <open>', 'fee every contribution pays the owner (default 0)', amountOfOpen)
        .option(
          '--bond <open>',
          'bond held per contribution (default: datanet.minContributorBond)',
          amountOfOpen,
        )
        .option(
          '--quorum <n>',
          'curator votes that decide a contribution (default: the minimum)',
          integer(1, 100),
        ),
      async ({ conn, flags }) => {
        const standardHash = flags.standardFile
          ? keccak256(await readFile(flags.standardFile))
          : flags.standardHash;
        return createDatanet(conn, {
          metadataURI: flags.metadata,
          validationStandardURI: flags.standardUri ?? '',
          ...(standardHash && { validationStandardHash: standardHash }),
          ...(flags.fee !== undefined && { contributionFee: flags.fee }),
          ...(flags.bond !== undefined && { contributorBond: flags.bond }),
          ...(flags.quorum !== undefined && { curatorQuorum: flags.quorum }),
        });
      },
    ),
  );

  datanet.addCommand(
    protocolVerb<ContributeFlags>(
      new Command('contribute')
        .description(
          "submit a contribution, paying the Datanet's fee and bond; the rows stay off-chain, committed by a Merkle root",
        )
        .argument('<datanetId>', 'the Datanet', id)
        .addOption(
          new Option(
            '--rows-file <path>',
            "one row per line: the data root is the Merkle root of the lines' keccak256 hashes",
          ).conflicts(['dataRoot', 'rows']),
        )
        .addOption(new Option('--data-root <bytes32>', 'the Merkle root of the rows').argParser(bytes32))
        .option('--rows <n>', 'number of rows (with --data-root)', uint)
        .option('--bytes <n>', 'size of the rows in bytes (with --data-root; default 0)', uint)
        .option('--metadata <uri>', 'URI describing the contribution', ''),
      async ({ conn, flags, args }) => {
        const datanetId = args[0] as bigint;
        let dataRoot: Hex;
        let rowCount: bigint;
        let byteSize: bigint;
        if (flags.rowsFile) {
          const content = await readFile(flags.rowsFile);
          const rows = content.toString('utf8').split('\n');
          if (rows.at(-1) === '') rows.pop();
          if (rows.length === 0) throw new Error(`${flags.rowsFile} holds no rows`);
          dataRoot = rowTree(rows.map((row) => keccak256(toBytes(row)))).root as Hex;
          rowCount = BigInt(rows.length);
          byteSize = BigInt(content.length);
        } else if (flags.dataRoot && flags.rows !== undefined) {
          dataRoot = flags.dataRoot;
          rowCount = flags.rows;
          byteSize = flags.bytes ?? 0n;
        } else {
          throw new Error('pass --rows-file <path>, or --data-root <bytes32> with --rows <n>');
        }
        const result = await submitContribution(conn, {
          datanetId,
          dataRoot,
          rowCount,
          byteSize,
          metadataURI: flags.metadata,
        });
        return { ...result, dataRoot, rowCount, byteSize };
      },
    ),
  );

  const curate = new Command('curate').description(
    'curate a Datanet: stake as a curator, vote on contributions',
  );
  curate.addCommand(
    protocolVerb<{ amount?: bigint }>(
      new Command('stake')
        .description("add to the signer's curator stake on a Datanet")
        .argument('<datanetId>', 'the Datanet', id)
        .option('--amount <open>', 'OPEN to stake (default: datanet.minCuratorStake)', amountOfOpen),
      async ({ conn, flags, args }) =>
        stakeAsCurator(conn, {
          datanetId: args[0] as bigint,
          ...(flags.amount !== undefined && { amount: flags.amount }),
        }),
    ),
  );
  curate.addCommand(
    protocolVerb<{ approve?: boolean; reject?: boolean }>(
      new Command('vote')
        .description('vote as a curator on a pending contribution')
        .argument('<contributionId>', 'the contribution', id)
        .addOption(new Option('--approve', 'approve it').conflicts('reject'))
        .option('--reject', 'reject it (its bond is refunded)'),
      async ({ conn, flags, args }) => {
        if (!flags.approve && !flags.reject) throw new Error('pass --approve or --reject');
        return voteOnContribution(conn, {
          contributionId: args[0] as bigint,
          approve: Boolean(flags.approve),
        });
      },
    ),
  );
  datanet.addCommand(curate);

  datanet.addCommand(
    protocolVerb(
      new Command('publish')
        .description(
          'publish the approved contributions not yet in a version as the next version (owner or curator)',
        )
        .argument('<datanetId>', 'the Datanet', id),
      async ({ conn, args }) => publishVersion(conn, { datanetId: args[0] as bigint }),
    ),
  );

  datanet.addCommand(
    protocolVerb<{ reason: string }>(
      new Command('challenge')
        .description('challenge an approved contribution, posting the datanet.challengeBond')
        .argument('<contributionId>', 'the contribution', id)
        .requiredOption('--reason <uri>', 'URI of the evidence'),
      async ({ conn, flags, args }) =>
        challengeContribution(conn, { contributionId: args[0] as bigint, reasonURI: flags.reason }),
    ),
  );

  return datanet;
}
