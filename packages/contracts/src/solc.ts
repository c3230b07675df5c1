import { createRequire } from 'node:module';
import type { Diagnostic } from './types.ts';

// solc ships its own typings, but they type everything as `any`; these interfaces cover the part of
// the standard-JSON protocol this package uses, so the rest of the code stays typed.

export interface CompilerSettings {
  optimizer: { enabled: boolean; runs: number };
  evmVersion: string;
  outputSelection: Record<string, Record<string, string[]>>;
}

export interface SolcInput {
  language: 'Solidity';
  sources: Record<string, { content: string }>;
  settings: CompilerSettings;
}

export interface SolcContractOutput {
  abi?: unknown[];
  evm?: { bytecode?: { object?: string }; deployedBytecode?: { object?: string } };
}

export interface SolcOutput {
  errors?: Diagnostic[];
  contracts?: Record<string, Record<string, SolcContractOutput>>;
}

export type ImportResult = { contents: string } | { error: string };

export type ImportCallback = (path: string) => ImportResult;

interface SolcCompiler {
  version(): string;
  compile(input: string, callbacks?: { import: ImportCallback }): string;
}

const require = createRequire(import.meta.url);

/**
 * Version of the bundled compiler, read from solc's package.json. Cheap, unlike loading the compiler
 * itself (a 9 MB emscripten module), which is why cache lookups use this instead of `version()`.
 */
export function solcPackageVersion(): string {
  const pkg = require('solc/package.json') as { version: string };
  return pkg.version;
}

let compiler: Promise<SolcCompiler> | undefined;

/** Loads solc-js with the soljson bundled in the npm package (never a downloaded compiler), once per process. */
export function loadSolc(): Promise<SolcCompiler> {
  compiler ??= import('solc').then((mod): SolcCompiler => mod.default);
  return compiler;
}
