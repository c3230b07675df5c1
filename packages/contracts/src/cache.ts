import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompileResult, SourceMap } from './compile.ts';
import { resolveImportPath } from './imports.ts';
import type { CompilerSettings } from './solc.ts';
import type { Artifact, Diagnostic } from './types.ts';

// Bump when the entry layout changes, so old entries are ignored rather than misread.
const CACHE_FORMAT = 1;

/** What one compile of a source tree leaves on disk, in `<artifactsDir>/build-<key>.json`. */
export interface CacheEntry {
  format: typeof CACHE_FORMAT;
  key: string;
  solcVersion: string;
  artifacts: Artifact[];
  warnings: Diagnostic[];
  /** sha256 of each imported source, since the key only covers the local sources. */
  imports: Record<string, string>;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Identifies a compile: every local source, the compiler version and the full compiler settings. */
export function cacheKey(sources: SourceMap, settings: CompilerSettings, solcVersion: string): string {
  const sorted = Object.entries(sources).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return hashText(JSON.stringify({ format: CACHE_FORMAT, solcVersion, settings, sources: sorted }));
}

export function entryFromCompile(key: string, result: CompileResult): CacheEntry {
  const imports = Object.entries(result.importedSources).map(([path, text]) => [path, hashText(text)]);
  return {
    format: CACHE_FORMAT,
    key,
    solcVersion: result.solcVersion,
    artifacts: result.artifacts,
    warnings: result.warnings,
    imports: Object.fromEntries(imports),
  };
}

/** The entry for key, or undefined when it is missing or unreadable (both mean: compile again). */
export async function readCacheEntry(dir: string, key: string): Promise<CacheEntry | undefined> {
  let text: string;
  try {
    text = await readFile(entryPath(dir, key), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const entry = JSON.parse(text) as Partial<CacheEntry>;
    return entry.format === CACHE_FORMAT && entry.key === key ? (entry as CacheEntry) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when every import still resolves to the same text, e.g. OpenZeppelin was not upgraded.
 * Reads a handful of small files, far cheaper than loading solc.
 */
export function importsUnchanged(imports: Record<string, string>, baseDir: string): boolean {
  return Object.entries(imports).every(([importPath, hash]) => {
    const file = resolveImportPath(importPath, baseDir);
    return file !== undefined && hashText(readFileSync(file, 'utf8')) === hash;
  });
}

/**
 * Writes the entry atomically: parallel test processes may compile and write the same key at once,
 * and a reader must never see a half-written file. rename() within one directory is atomic, so the
 * last writer wins with a complete file. Entries for other keys are then removed as stale.
 */
export async function writeCacheEntry(dir: string, entry: CacheEntry): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = entryPath(dir, entry.key);
  const temp = `${target}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(entry, null, 2));
    await rename(temp, target);
  } finally {
    await rm(temp, { force: true });
  }
  await pruneOtherEntries(dir, entry.key);
}

async function pruneOtherEntries(dir: string, keep: string): Promise<void> {
  const keepName = `build-${keep}.json`;
  const stale = (await readdir(dir)).filter((f) => /^build-[0-9a-f]+\.json$/.test(f) && f !== keepName);
  // force: another process may be pruning the same files.
  await Promise.all(stale.map((f) => rm(join(dir, f), { force: true })));
}

function entryPath(dir: string, key: string): string {
  return join(dir, `build-${key}.json`);
}
