import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import type { ImportResult } from './solc.ts';

// Resolving from this module finds packages installed for this workspace or hoisted above it, wherever
// node_modules ends up, without hard-coding a path.
const require = createRequire(import.meta.url);

/**
 * Finds the file for an import solc could not satisfy from the given sources: first relative to
 * baseDir (sibling files that were not passed in), then as an npm package path such as
 * `@openzeppelin/contracts/token/ERC20/ERC20.sol`. Returns undefined when neither exists.
 */
export function resolveImportPath(importPath: string, baseDir: string): string | undefined {
  if (!isAbsolute(importPath)) {
    const local = resolve(baseDir, importPath);
    if (statSync(local, { throwIfNoEntry: false })?.isFile()) return local;
  }
  try {
    return require.resolve(importPath);
  } catch {
    return undefined;
  }
}

/** solc's import callback: must be synchronous, and reports failures as `{ error }` rather than throwing. */
export function readImport(importPath: string, baseDir: string): ImportResult {
  const file = resolveImportPath(importPath, baseDir);
  if (file === undefined)
    return { error: `File not found: ${importPath} (looked in ${baseDir} and node_modules)` };
  return { contents: readFileSync(file, 'utf8') };
}
