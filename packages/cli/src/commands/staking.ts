import { Command, InvalidArgumentError } from 'commander';
import type { Address } from 'viem';
import { delegateVotes, stake, unstake } from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { address, protocolVerb } from './protocol.ts';

/** `openledger stake <amount> --validator <address>`. */
export function stakeCommand(): Command {
  return protocolVerb<{ validator: Address }>(
    new Command('stake')
      .description('bond OPEN to a validator; the signer receives GOPEN voting power for it')
      .argument('<amount>', 'OPEN to stake, e.g. 100 or 0.5', amountOfOpen)
      .requiredOption('--validator <address>', 'the validator to bond to', address),
    async ({ conn, flags, args }) => stake(conn, { validator: flags.validator, amount: args[0] as bigint }),
  );
}

/** `openledger unstake <amount|all> --validator <address>`. */
export function unstakeCommand(): Command {
  return protocolVerb<{ validator: Address }>(
    new Command('unstake')
      .description('start unbonding stake from a validator (withdrawable after staking.unbondingPeriod)')
      .argument('<amount>', 'OPEN to unbond, or "all"', (value: string) => {
        if (value === 'all') return 'all';
        try {
          return amountOfOpen(value);
        } catch {
          throw new InvalidArgumentError('expected an amount of OPEN such as 10 or 0.5, 5wei, or "all"');
        }
      })
      .requiredOption('--validator <address>', 'the validator bonded to', address),
    async ({ conn, flags, args }) =>
      unstake(conn, { validator: flags.validator, amount: args[0] as bigint | 'all' }),
  );
}

/** `openledger delegate <address>`. */
export function delegateCommand(): Command {
  return protocolVerb(
    new Command('delegate')
      .description("delegate the signer's GOPEN votes (its own address to vote directly)")
      .argument('<delegatee>', 'who votes with them', address),
    async ({ conn, args }) => delegateVotes(conn, { delegatee: args[0] as Address }),
  );
}
