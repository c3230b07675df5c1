import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isHex, type Address, type Hex } from 'viem';
import {
  PARAM_NAMES,
  VOTE_SUPPORT,
  castVote,
  descriptionHash,
  execute,
  grantProposal,
  paramChangeProposal,
  proposalIdOf,
  proposalState,
  propose,
  proposeGrant,
  proposeParamChange,
  queue,
  type ParamName,
  type Proposal,
  type VoteSupport,
} from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { address, id, jsonArgument, protocolVerb, toJson, uint } from './protocol.ts';

interface ProposalFlags {
  param?: ParamName;
  value?: bigint;
  grant?: Address;
  amount?: bigint;
  reason?: string;
  description?: string;
  proposalFile?: string;
}

function paramName(value: string): ParamName {
  if (!(PARAM_NAMES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`unknown parameter; one of: ${PARAM_NAMES.join(', ')}`);
  return value as ParamName;
}

/** The options that say which proposal: a parameter change or a grant, and its description. */
function withProposalOptions(command: Command, fileHelp: string): Command {
  return command
    .addOption(
      new Option(
        '--param <name>',
        'a parameter change: the ProtocolParams name, e.g. datanet.challengeWindow',
      )
        .argParser(paramName)
        .conflicts('grant'),
    )
    .option('--value <n>', 'the new value, as stored (seconds, basis points or wei)', uint)
    .option('--grant <to>', 'a treasury grant: the recipient', address)
    .option('--amount <open>', 'the grant amount, e.g. 1000 or 0.5', amountOfOpen)
    .option('--reason <text>', 'the grant reason (recorded on-chain)')
    .option('--description <text>', 'the proposal description (default: generated from the flags)')
    .option('--proposal-file <path>', fileHelp);
}

/** The proposal the flags describe (queue/execute also read it from --proposal-file). */
async function proposalFromFlags(flags: ProposalFlags, readFile: boolean): Promise<Proposal> {
  if (readFile && flags.proposalFile !== undefined && flags.param === undefined && flags.grant === undefined)
    return readProposal(await jsonArgument(flags.proposalFile, '--proposal-file'));
  if (flags.param !== undefined) {
    if (flags.value === undefined) throw new Error('--param needs --value <n>');
    return paramChangeProposal(flags.param, flags.value, flags.description);
  }
  if (flags.grant !== undefined) {
    if (flags.amount === undefined || flags.reason === undefined)
      throw new Error('--grant needs --amount <open> and --reason <text>');
    return grantProposal(flags.grant, flags.amount, flags.reason, flags.description);
  }
  throw new Error(
    readFile
      ? 'pass --proposal-file <path>, --param <name> --value <n>, or --grant <to> --amount <open> --reason <text>'
      : 'pass --param <name> --value <n>, or --grant <to> --amount <open> --reason <text>',
  );
}

function readProposal(json: unknown): Proposal {
  const o = (json ?? {}) as Record<string, unknown>;
  const strings = (key: string): string[] => {
    const value = o[key];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
      throw new Error(`--proposal-file: "${key}" must be an array of strings`);
    return value as string[];
  };
  const targets = strings('targets').map((t) => address(t));
  const values = strings('values').map((v) => uint(v));
  const calldatas = strings('calldatas').map((c) => {
    if (!isHex(c)) throw new Error('--proposal-file: calldatas must be hex');
    return c as Hex;
  });
  if (typeof o.description !== 'string') throw new Error('--proposal-file: no "description"');
  return { targets, values, calldatas, description: o.description };
}

/** `openledger gov propose|vote|queue|execute`. */
export function govCommand(): Command {
  const gov = new Command('gov').description(
    'governance: proposals through the OpenGovernor and the Timelock',
  );

  gov.addCommand(
    protocolVerb<ProposalFlags>(
      withProposalOptions(
        new Command('propose').description(
          'propose a parameter change (--param/--value) or a treasury grant (--grant/--amount/--reason)',
        ),
        'also write the proposal (for queue and execute) to this file',
      ),
      async ({ conn, flags }) => {
        const p = await proposalFromFlags(flags, false);
        const result =
          flags.param !== undefined
            ? await proposeParamChange(conn, flags.param, flags.value!, p.description)
            : flags.grant !== undefined
              ? await proposeGrant(conn, flags.grant, flags.amount!, flags.reason!, p.description)
              : await propose(conn, p);
        const { proposal, ...rest } = result;
        const file = { proposalId: rest.proposalId, ...proposal, descriptionHash: rest.descriptionHash };
        if (flags.proposalFile) await writeFile(flags.proposalFile, `${toJson(file, 2)}\n`);
        return { ...rest, ...proposal, ...(flags.proposalFile && { proposalFile: flags.proposalFile }) };
      },
    ),
  );

  gov.addCommand(
    protocolVerb<{ reason?: string }>(
      new Command('vote')
        .description("vote on an active proposal with the signer's delegated GOPEN")
        .argument('<proposalId>', 'the proposal', id)
        .argument('<support>', 'for, against or abstain', (value: string) => {
          if (!(value in VOTE_SUPPORT)) throw new InvalidArgumentError('expected for, against or abstain');
          return value as VoteSupport;
        })
        .option('--reason <text>', 'a reason, recorded in the event'),
      async ({ conn, flags, args }) => {
        const proposalId = args[0] as bigint;
        const result = await castVote(conn, {
          proposalId,
          support: args[1] as VoteSupport,
          ...(flags.reason && { reason: flags.reason }),
        });
        return { ...result, state: await proposalState(conn, proposalId) };
      },
    ),
  );

  for (const [name, run, help] of [
    ['queue', queue, 'queue a succeeded proposal in the Timelock'],
    ['execute', execute, 'execute a queued proposal once the Timelock delay has passed'],
  ] as const) {
    gov.addCommand(
      protocolVerb<ProposalFlags>(
        withProposalOptions(
          new Command(name).description(
            `${help}; name it with the flags it was proposed with, or --proposal-file`,
          ),
          'the file `gov propose --proposal-file` wrote',
        ),
        async ({ conn, flags }) => {
          const p = await proposalFromFlags(flags, true);
          const result = await run(conn, p);
          const proposalId = await proposalIdOf(conn, p);
          return {
            ...result,
            proposalId,
            descriptionHash: descriptionHash(p.description),
            state: await proposalState(conn, proposalId),
          };
        },
      ),
    );
  }

  return gov;
}
