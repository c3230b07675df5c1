import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolved from this file rather than process.cwd(), so that loading artifacts works the same from the
// repository root, from a workspace directory, and from a test worker.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Directory holding this package's .sol sources. */
export const defaultSourcesDir = resolve(packageRoot, 'solidity');

/** Directory holding the compiled-artifact cache (git-ignored). */
export const defaultArtifactsDir = resolve(packageRoot, 'artifacts');
