import { loadBuild } from '@openledger/contracts';

/**
 * Compiles the contracts once before any test file runs: every devnet a test starts builds its
 * genesis from them, and parallel test files would otherwise each run solc on a cold cache.
 */
export default async function setup(): Promise<void> {
  await loadBuild();
}
