// Turns the scenario's records into the report: per-function statistics, coverage of every
// state-changing ABI function, the Markdown of docs/gas.md and the same data as JSON.
import { PREDEPLOYS, type PredeployName } from '@openledger/contracts';
import { CONTRACT_NAMES, mutatingFunctions } from './abi.ts';
import type { DeploymentCost } from './deployments.ts';
import type { TxRecord } from './runner.ts';
import type { SimulatedCall } from './scenario.ts';

export interface Stats {
  calls: number;
  min: number;
  avg: number;
  max: number;
}

export interface NotMeasured {
  fn: string;
  reason: string;
  /** Gas of a simulated call, where one was possible. */
  simulated?: { gasUsed: number; how: string };
}

export interface ContractReport {
  contract: PredeployName;
  address: string;
  /** State-changing functions in the ABI. */
  functions: number;
  /** Top-level transactions: receipt gasUsed. */
  transactions: ({ fn: string } & Stats)[];
  /** Calls from other protocol contracts: the gas of the call frame. */
  internal: ({ fn: string; caller: string } & Stats)[];
  notMeasured: NotMeasured[];
}

export interface GasReport {
  setup: {
    chain: string;
    solc: string;
    optimizerRuns: number;
    evmVersion: string;
    transactions: number;
  };
  contracts: ContractReport[];
  deployments: (Omit<DeploymentCost, 'gasUsed' | 'estimate' | 'value'> & {
    value: string;
    gasUsed: number;
    estimate: number;
  })[];
  coverage: { functions: number; measured: number; notMeasured: number; unexplained: string[] };
}

const GOVERNOR_DEPOSIT =
  'always reverts `GovernorDisabledDeposit`: the Governor executes through the Timelock, so it takes no token deposits';

/** Why a function cannot be called in the scenario (anything else unmeasured is a scenario gap). */
const UNREACHABLE: Record<string, string> = {
  'Staking.rewardBlock': 'only the chain’s system address may call it (the block-reward hook)',
  'Staking.reportDowntime': 'only the chain’s system address may call it (the downtime hook)',
  'Staking.unjail': 'needs a validator jailed by `reportDowntime`, which only the system address can call',
  'OpenGovernor.onERC721Received': GOVERNOR_DEPOSIT,
  'OpenGovernor.onERC1155Received': GOVERNOR_DEPOSIT,
  'OpenGovernor.onERC1155BatchReceived': GOVERNOR_DEPOSIT,
};

function stats(values: bigint[]): Stats {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = BigInt(values.length);
  const sum = values.reduce((s, v) => s + v, 0n);
  return {
    calls: values.length,
    min: Number(sorted[0]),
    avg: Number((2n * sum + n) / (2n * n)),
    max: Number(sorted.at(-1)),
  };
}

function group<K>(
  items: { key: K; gas: bigint }[],
  id: (key: K) => string,
): Map<string, { key: K; gas: bigint[] }> {
  const groups = new Map<string, { key: K; gas: bigint[] }>();
  for (const item of items) {
    const k = id(item.key);
    const g = groups.get(k) ?? groups.set(k, { key: item.key, gas: [] }).get(k)!;
    g.gas.push(item.gas);
  }
  return groups;
}

export function buildReport(
  records: TxRecord[],
  simulated: SimulatedCall[],
  deployments: DeploymentCost[],
  solc: string,
): GasReport {
  const contracts = CONTRACT_NAMES.map((contract): ContractReport => {
    const functions = mutatingFunctions(contract);
    const direct = group(
      records.filter((r) => r.contract === contract).map((r) => ({ key: r.fn, gas: r.gasUsed })),
      (fn) => fn,
    );
    const internal = group(
      records
        .flatMap((r) => r.internal)
        .filter((f) => f.contract === contract)
        .map((f) => ({ key: { fn: f.fn, caller: f.caller }, gas: f.gasUsed })),
      (k) => `${k.fn}\0${k.caller}`,
    );
    const measured = new Set([
      ...[...direct.values()].map((g) => g.key),
      ...[...internal.values()].map((g) => g.key.fn),
    ]);
    const notMeasured = functions
      .filter((f) => !measured.has(f.key))
      .map((f): NotMeasured => {
        const sim = simulated.find((s) => s.contract === contract && s.fn === f.key);
        return {
          fn: f.key,
          reason: UNREACHABLE[`${contract}.${f.key}`] ?? 'not reached by the scenario',
          ...(sim && { simulated: { gasUsed: Number(sim.gasUsed), how: sim.how } }),
        };
      });
    const byFn = (a: { fn: string }, b: { fn: string }) => a.fn.localeCompare(b.fn);
    return {
      contract,
      address: PREDEPLOYS[contract],
      functions: functions.length,
      transactions: [...direct.values()].map((g) => ({ fn: g.key, ...stats(g.gas) })).sort(byFn),
      internal: [...internal.values()]
        .map((g) => ({ fn: g.key.fn, caller: g.key.caller, ...stats(g.gas) }))
        .sort((a, b) => byFn(a, b) || a.caller.localeCompare(b.caller)),
      notMeasured,
    };
  });
  const functions = contracts.reduce((n, c) => n + c.functions, 0);
  const notMeasured = contracts.reduce((n, c) => n + c.notMeasured.length, 0);
  return {
    setup: {
      chain: 'OpenLedger devnet',
      solc,
      optimizerRuns: 200,
      evmVersion: 'prague',
      transactions: records.length,
    },
    contracts,
    deployments: deployments.map((d) => ({
      ...d,
      value: d.value.toString(),
      gasUsed: Number(d.gasUsed),
      estimate: Number(d.estimate),
    })),
    coverage: {
      functions,
      measured: functions - notMeasured,
      notMeasured,
      unexplained: contracts.flatMap((c) =>
        c.notMeasured
          .filter((f) => !UNREACHABLE[`${c.contract}.${f.fn}`])
          .map((f) => `${c.contract}.${f.fn}`),
      ),
    },
  };
}

const gas = (n: number) => n.toLocaleString('en-US');
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const table = (head: string[], rows: (string | number)[][]) =>
  [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const formatOpen = (wei: string) => {
  const open = BigInt(wei) / 10n ** 18n;
  return wei === '0' ? '–' : `${open.toLocaleString('en-US')} OPEN`;
};

export function reportMarkdown(report: GasReport): string {
  const { setup, coverage } = report;
  const out: string[] = [];
  out.push(
    '# Gas costs of the protocol contracts',
    '',
    'Generated by `npm run gas` (`packages/sdk/scripts/gas-report.ts`); run it again rather than editing this file.',
    '',
    '## How this was measured',
    '',
    `- A fresh \`openledger devnet\` (Prague rules from genesis) with the protocol contracts predeployed at their genesis addresses, compiled with solc ${setup.solc} (optimizer on, ${setup.optimizerRuns} runs, EVM version ${setup.evmVersion}).`,
    `- A scripted scenario of ${setup.transactions} transactions calls every state-changing function of every protocol contract with fixed inputs and keys, one transaction per block, on block timestamps the script sets; two runs give the same numbers.`,
    '- **Transactions** tables: the total `gasUsed` of each transaction from its receipt, so the 21,000 base cost and the calldata are included, as is every call the function makes into other contracts. Costs depend on state (the first write of a storage slot costs more than later ones; loops run over validators, approvers or jurors), so min, avg and max describe this scenario, not bounds.',
    '- **Called by other contracts** tables: functions run by another contract (the Timelock executing a proposal, the Governor scheduling in the Timelock, Staking minting GOPEN, InferencePayments recording an agent’s spend) are attributed from a `debug_traceTransaction` callTracer. The number is the gas of that call frame alone: no base cost or calldata, and it is already part of the calling transaction’s number.',
    '- Functions the Timelock owns are exercised through governance proposals; the first one also lends a dev account the Timelock’s proposer and canceller roles, so the Timelock’s own `schedule`, `execute` and `cancel` can be measured as transactions, and the last one takes the role back and renounces the owners (the devnet is thrown away afterwards).',
    '',
    '## Coverage',
    '',
    `${coverage.measured} of the ${coverage.functions} state-changing functions in the ABIs are measured; the ${coverage.notMeasured} others cannot run on a devnet (see [Not measured](#not-measured)).`,
    '',
    table(
      ['contract', 'address', 'state-changing functions', 'measured'],
      report.contracts.map((c) => [
        `[${c.contract}](#${c.contract.toLowerCase()})`,
        `\`${c.address}\``,
        c.functions,
        c.functions - c.notMeasured.length,
      ]),
    ),
  );
  for (const c of report.contracts) {
    out.push('', `## ${c.contract}`, '');
    if (c.transactions.length > 0) {
      out.push(
        'Transactions:',
        '',
        table(
          ['function', 'calls', 'min', 'avg', 'max'],
          c.transactions.map((t) => [`\`${t.fn}\``, t.calls, gas(t.min), gas(t.avg), gas(t.max)]),
        ),
      );
    } else {
      out.push('No function of it is called directly: every write is the Timelock’s.');
    }
    if (c.internal.length > 0) {
      out.push(
        '',
        'Called by other contracts (gas of the call frame):',
        '',
        table(
          ['function', 'called by', 'calls', 'min', 'avg', 'max'],
          c.internal.map((t) => [`\`${t.fn}\``, t.caller, t.calls, gas(t.min), gas(t.avg), gas(t.max)]),
        ),
      );
    }
    if (c.notMeasured.length > 0) {
      out.push('', `Not measured: ${c.notMeasured.map((f) => `\`${f.fn}\``).join(', ')}.`);
    }
  }
  const deployed = report.deployments;
  out.push(
    '',
    '## Genesis deployment',
    '',
    'Each constructor run as a transaction from the genesis deployer with the devnet’s genesis arguments (one validator staking 10,000 OPEN, 1,000,000 OPEN in the treasury). _gas used_ is from a `debug_traceCall` of the deploy data on the devnet with state overrides that empty the target address (and, for Staking, VotingPower’s storage), so every constructor writes into empty storage as in genesis; _eth_estimateGas_ is the node’s estimate for the same call (a binary search, so up to 1.5% above the least limit that works).',
    '',
    table(
      ['contract', 'runtime code (bytes)', 'OPEN sent', 'gas used', 'eth_estimateGas'],
      [
        ...deployed.map((d) => [
          d.contract,
          gas(d.codeSize),
          formatOpen(d.value),
          gas(d.gasUsed),
          gas(d.estimate),
        ]),
        [
          '**total**',
          gas(deployed.reduce((n, d) => n + d.codeSize, 0)),
          '',
          gas(deployed.reduce((n, d) => n + d.gasUsed, 0)),
          gas(deployed.reduce((n, d) => n + d.estimate, 0)),
        ],
      ],
    ),
    '',
    '## Not measured',
    '',
    'Simulated gas is a `debug_traceCall` from the system address on the scenario’s state, counted like a transaction (21,000 base cost and calldata included); the devnet itself makes no such system calls.',
    '',
    table(
      ['contract', 'function', 'why', 'simulated gas'],
      report.contracts.flatMap((c) =>
        c.notMeasured.map((f) => [
          c.contract,
          `\`${f.fn}\``,
          f.reason,
          f.simulated ? gas(f.simulated.gasUsed) : '–',
        ]),
      ),
    ),
    '',
  );
  return out.join('\n');
}
