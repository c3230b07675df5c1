// npm run gas: measures the gas of every state-changing function of the protocol contracts on a
// fresh devnet, writes docs/gas.md and prints the same data as JSON on stdout (progress on stderr).
// Exits 1 if a scenario transaction reverts. See scripts/gas/ for the scenario and the report.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { hexToNumber, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { loadBuild } from '@openledger/contracts';
import { startDevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { measureDeployments } from './gas/deployments.ts';
import { buildReport, reportMarkdown } from './gas/report.ts';
import { GasRunner, ScenarioRevert } from './gas/runner.ts';
import { MNEMONIC, runScenario } from './gas/scenario.ts';

/** The first block's timestamp (2026-01-01T00:00:00Z); every later one follows from the scenario. */
const START_TIME = 1_767_225_600n;
const target = fileURLToPath(new URL('../../../docs/gas.md', import.meta.url));

async function main(): Promise<number> {
  const started = performance.now();
  const node = await startDevnetProcess();
  try {
    const r = new GasRunner(node.url, hexToNumber(await rpc(node.url, 'eth_chainId')), START_TIME);
    const validator = mnemonicToAccount(MNEMONIC, { addressIndex: 0 }).address;
    const deployments = await measureDeployments(r, validator);
    const simulated = await runScenario(r);
    const { solcVersion } = await loadBuild();
    const report = buildReport(r.records, simulated, deployments, solcVersion.split('+')[0] ?? solcVersion);

    const options = await resolveConfig(target);
    await writeFile(target, await format(reportMarkdown(report), { ...options, filepath: target }));
    console.log(JSON.stringify(report, null, 2));

    const { coverage } = report;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(
      `wrote ${target}: ${r.records.length} transactions, ${coverage.measured} of ${coverage.functions} functions measured, ${seconds} s`,
    );
    for (const fn of coverage.unexplained) console.error(`warning: ${fn} is not reached by the scenario`);
    for (const call of r.unidentified) console.error(`warning: unidentified protocol call in ${call}`);
    return 0;
  } catch (error) {
    console.error(error instanceof ScenarioRevert ? `gas report: ${error.message}` : error);
    return 1;
  } finally {
    await node.stop();
  }
}

async function rpc(url: string, method: string): Promise<Hex> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
  });
  return ((await response.json()) as { result: Hex }).result;
}

process.exitCode = await main();
