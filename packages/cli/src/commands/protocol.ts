import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { getAddress, isAddress, isHex, type Account, type Address, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { connect, ProtocolTxError, shortMessage, type Connection } from '@openledger/sdk';
import { privateKey } from '../options.ts';

/** The devnet's well-known mnemonic; `--dev-account i` signs with its account i. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_RPC = 'http://127.0.0.1:8545';

/** Flags every protocol verb takes. */
export interface ConnectionFlags {
  rpc: string;
  privateKey?: string;
  devAccount?: number;
}

// ---------------------------------------------------------------- parsers

export function address(value: string): Address {
  if (!isAddress(value, { strict: false }))
    throw new InvalidArgumentError(`expected a 0x-prefixed 20-byte hex address, got "${value}"`);
  return getAddress(value);
}

export function bytes32(value: string): Hex {
  if (!isHex(value) || value.length !== 66)
    throw new InvalidArgumentError(`expected a 0x-prefixed 32-byte hex value, got "${value}"`);
  return value.toLowerCase() as Hex;
}

/** A non-negative whole number as a bigint (ids, counts, raw parameter values). */
export function uint(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return BigInt(value);
}

/** An id: a whole number from 1. */
export function id(value: string): bigint {
  const n = uint(value);
  if (n === 0n) throw new InvalidArgumentError('ids start at 1, got 0');
  return n;
}

function devAccountIndex(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 31 - 1)
    throw new InvalidArgumentError(`expected an account index (0, 1, 2, ...), got "${value}"`);
  return Number(value);
}

// ---------------------------------------------------------------- verbs

/** The signer the flags name: --private-key, else --dev-account, else $OPENLEDGER_PRIVATE_KEY. */
export function signerFrom(flags: ConnectionFlags): Account {
  if (flags.privateKey !== undefined && flags.devAccount !== undefined)
    throw new Error('pass either --private-key or --dev-account, not both');
  if (flags.privateKey !== undefined) return privateKeyToAccount(privateKey(flags.privateKey));
  if (flags.devAccount !== undefined)
    return mnemonicToAccount(DEV_MNEMONIC, { addressIndex: flags.devAccount });
  const env = process.env.OPENLEDGER_PRIVATE_KEY;
  if (env) {
    try {
      return privateKeyToAccount(privateKey(env.trim()));
    } catch (error) {
      throw new Error(`OPENLEDGER_PRIVATE_KEY: ${(error as Error).message}`);
    }
  }
  throw new Error(
    'no signer: pass --private-key <hex>, set OPENLEDGER_PRIVATE_KEY, or pass --dev-account <i> (devnet)',
  );
}

async function connectWith(flags: ConnectionFlags): Promise<Connection> {
  const account = signerFrom(flags);
  try {
    return await connect({ url: flags.rpc, account });
  } catch (error) {
    throw new Error(`cannot reach the node at ${flags.rpc}: ${shortMessage(error)}`, { cause: error });
  }
}

function addConnectionOptions(command: Command): Command {
  return command
    .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
    .addOption(
      new Option('--private-key <hex>', 'sign with this key (default: $OPENLEDGER_PRIVATE_KEY)').argParser(
        (value: string) => privateKey(value),
      ),
    )
    .option('--dev-account <i>', "sign with the devnet mnemonic's account i", devAccountIndex);
}

export interface VerbContext<F> {
  conn: Connection;
  flags: F & ConnectionFlags;
  /** The positional arguments, parsed. */
  args: unknown[];
  command: Command;
}

/**
 * Makes `command` a protocol verb: adds --rpc / --private-key / --dev-account, connects with the
 * signer, runs `handler` and prints what it returns as one JSON object (bigints as decimal strings).
 */
export function protocolVerb<F>(
  command: Command,
  handler: (ctx: VerbContext<F>) => Promise<object>,
): Command {
  addConnectionOptions(command);
  return command.action(async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const flags = cmd.opts<F & ConnectionFlags>();
    const conn = await connectWith(flags);
    printJson(await handler({ conn, flags, args: cmd.processedArgs as unknown[], command: cmd }));
  });
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** A JSON argument given inline (starting with "{") or as the path of a file holding it. */
export async function jsonArgument(value: string, what: string): Promise<unknown> {
  const text = value.trimStart().startsWith('{')
    ? value
    : await readFile(value, 'utf8').catch(() => {
        throw new Error(`${what}: no such file "${value}" (pass the JSON itself or a file holding it)`);
      });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${what}: not valid JSON`);
  }
}

/** A one-line message for anything thrown (viem's errors are several paragraphs long). */
export function errorMessage(error: unknown): string {
  if (error instanceof ProtocolTxError) return error.message;
  return shortMessage(error);
}
