import { resolve } from 'node:path';
import {
  cacheKey,
  entryFromCompile,
  importsUnchanged,
  readCacheEntry,
  writeCacheEntry,
  type CacheEntry,
} from './cache.ts';
import { compileSolidity } from './compile.ts';
import { defaultArtifactsDir, defaultSourcesDir } from './paths.ts';
import { compilerSettings, type CompileOptions } from './settings.ts';
import { solcPackageVersion } from './solc.ts';
import { readSourceTree } from './sources.ts';
import type { Artifact, Diagnostic } from './types.ts';

export interface LoadOptions {
  /** Root of the .sol tree to compile. Default: this package's `solidity/`. */
  sourcesDir?: string;
  /** Where the cache lives. Default: this package's `artifacts/`. */
  artifactsDir?: string;
  /** Compiler settings (baseDir is always sourcesDir). */
  compiler?: Omit<CompileOptions, 'baseDir'>;
  /** Compile even if a cache entry exists. */
  force?: boolean;
  /** Reuse builds already loaded in this process. Default true; tests turn it off to exercise the disk cache. */
  memoize?: boolean;
}

export interface Build {
  key: string;
  solcVersion: string;
  artifacts: Artifact[];
  warnings: Diagnostic[];
  /** Where the artifacts came from: this process's memory, the disk cache, or a fresh solc run. */
  origin: 'memory' | 'disk' | 'compiled';
}

const loaded = new Map<string, Promise<Build>>();

/**
 * Compiles a source tree, or returns its cached artifacts. The sources are read and hashed on every
 * call (a few kB), so an edited source is always picked up, while an unchanged tree never loads solc.
 */
export async function loadBuild(options: LoadOptions = {}): Promise<Build> {
  const sourcesDir = resolve(options.sourcesDir ?? defaultSourcesDir);
  const artifactsDir = resolve(options.artifactsDir ?? defaultArtifactsDir);
  const compileOptions: CompileOptions = { ...options.compiler, baseDir: sourcesDir };
  const sources = await readSourceTree(sourcesDir);
  const key = cacheKey(sources, compilerSettings(Object.keys(sources), compileOptions), solcPackageVersion());

  const memoKey = `${artifactsDir}\0${sourcesDir}\0${key}`;
  const reuse = options.memoize !== false && options.force !== true;
  const previous = reuse ? loaded.get(memoKey) : undefined;
  if (previous) return { ...(await previous), origin: 'memory' };

  const pending = (async (): Promise<Build> => {
    if (options.force !== true) {
      const entry = await readCacheEntry(artifactsDir, key);
      if (entry && importsUnchanged(entry.imports, sourcesDir)) return toBuild(entry, 'disk');
    }
    const result = await compileSolidity(sources, compileOptions);
    const entry = entryFromCompile(key, result);
    await writeCacheEntry(artifactsDir, entry);
    return toBuild(entry, 'compiled');
  })();

  if (options.memoize !== false) {
    loaded.set(memoKey, pending);
    // A failed compile must not stick: the next call should try again (after the source is fixed).
    pending.catch(() => {
      if (loaded.get(memoKey) === pending) loaded.delete(memoKey);
    });
  }
  return pending;
}

/**
 * One contract by name (`TestToken`) or fully qualified name (`test/TestToken.sol:TestToken`),
 * compiled on first use and cached on disk afterwards.
 */
export async function loadArtifact(name: string, options: LoadOptions = {}): Promise<Artifact> {
  const { artifacts } = await loadBuild(options);
  const matches = artifacts.filter(
    (a) => a.contractName === name || `${a.sourceName}:${a.contractName}` === name,
  );
  const [match] = matches;
  if (matches.length === 1 && match) return match;
  const names = artifacts.map((a) => `${a.sourceName}:${a.contractName}`).join(', ');
  if (matches.length === 0) throw new Error(`No contract named ${name}; available: ${names}`);
  throw new Error(`Contract name ${name} is ambiguous; use a fully qualified name (${names})`);
}

/** Every contract defined in the source tree, sorted by source unit then contract name. */
export async function loadAllArtifacts(options: LoadOptions = {}): Promise<Artifact[]> {
  return (await loadBuild(options)).artifacts;
}

function toBuild(entry: CacheEntry, origin: Build['origin']): Build {
  return {
    key: entry.key,
    solcVersion: entry.solcVersion,
    artifacts: entry.artifacts,
    warnings: entry.warnings,
    origin,
  };
}
