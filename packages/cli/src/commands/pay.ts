import { Command, Option } from 'commander';
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';
import { deposit, issueVoucher, redeemVoucher, verifyVoucher, type Voucher } from '@openledger/sdk';
import { amountOfOpen } from '../options.ts';
import { address, id, jsonArgument, protocolVerb, uint } from './protocol.ts';

interface VoucherFlags {
  redeem?: string;
  node?: Address;
  model?: bigint;
  amount?: bigint;
  deadline?: bigint;
  ttl: bigint;
}

/** `openledger pay deposit|voucher`. */
export function payCommand(): Command {
  const pay = new Command('pay').description('inference payments: deposits and vouchers');

  pay.addCommand(
    protocolVerb<{ for?: Address }>(
      new Command('deposit')
        .description("add OPEN to an InferencePayments deposit (the signer's own unless --for)")
        .argument('<amount>', 'OPEN to deposit, e.g. 10, 0.5 or 5wei', amountOfOpen)
        .option('--for <address>', 'fund this payer instead (an agent, a user)', address),
      async ({ conn, flags, args }) =>
        deposit(conn, { amount: args[0] as bigint, ...(flags.for && { payer: flags.for }) }),
    ),
  );

  pay.addCommand(
    protocolVerb<VoucherFlags>(
      new Command('voucher')
        .description(
          'sign a voucher as the payer and print it with its signature as JSON, or with --redeem submit a signed one',
        )
        .option('--node <address>', 'the node serving the queries (sign)', address)
        .option('--model <modelId>', 'the model queried (sign)', id)
        .option(
          '--amount <open>',
          'cumulative amount the channel may charge in total, not the increment (sign)',
          amountOfOpen,
        )
        .addOption(
          new Option('--deadline <unix>', 'last second it can be redeemed (sign)')
            .argParser(uint)
            .conflicts('ttl'),
        )
        .addOption(
          new Option('--ttl <seconds>', 'or: valid for this long after the latest block (sign)')
            .argParser(uint)
            .default(86_400n, '86400, a day'),
        )
        .option(
          '--redeem <voucher>',
          'redeem this signed voucher (the JSON the sign form prints, inline or a file path), from the signer',
        ),
      async ({ conn, flags }) => {
        if (flags.redeem !== undefined) {
          const signed = parseSignedVoucher(await jsonArgument(flags.redeem, '--redeem'));
          if (
            !(await verifyVoucher(
              signed.voucher,
              signed.signature,
              conn.chainId,
              conn.contracts.payments.address,
            ))
          )
            throw new Error("the signature is not the payer's signature of this voucher on this chain");
          return redeemVoucher(conn, signed);
        }
        if (!flags.node || flags.model === undefined || flags.amount === undefined)
          throw new Error(
            'to sign a voucher pass --node, --model and --amount (or --redeem <voucher> to submit one)',
          );
        // Chain time, which a devnet may have moved ahead of the wall clock.
        const deadline = flags.deadline ?? (await conn.publicClient.getBlock()).timestamp + flags.ttl;
        return issueVoucher(conn, {
          node: flags.node,
          modelId: flags.model,
          cumulativeAmount: flags.amount,
          deadline,
        });
      },
    ),
  );

  return pay;
}

function parseSignedVoucher(json: unknown): { voucher: Voucher; signature: Hex } {
  const fail = (what: string): never => {
    throw new Error(
      `--redeem: ${what} (expected {"voucher": {payer, node, modelId, cumulativeAmount, deadline}, "signature"})`,
    );
  };
  const o = (json ?? {}) as { voucher?: Record<string, unknown>; signature?: unknown };
  const v = o.voucher ?? fail('no voucher');
  const addr = (key: string): Address => {
    const value = v[key];
    return typeof value === 'string' && isAddress(value, { strict: false })
      ? getAddress(value)
      : fail(`bad ${key}`);
  };
  const num = (key: string): bigint => {
    const value = v[key];
    return (typeof value === 'string' && /^\d+$/.test(value)) ||
      (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)
      ? BigInt(value)
      : fail(`bad ${key}`);
  };
  const voucher: Voucher = {
    payer: addr('payer'),
    node: addr('node'),
    modelId: num('modelId'),
    cumulativeAmount: num('cumulativeAmount'),
    deadline: num('deadline'),
  };
  const signature =
    typeof o.signature === 'string' && isHex(o.signature) ? o.signature : fail('bad signature');
  return { voucher, signature };
}
