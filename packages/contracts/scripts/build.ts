// Compiles every contract under solidity/ into the artifact cache and prints a summary.
// Usage: npm run build -w @openledger/contracts [-- --force]
import { relative } from 'node:path';
import { defaultArtifactsDir, loadBuild } from '../src/index.ts';

const force = process.argv.includes('--force');
const started = performance.now();
const build = await loadBuild({ force });
const elapsed = Math.round(performance.now() - started);

for (const warning of build.warnings) console.warn(warning.formattedMessage ?? warning.message);

const verb = build.origin === 'compiled' ? 'Compiled' : 'Up to date (cache),';
console.log(`${verb} ${build.artifacts.length} contracts with solc ${build.solcVersion} in ${elapsed} ms`);
for (const a of build.artifacts) {
  const size = (a.deployedBytecode.length - 2) / 2;
  console.log(
    `  ${`${a.sourceName}:${a.contractName}`.padEnd(40)} ${String(size).padStart(6)} bytes deployed`,
  );
}
console.log(
  `Artifacts: ${relative(process.cwd(), defaultArtifactsDir)}/build-${build.key.slice(0, 12)}….json`,
);
