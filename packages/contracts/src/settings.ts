import type { CompilerSettings } from './solc.ts';

export interface CompileOptions {
  /**
   * Directory that file paths are made relative to (giving the source unit names) and that non-package
   * imports are resolved against. Defaults to the current working directory, like the solc CLI.
   */
  baseDir?: string;
  /** Optimizer runs; the optimizer is always on. Default 200. */
  optimizerRuns?: number;
  /** Target EVM. Default `prague`, the fork the chain runs. */
  evmVersion?: string;
}

/**
 * The settings solc gets. Output is selected only for the given source units, so imported library
 * contracts (OpenZeppelin) are compiled as dependencies but produce no artifacts of their own.
 * Also part of the artifact cache key, so a settings change invalidates the cache.
 */
export function compilerSettings(sourceNames: string[], options: CompileOptions = {}): CompilerSettings {
  const outputs = ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'];
  return {
    optimizer: { enabled: true, runs: options.optimizerRuns ?? 200 },
    evmVersion: options.evmVersion ?? 'prague',
    outputSelection: Object.fromEntries([...sourceNames].sort().map((name) => [name, { '*': outputs }])),
  };
}
