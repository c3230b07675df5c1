import type { Diagnostic } from './types.ts';

/** Thrown when solc reports at least one error; `diagnostics` keeps the structured messages. */
export class SolidityCompileError extends Error {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    // The formatted messages already say `--> file.sol:line:column` and quote the source line,
    // which is what someone reading a failed test needs.
    const details = diagnostics.map((d) => d.formattedMessage ?? `${d.type}: ${d.message}`).join('\n');
    super(`Solidity compilation failed with ${diagnostics.length} error(s):\n${details}`);
    this.name = 'SolidityCompileError';
    this.diagnostics = diagnostics;
  }
}
