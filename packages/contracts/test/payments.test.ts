import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getContractAddress,
  hashTypedData,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  type Abi,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { devnetChain } from '../../chain/test/support/viem-chain.ts';
import {
  devAccount,
  devnetContracts,
  type Contract,
  type DevnetPublicClient,
} from './support/devnet-contracts.ts';

// ---------------------------------------------------------------- accounts and clients

/** Deploys everything; also the devnet's block producer, so its balance is never part of a sum. */
const deployer = devAccount(0);
const modelOwner = devAccount(1);
const node = devAccount(2);
const alice = devAccount(3);
const bob = devAccount(4);
const agentOwner = devAccount(5);
const agentKey = devAccount(6);
const carol = devAccount(7);
const stranger = devAccount(8);
/** Owner of ProtocolParams and EcosystemTreasury (stands in for the Timelock). */
const governance = devAccount(9);

let devnet: DevnetProcess;
const dc = devnetContracts({ deployer });
const { deploy, send, read, expectRevert, balance, advance, latestTimestamp } = dc;
let pub: DevnetPublicClient;

// ---------------------------------------------------------------- the protocol stack

interface Stack {
  params: Contract;
  treasury: Contract;
  datanets: Contract;
  models: Contract;
  settlement: Contract;
  agents: Contract;
  /** InferencePayments, its ABI extended with the errors of the contracts it calls (to decode them). */
  payments: Contract;
}

function errorsOf(...abis: Abi[]): Abi {
  return abis.flatMap((abi) => abi.filter((item) => item.type === 'error'));
}

/** Deploys fresh instances; AttributionSettlement, AgentRegistry and InferencePayments name each other. */
async function deployStack(): Promise<Stack> {
  const params = await deploy('ProtocolParams', [governance.address]);
  const treasury = await deploy('EcosystemTreasury', [governance.address]);
  const datanets = await deploy('DatanetRegistry', [params.address, treasury.address]);
  const models = await deploy('ModelRegistry', [params.address, datanets.address, treasury.address]);
  const nonce = await pub.getTransactionCount({ address: deployer.address, blockTag: 'pending' });
  const at = (k: number) => getContractAddress({ from: deployer.address, nonce: BigInt(nonce + k) });
  const [settlementAt, agentsAt, paymentsAt] = [at(0), at(1), at(2)];
  const settlement = await deploy('AttributionSettlement', [
    params.address,
    models.address,
    paymentsAt,
    treasury.address,
  ]);
  const agents = await deploy('AgentRegistry', [models.address, paymentsAt]);
  const payments = await deploy('InferencePayments', [
    params.address,
    models.address,
    settlement.address,
    agents.address,
    treasury.address,
  ]);
  expect([settlement.address, agents.address, payments.address]).toEqual([
    settlementAt,
    agentsAt,
    paymentsAt,
  ]);
  payments.abi = [...payments.abi, ...errorsOf(agents.abi, settlement.abi, models.abi)];
  return { params, treasury, datanets, models, settlement, agents, payments };
}

const PAYMENTS_WITHDRAW_DELAY = keccak256(toBytes('payments.withdrawDelay'));
const MODEL_REGISTRATION_FEE = keccak256(toBytes('model.registrationFee'));
const REGISTRATION_FEE = parseEther('0.1');
const DAY = 86_400;
const FAR_FUTURE = 2n ** 40n;

interface DatanetVersion {
  datanetId: bigint;
  version: bigint;
}

interface RegisterModel {
  name: string;
  baseModelHash: Hex;
  adapterHash: Hex;
  trainedOn: DatanetVersion[];
  trainingConfigHash: Hex;
  metadataURI: string;
  pricePer1kTokens: bigint;
}

const modelInput = (name: string, trainedOn: DatanetVersion[] = []): RegisterModel => ({
  name,
  baseModelHash: keccak256(toBytes(`base:${name}`)),
  adapterHash: keccak256(toBytes(`adapter:${name}`)),
  trainedOn,
  trainingConfigHash: keccak256(toBytes(`config:${name}`)),
  metadataURI: `ipfs://${name}`,
  pricePer1kTokens: parseEther('0.001'),
});

async function registerModel(s: Stack, name: string, trainedOn: DatanetVersion[] = []): Promise<bigint> {
  const { receipt } = await send(
    modelOwner,
    s.models,
    'registerModel',
    [modelInput(name, trainedOn)],
    REGISTRATION_FEE,
  );
  const [event] = parseEventLogs({ abi: s.models.abi, logs: receipt.logs, eventName: 'ModelRegistered' });
  return (event!.args as { modelId: bigint }).modelId;
}

// ---------------------------------------------------------------- vouchers

interface Voucher {
  payer: Address;
  node: Address;
  modelId: bigint;
  cumulativeAmount: bigint;
  deadline: bigint;
}

const VOUCHER_TYPES = {
  Voucher: [
    { name: 'payer', type: 'address' },
    { name: 'node', type: 'address' },
    { name: 'modelId', type: 'uint256' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

const voucherDomain = (st: Stack) => ({
  name: 'OpenLedger InferencePayments',
  version: '1',
  chainId: devnetChain.id,
  verifyingContract: st.payments.address,
});

function signVoucher(
  s: Stack,
  signer: HDAccount,
  v: Voucher,
  domain: { chainId?: number; verifyingContract?: Address } = {},
): Promise<Hex> {
  return signer.signTypedData({
    domain: { ...voucherDomain(s), ...domain },
    types: VOUCHER_TYPES,
    primaryType: 'Voucher',
    message: v,
  });
}

interface ChargedArgs {
  payer: Address;
  node: Address;
  modelId: bigint;
  charge: bigint;
  contributors: bigint;
  modelOwner: bigint;
  nodeShare: bigint;
  protocol: bigint;
}

function chargedEvents(s: Stack, receipt: TransactionReceipt): ChargedArgs[] {
  return parseEventLogs({ abi: s.payments.abi, logs: receipt.logs, eventName: 'Charged' }).map(
    (e) => e.args as unknown as ChargedArgs,
  );
}

/** The split InferencePayments must produce for `charge` under shares `bps` (protocol takes the dust). */
function expectedSplit(charge: bigint, bps: readonly [bigint, bigint, bigint, bigint]) {
  const contributors = (charge * bps[0]) / 10_000n;
  const owner = (charge * bps[1]) / 10_000n;
  const nodeShare = (charge * bps[2]) / 10_000n;
  return { contributors, modelOwner: owner, nodeShare, protocol: charge - contributors - owner - nodeShare };
}

const DEFAULT_SHARES = [5_000n, 2_000n, 2_000n, 1_000n] as const;

// ---------------------------------------------------------------- Datanet provenance

const CURATOR_STAKE = parseEther('10');
const CONTRIBUTOR_BOND = parseEther('0.1');
const datanetOf = new Map<Address, bigint>();
let contributionNonce = 0;

/**
 * Publishes a new version of a Datanet owned and curated by `curator` (created on first use) whose
 * contributors are `contributors`, through DatanetRegistry's own flow: each submits a contribution
 * with the bond, the curator approves it (quorum 1), the curator publishes.
 */
async function publishDatanetVersion(
  st: Stack,
  curator: HDAccount,
  contributors: HDAccount[],
): Promise<DatanetVersion> {
  let datanetId = datanetOf.get(st.datanets.address);
  if (datanetId === undefined) {
    const { receipt } = await send(curator, st.datanets, 'createDatanet', [
      'ipfs://datanet',
      keccak256(toBytes('standard')),
      'ipfs://standard',
      0n,
      CONTRIBUTOR_BOND,
      1,
    ]);
    const [created] = parseEventLogs({
      abi: st.datanets.abi,
      logs: receipt.logs,
      eventName: 'DatanetCreated',
    });
    datanetId = (created!.args as { datanetId: bigint }).datanetId;
    datanetOf.set(st.datanets.address, datanetId);
    await send(curator, st.datanets, 'stakeAsCurator', [datanetId], CURATOR_STAKE);
  }
  for (const contributor of contributors) {
    const root = keccak256(toBytes(`rows-${++contributionNonce}`));
    const { receipt } = await send(
      contributor,
      st.datanets,
      'submitContribution',
      [datanetId, root, 10n, 1_000n, 'ipfs://rows'],
      CONTRIBUTOR_BOND,
    );
    const [submitted] = parseEventLogs({
      abi: st.datanets.abi,
      logs: receipt.logs,
      eventName: 'ContributionSubmitted',
    });
    await send(curator, st.datanets, 'vote', [
      (submitted!.args as { contributionId: bigint }).contributionId,
      true,
    ]);
  }
  await send(curator, st.datanets, 'publishVersion', [datanetId]);
  const version = await read<bigint>(st.datanets, 'versionCount', [datanetId]);
  return { datanetId, version };
}

// ---------------------------------------------------------------- tests

let s: Stack;
let modelA: bigint;
let modelB: bigint;

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dc.connect(devnet.url);
  pub = dc.pub;
  s = await deployStack();
  modelA = await registerModel(s, 'llama-3-8b-legal');
  modelB = await registerModel(s, 'mistral-7b.medical_v2');
});

afterAll(async () => {
  await devnet?.stop();
});

describe('ModelRegistry', () => {
  it('registers a model for the fee, which reaches the treasury, and exposes it by id and name', async () => {
    const treasuryBefore = await balance(s.treasury.address);
    const count = await read<bigint>(s.models, 'modelCount');
    const id = await registerModel(s, 'qwen2-0.5b');
    expect(id).toBe(count + 1n);
    expect(await balance(s.treasury.address)).toBe(treasuryBefore + REGISTRATION_FEE);
    expect(await balance(s.models.address)).toBe(0n);
    expect(await read<bigint>(s.models, 'modelIdByName', ['qwen2-0.5b'])).toBe(id);
    expect(await read<bigint>(s.models, 'modelIdByName', ['unknown'])).toBe(0n);
    const m = await read<RegisterModel & { owner: Address; registeredAt: bigint; retired: boolean }>(
      s.models,
      'model',
      [id],
    );
    expect(m).toMatchObject({ ...modelInput('qwen2-0.5b'), owner: modelOwner.address, retired: false });
    expect(m.registeredAt).toBe(await latestTimestamp());
    expect(await read<boolean>(s.models, 'exists', [id])).toBe(true);
    expect(await read<boolean>(s.models, 'isActive', [id])).toBe(true);
    expect(await read<Address>(s.models, 'modelOwner', [id])).toBe(modelOwner.address);
    expect(await read<boolean>(s.models, 'exists', [id + 1n])).toBe(false);
    expect(await read<boolean>(s.models, 'exists', [0n])).toBe(false);
    await expectRevert(stranger, s.models, 'modelOwner', [id + 1n], 'UnknownModel');
  });

  it('requires the exact governed fee', async () => {
    const info = await expectRevert(
      modelOwner,
      s.models,
      'registerModel',
      [modelInput('fee-test')],
      'WrongRegistrationFee',
      REGISTRATION_FEE - 1n,
    );
    expect(info.args).toEqual([REGISTRATION_FEE - 1n, REGISTRATION_FEE]);
    await expectRevert(
      modelOwner,
      s.models,
      'registerModel',
      [modelInput('fee-test')],
      'WrongRegistrationFee',
      0n,
    );
    expect(await read<bigint>(s.params, 'get', [MODEL_REGISTRATION_FEE])).toBe(REGISTRATION_FEE);
  });

  it('enforces the API name rules and uniqueness', async () => {
    for (const bad of ['', 'Llama', 'has space', 'slash/name', 'ünï', 'a'.repeat(65), 'tab\t', 'colon:x']) {
      await expectRevert(
        modelOwner,
        s.models,
        'registerModel',
        [modelInput(bad)],
        'InvalidModelName',
        REGISTRATION_FEE,
      );
    }
    await expectRevert(
      modelOwner,
      s.models,
      'registerModel',
      [modelInput('llama-3-8b-legal')],
      'ModelNameTaken',
      REGISTRATION_FEE,
    );
    const longest = 'a'.repeat(60) + '.-_9';
    const id = await registerModel(s, longest);
    expect(await read<bigint>(s.models, 'modelIdByName', [longest])).toBe(id);
  });

  it('rejects unknown and duplicate Datanet versions, and records provenance', async () => {
    const v = await publishDatanetVersion(s, carol, [alice, bob]);
    const reject = (trainedOn: DatanetVersion[], errorName: string) =>
      expectRevert(
        modelOwner,
        s.models,
        'registerModel',
        [modelInput('provenance-test', trainedOn)],
        errorName,
        REGISTRATION_FEE,
      );
    await reject([{ datanetId: v.datanetId + 1000n, version: 1n }], 'UnknownDatanetVersion');
    await reject([{ datanetId: v.datanetId, version: 0n }], 'UnknownDatanetVersion');
    await reject([{ datanetId: v.datanetId, version: v.version + 1n }], 'UnknownDatanetVersion');
    await reject([v, v], 'DuplicateDatanetVersion');

    const w = await publishDatanetVersion(s, carol, [bob, stranger]);
    const id = await registerModel(s, 'provenance-test', [v, w]);
    expect(await read<DatanetVersion[]>(s.models, 'trainedOn', [id])).toEqual([v, w]);
    const contributors = await read<Address[]>(s.models, 'contributorsOf', [id]);
    const expected = [alice, bob, stranger]
      .map((a) => a.address)
      .sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1));
    expect(contributors).toEqual(expected);
  });

  it('lets only the owner change the price, transfer and retire, and retirement is final', async () => {
    const id = await registerModel(s, 'owner-actions');
    await expectRevert(stranger, s.models, 'setPrice', [id, 5n], 'NotModelOwner');
    await expectRevert(stranger, s.models, 'retire', [id], 'NotModelOwner');
    await expectRevert(stranger, s.models, 'transferModelOwnership', [id, stranger.address], 'NotModelOwner');
    await expectRevert(modelOwner, s.models, 'setPrice', [id + 100n, 5n], 'UnknownModel');

    const { receipt } = await send(modelOwner, s.models, 'setPrice', [id, 1234n]);
    const [changed] = parseEventLogs({ abi: s.models.abi, logs: receipt.logs, eventName: 'PriceChanged' });
    expect(changed!.args).toEqual({ modelId: id, oldPrice: parseEther('0.001'), newPrice: 1234n });
    expect(await read<bigint>(s.models, 'pricePer1kTokens', [id])).toBe(1234n);

    await send(modelOwner, s.models, 'transferModelOwnership', [id, carol.address]);
    expect(await read<Address>(s.models, 'modelOwner', [id])).toBe(carol.address);
    await expectRevert(modelOwner, s.models, 'setPrice', [id, 1n], 'NotModelOwner');
    await expectRevert(carol, s.models, 'transferModelOwnership', [id, '0x' + '0'.repeat(40)], 'ZeroAddress');

    await send(carol, s.models, 'retire', [id]);
    expect(await read<boolean>(s.models, 'isActive', [id])).toBe(false);
    expect(await read<boolean>(s.models, 'exists', [id])).toBe(true);
    await expectRevert(carol, s.models, 'retire', [id], 'ModelIsRetired');
    await expectRevert(carol, s.models, 'setPrice', [id, 1n], 'ModelIsRetired');
  });
});

describe('InferencePayments vouchers', () => {
  it('charges a deposit with a signed voucher and splits it exactly, dust to the treasury', async () => {
    await send(alice, s.payments, 'deposit', [], parseEther('1'));
    expect(await read<bigint>(s.payments, 'balanceOf', [alice.address])).toBe(parseEther('1'));

    const charge = 1_000_003n; // not a multiple of 10,000: the shares leave 0.3 + 0.6 + 0.6 wei of dust
    const v: Voucher = {
      payer: alice.address,
      node: node.address,
      modelId: modelA,
      cumulativeAmount: charge,
      deadline: FAR_FUTURE,
    };
    const signature = await signVoucher(s, alice, v);
    expect(await read<Hex>(s.payments, 'voucherDigest', [v])).toBe(
      hashTypedData({ domain: voucherDomain(s), types: VOUCHER_TYPES, primaryType: 'Voucher', message: v }),
    );

    const before = await snapshot(s, [modelOwner.address, node.address]);
    const collectedBefore = await read<bigint>(s.settlement, 'collected', [
      modelA,
      await read<bigint>(s.settlement, 'currentEpoch'),
    ]);
    const { receipt } = await send(stranger, s.payments, 'redeem', [v, signature]); // anyone may submit
    const split = expectedSplit(charge, DEFAULT_SHARES);
    expect(split).toEqual({
      contributors: 500_001n,
      modelOwner: 200_000n,
      nodeShare: 200_000n,
      protocol: 100_002n,
    });
    expect(chargedEvents(s, receipt)).toEqual([
      { payer: alice.address, node: node.address, modelId: modelA, charge, ...split },
    ]);
    const after = await snapshot(s, [modelOwner.address, node.address]);
    expect(after.settlement - before.settlement).toBe(split.contributors);
    // ... recorded there as collected for the model's contributors in the current epoch.
    const epoch = await read<bigint>(s.settlement, 'currentEpoch');
    expect(await read<bigint>(s.settlement, 'collected', [modelA, epoch])).toBe(
      collectedBefore + split.contributors,
    );
    expect(after.treasury - before.treasury).toBe(split.protocol);
    expect(after.payments - before.payments).toBe(-(split.contributors + split.protocol));
    expect(after.earnings[0]! - before.earnings[0]!).toBe(split.modelOwner);
    expect(after.earnings[1]! - before.earnings[1]!).toBe(split.nodeShare);
    expect(await read<bigint>(s.payments, 'balanceOf', [alice.address])).toBe(parseEther('1') - charge);
    expect(await read<bigint>(s.payments, 'redeemed', [alice.address, node.address, modelA])).toBe(charge);

    // Earnings are pulled, exactly, by their owners.
    for (const who of [modelOwner, node]) {
      const owed = await read<bigint>(s.payments, 'earnings', [who.address]);
      const was = await balance(who.address);
      const { fee } = await send(who, s.payments, 'withdrawEarnings');
      expect(await balance(who.address)).toBe(was + owed - fee);
      expect(await read<bigint>(s.payments, 'earnings', [who.address])).toBe(0n);
      await expectRevert(who, s.payments, 'withdrawEarnings', [], 'NothingToWithdraw');
    }
  });

  it('charges only the difference for a later cumulative voucher and rejects replays', async () => {
    const base = await read<bigint>(s.payments, 'redeemed', [alice.address, node.address, modelA]);
    const v1: Voucher = {
      payer: alice.address,
      node: node.address,
      modelId: modelA,
      cumulativeAmount: base + 10_000n,
      deadline: FAR_FUTURE,
    };
    const v2 = { ...v1, cumulativeAmount: base + 25_000n };
    const [sig1, sig2] = [await signVoucher(s, alice, v1), await signVoucher(s, alice, v2)];
    const deposit = await read<bigint>(s.payments, 'balanceOf', [alice.address]);

    const first = await send(node, s.payments, 'redeem', [v1, sig1]);
    expect(chargedEvents(s, first.receipt)[0]!.charge).toBe(10_000n);
    const second = await send(node, s.payments, 'redeem', [v2, sig2]);
    expect(chargedEvents(s, second.receipt)[0]!.charge).toBe(15_000n);
    expect(await read<bigint>(s.payments, 'balanceOf', [alice.address])).toBe(deposit - 25_000n);

    const replay = await expectRevert(node, s.payments, 'redeem', [v2, sig2], 'VoucherAlreadyRedeemed');
    expect(replay.args).toEqual([base + 25_000n, base + 25_000n]);
    await expectRevert(node, s.payments, 'redeem', [v1, sig1], 'VoucherAlreadyRedeemed'); // an older one
  });

  it('rejects forged signatures and signatures for another node, model, chain or contract', async () => {
    const v: Voucher = {
      payer: alice.address,
      node: node.address,
      modelId: modelB,
      cumulativeAmount: 777n,
      deadline: FAR_FUTURE,
    };
    const bad = async (signature: Hex, voucher: Voucher = v) =>
      expectRevert(node, s.payments, 'redeem', [voucher, signature], 'InvalidSignature');
    await bad(await signVoucher(s, stranger, v)); // someone else signs for alice
    await bad(await signVoucher(s, alice, { ...v, node: stranger.address })); // signed for another node
    await bad(await signVoucher(s, alice, { ...v, modelId: modelA })); // signed for another model
    await bad(await signVoucher(s, alice, { ...v, cumulativeAmount: 776n })); // another amount
    await bad(await signVoucher(s, alice, v, { chainId: 1 })); // another chain
    await bad(await signVoucher(s, alice, v, { verifyingContract: s.agents.address })); // another contract
    await bad('0x1234'); // malformed
    // The genuine one works.
    await send(node, s.payments, 'redeem', [v, await signVoucher(s, alice, v)]);
  });

  it('rejects expired vouchers, unknown models, zero nodes and charges above the deposit', async () => {
    const now = await latestTimestamp();
    const v: Voucher = {
      payer: bob.address,
      node: node.address,
      modelId: modelA,
      cumulativeAmount: 5_000n,
      deadline: now - 1n,
    };
    const expired = await expectRevert(
      node,
      s.payments,
      'redeem',
      [v, await signVoucher(s, bob, v)],
      'VoucherExpired',
    );
    expect(expired.args).toEqual([now - 1n]);

    const unknown = { ...v, modelId: 999n, deadline: FAR_FUTURE };
    await expectRevert(
      node,
      s.payments,
      'redeem',
      [unknown, await signVoucher(s, bob, unknown)],
      'UnknownModel',
    );
    const zeroNode = {
      ...v,
      node: '0x0000000000000000000000000000000000000000' as Address,
      deadline: FAR_FUTURE,
    };
    await expectRevert(
      node,
      s.payments,
      'redeem',
      [zeroNode, await signVoucher(s, bob, zeroNode)],
      'ZeroAddress',
    );

    const live = { ...v, deadline: FAR_FUTURE };
    const sig = await signVoucher(s, bob, live);
    const empty = await expectRevert(node, s.payments, 'redeem', [live, sig], 'InsufficientDeposit');
    expect(empty.args).toEqual([0n, 5_000n]);
    await send(carol, s.payments, 'depositFor', [bob.address], 4_999n); // a sponsor funds bob
    await expectRevert(node, s.payments, 'redeem', [live, sig], 'InsufficientDeposit');
    await send(bob, s.payments, 'deposit', [], 1n);
    await send(node, s.payments, 'redeem', [live, sig]);
    expect(await read<bigint>(s.payments, 'balanceOf', [bob.address])).toBe(0n);
    await expectRevert(bob, s.payments, 'deposit', [], 'ZeroAmount', 0n);
  });

  it('redeems a batch atomically and still pays a retired model', async () => {
    const retiring = await registerModel(s, 'retiring-model');
    await send(carol, s.payments, 'deposit', [], 100_000n);
    const v1: Voucher = {
      payer: carol.address,
      node: node.address,
      modelId: modelA,
      cumulativeAmount: 30_000n,
      deadline: FAR_FUTURE,
    };
    const v2: Voucher = { ...v1, modelId: retiring, cumulativeAmount: 20_000n };
    await send(modelOwner, s.models, 'retire', [retiring]);
    const sigs = [await signVoucher(s, carol, v1), await signVoucher(s, carol, v2)];
    await expectRevert(node, s.payments, 'redeemBatch', [[v1, v2], [sigs[0]]], 'LengthMismatch');
    // One bad voucher stops the whole batch.
    await expectRevert(
      node,
      s.payments,
      'redeemBatch',
      [
        [v1, v2],
        [sigs[0], sigs[0]],
      ],
      'InvalidSignature',
    );
    const { receipt } = await send(node, s.payments, 'redeemBatch', [[v1, v2], sigs]);
    expect(chargedEvents(s, receipt).map((e) => [e.modelId, e.charge])).toEqual([
      [modelA, 30_000n],
      [retiring, 20_000n],
    ]);
    expect(await read<bigint>(s.payments, 'balanceOf', [carol.address])).toBe(50_000n);
  });

  it('uses the governed fee shares at the time of each charge', async () => {
    await send(governance, s.params, 'setFeeShares', [3_333n, 3_333n, 3_333n, 1n]);
    try {
      const base = await read<bigint>(s.payments, 'redeemed', [carol.address, node.address, modelA]);
      const v: Voucher = {
        payer: carol.address,
        node: node.address,
        modelId: modelA,
        cumulativeAmount: base + 10_001n,
        deadline: FAR_FUTURE,
      };
      const treasuryBefore = await balance(s.treasury.address);
      const { receipt } = await send(node, s.payments, 'redeem', [v, await signVoucher(s, carol, v)]);
      const split = expectedSplit(10_001n, [3_333n, 3_333n, 3_333n, 1n]);
      expect(split.protocol).toBe(10_001n - 3n * 3_333n); // 1 wei of share + 2 wei of dust
      expect(chargedEvents(s, receipt)[0]).toMatchObject(split);
      expect(await balance(s.treasury.address)).toBe(treasuryBefore + split.protocol);
    } finally {
      await send(governance, s.params, 'setFeeShares', [...DEFAULT_SHARES]);
    }
  });
});

describe('AgentRegistry spending rules', () => {
  it('lets an agent pay within its limit, rejects overspending and other models, and resets each period', async () => {
    const period = 3_600;
    const limit = 50_000n;
    await expectRevert(
      agentOwner,
      s.agents,
      'registerAgent',
      [agentKey.address, limit, period, [999n]],
      'UnknownModel',
    );
    await expectRevert(agentOwner, s.agents, 'registerAgent', [agentKey.address, limit, 0, []], 'ZeroPeriod');
    await send(agentOwner, s.agents, 'registerAgent', [agentKey.address, limit, period, [modelA]]);
    const registeredAt = await latestTimestamp();
    expect(await read<boolean>(s.agents, 'isAgent', [agentKey.address])).toBe(true);
    await expectRevert(
      stranger,
      s.agents,
      'registerAgent',
      [agentKey.address, 1n, 1, []],
      'AgentAlreadyRegistered',
    );
    await expectRevert(stranger, s.agents, 'updateAgent', [agentKey.address, 1n, 1, []], 'NotAgentOwner');
    await expectRevert(
      stranger,
      s.agents,
      'recordSpend',
      [agentKey.address, modelA, 1n],
      'OnlyInferencePayments',
    );

    await send(agentOwner, s.payments, 'depositFor', [agentKey.address], 1_000_000n);
    const channel = (modelId: bigint, cumulativeAmount: bigint): Voucher => ({
      payer: agentKey.address,
      node: node.address,
      modelId,
      cumulativeAmount,
      deadline: FAR_FUTURE,
    });
    const redeem = async (v: Voucher) =>
      send(node, s.payments, 'redeem', [v, await signVoucher(s, agentKey, v)]);
    const rejected = async (v: Voucher, errorName: string) =>
      expectRevert(node, s.payments, 'redeem', [v, await signVoucher(s, agentKey, v)], errorName);

    await redeem(channel(modelA, 30_000n));
    await redeem(channel(modelA, 50_000n)); // exactly the limit
    const over = await rejected(channel(modelA, 50_001n), 'SpendLimitExceeded');
    expect(over.args).toEqual([limit, 50_001n]);
    const notAllowed = await rejected(channel(modelB, 1n), 'ModelNotAllowed');
    expect(notAllowed.args).toEqual([agentKey.address, modelB]);

    type AgentInfo = {
      owner: Address;
      active: boolean;
      limitPerPeriod: bigint;
      period: bigint;
      spentInPeriod: bigint;
      periodStart: bigint;
      allowedModels: readonly bigint[];
    };
    const info = await read<AgentInfo>(s.agents, 'agent', [agentKey.address]);
    expect(info).toEqual({
      owner: agentOwner.address,
      active: true,
      limitPerPeriod: limit,
      period: BigInt(period),
      spentInPeriod: limit,
      periodStart: registeredAt,
      allowedModels: [modelA],
    });

    // The next fixed window starts exactly `period` seconds after registration.
    await advance(period);
    const next = await read<AgentInfo>(s.agents, 'agent', [agentKey.address]);
    expect(next.spentInPeriod).toBe(0n);
    expect(next.periodStart).toBe(registeredAt + BigInt(period));
    await redeem(channel(modelA, 100_000n)); // 50,000 more: the new window's full limit
    await rejected(channel(modelA, 100_001n), 'SpendLimitExceeded');

    // The owner widens the rules: any model, a higher limit; what was spent in the window still counts.
    await send(agentOwner, s.agents, 'updateAgent', [agentKey.address, 60_000n, period, []]);
    await redeem(channel(modelB, 10_000n));
    await rejected(channel(modelB, 10_001n), 'SpendLimitExceeded');

    // Deactivated, the address is an ordinary payer again.
    await expectRevert(stranger, s.agents, 'deactivate', [agentKey.address], 'NotAgentOwner');
    await send(agentOwner, s.agents, 'deactivate', [agentKey.address]);
    expect(await read<boolean>(s.agents, 'isAgent', [agentKey.address])).toBe(false);
    await redeem(channel(modelB, 500_000n));
  });

  it('lets an address refuse to be someone else’s agent', async () => {
    // A stranger registering carol with a zero limit would block her payments, so carol can leave
    // and stay out.
    await send(stranger, s.agents, 'registerAgent', [carol.address, 0n, 60, []]);
    await send(carol, s.agents, 'deactivate', [carol.address]);
    expect(await read<boolean>(s.agents, 'optedOut', [carol.address])).toBe(true);
    await expectRevert(stranger, s.agents, 'registerAgent', [carol.address, 0n, 60, []], 'AgentOptedOut');
    await send(carol, s.agents, 'setOptOut', [false]);
    await send(agentOwner, s.agents, 'registerAgent', [carol.address, 10n ** 30n, 60, []]);
    await send(agentOwner, s.agents, 'deactivate', [carol.address]);
  });
});

describe('deposit withdrawals', () => {
  it('pays only after the delay, and vouchers stay redeemable meanwhile', async () => {
    const payer = devAccount(7); // carol
    const deposit = await read<bigint>(s.payments, 'balanceOf', [payer.address]);
    await send(payer, s.payments, 'deposit', [], parseEther('2'));
    const total = deposit + parseEther('2');
    await expectRevert(payer, s.payments, 'withdraw', [], 'NoWithdrawalRequested');

    const { receipt } = await send(payer, s.payments, 'requestWithdrawal', [total]);
    const requestedAt = (await pub.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    const [pending, availableAt] = await read<[bigint, bigint]>(s.payments, 'pendingWithdrawal', [
      payer.address,
    ]);
    expect([pending, availableAt]).toEqual([total, requestedAt + BigInt(DAY)]);
    const early = await expectRevert(payer, s.payments, 'withdraw', [], 'WithdrawalNotReady');
    expect(early.args).toEqual([requestedAt + BigInt(DAY)]);

    // The node redeems what was served before the payer leaves.
    const base = await read<bigint>(s.payments, 'redeemed', [payer.address, node.address, modelB]);
    const v: Voucher = {
      payer: payer.address,
      node: node.address,
      modelId: modelB,
      cumulativeAmount: base + parseEther('0.5'),
      deadline: FAR_FUTURE,
    };
    await advance(DAY - 100);
    await send(node, s.payments, 'redeem', [v, await signVoucher(s, payer, v)]);
    await expectRevert(payer, s.payments, 'withdraw', [], 'WithdrawalNotReady');

    await advance(100);
    const was = await balance(payer.address);
    const { fee } = await send(payer, s.payments, 'withdraw');
    // min(requested, balance): the voucher took 0.5 OPEN of the requested amount.
    expect(await balance(payer.address)).toBe(was + total - parseEther('0.5') - fee);
    expect(await read<bigint>(s.payments, 'balanceOf', [payer.address])).toBe(0n);
    await expectRevert(payer, s.payments, 'withdraw', [], 'NoWithdrawalRequested');
  });

  it('cancels a request with 0 and reads the delay from governance at request time', async () => {
    await send(bob, s.payments, 'deposit', [], 1_000n);
    await send(bob, s.payments, 'requestWithdrawal', [400n]);
    await send(bob, s.payments, 'requestWithdrawal', [0n]);
    await expectRevert(bob, s.payments, 'withdraw', [], 'NoWithdrawalRequested');
    await expectRevert(bob, s.payments, 'requestWithdrawal', [0n], 'NoWithdrawalRequested');

    await send(governance, s.params, 'set', [PAYMENTS_WITHDRAW_DELAY, 0n]);
    try {
      await send(bob, s.payments, 'requestWithdrawal', [400n]);
      const was = await balance(bob.address);
      const { fee } = await send(bob, s.payments, 'withdraw');
      expect(await balance(bob.address)).toBe(was + 400n - fee);
      expect(await read<bigint>(s.payments, 'balanceOf', [bob.address])).toBe(600n);
    } finally {
      await send(governance, s.params, 'set', [PAYMENTS_WITHDRAW_DELAY, BigInt(DAY)]);
    }
  });
});

describe('a malicious receiver', () => {
  const Mode = { None: 0, WithdrawEarnings: 1, Withdraw: 2, RevertOnReceive: 3 } as const;

  it('cannot take more than it is owed by re-entering withdrawEarnings or withdraw', async () => {
    const attacker = await deploy('ReentrantReceiver', [s.payments.address, stranger.address]);
    attacker.abi = [...attacker.abi, ...errorsOf(s.payments.abi)];

    // It serves as a node: alice's voucher credits it the node share.
    const base = await read<bigint>(s.payments, 'redeemed', [alice.address, attacker.address, modelA]);
    const v: Voucher = {
      payer: alice.address,
      node: attacker.address,
      modelId: modelA,
      cumulativeAmount: base + 100_000n,
      deadline: FAR_FUTURE,
    };
    await send(node, s.payments, 'redeem', [v, await signVoucher(s, alice, v)]);
    const owed = await read<bigint>(s.payments, 'earnings', [attacker.address]);
    expect(owed).toBe(20_000n);

    // A receiver that refuses payment gets nothing and changes nothing.
    await send(stranger, attacker, 'setMode', [Mode.RevertOnReceive]);
    await expectRevert(stranger, attacker, 'withdrawEarnings', [], 'Refused');

    const holdings = await balance(s.payments.address);
    await send(stranger, attacker, 'setMode', [Mode.WithdrawEarnings]);
    await send(stranger, attacker, 'withdrawEarnings');
    expect(await read<bigint>(attacker, 'reentryAttempts')).toBe(1n);
    expect(await read<bigint>(attacker, 'reentryFailures')).toBe(1n);
    expect(await balance(attacker.address)).toBe(owed);
    expect(await balance(s.payments.address)).toBe(holdings - owed);
    expect(await read<bigint>(s.payments, 'earnings', [attacker.address])).toBe(0n);

    // As a payer (an ERC-1271 wallet whose signer is `stranger`): it deposits, is charged, leaves.
    await send(stranger, attacker, 'setMode', [Mode.None]);
    await send(stranger, attacker, 'deposit', [], 300_000n);
    const w: Voucher = {
      payer: attacker.address,
      node: node.address,
      modelId: modelA,
      cumulativeAmount: 100_000n,
      deadline: FAR_FUTURE,
    };
    await expectRevert(node, s.payments, 'redeem', [w, await signVoucher(s, alice, w)], 'InvalidSignature');
    await send(node, s.payments, 'redeem', [w, await signVoucher(s, stranger, w)]);
    await send(stranger, attacker, 'requestWithdrawal', [2n ** 256n - 1n]); // everything
    await advance(DAY);
    await send(stranger, attacker, 'setMode', [Mode.Withdraw]);
    const beforeWithdraw = await balance(s.payments.address);
    await send(stranger, attacker, 'withdraw');
    expect(await read<bigint>(attacker, 'reentryAttempts')).toBe(2n);
    expect(await read<bigint>(attacker, 'reentryFailures')).toBe(2n);
    expect(await balance(attacker.address)).toBe(owed + 200_000n);
    expect(await balance(s.payments.address)).toBe(beforeWithdraw - 200_000n);
    expect(await read<bigint>(s.payments, 'balanceOf', [attacker.address])).toBe(0n);
  });
});

// ---------------------------------------------------------------- accounting

interface Snapshot {
  payments: bigint;
  settlement: bigint;
  treasury: bigint;
  earnings: bigint[];
}

async function snapshot(st: Stack, earners: Address[]): Promise<Snapshot> {
  return {
    payments: await balance(st.payments.address),
    settlement: await balance(st.settlement.address),
    treasury: await balance(st.treasury.address),
    earnings: await Promise.all(earners.map((a) => read<bigint>(st.payments, 'earnings', [a]))),
  };
}

describe('conservation (property)', () => {
  it('keeps every wei accounted for over random deposits, charges and withdrawals', async () => {
    const st = await deployStack();
    await send(governance, st.params, 'set', [PAYMENTS_WITHDRAW_DELAY, 0n]); // withdrawals in one step
    const model1 = await registerModel(st, 'prop-one');
    const model2 = await registerModel(st, 'prop-two');
    const modelIds = [model1, model2];
    const payers = [alice, bob, carol];
    const nodes = [node, stranger];
    const people = [...payers, ...nodes, modelOwner];
    const holders = [st.payments.address, st.settlement.address, st.treasury.address];
    const cumulative = new Map<string, bigint>();
    const key = (p: number, n: number, m: number) => `${p}:${n}:${m}`;

    const op = fc.oneof(
      fc.record({
        kind: fc.constant('deposit' as const),
        payer: fc.nat(2),
        amount: fc.bigInt(1n, 10n ** 15n),
      }),
      fc.record({
        kind: fc.constant('charge' as const),
        payer: fc.nat(2),
        node: fc.nat(1),
        model: fc.nat(1),
        amount: fc.bigInt(1n, 10n ** 15n),
      }),
      fc.record({
        kind: fc.constant('withdraw' as const),
        payer: fc.nat(2),
        amount: fc.bigInt(1n, 2n * 10n ** 15n),
      }),
      fc.record({ kind: fc.constant('earnings' as const), who: fc.nat(2) }),
    );
    const shares = fc.tuple(fc.nat(10_000), fc.nat(10_000), fc.nat(10_000)).map(([a, b, c]) => {
      const [x, y, z] = [a, b, c].sort((p, q) => p - q) as [number, number, number];
      return [x, y - x, z - y, 10_000 - z].map(BigInt) as [bigint, bigint, bigint, bigint];
    });

    await fc.assert(
      fc.asyncProperty(shares, fc.array(op, { minLength: 2, maxLength: 6 }), async (bps, ops) => {
        await send(governance, st.params, 'setFeeShares', bps); // governance is not in the sum
        let gas = 0n;
        const total = async () => {
          const all = await Promise.all([...people.map((p) => p.address), ...holders].map(balance));
          return all.reduce((a, b) => a + b, 0n);
        };
        const start = await total();
        for (const o of ops) {
          if (o.kind === 'deposit') {
            gas += (await send(payers[o.payer]!, st.payments, 'deposit', [], o.amount)).fee;
          } else if (o.kind === 'charge') {
            const payer = payers[o.payer]!;
            const k = key(o.payer, o.node, o.model);
            const v: Voucher = {
              payer: payer.address,
              node: nodes[o.node]!.address,
              modelId: modelIds[o.model]!,
              cumulativeAmount: (cumulative.get(k) ?? 0n) + o.amount,
              deadline: FAR_FUTURE,
            };
            const sig = await signVoucher(st, payer, v);
            const deposit = await read<bigint>(st.payments, 'balanceOf', [payer.address]);
            if (deposit < o.amount) {
              await expectRevert(node, st.payments, 'redeem', [v, sig], 'InsufficientDeposit');
              continue;
            }
            const before = await snapshot(st, [modelOwner.address, v.node]);
            const sent = await send(node, st.payments, 'redeem', [v, sig]);
            gas += sent.fee;
            cumulative.set(k, v.cumulativeAmount);
            const [charged] = chargedEvents(st, sent.receipt);
            const split = expectedSplit(o.amount, bps);
            expect(charged).toEqual({
              payer: v.payer,
              node: v.node,
              modelId: v.modelId,
              charge: o.amount,
              ...split,
            });
            expect(split.contributors + split.modelOwner + split.nodeShare + split.protocol).toBe(o.amount);
            const after = await snapshot(st, [modelOwner.address, v.node]);
            expect(after.settlement - before.settlement).toBe(split.contributors);
            expect(after.treasury - before.treasury).toBe(split.protocol);
            expect(after.payments - before.payments).toBe(-(split.contributors + split.protocol));
            expect(after.earnings[0]! - before.earnings[0]!).toBe(split.modelOwner);
            expect(after.earnings[1]! - before.earnings[1]!).toBe(split.nodeShare);
          } else if (o.kind === 'withdraw') {
            const payer = payers[o.payer]!;
            const deposit = await read<bigint>(st.payments, 'balanceOf', [payer.address]);
            gas += (await send(payer, st.payments, 'requestWithdrawal', [o.amount])).fee;
            const was = await balance(payer.address);
            const sent = await send(payer, st.payments, 'withdraw');
            gas += sent.fee;
            const paid = o.amount < deposit ? o.amount : deposit;
            expect(await balance(payer.address)).toBe(was + paid - sent.fee);
          } else {
            const who = [modelOwner, ...nodes][o.who]!;
            if ((await read<bigint>(st.payments, 'earnings', [who.address])) === 0n) continue;
            gas += (await send(who, st.payments, 'withdrawEarnings')).fee;
          }
        }
        expect((await total()) + gas).toBe(start);
        // The contract holds exactly the deposits and earnings it owes.
        const owed = await Promise.all([
          ...payers.map((p) => read<bigint>(st.payments, 'balanceOf', [p.address])),
          ...[modelOwner, ...nodes].map((p) => read<bigint>(st.payments, 'earnings', [p.address])),
        ]);
        expect(await balance(st.payments.address)).toBe(owed.reduce((a, b) => a + b, 0n));
      }),
      { numRuns: 15 },
    );
  });
});
