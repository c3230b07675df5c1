import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { SolidityCompileError } from './errors.ts';
import { readImport } from './imports.ts';
import { compilerSettings, type CompileOptions } from './settings.ts';
import { loadSolc, type SolcContractOutput, type SolcInput, type SolcOutput } from './solc.ts';
import type { Abi, Artifact, Diagnostic, Hex } from './types.ts';

/** Source unit name (e.g. `test/TestToken.sol`) to Solidity source text. */
export type SourceMap = Record<string, string>;

export interface CompileResult {
  /** Every contract defined in the given sources (not in their imports), sorted by source then name. */
  artifacts: Artifact[];
  /** Warnings and infos; errors are thrown instead. */
  warnings: Diagnostic[];
  /** Full compiler version, e.g. `0.8.37+commit.f401782d.Emscripten.clang`. */
  solcVersion: string;
  /** Sources pulled in through imports (source unit name to text), so callers can fingerprint them. */
  importedSources: SourceMap;
}

/**
 * Compiles Solidity with the bundled solc-js via standard JSON. `input` is either a list of file paths
 * (named relative to `options.baseDir`) or a map of source unit names to source text.
 * Throws SolidityCompileError if solc reports any error.
 */
export async function compileSolidity(
  input: string[] | SourceMap,
  options: CompileOptions = {},
): Promise<CompileResult> {
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const sources = Array.isArray(input) ? await readSourceFiles(input, baseDir) : input;
  const sourceNames = Object.keys(sources);
  if (sourceNames.length === 0) throw new Error('compileSolidity: no sources given');

  const solcInput: SolcInput = {
    language: 'Solidity',
    sources: Object.fromEntries(sourceNames.map((name) => [name, { content: sources[name] ?? '' }])),
    settings: compilerSettings(sourceNames, options),
  };

  const importedSources: SourceMap = {};
  const solc = await loadSolc();
  const output = JSON.parse(
    solc.compile(JSON.stringify(solcInput), {
      import: (path) => {
        const result = readImport(path, baseDir);
        if ('contents' in result) importedSources[path] = result.contents;
        return result;
      },
    }),
  ) as SolcOutput;

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new SolidityCompileError(errors);

  return {
    artifacts: collectArtifacts(output),
    warnings: diagnostics.filter((d) => d.severity !== 'error'),
    solcVersion: solc.version(),
    importedSources,
  };
}

async function readSourceFiles(files: string[], baseDir: string): Promise<SourceMap> {
  const entries = await Promise.all(
    files.map(async (file) => {
      const absolute = resolve(baseDir, file);
      // solc source unit names use forward slashes on every platform.
      return [relative(baseDir, absolute).split(sep).join('/'), await readFile(absolute, 'utf8')] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function collectArtifacts(output: SolcOutput): Artifact[] {
  const artifacts: Artifact[] = [];
  for (const [sourceName, contracts] of Object.entries(output.contracts ?? {}).sort(byKey)) {
    for (const [contractName, contract] of Object.entries(contracts).sort(byKey)) {
      artifacts.push(toArtifact(sourceName, contractName, contract));
    }
  }
  return artifacts;
}

function toArtifact(sourceName: string, contractName: string, contract: SolcContractOutput): Artifact {
  return {
    contractName,
    sourceName,
    // solc's ABI JSON is the format viem's Abi type describes.
    abi: (contract.abi ?? []) as Abi,
    bytecode: toHex(contract.evm?.bytecode?.object),
    deployedBytecode: toHex(contract.evm?.deployedBytecode?.object),
  };
}

// Unlinked library references would show up as `__$...$__` placeholders here; these contracts use no
// external libraries, so the objects are always plain hex.
function toHex(object: string | undefined): Hex {
  return `0x${object ?? ''}`;
}

function byKey([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
