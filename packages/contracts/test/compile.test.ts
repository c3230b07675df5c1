import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compileSolidity,
  defaultSourcesDir,
  loadAllArtifacts,
  loadArtifact,
  loadBuild,
  SolidityCompileError,
  type Artifact,
} from '../src/index.ts';
import { readSourceTree } from '../src/sources.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let tmp: string;
/** A source tree of just the two test fixtures: the cache tests compile it from scratch, and the full tree takes solc-js a minute. */
let fixturesDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'openledger-contracts-'));
  fixturesDir = join(tmp, 'fixtures');
  await mkdir(join(fixturesDir, 'test'), { recursive: true });
  for (const name of ['Playground.sol', 'TestToken.sol']) {
    await copyFile(join(defaultSourcesDir, 'test', name), join(fixturesDir, 'test', name));
  }
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function abiNames(artifact: Artifact, type: string): string[] {
  return artifact.abi.flatMap((item) => (item.type === type && 'name' in item ? [item.name] : []));
}

function find(artifacts: Artifact[], name: string): Artifact {
  const artifact = artifacts.find((a) => a.contractName === name);
  if (!artifact) throw new Error(`missing ${name}`);
  return artifact;
}

const counter = (step: number) => `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Counter {
    uint256 public count;
    function bump() external { count += ${step}; }
}
`;

describe('compileSolidity', () => {
  it('compiles the fixtures to non-empty bytecode with the expected ABI', async () => {
    // Only the two fixtures: the protocol contracts take solc-js a minute, and the build cache covers them.
    const tree = await readSourceTree(defaultSourcesDir);
    const sources = Object.fromEntries(
      Object.entries(tree).filter(
        ([name]) => name === 'test/Playground.sol' || name === 'test/TestToken.sol',
      ),
    );
    const { artifacts, warnings, solcVersion } = await compileSolidity(sources, {
      baseDir: defaultSourcesDir,
    });

    expect(solcVersion).toMatch(/^0\.8\.37\+commit/);
    expect(warnings).toEqual([]);
    expect(artifacts.map((a) => `${a.sourceName}:${a.contractName}`)).toEqual([
      'test/Playground.sol:Playground',
      'test/TestToken.sol:TestToken',
    ]);
    for (const artifact of artifacts) {
      expect(artifact.bytecode).toMatch(/^0x([0-9a-f]{2})+$/);
      expect(artifact.deployedBytecode).toMatch(/^0x([0-9a-f]{2})+$/);
    }

    const token = find(artifacts, 'TestToken');
    const constructor = token.abi.find((item) => item.type === 'constructor');
    expect(constructor && 'inputs' in constructor && constructor.inputs.map((i) => i.type)).toEqual([
      'string',
      'string',
      'uint256',
    ]);
    expect(abiNames(token, 'function')).toEqual(
      expect.arrayContaining(['balanceOf', 'transfer', 'approve', 'transferFrom', 'totalSupply', 'decimals']),
    );

    const playground = find(artifacts, 'Playground');
    expect(abiNames(playground, 'function')).toEqual(
      expect.arrayContaining([
        'value',
        'setValue',
        'failWithReason',
        'failWithCustomError',
        'failEmpty',
        'slots',
        'fill',
        'clear',
        'burnGasThenCall',
        'needsGas',
        'emitMany',
        'blockInfo',
        'deposit',
      ]),
    );
    expect(abiNames(playground, 'event')).toEqual(expect.arrayContaining(['ValueChanged', 'Ping']));
    expect(abiNames(playground, 'error')).toEqual(['PlaygroundError']);
    expect(playground.abi.some((item) => item.type === 'receive')).toBe(true);
    const valueChanged = playground.abi.find((item) => item.type === 'event' && item.name === 'ValueChanged');
    expect(valueChanged && 'inputs' in valueChanged && valueChanged.inputs).toMatchObject([
      { name: 'who', type: 'address', indexed: true },
      { name: 'oldValue', type: 'uint256', indexed: true },
      { name: 'newValue', type: 'uint256', indexed: false },
    ]);
    const blockInfo = playground.abi.find((item) => item.type === 'function' && item.name === 'blockInfo');
    expect(blockInfo && 'outputs' in blockInfo && blockInfo.outputs.map((o) => o.type)).toEqual([
      'uint256',
      'uint256',
      'uint256',
      'address',
      'uint256',
      'bytes32',
    ]);
  });

  it('accepts file paths, naming sources relative to baseDir', async () => {
    const file = join(defaultSourcesDir, 'test', 'TestToken.sol');
    const { artifacts } = await compileSolidity([file], { baseDir: defaultSourcesDir });
    expect(artifacts.map((a) => `${a.sourceName}:${a.contractName}`)).toEqual([
      'test/TestToken.sol:TestToken',
    ]);
  });

  it('throws an error naming the file and line of a syntax error', async () => {
    const broken =
      'pragma solidity ^0.8.24;\n\ncontract Broken {\n    function f() external pure {\n        uint256 x = 1\n    }\n}\n';
    const attempt = compileSolidity({ 'bad/Broken.sol': broken });
    await expect(attempt).rejects.toThrow(SolidityCompileError);
    await expect(attempt).rejects.toThrow(/ParserError[\s\S]*bad\/Broken\.sol:6:/);
    await expect(attempt).rejects.toMatchObject({
      diagnostics: [{ severity: 'error', type: 'ParserError' }],
    });
  });

  it('reports an unresolvable import as an error', async () => {
    const source =
      'pragma solidity ^0.8.24;\nimport "@openzeppelin/contracts/NoSuchFile.sol";\ncontract A {}\n';
    await expect(compileSolidity({ 'A.sol': source }, { baseDir: tmp })).rejects.toThrow(/NoSuchFile\.sol/);
  });

  it('returns warnings instead of throwing', async () => {
    const source =
      '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\ncontract W {\n    function f() external pure { uint256 unused; }\n}\n';
    const { artifacts, warnings } = await compileSolidity({ 'W.sol': source });
    expect(artifacts).toHaveLength(1);
    expect(warnings).toEqual([expect.objectContaining({ severity: 'warning', type: 'Warning' })]);
    expect(warnings[0]?.formattedMessage).toMatch(/W\.sol:4:/);
  });
});

describe('artifact cache', () => {
  it('loads identical artifacts from disk on the second load, without recompiling', async () => {
    const artifactsDir = join(tmp, 'artifacts-fixtures');
    const first = await loadBuild({ sourcesDir: fixturesDir, artifactsDir, memoize: false });
    expect(first.origin).toBe('compiled');

    const started = performance.now();
    const second = await loadBuild({ sourcesDir: fixturesDir, artifactsDir, memoize: false });
    const elapsed = performance.now() - started;

    expect(second.origin).toBe('disk');
    expect(second.key).toBe(first.key);
    expect(second.artifacts).toEqual(first.artifacts);
    expect(elapsed).toBeLessThan(200);
  });

  it('recompiles when a source changes and drops the stale entry', async () => {
    const sourcesDir = join(tmp, 'sources-edit');
    const artifactsDir = join(tmp, 'artifacts-edit');
    await mkdir(sourcesDir, { recursive: true });
    await writeFile(join(sourcesDir, 'Counter.sol'), counter(1));

    const original = await loadBuild({ sourcesDir, artifactsDir });
    expect(original.origin).toBe('compiled');
    expect((await loadBuild({ sourcesDir, artifactsDir, memoize: false })).origin).toBe('disk');

    await writeFile(join(sourcesDir, 'Counter.sol'), counter(2));
    const edited = await loadBuild({ sourcesDir, artifactsDir });
    expect(edited.origin).toBe('compiled');
    expect(edited.key).not.toBe(original.key);
    expect(edited.artifacts[0]?.deployedBytecode).not.toBe(original.artifacts[0]?.deployedBytecode);
    expect(await readdir(artifactsDir)).toEqual([`build-${edited.key}.json`]);
  });

  it('recompiles when compiler settings change', async () => {
    const sourcesDir = join(tmp, 'sources-settings');
    const artifactsDir = join(tmp, 'artifacts-settings');
    await mkdir(sourcesDir, { recursive: true });
    await writeFile(join(sourcesDir, 'Counter.sol'), counter(1));

    const prague = await loadBuild({ sourcesDir, artifactsDir });
    const cancun = await loadBuild({ sourcesDir, artifactsDir, compiler: { evmVersion: 'cancun' } });
    expect(cancun.origin).toBe('compiled');
    expect(cancun.key).not.toBe(prague.key);
  });

  it('survives processes writing the same entry at once', async () => {
    const artifactsDir = join(tmp, 'artifacts-race');
    const script = join(tmp, 'race.mts');
    const entry = join(packageDir, 'src', 'index.ts');
    await writeFile(
      script,
      `import { loadBuild } from ${JSON.stringify(entry)};\n` +
        `const build = await loadBuild({ sourcesDir: ${JSON.stringify(fixturesDir)}, artifactsDir: ${JSON.stringify(artifactsDir)}, force: true });\n` +
        `console.log(build.key);\n`,
    );
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: packageDir });
    const results = await Promise.all([run(), run(), run()]);
    const keys = new Set(results.map((r) => r.stdout.trim()));
    expect(keys.size).toBe(1);

    // Exactly one complete entry, no temp files left behind, and it loads from disk.
    expect(await readdir(artifactsDir)).toEqual([`build-${[...keys][0]}.json`]);
    expect((await loadBuild({ sourcesDir: fixturesDir, artifactsDir, memoize: false })).origin).toBe('disk');
  });

  it('finds artifacts by plain or fully qualified name', async () => {
    const byName = await loadArtifact('TestToken');
    expect(byName.sourceName).toBe('test/TestToken.sol');
    expect(await loadArtifact('test/Playground.sol:Playground')).toMatchObject({
      contractName: 'Playground',
    });
    await expect(loadArtifact('Nope')).rejects.toThrow(/No contract named Nope; available: .*TestToken/);
    expect((await loadAllArtifacts()).map((a) => a.contractName)).toEqual(
      expect.arrayContaining(['Playground', 'TestToken', 'ProtocolParams', 'Staking']),
    );
    // Within one process, later loads are served from memory.
    expect((await loadBuild()).origin).toBe('memory');
  });
});
