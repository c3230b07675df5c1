import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, getAddress, keccak256, parseEther, toBytes, toFunctionSelector } from 'viem';
import type { Abi, Address, Hex, TransactionReceipt } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { startDevnetProcess } from '../../chain/test/support/devnet-process.ts';
import type { DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { devnetChain as chain } from '../../chain/test/support/viem-chain.ts';
import { loadArtifact } from '../src/index.ts';
import { devAccounts, devnetContracts, feeOf, type DevnetPublicClient } from './support/devnet-contracts.ts';

const dev = devAccounts(10);
const [anyone, opA, opB, challenger, funder, stranger, opC, opD] = dev as [
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
  HDAccount,
];
const governance = dev[9]!;

const EPOCH = 3600n;
const WINDOW = 600n;
const BOND = parseEther('10') + 1n; // odd, so the slash split has a rounding remainder
const REWARD_BPS = 3333n;
const UNBONDING = 3600n;
const MODELS = 6;

// Root status and fraud kind enums as the contract numbers them.
const Status = { None: 0, Pending: 1, Final: 2, Cancelled: 3 } as const;
const Kind = { Duplicate: 0, Index: 1, Total: 2 } as const;

interface Target {
  address: Address;
  abi: Abi;
}

type LeafTuple = [bigint, Address, bigint];
type Tree = StandardMerkleTree<LeafTuple>;

interface RootInfo {
  root: Hex;
  total: bigint;
  leafCount: bigint;
  postedAt: bigint;
  operator: Address;
  status: number;
  claimed: bigint;
  challengeEnds: bigint;
  swept: boolean;
}

interface OperatorInfo {
  status: number;
  bond: bigint;
  withdrawableAt: bigint;
  slashableUntil: bigint;
}

let devnet: DevnetProcess;
const dc = devnetContracts({ deployer: anyone });
const { deploy, read, balance, advanceTo } = dc;
let pub: DevnetPublicClient;
let S: Target; // AttributionSettlement
let P: Target; // ProtocolParams
let M: Target; // ModelRegistry
let treasury: Address;
let deployedAt: bigint;
let claimerAbi: Abi;
let claimerBytecode: Hex;
const models: bigint[] = [];
/** Every (model, epoch) this file funded, for the final accounting. */
const funded = new Map<string, { modelId: bigint; epoch: bigint }>();

const paramKey = (name: string) => keccak256(toBytes(name));
const cost = feeOf;
/** A fresh address nobody holds a key for (rewards to it show up as exact balance changes). */
const addressOf = (label: string) => getAddress(keccak256(toBytes(label)).slice(0, 42));

/** Calls `functionName` as `from` and returns the (successful) receipt. */
async function send(
  from: HDAccount,
  target: Target,
  functionName: string,
  args: readonly unknown[] = [],
  value = 0n,
): Promise<TransactionReceipt> {
  return (await dc.send(from, target, functionName, args, value)).receipt;
}

/** The custom error a call reverts with (simulated against the latest block). */
async function revertOf(
  from: HDAccount,
  target: Target,
  functionName: string,
  args: readonly unknown[] = [],
  value = 0n,
): Promise<string | undefined> {
  return (await dc.revertOf(from, target, functionName, args, value)).name;
}

function events(receipt: TransactionReceipt, eventName: string, abi: Abi = S.abi) {
  return dc.eventArgs<Record<string, unknown>>({ address: S.address, abi }, receipt, eventName);
}

const deployAt = async (name: string, args: readonly unknown[]) => (await deploy(name, args)).address;

// ------------------------------------------------------------------ time

const currentEpoch = () => read<bigint>(S, 'currentEpoch');
const epochStart = (epoch: bigint) => read<bigint>(S, 'epochStart', [epoch]);

/** Moves to the start of the next epoch; returns its number. */
async function nextEpoch(): Promise<bigint> {
  const epoch = await currentEpoch();
  await advanceTo(await epochStart(epoch + 1n));
  expect(await currentEpoch()).toBe(epoch + 1n);
  return epoch + 1n;
}

async function passWindow(modelId: bigint, epoch: bigint): Promise<void> {
  await advanceTo(await read<bigint>(S, 'challengeWindowEnds', [modelId, epoch]));
}

// ------------------------------------------------------------------ settlement helpers

async function fund(modelId: bigint, amount: bigint): Promise<bigint> {
  const receipt = await send(funder, S, 'fund', [modelId], amount);
  const [e] = events(receipt, 'Funded');
  const epoch = e!.epoch as bigint;
  funded.set(`${modelId}/${epoch}`, { modelId, epoch });
  return epoch;
}

const rootInfo = (modelId: bigint, epoch: bigint) => read<RootInfo>(S, 'rootInfo', [modelId, epoch]);
const operatorInfo = (operator: Address) => read<OperatorInfo>(S, 'operatorInfo', [operator]);

/** A reward tree with indexes 0..n-1 in the given order. */
function rewardTree(rewards: ReadonlyArray<readonly [Address, bigint]>): Tree {
  return StandardMerkleTree.of(
    rewards.map(([account, amount], i): LeafTuple => [BigInt(i), account, amount]),
    ['uint256', 'address', 'uint256'],
  );
}

/** A tree of explicit leaves (for fraudulent roots). */
function leavesTree(leaves: LeafTuple[]): Tree {
  return StandardMerkleTree.of(leaves, ['uint256', 'address', 'uint256']);
}

const sumOf = (tree: Tree) => [...tree.entries()].reduce((s, [, [, , amount]]) => s + amount, 0n);
const leafArg = ([index, account, amount]: LeafTuple) => ({ index, account, amount });

/** The claim of value number `i` of `tree` (its position in the values it was built from). */
function claimOf(tree: Tree, modelId: bigint, epoch: bigint, i: number) {
  const [index, account, amount] = tree.at(i)!;
  return { modelId, epoch, index, account, amount, proof: tree.getProof(i) as Hex[] };
}

async function postRoot(
  operator: HDAccount,
  modelId: bigint,
  epoch: bigint,
  tree: Tree,
  total = sumOf(tree),
  leafCount = BigInt(tree.length),
): Promise<TransactionReceipt> {
  return send(operator, S, 'postRoot', [modelId, epoch, tree.root, total, leafCount, 'ipfs://results']);
}

async function register(operator: HDAccount, bond = BOND): Promise<void> {
  await send(operator, S, 'registerOperator', [], bond);
}

// ------------------------------------------------------------------ setup

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dc.connect(devnet.url);
  pub = dc.pub;

  const [settlement, params, registry, claimer] = await Promise.all(
    ['AttributionSettlement', 'ProtocolParams', 'ModelRegistry', 'ReentrantClaimer'].map((n) =>
      loadArtifact(n),
    ),
  );
  claimerAbi = claimer!.abi;
  claimerBytecode = claimer!.bytecode;

  P = { address: await deployAt('ProtocolParams', [governance.address]), abi: params!.abi };
  const settings: Array<[string, bigint]> = [
    ['attribution.epochLength', EPOCH],
    ['attribution.challengeWindow', WINDOW],
    ['attribution.operatorBond', BOND],
    ['attribution.operatorUnbondingPeriod', UNBONDING],
    ['slashing.challengerRewardBps', REWARD_BPS],
  ];
  for (const [name, value] of settings) await send(governance, P, 'set', [paramKey(name), value]);

  treasury = await deployAt('EcosystemTreasury', [governance.address]);
  const datanets = await deployAt('DatanetRegistry', [P.address, treasury]);
  M = { address: await deployAt('ModelRegistry', [P.address, datanets, treasury]), abi: registry!.abi };
  const deployed = await deploy('AttributionSettlement', [P.address, M.address, funder.address, treasury]);
  S = { address: deployed.address, abi: settlement!.abi };
  deployedAt = (await pub.getBlock({ blockNumber: deployed.receipt.blockNumber })).timestamp;
  const fee = await read<bigint>(P, 'get', [paramKey('model.registrationFee')]);
  for (let i = 0; i < MODELS; i++) {
    const receipt = await send(
      anyone,
      M,
      'registerModel',
      [
        {
          name: `model-${i}`,
          baseModelHash: keccak256(toBytes('base')),
          adapterHash: keccak256(toBytes(`adapter-${i}`)),
          trainedOn: [],
          trainingConfigHash: keccak256(toBytes('config')),
          metadataURI: `ipfs://model-${i}`,
          pricePer1kTokens: 1000n,
        },
      ],
      fee,
    );
    models.push(events(receipt, 'ModelRegistered', M.abi)[0]!.modelId as bigint);
  }
}, 120_000);

afterAll(async () => {
  await devnet?.stop();
});

// ------------------------------------------------------------------ tests

describe('AttributionSettlement', () => {
  it('counts epochs lazily from deployment, computes them in views, and applies a new length from the next epoch', async () => {
    const [m1] = models as [bigint];
    const s0 = await epochStart(0n);
    expect(s0).toBe(deployedAt);
    expect(await currentEpoch()).toBe(0n);

    expect(await fund(m1, parseEther('1'))).toBe(0n);
    expect(await fund(m1, parseEther('0.5'))).toBe(0n);
    expect(await read<bigint>(S, 'collected', [m1, 0n])).toBe(parseEther('1.5'));
    expect(await revertOf(funder, S, 'fund', [999n], 1n)).toBe('UnknownModel');

    // 2.5 epochs with no interaction: the view already says 2, before anything is recorded.
    await advanceTo(s0 + 2n * EPOCH + EPOCH / 2n);
    expect(await currentEpoch()).toBe(2n);
    expect(await epochStart(1n)).toBe(s0 + EPOCH);
    expect(await epochStart(2n)).toBe(s0 + 2n * EPOCH);
    const receipt = await send(funder, S, 'fund', [m1], parseEther('2'));
    funded.set(`${m1}/2`, { modelId: m1, epoch: 2n });
    expect(events(receipt, 'EpochStarted')).toEqual([{ epoch: 2n, start: s0 + 2n * EPOCH, length: EPOCH }]);
    expect(events(receipt, 'Funded')[0]!.epoch).toBe(2n);
    expect(await read<bigint>(S, 'collected', [m1, 1n])).toBe(0n);
    expect(await read<bigint>(S, 'collected', [m1, 2n])).toBe(parseEther('2'));

    // Governance doubles the length during epoch 2: epoch 2 still ends on time, epoch 3 is longer,
    // and no past epoch moves.
    await send(governance, P, 'set', [paramKey('attribution.epochLength'), 2n * EPOCH]);
    expect(await epochStart(3n)).toBe(s0 + 3n * EPOCH);
    expect(await epochStart(4n)).toBe(s0 + 5n * EPOCH);
    await advanceTo(s0 + 3n * EPOCH);
    expect(await currentEpoch()).toBe(3n);
    expect(await fund(m1, 1n)).toBe(3n);
    await advanceTo(s0 + 4n * EPOCH + 10n); // would be epoch 4 under the old length
    expect(await currentEpoch()).toBe(3n);
    expect(await fund(m1, 2n)).toBe(3n);
    expect(await read<bigint>(S, 'collected', [m1, 3n])).toBe(3n);

    // Back to the old length: applies from epoch 4 (which still starts after epoch 3's 2 hours).
    await send(governance, P, 'set', [paramKey('attribution.epochLength'), EPOCH]);
    await advanceTo(s0 + 5n * EPOCH + 3n * EPOCH + 10n); // epochs 4, 5, 6 passed silently, 7 runs
    expect(await currentEpoch()).toBe(7n);
    expect(await fund(m1, 4n)).toBe(7n);
    for (const [epoch, start] of [
      [0n, s0],
      [1n, s0 + EPOCH],
      [2n, s0 + 2n * EPOCH],
      [3n, s0 + 3n * EPOCH],
      [4n, s0 + 5n * EPOCH],
      [5n, s0 + 6n * EPOCH],
      [7n, s0 + 8n * EPOCH],
      [8n, s0 + 9n * EPOCH],
    ] as const) {
      expect(await epochStart(epoch)).toBe(start);
    }
  });

  it('lets only a bonded, active operator post, only for an ended epoch, with total ≤ collected', async () => {
    const [m1, m2] = models as [bigint, bigint];
    expect(await revertOf(opA, S, 'registerOperator', [], BOND - 1n)).toBe('BondTooLow');
    await register(opA); // exactly the minimum
    await send(opA, S, 'topUpBond', [], 5n);
    expect(await operatorInfo(opA.address)).toMatchObject({ status: 1, bond: BOND + 5n });
    expect(await revertOf(opA, S, 'registerOperator', [], BOND)).toBe('AlreadyRegistered');
    await register(opB);

    const epoch = await currentEpoch();
    await fund(m2, parseEther('3'));
    const tree = rewardTree([[addressOf('x'), parseEther('1')]]);
    const args = (total: bigint, e = epoch, m = m2) => [m, e, tree.root, total, 1n, 'ipfs://r'];

    expect(await revertOf(stranger, S, 'postRoot', args(parseEther('1')))).toBe('NotActiveOperator');
    expect(await revertOf(opA, S, 'postRoot', args(parseEther('1')))).toBe('EpochNotEnded');
    await nextEpoch();
    expect(await revertOf(opA, S, 'postRoot', args(parseEther('1'), epoch + 1n))).toBe('EpochNotEnded');
    expect(await revertOf(opA, S, 'postRoot', args(parseEther('3') + 1n))).toBe('TotalExceedsCollected');
    expect(await revertOf(opA, S, 'postRoot', args(parseEther('1'), epoch, 999n))).toBe('UnknownModel');
    expect(await revertOf(opA, S, 'postRoot', [m2, epoch, tree.root, 1n, 0n, ''])).toBe('InvalidRoot');
    expect(await revertOf(opA, S, 'postRoot', [m2, epoch, `0x${'0'.repeat(64)}`, 1n, 1n, ''])).toBe(
      'InvalidRoot',
    );

    const receipt = await postRoot(opA, m2, epoch, tree);
    const [posted] = events(receipt, 'RootPosted');
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber });
    expect(posted).toMatchObject({
      modelId: m2,
      epoch,
      operator: opA.address,
      root: tree.root,
      total: parseEther('1'),
    });
    expect(posted!.challengeEnds).toBe(block.timestamp + WINDOW);
    expect(await rootInfo(m2, epoch)).toMatchObject({
      root: tree.root,
      total: parseEther('1'),
      leafCount: 1n,
      postedAt: block.timestamp,
      operator: opA.address,
      status: Status.Pending,
      claimed: 0n,
    });
    expect(await read<bigint>(S, 'challengeWindowEnds', [m2, epoch])).toBe(block.timestamp + WINDOW);
    expect(await revertOf(opB, S, 'postRoot', args(parseEther('1')))).toBe('RootExists');
    await passWindow(m2, epoch);
    expect((await rootInfo(m2, epoch)).status).toBe(Status.Final);
    expect(await revertOf(opB, S, 'postRoot', args(parseEther('1')))).toBe('RootExists');

    // Governance raising the bond stops posting until the operator tops up.
    await send(governance, P, 'set', [paramKey('attribution.operatorBond'), BOND + 100n]);
    const e2 = await currentEpoch();
    await fund(m1, 10n);
    await nextEpoch();
    expect(await revertOf(opB, S, 'postRoot', [m1, e2, tree.root, 0n, 1n, ''])).toBe('BondTooLow');
    await send(governance, P, 'set', [paramKey('attribution.operatorBond'), BOND]);
  });

  it('pays claims with proofs after the window only, in batches across epochs and models, once each', async () => {
    const [m1, m2] = models as [bigint, bigint];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((l) => addressOf(`claims-${l}`)) as [
      Address,
      Address,
      Address,
      Address,
    ];
    const e1 = await currentEpoch();
    await fund(m1, parseEther('5'));
    await fund(m2, parseEther('2'));
    const e2 = await nextEpoch();
    await fund(m1, parseEther('1'));
    await nextEpoch();

    const t11 = rewardTree([
      [a, parseEther('1.25')],
      [b, parseEther('2')],
      [c, 7n],
    ]);
    const t21 = rewardTree([[d, parseEther('2')]]);
    const t12 = rewardTree([
      [b, parseEther('0.5')],
      [a, parseEther('0.25')],
    ]);
    await postRoot(opA, m1, e1, t11);
    await postRoot(opA, m2, e1, t21);
    await postRoot(opB, m1, e2, t12);

    const first = claimOf(t11, m1, e1, 0);
    expect(await revertOf(anyone, S, 'claim', [first])).toBe('NotFinal');
    await passWindow(m1, e2);

    // Wrong proofs: another leaf's proof, a changed amount, a changed account.
    expect(await revertOf(anyone, S, 'claim', [{ ...first, proof: t11.getProof(1) }])).toBe('InvalidProof');
    expect(await revertOf(anyone, S, 'claim', [{ ...first, amount: first.amount + 1n }])).toBe(
      'InvalidProof',
    );
    expect(await revertOf(anyone, S, 'claim', [{ ...first, account: stranger.address }])).toBe(
      'InvalidProof',
    );
    expect(await revertOf(anyone, S, 'claim', [{ ...first, index: 5n }])).toBe('IndexOutOfRange');

    // Anyone submits; the leaf's account is paid, exactly.
    const before = await balance(a);
    const receipt = await send(stranger, S, 'claim', [first]);
    expect(await balance(a)).toBe(before + parseEther('1.25'));
    expect(events(receipt, 'RootFinalized')).toEqual([{ modelId: m1, epoch: e1 }]);
    expect(events(receipt, 'Claimed')).toEqual([
      { modelId: m1, epoch: e1, index: 0n, account: a, amount: parseEther('1.25') },
    ]);
    expect(await revertOf(anyone, S, 'claim', [first])).toBe('AlreadyClaimed');
    expect(await read<boolean>(S, 'isClaimed', [m1, e1, 0n])).toBe(true);
    expect(await read<boolean>(S, 'isClaimed', [m1, e1, 1n])).toBe(false);

    // One batch across two epochs and two models.
    const batch = [
      claimOf(t11, m1, e1, 1),
      claimOf(t21, m2, e1, 0),
      claimOf(t12, m1, e2, 0),
      claimOf(t12, m1, e2, 1),
    ];
    const [ba, bb, bd] = [await balance(a), await balance(b), await balance(d)];
    expect(await revertOf(anyone, S, 'claimMany', [[...batch, batch[0]]])).toBe('AlreadyClaimed');
    await send(anyone, S, 'claimMany', [batch]);
    expect(await balance(a)).toBe(ba + parseEther('0.25'));
    expect(await balance(b)).toBe(bb + parseEther('2.5'));
    expect(await balance(d)).toBe(bd + parseEther('2'));
    expect(await revertOf(anyone, S, 'claimMany', [[batch[2]]])).toBe('AlreadyClaimed');
    expect((await rootInfo(m1, e1)).claimed).toBe(parseEther('3.25'));
    expect((await rootInfo(m1, e2)).claimed).toBe(parseEther('0.75'));

    // The unattributed remainder goes to the treasury, once.
    const tBefore = await balance(treasury);
    expect(await revertOf(anyone, S, 'sweepUnattributed', [m1, e1 + 1n + 5n])).toBe('NotFinal');
    const sweep = await send(stranger, S, 'sweepUnattributed', [m1, e1]);
    const remainder = parseEther('5') - sumOf(t11);
    expect(events(sweep, 'Swept')).toEqual([{ modelId: m1, epoch: e1, amount: remainder }]);
    expect(await balance(treasury)).toBe(tBefore + remainder);
    expect(await revertOf(anyone, S, 'sweepUnattributed', [m1, e1])).toBe('AlreadySwept');
    await send(stranger, S, 'sweepUnattributed', [m2, e1]); // nothing left: a zero sweep
    expect(await balance(treasury)).toBe(tBefore + remainder);
    expect((await rootInfo(m1, e1)).swept).toBe(true);

    // The last leaf of t11 is still claimable after the sweep.
    const bc = await balance(c);
    await send(anyone, S, 'claim', [claimOf(t11, m1, e1, 2)]);
    expect(await balance(c)).toBe(bc + 7n);
  });

  it('proves each kind of fraud: slashes the whole bond, cancels the root, and accepts a corrected one', async () => {
    const [, , m3, m4, m5, m6] = models as [bigint, bigint, bigint, bigint, bigint, bigint];
    const [x, y, z] = ['x', 'y', 'z'].map((l) => addressOf(`fraud-${l}`)) as [Address, Address, Address];
    const epoch = await currentEpoch();
    for (const m of [m3, m4, m5, m6]) await fund(m, parseEther('10'));
    await nextEpoch();

    const honest = rewardTree([
      [x, parseEther('3')],
      [y, parseEther('4')],
      [z, 5n],
    ]);
    const trees = {
      duplicate: rewardTree([
        [x, parseEther('3')],
        [y, parseEther('4')],
        [x, 5n],
      ]),
      // Four leaves, but a leafCount of 3: index 3 is out of range.
      index: leavesTree([
        [0n, x, parseEther('3')],
        [1n, y, parseEther('4')],
        [2n, z, 5n],
        [3n, x, parseEther('3')],
      ]),
      total: honest,
    };

    let rewards = 0n;
    const slashCase = async (
      model: bigint,
      epoch: bigint,
      fraud: Tree,
      total: bigint,
      leafCount: bigint,
      kind: number,
      challenge: () => Promise<TransactionReceipt>,
    ) => {
      if ((await operatorInfo(opA.address)).status === 0) await register(opA);
      await postRoot(opA, model, epoch, fraud, total, leafCount);
      expect((await rootInfo(model, epoch)).status).toBe(Status.Pending);
      const bond = (await operatorInfo(opA.address)).bond;
      const treasuryBefore = await balance(treasury);
      const rewardBefore = await read<bigint>(S, 'challengerRewards', [challenger.address]);
      const receipt = await challenge();
      const reward = (bond * REWARD_BPS) / 10_000n;
      rewards += reward;
      expect(events(receipt, 'RootChallenged')).toEqual([
        { modelId: model, epoch, challenger: challenger.address, kind },
      ]);
      expect(events(receipt, 'OperatorSlashed')).toEqual([
        {
          operator: opA.address,
          challenger: challenger.address,
          bond,
          challengerReward: reward,
          toTreasury: bond - reward,
        },
      ]);
      expect(bond - reward).toBeGreaterThan(reward); // 33.33 % to the challenger, the rest (and rounding) to the treasury
      expect(await balance(treasury)).toBe(treasuryBefore + bond - reward);
      expect(await read<bigint>(S, 'challengerRewards', [challenger.address])).toBe(rewardBefore + reward);
      expect(await operatorInfo(opA.address)).toEqual({
        status: 0,
        bond: 0n,
        withdrawableAt: 0n,
        slashableUntil: 0n,
      });
      expect((await rootInfo(model, epoch)).status).toBe(Status.Cancelled);
      expect(await revertOf(opA, S, 'postRoot', [model, epoch, honest.root, 1n, 1n, ''])).toBe(
        'NotActiveOperator',
      );
      // The root is gone: a corrected one can be posted.
      await postRoot(opB, model, epoch, honest);
    };

    const dup = trees.duplicate;
    const proofOf = (tree: Tree, i: number) => tree.getProof(i) as Hex[];
    await slashCase(m3, epoch, dup, sumOf(dup), 3n, Kind.Duplicate, () =>
      send(challenger, S, 'challengeDuplicate', [
        m3,
        epoch,
        leafArg(dup.at(0)!),
        proofOf(dup, 0),
        leafArg(dup.at(2)!),
        proofOf(dup, 2),
      ]),
    );

    const idx = trees.index;
    await slashCase(m4, epoch, idx, parseEther('7') + 5n, 3n, Kind.Index, () =>
      send(challenger, S, 'challengeIndex', [m4, epoch, leafArg(idx.at(3)!), proofOf(idx, 3)]),
    );

    // The spec's case: all leafCount leaves, sum ≠ total. Also an opA root elsewhere (m6) falls with it.
    if ((await operatorInfo(opA.address)).status === 0) await register(opA);
    await postRoot(opA, m6, epoch, honest);
    const all = honest.getMultiProof([0, 1, 2]);
    await slashCase(m5, epoch, honest, sumOf(honest) + 1n, 3n, Kind.Total, () =>
      send(challenger, S, 'challengeTotal', [
        m5,
        epoch,
        all.leaves.map(leafArg),
        all.proof as Hex[],
        all.proofFlags,
      ]),
    );
    expect((await rootInfo(m6, epoch)).status).toBe(Status.Cancelled);
    expect(
      await revertOf(challenger, S, 'challengeTotal', [
        m6,
        epoch,
        all.leaves.map(leafArg),
        [],
        all.proofFlags,
      ]),
    ).toBe('NotChallengeable');
    await postRoot(opB, m6, epoch, honest);

    // An overstated leafCount: the whole tree (empty proof) has fewer leaves than claimed.
    const e2 = await fund(m3, parseEther('10'));
    await nextEpoch();
    await slashCase(m3, e2, honest, sumOf(honest), 4n, Kind.Total, () =>
      send(challenger, S, 'challengeTotal', [m3, e2, all.leaves.map(leafArg), [], all.proofFlags]),
    );

    // The corrected roots pay out.
    await passWindow(m3, e2);
    const [bx, by, bz] = [await balance(x), await balance(y), await balance(z)];
    const claims = [m3, m4, m5, m6].flatMap((m) => [0, 1, 2].map((i) => claimOf(honest, m, epoch, i)));
    claims.push(...[0, 1, 2].map((i) => claimOf(honest, m3, e2, i)));
    await send(anyone, S, 'claimMany', [claims]);
    expect(await balance(x)).toBe(bx + 5n * parseEther('3'));
    expect(await balance(y)).toBe(by + 5n * parseEther('4'));
    expect(await balance(z)).toBe(bz + 5n * 5n);

    // The challenger pulls its rewards.
    const owed = await read<bigint>(S, 'challengerRewards', [challenger.address]);
    expect(owed).toBe(rewards);
    const cb = await balance(challenger.address);
    const w = await send(challenger, S, 'withdrawChallengerReward');
    expect(await balance(challenger.address)).toBe(cb + owed - cost(w));
    expect(await revertOf(challenger, S, 'withdrawChallengerReward')).toBe('NothingToWithdraw');
  });

  it('cannot prove a valid root fraudulent, nor challenge outside the window', async () => {
    const [m1] = models as [bigint];
    const [x, y, z, w] = ['x', 'y', 'z', 'w'].map((l) => addressOf(`valid-${l}`)) as [
      Address,
      Address,
      Address,
      Address,
    ];
    if ((await operatorInfo(opA.address)).status === 0) await register(opA);
    const epoch = await currentEpoch();
    await fund(m1, parseEther('1'));
    await nextEpoch();
    const tree = rewardTree([
      [x, 100n],
      [y, 200n],
      [z, 300n],
      [w, 400n],
    ]);
    await postRoot(opA, m1, epoch, tree);
    const p = (i: number) => tree.getProof(i) as Hex[];
    const leaf = (i: number) => leafArg(tree.at(i)!);
    const bad = { index: 0n, account: x, amount: 101n };

    const checks: Array<[string, readonly unknown[], string]> = [
      ['challengeDuplicate', [m1, epoch, leaf(0), p(0), leaf(1), p(1)], 'NotFraud'],
      ['challengeDuplicate', [m1, epoch, leaf(2), p(2), leaf(2), p(2)], 'NotFraud'],
      ['challengeDuplicate', [m1, epoch, bad, p(0), leaf(0), p(0)], 'InvalidProof'],
      ['challengeIndex', [m1, epoch, leaf(3), p(3)], 'NotFraud'],
      ['challengeIndex', [m1, epoch, { ...leaf(3), index: 4n }, p(3)], 'InvalidProof'],
    ];
    const full = tree.getMultiProof([0, 1, 2, 3]);
    const part = tree.getMultiProof([1, 2]);
    const tampered = full.leaves.map((l, i) => (i === 0 ? { ...leafArg(l), amount: l[2] + 1n } : leafArg(l)));
    checks.push(
      ['challengeTotal', [m1, epoch, full.leaves.map(leafArg), full.proof, full.proofFlags], 'NotFraud'],
      ['challengeTotal', [m1, epoch, part.leaves.map(leafArg), part.proof, part.proofFlags], 'NotFraud'],
      ['challengeTotal', [m1, epoch, tampered, full.proof, full.proofFlags], 'InvalidProof'],
      [
        'challengeTotal',
        [m1, epoch, full.leaves.map(leafArg), full.proof, full.proofFlags.slice(1)],
        'InvalidProof',
      ],
      ['challengeTotal', [m1, epoch, full.leaves.map(leafArg), [tree.root], full.proofFlags], 'InvalidProof'],
      ['challengeTotal', [m1, epoch, [], [tree.root], []], 'InvalidProof'],
    );
    for (const [fn, args, error] of checks) {
      expect([fn, await revertOf(challenger, S, fn, args)]).toEqual([fn, error]);
    }
    expect((await rootInfo(m1, epoch)).status).toBe(Status.Pending);

    await passWindow(m1, epoch);
    const dupArgs = [m1, epoch, leaf(0), p(0), leaf(1), p(1)];
    expect(await revertOf(challenger, S, 'challengeDuplicate', dupArgs)).toBe('NotChallengeable');
    expect(await revertOf(challenger, S, 'challengeIndex', [m1, 999n, leaf(0), p(0)])).toBe(
      'NotChallengeable',
    );
  });

  it('keeps an unbonding operator slashable until its windows close, then returns the bond', async () => {
    const [m1, m2] = models as [bigint, bigint];
    await register(opC);
    await register(opD);
    const epoch = await currentEpoch();
    await fund(m1, parseEther('1'));
    await fund(m2, parseEther('1'));
    await nextEpoch();
    const x = addressOf('unbond-x');
    const dup = rewardTree([
      [x, 1n],
      [x, 2n],
    ]);
    await postRoot(opC, m1, epoch, dup);
    await postRoot(opD, m2, epoch, rewardTree([[x, 3n]]));

    const unreg = await send(opC, S, 'unregisterOperator');
    const at = (await pub.getBlock({ blockNumber: unreg.blockNumber })).timestamp;
    expect(await operatorInfo(opC.address)).toMatchObject({ status: 2, withdrawableAt: at + UNBONDING });
    expect(await revertOf(opC, S, 'postRoot', [m1, epoch - 1n, dup.root, 0n, 1n, ''])).toBe(
      'NotActiveOperator',
    );
    expect(await revertOf(opC, S, 'withdrawOperatorBond')).toBe('BondLocked');
    expect(await revertOf(opC, S, 'topUpBond', [], 1n)).toBe('NotActiveOperator');
    await send(challenger, S, 'challengeDuplicate', [
      m1,
      epoch,
      leafArg(dup.at(0)!),
      dup.getProof(0),
      leafArg(dup.at(1)!),
      dup.getProof(1),
    ]);
    expect((await operatorInfo(opC.address)).status).toBe(0);
    expect(await revertOf(opC, S, 'withdrawOperatorBond')).toBe('NotUnbonding');

    // D's last root window outlives a zero unbonding period: the bond waits for the window.
    await send(governance, P, 'set', [paramKey('attribution.operatorUnbondingPeriod'), 0n]);
    await send(opD, S, 'unregisterOperator');
    const info = await operatorInfo(opD.address);
    expect(info.slashableUntil).toBe(await read<bigint>(S, 'challengeWindowEnds', [m2, epoch]));
    expect(await revertOf(opD, S, 'withdrawOperatorBond')).toBe('BondLocked');
    await advanceTo(info.slashableUntil);
    const before = await balance(opD.address);
    const receipt = await send(opD, S, 'withdrawOperatorBond');
    expect(events(receipt, 'OperatorBondWithdrawn')).toEqual([{ operator: opD.address, amount: BOND }]);
    expect(await balance(opD.address)).toBe(before + BOND - cost(receipt));
    expect(await operatorInfo(opD.address)).toEqual({
      status: 0,
      bond: 0n,
      withdrawableAt: 0n,
      slashableUntil: 0n,
    });
    expect((await rootInfo(m2, epoch)).status).toBe(Status.Final);
    await send(governance, P, 'set', [paramKey('attribution.operatorUnbondingPeriod'), UNBONDING]);
  });

  it('gives a reentrant receiver nothing extra, and a reverting receiver blocks only its own claim', async () => {
    const [m1] = models as [bigint];
    const claimerTarget = async (): Promise<Target> => {
      const hash = await dc.wallet(anyone).deployContract({
        abi: claimerAbi,
        bytecode: claimerBytecode,
        chain,
        account: anyone,
      });
      return { address: (await pub.waitForTransactionReceipt({ hash })).contractAddress!, abi: claimerAbi };
    };
    const [evil, refusing] = [await claimerTarget(), await claimerTarget()];
    const other = addressOf('reentry-other');
    if ((await operatorInfo(opA.address)).status === 0) await register(opA);
    const epoch = await currentEpoch();
    await fund(m1, parseEther('3'));
    await nextEpoch();
    const tree = rewardTree([
      [evil.address, parseEther('1')],
      [other, parseEther('1')],
      [refusing.address, parseEther('1')],
    ]);
    await postRoot(opA, m1, epoch, tree);
    await passWindow(m1, epoch);

    const evilClaim = claimOf(tree, m1, epoch, 0);
    await send(anyone, evil, 'arm', [
      S.address,
      encodeFunctionData({ abi: S.abi, functionName: 'claim', args: [evilClaim] }),
    ]);
    const held = await balance(S.address);
    await send(anyone, S, 'claim', [evilClaim]);
    expect(await balance(evil.address)).toBe(parseEther('1'));
    expect(await balance(S.address)).toBe(held - parseEther('1'));
    expect(await read<bigint>(evil, 'attempts')).toBe(1n);
    expect(await read<boolean>(evil, 'lastReentryOk')).toBe(false);
    const result = await read<Hex>(evil, 'lastReentryResult');
    expect(result.slice(0, 10)).toBe(toFunctionSelector('ReentrancyGuardReentrantCall()'));
    expect((await rootInfo(m1, epoch)).claimed).toBe(parseEther('1'));
    expect(await revertOf(anyone, S, 'claim', [evilClaim])).toBe('AlreadyClaimed');

    // A receiver that refuses payment fails its own claim and any batch holding it; others are paid.
    await send(anyone, refusing, 'setRejecting', [true]);
    const refusedClaim = claimOf(tree, m1, epoch, 2);
    const otherClaim = claimOf(tree, m1, epoch, 1);
    const withErrors: Target = {
      address: S.address,
      abi: [...S.abi, ...claimerAbi.filter((i) => i.type === 'error')],
    };
    expect(await revertOf(anyone, withErrors, 'claim', [refusedClaim])).toBe('PaymentRefused');
    expect(await revertOf(anyone, withErrors, 'claimMany', [[otherClaim, refusedClaim]])).toBe(
      'PaymentRefused',
    );
    await send(anyone, S, 'claim', [otherClaim]);
    expect(await balance(other)).toBe(parseEther('1'));
    await send(anyone, refusing, 'setRejecting', [false]);
    await send(anyone, S, 'claim', [refusedClaim]);
    expect(await balance(refusing.address)).toBe(parseEther('1'));
  });

  it('property: random rewards and claim orders never create or lose wei, nor pay an index twice', async () => {
    if ((await operatorInfo(opA.address)).status === 0) await register(opA);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          model: fc.integer({ min: 0, max: MODELS - 1 }),
          amounts: fc.array(fc.bigInt({ min: 0n, max: 10n ** 18n }), { minLength: 1, maxLength: 6 }),
          unattributed: fc.bigInt({ min: 0n, max: 10n ** 15n }),
          payments: fc.integer({ min: 1, max: 3 }),
          order: fc.array(fc.nat(), { maxLength: 10 }),
          batch: fc.boolean(),
          sweepAt: fc.nat(),
        }),
        async ({ model, amounts, unattributed, payments, order, batch, sweepAt }) => {
          run += 1;
          const modelId = models[model]!;
          const tree = rewardTree(amounts.map((a, i) => [addressOf(`prop-${run}-${i}`), a] as const));
          const total = sumOf(tree);
          const collected = total + unattributed;
          const [sBefore, tBefore] = [await balance(S.address), await balance(treasury)];

          // Fund in `payments` parts (the rounding of the split lands in the last one).
          const part = collected / BigInt(payments);
          let epoch = 0n;
          for (let i = 0; i < payments; i++) {
            epoch = await fund(modelId, i === payments - 1 ? collected - part * BigInt(payments - 1) : part);
          }
          await nextEpoch();
          await postRoot(opA, modelId, epoch, tree);
          await passWindow(modelId, epoch);

          // Claims in a random order, repeats included; the sweep lands somewhere in between.
          const attempts = order.map((k) => k % amounts.length);
          const paid = new Map<number, bigint>();
          let swept = 0n;
          const sweepStep = sweepAt % (attempts.length + 2); // == attempts.length + 1: never swept
          const sweep = async () => {
            await send(anyone, S, 'sweepUnattributed', [modelId, epoch]);
            swept = unattributed;
          };
          const fresh = attempts.filter((i, pos) => attempts.indexOf(i) === pos);
          if (batch && fresh.length > 0) {
            if (sweepStep === 0) await sweep();
            await send(anyone, S, 'claimMany', [fresh.map((i) => claimOf(tree, modelId, epoch, i))]);
            for (const i of fresh) paid.set(i, amounts[i]!);
            if (sweepStep > 0 && sweepStep <= attempts.length) await sweep();
          } else {
            for (const [step, i] of attempts.entries()) {
              if (step === sweepStep) await sweep();
              const c = claimOf(tree, modelId, epoch, i);
              if (paid.has(i)) {
                expect(await revertOf(anyone, S, 'claim', [c])).toBe('AlreadyClaimed');
              } else {
                await send(anyone, S, 'claim', [c]);
                paid.set(i, amounts[i]!);
              }
            }
            if (sweepStep === attempts.length) await sweep();
          }
          for (const i of paid.keys()) {
            expect(await revertOf(anyone, S, 'claim', [claimOf(tree, modelId, epoch, i)])).toBe(
              'AlreadyClaimed',
            );
          }

          const claimed = [...paid.values()].reduce((s, a) => s + a, 0n);
          const info = await rootInfo(modelId, epoch);
          expect(info.claimed).toBe(claimed);
          expect(info.swept).toBe(sweepStep <= attempts.length);
          expect(await read<bigint>(S, 'collected', [modelId, epoch])).toBe(collected);
          for (const [i, amount] of amounts.entries()) {
            expect(await balance(tree.at(i)![1])).toBe(paid.has(i) ? amount : 0n);
            expect(await read<boolean>(S, 'isClaimed', [modelId, epoch, BigInt(i)])).toBe(paid.has(i));
          }
          const stillHeld = collected - claimed - swept;
          expect(await balance(treasury)).toBe(tBefore + swept);
          expect(await balance(S.address)).toBe(sBefore + stillHeld);
          expect(collected).toBe(claimed + swept + stillHeld);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('holds exactly the unsettled collections, the bonds and the unpaid challenger rewards', async () => {
    let unsettled = 0n;
    for (const { modelId, epoch } of funded.values()) {
      const info = await rootInfo(modelId, epoch);
      const collected = await read<bigint>(S, 'collected', [modelId, epoch]);
      const settled =
        info.status === Status.Final ? info.claimed + (info.swept ? collected - info.total : 0n) : 0n;
      unsettled += collected - settled;
    }
    let bonds = 0n;
    for (const op of [opA, opB, opC, opD]) bonds += (await operatorInfo(op.address)).bond;
    const rewards = await read<bigint>(S, 'challengerRewards', [challenger.address]);
    expect(await balance(S.address)).toBe(unsettled + bonds + rewards);
  });
});
