import { readdir, readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { SourceMap } from './compile.ts';

/**
 * Reads every .sol file under dir, keyed by its path relative to dir with forward slashes
 * (`test/TestToken.sol`). Sorted, so the same tree always gives the same map and cache key.
 */
export async function readSourceTree(dir: string): Promise<SourceMap> {
  const files = (await readdir(dir, { recursive: true })).filter((file) => file.endsWith('.sol')).sort();
  const contents = await Promise.all(files.map((file) => readFile(join(dir, file), 'utf8')));
  return Object.fromEntries(files.map((file, i) => [file.split(sep).join('/'), contents[i] ?? '']));
}
