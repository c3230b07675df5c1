import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, getAddress, keccak256, parseEther, toBytes, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { connect, paramKey, rowTree, type Connection } from '@openledger/sdk';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const MNEMONIC = 'test test test test test test test test test test test junk';
const account = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
const addressOf = (i: number): Address => account(i).address;
const privateKeyOf = (i: number) => bytesToHex(account(i).getHdKey().privateKey!);

const DAY = 86_400;

let node: DevnetProcess;
let ol: Connection;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a child process from the repository root. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const { OPENLEDGER_PRIVATE_KEY: _ignored, ...inherited } = process.env;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/main.ts', ...args],
      { cwd: repoRoot, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A protocol verb signed by dev account `i`; expects success and returns its one JSON object. */
async function verb(i: number, args: string[]): Promise<Record<string, string>> {
  const r = await cli([...args, '--rpc', node.url, '--dev-account', String(i)]);
  expect(r.stderr, `openledger ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, string>;
}

/** Expects the CLI to fail with exit code 1 and one `error: ...` line; returns the message. */
async function failure(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await cli(args, env);
  expect(r.code, `openledger ${args.join(' ')}: ${r.stdout}`).toBe(1);
  expect(r.stdout).toBe('');
  const message = r.stderr.trim().split('\n')[0]!;
  expect(message).toMatch(/^error: /);
  return message;
}

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(node.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Moves chain time: the next block is `seconds` after the latest, and is mined now. */
async function advance(seconds: number): Promise<void> {
  await rpc('evm_increaseTime', [seconds]);
  await rpc('evm_mine');
}

beforeAll(async () => {
  [node, dir] = await Promise.all([startDevnetProcess(), mkdtemp(join(tmpdir(), 'openledger-cli-'))]);
  ol = await connect({ url: node.url });
});

afterAll(async () => {
  await node?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('openledger protocol verbs', () => {
  it('run a Datanet to a paid model, staking, a market sale, an agent and a governance vote', async () => {
    const [owner, curator, contributor, payer, nodeOperator, buyer, challenger, staker, agentOwner] = [
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ];
    const validator = addressOf(0);

    // ---------------------------------------------------------------- Datanet, model, payments, market
    const dataFlow = (async () => {
      const created = await verb(owner, [
        'datanet',
        'create',
        '--metadata',
        'ipfs://datanet',
        '--standard-uri',
        'ipfs://standard',
        '--fee',
        '0.5',
      ]);
      const datanetId = created.datanetId!;
      expect(created).toMatchObject({
        owner: addressOf(owner),
        contributionFee: parseEther('0.5').toString(),
        contributorBond: parseEther('0.1').toString(),
      });
      expect(created.hash).toMatch(/^0x[0-9a-f]{64}$/);

      const staked = await verb(curator, ['datanet', 'curate', 'stake', datanetId, '--amount', '20']);
      expect(staked).toMatchObject({ datanetId, amount: parseEther('20').toString() });

      const rows = ['{"q":"2+2","a":"4"}', '{"q":"3+3","a":"6"}', '{"q":"capital of France","a":"Paris"}'];
      const rowsFile = join(dir, 'rows.jsonl');
      await writeFile(rowsFile, `${rows.join('\n')}\n`);
      const contributed = await verb(contributor, [
        'datanet',
        'contribute',
        datanetId,
        '--rows-file',
        rowsFile,
      ]);
      expect(contributed).toMatchObject({
        contributionId: '1',
        rowCount: '3',
        fee: parseEther('0.5').toString(),
        dataRoot: rowTree(rows.map((r) => keccak256(toBytes(r)))).root,
      });

      const voted = await verb(curator, [
        'datanet',
        'curate',
        'vote',
        contributed.contributionId!,
        '--approve',
      ]);
      expect(voted.status).toBe('approved');
      const published = await verb(owner, ['datanet', 'publish', datanetId]);
      expect(published).toMatchObject({ version: '1', rowCount: '3', contributions: '1' });

      const [challenged, registered] = await Promise.all([
        verb(challenger, [
          'datanet',
          'challenge',
          contributed.contributionId!,
          '--reason',
          'ipfs://evidence',
        ]),
        verb(owner, [
          'model',
          'register',
          'openledger-math-7b',
          '--trained-on',
          `${datanetId}:1`,
          '--base-model-hash',
          keccak256(toBytes('base')),
          '--price',
          '0.001',
        ]),
      ]);
      expect(challenged).toMatchObject({ challengeId: '1', bond: parseEther('5').toString() });
      const modelId = registered.modelId!;
      expect(registered).toMatchObject({ name: 'openledger-math-7b', fee: parseEther('0.1').toString() });
      const priced = await verb(owner, ['model', 'price', modelId, '0.002']);
      expect(priced).toMatchObject({
        oldPrice: parseEther('0.001').toString(),
        newPrice: parseEther('0.002').toString(),
      });

      const payments = (async () => {
        const deposited = await verb(payer, ['pay', 'deposit', '3']);
        expect(deposited).toMatchObject({ payer: addressOf(payer), balance: parseEther('3').toString() });
        const signed = await verb(payer, [
          'pay',
          'voucher',
          '--node',
          addressOf(nodeOperator),
          '--model',
          modelId,
          '--amount',
          '1.5',
        ]);
        const voucherFile = join(dir, 'voucher.json');
        await writeFile(voucherFile, JSON.stringify(signed));
        const redeemed = await verb(nodeOperator, ['pay', 'voucher', '--redeem', voucherFile]);
        expect(redeemed).toMatchObject({
          payer: addressOf(payer),
          node: addressOf(nodeOperator),
          charge: parseEther('1.5').toString(),
          nodeShare: parseEther('0.3').toString(),
        });
        // The same voucher again: nothing new to charge.
        const again = await failure([
          'pay',
          'voucher',
          '--redeem',
          voucherFile,
          '--rpc',
          node.url,
          '--dev-account',
          String(nodeOperator),
        ]);
        expect(again).toContain('VoucherAlreadyRedeemed');
        expect(await ol.contracts.payments.read.balanceOf([addressOf(payer)])).toBe(parseEther('1.5'));
      })();

      const sale = (async () => {
        const listed = await verb(owner, [
          'market',
          'list',
          '--model',
          modelId,
          '--price',
          '10',
          '--terms',
          'ipfs://t',
        ]);
        expect(listed).toMatchObject({ listingId: '1', bond: parseEther('1').toString() });
        const bought = await verb(buyer, ['market', 'buy', listed.listingId!]);
        expect(bought).toMatchObject({ purchaseId: '1', price: parseEther('10').toString() });
        const notBuyer = await failure([
          'market',
          'accept',
          bought.purchaseId!,
          '--rpc',
          node.url,
          '--dev-account',
          String(owner),
        ]);
        expect(notBuyer).toBe(`error: accept reverted: NotBuyer(caller: ${addressOf(owner)})`);
        const accepted = await verb(buyer, ['market', 'accept', bought.purchaseId!]);
        expect(accepted).toMatchObject({
          seller: addressOf(owner),
          sellerPaid: parseEther('9.75').toString(),
          protocolFee: parseEther('0.25').toString(),
        });
      })();
      await Promise.all([payments, sale]);
    })();

    // ---------------------------------------------------------------- staking and delegation
    const stakeFlow = (async () => {
      const staked = await verb(staker, ['stake', '100', '--validator', validator]);
      expect(staked).toMatchObject({ validator, amount: parseEther('100').toString() });
      expect(staked.votingPower).toBe(parseEther('100').toString());
      // Signed with --private-key this time: hand the votes to the validator, who proposes and votes.
      const r = await cli(['delegate', validator, '--rpc', node.url, '--private-key', privateKeyOf(staker)]);
      expect(r.stderr).toBe('');
      const delegated = JSON.parse(r.stdout) as Record<string, string>;
      expect(delegated).toMatchObject({ delegator: addressOf(staker), delegatee: validator });
      expect(delegated.delegateeVotes).toBe(parseEther('10100').toString());
    })();

    // ---------------------------------------------------------------- an agent (key from the environment)
    const agentFlow = (async () => {
      const r = await cli(
        ['agent', 'register', addressOf(10), '--limit', '5', '--period', '3600', '--rpc', node.url],
        { OPENLEDGER_PRIVATE_KEY: privateKeyOf(agentOwner) },
      );
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({
        agent: addressOf(10),
        owner: addressOf(agentOwner),
        limitPerPeriod: parseEther('5').toString(),
        period: '3600',
      });
    })();

    await Promise.all([dataFlow, stakeFlow, agentFlow]);

    // ---------------------------------------------------------------- governance: a parameter change and a grant
    const name = 'datanet.challengeWindow';
    const paramArgs = ['--param', name, '--value', String(4 * DAY)];
    const grantArgs = ['--grant', addressOf(challenger), '--amount', '25', '--reason', 'evidence tools'];
    const proposalFile = join(dir, 'proposal.json');
    const grantFile = join(dir, 'grant.json');
    const proposed = await verb(0, ['gov', 'propose', ...paramArgs, '--proposal-file', proposalFile]);
    expect(proposed.description).toBe(`Set ${name} to ${4 * DAY}`);
    const saved = JSON.parse(await readFile(proposalFile, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({
      proposalId: proposed.proposalId,
      targets: [getAddress(ol.contracts.params.address)],
    });
    const grant = await verb(0, ['gov', 'propose', ...grantArgs, '--proposal-file', grantFile]);
    expect(grant.description).toBe(`Grant 25 OPEN to ${addressOf(challenger)}: evidence tools`);

    await advance(3_601);
    for (const { proposalId } of [proposed, grant]) {
      const vote = await verb(0, ['gov', 'vote', proposalId!, 'for']);
      expect(vote).toMatchObject({ support: 1, weight: parseEther('10100').toString(), state: 'Active' });
    }
    await advance(3 * DAY + 1);
    // Queued by the flags one was proposed with or from the file propose wrote; executed the other way.
    const queued = await Promise.all([
      verb(staker, ['gov', 'queue', ...paramArgs]),
      verb(owner, ['gov', 'queue', '--proposal-file', grantFile]),
    ]);
    expect(queued.map((q) => [q.proposalId, q.state])).toEqual([
      [proposed.proposalId, 'Queued'],
      [grant.proposalId, 'Queued'],
    ]);
    await advance(DAY + 1);
    const granteeBefore = await ol.publicClient.getBalance({ address: addressOf(challenger) });
    const executed = await Promise.all([
      verb(staker, ['gov', 'execute', '--proposal-file', proposalFile]),
      verb(owner, ['gov', 'execute', ...grantArgs]),
    ]);
    expect(executed.map((e) => [e.proposalId, e.state])).toEqual([
      [proposed.proposalId, 'Executed'],
      [grant.proposalId, 'Executed'],
    ]);
    expect(await ol.contracts.params.read.get([paramKey(name)])).toBe(BigInt(4 * DAY));
    expect(await ol.publicClient.getBalance({ address: addressOf(challenger) })).toBe(
      granteeBefore + parseEther('25'),
    );

    const twice = await failure([
      'gov',
      'execute',
      '--proposal-file',
      proposalFile,
      '--rpc',
      node.url,
      '--dev-account',
      '1',
    ]);
    expect(twice).toMatch(
      /^error: execute reverted: GovernorUnexpectedProposalState\(proposalId: \d+, current: 7,/,
    );
  }, 120_000);

  it('reject bad input with one error line and exit code 1', async () => {
    const rpcFlag = ['--rpc', node.url];
    const [badAddress, badAmount, noSigner, badKey, revert, unknownParam, outOfBounds, unreachable] =
      await Promise.all([
        failure(['stake', '10', '--validator', '0x1234', ...rpcFlag, '--dev-account', '1']),
        failure(['pay', 'deposit', 'ten', ...rpcFlag, '--dev-account', '1']),
        failure(['datanet', 'create', '--metadata', 'ipfs://x', ...rpcFlag]),
        failure(['delegate', addressOf(1), ...rpcFlag], { OPENLEDGER_PRIVATE_KEY: '0x1234' }),
        failure([
          'datanet',
          'create',
          '--metadata',
          'ipfs://x',
          '--bond',
          '0',
          ...rpcFlag,
          '--dev-account',
          '1',
        ]),
        failure(['gov', 'propose', '--param', 'no.such', '--value', '1', ...rpcFlag, '--dev-account', '0']),
        failure([
          'gov',
          'propose',
          '--param',
          'market.jurySize',
          '--value',
          '99',
          ...rpcFlag,
          '--dev-account',
          '0',
        ]),
        failure(['model', 'price', '1', '1', '--rpc', 'http://127.0.0.1:9', '--dev-account', '1']),
      ]);
    expect(badAddress).toContain('expected a 0x-prefixed 20-byte hex address, got "0x1234"');
    expect(badAmount).toContain('expected an amount of OPEN');
    expect(noSigner).toBe(
      'error: no signer: pass --private-key <hex>, set OPENLEDGER_PRIVATE_KEY, or pass --dev-account <i> (devnet)',
    );
    expect(badKey).toContain('OPENLEDGER_PRIVATE_KEY: expected a private key of 32 bytes');
    expect(revert).toBe('error: createDatanet reverted: BondTooLow(bond: 0, minimum: 100000000000000000)');
    expect(unknownParam).toContain('unknown parameter');
    expect(outOfBounds).toBe('error: market.jurySize must be between 1 and 21, got 99');
    expect(unreachable).toContain('cannot reach the node at http://127.0.0.1:9');
  });

  it('document every flag in --help', async () => {
    const [propose, voucher, contribute] = await Promise.all([
      cli(['gov', 'propose', '--help']),
      cli(['pay', 'voucher', '--help']),
      cli(['datanet', 'contribute', '--help']),
    ]);
    for (const r of [propose, voucher, contribute]) {
      expect(r.code).toBe(0);
      for (const flag of ['--rpc <url>', '--private-key <hex>', '--dev-account <i>'])
        expect(r.stdout).toContain(flag);
    }
    for (const flag of [
      '--param <name>',
      '--value <n>',
      '--grant <to>',
      '--amount <open>',
      '--reason <text>',
    ])
      expect(propose.stdout).toContain(flag);
    expect(propose.stdout).toContain('--proposal-file <path>');
    for (const flag of ['--node <address>', '--model <modelId>', '--redeem <voucher>'])
      expect(voucher.stdout).toContain(flag);
    expect(contribute.stdout).toContain('--rows-file <path>');
  });
});
