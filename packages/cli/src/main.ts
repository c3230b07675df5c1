import { Command, CommanderError } from 'commander';
import { devnetCommand } from './commands/devnet.ts';
import { exportCommand } from './commands/export.ts';
import { importCommand } from './commands/import.ts';

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
