import { Command, InvalidArgumentError } from 'commander';
import { registerAgent } from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { address, protocolVerb, uint } from './protocol.ts';

interface RegisterFlags {
  limit: bigint;
  period: bigint;
  models: bigint[];
}

function modelIds(value: string, previous: bigint[]): bigint[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^[1-9]\d*$/.test(s)))
    throw new InvalidArgumentError(`expected model ids such as 1 or 1,2, got "${value}"`);
  return [...previous, ...ids.map(BigInt)];
}

/** `openledger agent register`. */
export function agentCommand(): Command {
  const agent = new Command('agent').description('autonomous agents and their spending rules');
  agent.addCommand(
    protocolVerb<RegisterFlags>(
      new Command('register')
        .description("register an address as the signer's agent, with a spending limit per period")
        .argument('<agent>', "the agent's address", address)
        .requiredOption('--limit <open>', 'OPEN it may spend per period', amountOfOpen)
        .requiredOption('--period <seconds>', 'period length in seconds', (value: string) => {
          const n = uint(value);
          if (n === 0n || n >= 2n ** 64n)
            throw new InvalidArgumentError('expected a period of at least 1 second');
          return n;
        })
        .option(
          '--models <ids>',
          'models it may pay for, comma-separated (repeatable; default: any)',
          modelIds,
          [],
        ),
      async ({ conn, flags, args }) =>
        registerAgent(conn, {
          agent: args[0] as `0x${string}`,
          limitPerPeriod: flags.limit,
          period: flags.period,
          allowedModels: flags.models,
        }),
    ),
  );
  return agent;
}
