import fc from 'fast-check';
import { SimpleMerkleTree } from '@openzeppelin/merkle-tree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContractFunctionRevertedError,
  encodeAbiParameters,
  keccak256,
  parseEther,
  toBytes,
  type Address,
  type BaseError,
  type Hex,
} from 'viem';
import type { HDAccount } from 'viem/accounts';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import {
  devAccounts,
  devnetContracts,
  type Contract,
  type DevnetPublicClient,
  type DevnetTestClient,
} from './support/devnet-contracts.ts';

// ---------------------------------------------------------------- accounts and clients

const accounts = devAccounts(10);

/** Deploys everything, owns the Datanet and sells its version; also the devnet's block producer. */
const datanetOwner = accounts[0]!;
/** Contributes the Datanet's rows, owns the model and sells it. */
const modelOwner = accounts[1]!;
const buyer = accounts[2]!;
const buyer2 = accounts[3]!;
const jurorAccounts = accounts.slice(4, 9);
/** Owner of ProtocolParams and EcosystemTreasury (stands in for the Timelock); also the Datanet curator. */
const governance = accounts[9]!;

let devnet: DevnetProcess;
const dc = devnetContracts({ deployer: datanetOwner });
const { deploy, send, read, expectRevert, balance, balanceAt, advance, eventArgs } = dc;
let pub: DevnetPublicClient;
let testClient: DevnetTestClient;

// ---------------------------------------------------------------- DataMarket shapes

enum Status {
  None,
  Pending,
  Disputed,
  Completed,
  Refunded,
}
enum JurorStatus {
  None,
  Active,
  Unbonding,
}
enum Ballot {
  None,
  NotVoted,
  Refund,
  Seller,
}

interface Listing {
  seller: Address;
  kind: number;
  active: boolean;
  assetId: bigint;
  version: bigint;
  price: bigint;
  freeBond: bigint;
  lockedBond: bigint;
  pendingPurchases: bigint;
  termsURI: string;
}

interface Purchase {
  listingId: bigint;
  buyer: Address;
  status: Status;
  deadline: bigint;
  price: bigint;
  bond: bigint;
  disputeId: bigint;
}

interface DisputeView {
  purchaseId: bigint;
  createdBlock: bigint;
  drawDeadline: bigint;
  voteDeadline: bigint;
  resolved: boolean;
  refundBuyer: boolean;
  refundVotes: number;
  sellerVotes: number;
  jurors: readonly Address[];
  ballots: readonly Ballot[];
  reasonURI: string;
}

interface Juror {
  status: JurorStatus;
  unlockAt: bigint;
  pendingDisputes: number;
  slot: number;
  stake: bigint;
}

// ---------------------------------------------------------------- the deployment and its numbers

const BPS = 10_000n;
const DAY = 86_400;
const key = (name: string) => keccak256(toBytes(name));
const JURY_SIZE = key('market.jurySize');
const BOND_BPS = 1_000n;
const FEE_BPS = 250n;
const JUROR_SLASH_BPS = 1_000n;
const ACCEPT_WINDOW = 3 * DAY;
const VOTING_PERIOD = 2 * DAY;
const JUROR_UNBONDING = 7 * DAY;

const DATANET_PRICE = parseEther('100');
const MODEL_PRICE = parseEther('50');
const bondOf = (price: bigint) => (price * BOND_BPS) / BPS;
const feeOf = (price: bigint) => (price * FEE_BPS) / BPS;
const JUROR_STAKES = [10, 20, 30, 40, 50].map((n) => parseEther(String(n)));

let params: Contract;
let treasury: Contract;
let datanets: Contract;
let models: Contract;
let market: Contract;
/** Where the conservation check starts: after deployment, before the scenario. */
let startBlock: bigint;
let startTotal: bigint;

const DATANET_LISTING = 1n;
const MODEL_LISTING = 2n;

/** Every address whose OPEN the scenario can move. */
const holders = (): Address[] => [
  ...accounts.map((a) => a.address),
  params.address,
  treasury.address,
  datanets.address,
  models.address,
  market.address,
];

async function totalHeld(blockNumber?: bigint): Promise<bigint> {
  const all = await Promise.all(holders().map((a) => balanceAt(a, blockNumber)));
  return all.reduce((s, b) => s + b, 0n);
}

/** Base fees burned in blocks (from, to]; tips go to account 0, the block producer, which is a holder. */
async function burnedSince(from: bigint, to: bigint): Promise<bigint> {
  const blocks = await Promise.all(
    Array.from({ length: Number(to - from) }, (_, i) => pub.getBlock({ blockNumber: from + 1n + BigInt(i) })),
  );
  return blocks.reduce((s, b) => s + b.gasUsed * (b.baseFeePerGas ?? 0n), 0n);
}

const listing = (id: bigint) => read<Listing>(market, 'listing', [id]);
const purchase = (id: bigint) => read<Purchase>(market, 'purchase', [id]);
const disputeOf = (id: bigint) => read<DisputeView>(market, 'dispute', [id]);
const juror = (a: Address) => read<Juror>(market, 'juror', [a]);
const owed = (a: Address) => read<bigint>(market, 'balances', [a]);

/**
 * The market's own ledger: its balance is exactly the listing bonds, the escrow of unsettled
 * purchases, the juror stakes and the withdrawable balances.
 */
async function expectLedgerBalanced(): Promise<void> {
  const listings = Number(await read<bigint>(market, 'listingCount'));
  const purchases = Number(await read<bigint>(market, 'purchaseCount'));
  let sum = 0n;
  for (let i = 1; i <= listings; i++) {
    const l = await listing(BigInt(i));
    sum += l.freeBond + l.lockedBond;
  }
  for (let i = 1; i <= purchases; i++) {
    const p = await purchase(BigInt(i));
    if (p.status === Status.Pending || p.status === Status.Disputed) sum += p.price + p.bond;
  }
  for (const a of accounts) sum += (await owed(a.address)) + (await juror(a.address)).stake;
  expect(await balance(market.address)).toBe(sum);
}

// ---------------------------------------------------------------- the Datanet's rows

const rowHash = (row: string) => keccak256(toBytes(row));
const ROWS_A = ['alpha,1', 'beta,2', 'gamma,3', 'delta,4'];
const ROWS_B = ['epsilon,5', 'zeta,6', 'eta,7'];
const treeA = SimpleMerkleTree.of(ROWS_A.map(rowHash));
const treeB = SimpleMerkleTree.of(ROWS_B.map(rowHash));

/** DatanetRegistry's version leaf of a contribution. */
const contributionLeaf = (id: bigint, dataRoot: Hex, rowOffset: bigint, rowCount: bigint): Hex =>
  keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
      [id, dataRoot, rowOffset, rowCount],
    ),
  );
const leafA = contributionLeaf(1n, treeA.root as Hex, 0n, 4n);
const leafB = contributionLeaf(2n, treeB.root as Hex, 4n, 3n);
const versionTree = SimpleMerkleTree.of([leafA, leafB], { sortLeaves: false });

/** A Datanet with one published version of two contributions (A: rows 0-3, B: rows 4-6), and a model. */
async function createAssets(): Promise<void> {
  await send(datanetOwner, datanets, 'createDatanet', [
    'ipfs://datanet',
    key('standard'),
    'ipfs://standard',
    0n,
    parseEther('0.1'),
    1,
  ]);
  await send(governance, datanets, 'stakeAsCurator', [1n], parseEther('10'));
  for (const [tree, rows] of [
    [treeA, ROWS_A],
    [treeB, ROWS_B],
  ] as const) {
    await send(
      modelOwner,
      datanets,
      'submitContribution',
      [1n, tree.root, BigInt(rows.length), 100n, 'ipfs://rows'],
      parseEther('0.1'),
    );
  }
  await send(governance, datanets, 'vote', [1n, true]);
  await send(governance, datanets, 'vote', [2n, true]);
  await send(datanetOwner, datanets, 'publishVersion', [1n]);
  await send(
    modelOwner,
    models,
    'registerModel',
    [
      {
        name: 'sentiment-v1',
        baseModelHash: key('base'),
        adapterHash: key('adapter'),
        trainedOn: [{ datanetId: 1n, version: 1n }],
        trainingConfigHash: key('config'),
        metadataURI: 'ipfs://model',
        pricePer1kTokens: parseEther('0.001'),
      },
    ],
    parseEther('0.1'),
  );
}

// ---------------------------------------------------------------- disputes

const byAddress = new Map(accounts.map((a) => [a.address, a]));
const signer = (a: Address): HDAccount => byAddress.get(a)!;

/** The jury the contract must draw: stake-weighted, without replacement, over slots in order. */
async function expectedJury(
  prevrandao: Hex,
  disputeId: bigint,
  size: number,
  excluded: Address[],
): Promise<Address[]> {
  const pool = await Promise.all(
    jurorAccounts.map(async (a) => ({ a: a.address, j: await juror(a.address) })),
  );
  pool.sort((x, y) => x.j.slot - y.j.slot);
  const weights = pool.map(({ a, j }) =>
    j.status === JurorStatus.Active && !excluded.includes(a) ? j.stake : 0n,
  );
  let total = weights.reduce((s, w) => s + w, 0n);
  const jury: Address[] = [];
  for (let i = 0; i < size; i++) {
    const seed = encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
      [BigInt(prevrandao), disputeId, BigInt(i)],
    );
    const r = BigInt(keccak256(seed)) % total;
    let acc = 0n;
    const k = weights.findIndex((w) => (acc += w) > r);
    jury.push(pool[k]!.a);
    total -= weights[k]!;
    weights[k] = 0n;
  }
  return jury;
}

/** Buys, disputes and draws (checking the draw against the model); returns the dispute and its jury. */
async function openDispute(
  who: HDAccount,
  listingId: bigint,
  price: bigint,
): Promise<{ purchaseId: bigint; disputeId: bigint; jury: readonly Address[] }> {
  const bought = await send(who, market, 'buy', [listingId], price + bondOf(price));
  const [{ purchaseId }] = eventArgs<{ purchaseId: bigint }>(market, bought.receipt, 'Purchased') as [
    { purchaseId: bigint },
  ];
  const disputed = await send(who, market, 'dispute', [purchaseId, 'ipfs://reason']);
  const [{ disputeId }] = eventArgs<{ disputeId: bigint }>(market, disputed.receipt, 'Disputed') as [
    { disputeId: bigint },
  ];
  const size = Number(await read<bigint>(params, 'get', [JURY_SIZE]));
  const seller = (await listing(listingId)).seller;
  // The jury depends on the draw block's prevrandao, which gas estimation cannot know: set the gas.
  const drawn = await send(jurorAccounts[0]!, market, 'drawJury', [disputeId], 0n, 2_000_000n);
  const block = await pub.getBlock({ blockNumber: drawn.receipt.blockNumber });
  const d = await disputeOf(disputeId);
  // Stakes do not change between the draw and now, so the model sees the draw's pool.
  expect(d.jurors).toEqual(await expectedJury(block.mixHash, disputeId, size, [who.address, seller]));
  expect(new Set(d.jurors).size).toBe(size);
  expect(d.ballots).toEqual(d.jurors.map(() => Ballot.NotVoted));
  return { purchaseId, disputeId, jury: d.jurors };
}

/** What resolving a dispute must do, from the ballots and the state just before it. */
async function expectResolution(
  disputeId: bigint,
  votes: readonly (Ballot.Refund | Ballot.Seller | undefined)[],
): Promise<void> {
  const d = await disputeOf(disputeId);
  const p = await purchase(d.purchaseId);
  const l = await listing(p.listingId);
  const refundVotes = votes.filter((v) => v === Ballot.Refund).length;
  const sellerVotes = votes.filter((v) => v === Ballot.Seller).length;
  const refund = refundVotes >= sellerVotes;
  const majority =
    refundVotes > sellerVotes ? Ballot.Refund : sellerVotes > refundVotes ? Ballot.Seller : undefined;

  const stakes = await Promise.all(d.jurors.map(async (a) => (await juror(a)).stake));
  const owedJurors = await Promise.all(d.jurors.map(owed));
  const [owedBuyer, owedSeller, treasuryBefore] = await Promise.all([
    owed(p.buyer),
    owed(l.seller),
    balance(treasury.address),
  ]);

  const slashes = d.jurors.map((_, i) => {
    const v = votes[i];
    const slashed = v === undefined || (majority !== undefined && v !== majority);
    return slashed ? (stakes[i]! * JUROR_SLASH_BPS) / BPS : 0n;
  });
  const winners = votes.filter((v) => majority !== undefined && v === majority).length;
  const pot = p.bond + slashes.reduce((s, x) => s + x, 0n);
  const share = winners === 0 ? 0n : pot / 2n / BigInt(winners);
  const fee = refund ? 0n : feeOf(p.price);

  const resolver = accounts[0]!;
  const { receipt } = await send(resolver, market, 'resolve', [disputeId]);
  expect(eventArgs(market, receipt, 'DisputeResolved')).toEqual([
    {
      disputeId,
      purchaseId: d.purchaseId,
      refundBuyer: refund,
      refundVotes: BigInt(refundVotes),
      sellerVotes: BigInt(sellerVotes),
      juryDrawn: true,
    },
  ]);

  const after = await disputeOf(disputeId);
  expect(after.resolved).toBe(true);
  expect(after.refundBuyer).toBe(refund);
  expect((await purchase(d.purchaseId)).status).toBe(refund ? Status.Refunded : Status.Completed);
  expect(await owed(p.buyer)).toBe(owedBuyer + (refund ? p.price + p.bond : 0n));
  expect(await owed(l.seller)).toBe(owedSeller + (refund ? 0n : p.price - fee));
  const la = await listing(p.listingId);
  expect(la.lockedBond).toBe(l.lockedBond - p.bond);
  // The seller's bond comes back to the listing only when the seller wins.
  expect(la.freeBond).toBe(l.freeBond + (refund ? 0n : p.bond));
  for (const [i, a] of d.jurors.entries()) {
    const j = await juror(a);
    expect(j.stake).toBe(stakes[i]! - slashes[i]!);
    expect(j.pendingDisputes).toBe(0);
    const rewarded = majority !== undefined && votes[i] === majority;
    expect(await owed(a)).toBe(owedJurors[i]! + (rewarded ? share : 0n));
  }
  expect(await balance(treasury.address)).toBe(treasuryBefore + fee + pot - share * BigInt(winners));
}

async function castVotes(
  disputeId: bigint,
  jury: readonly Address[],
  votes: readonly (Ballot.Refund | Ballot.Seller | undefined)[],
): Promise<void> {
  for (const [i, v] of votes.entries()) {
    if (v !== undefined) await send(signer(jury[i]!), market, 'vote', [disputeId, v === Ballot.Refund]);
  }
}

// ---------------------------------------------------------------- the scenario

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dc.connect(devnet.url);
  ({ pub, testClient } = dc);
  params = await deploy('ProtocolParams', [governance.address]);
  treasury = await deploy('EcosystemTreasury', [governance.address]);
  datanets = await deploy('DatanetRegistry', [params.address, treasury.address]);
  models = await deploy('ModelRegistry', [params.address, datanets.address, treasury.address]);
  market = await deploy('DataMarket', [params.address, datanets.address, models.address, treasury.address]);
  startBlock = await pub.getBlockNumber();
  startTotal = await totalHeld(startBlock);
  await createAssets();
});

afterAll(async () => {
  await devnet?.stop();
});

describe('DataMarket', () => {
  it('lists a Datanet version or a model only by its owner, with exactly one bond', async () => {
    const bond = bondOf(DATANET_PRICE);
    const args = [1n, 1n, DATANET_PRICE, 'ipfs://terms'];
    await expectRevert(buyer, market, 'listDatanetVersion', args, 'NotAssetOwner', bond);
    await expectRevert(
      datanetOwner,
      market,
      'listDatanetVersion',
      [1n, 2n, DATANET_PRICE, ''],
      'VersionNotPublished',
      bond,
    );
    await expectRevert(
      datanetOwner,
      market,
      'listDatanetVersion',
      [7n, 1n, DATANET_PRICE, ''],
      'UnknownDatanet',
      bond,
    );
    await expectRevert(datanetOwner, market, 'listDatanetVersion', args, 'WrongBond', bond - 1n);
    await expectRevert(datanetOwner, market, 'listDatanetVersion', [1n, 1n, 0n, ''], 'ZeroPrice');

    const { receipt } = await send(datanetOwner, market, 'listDatanetVersion', args, bond);
    expect(eventArgs(market, receipt, 'Listed')).toEqual([
      {
        listingId: DATANET_LISTING,
        seller: datanetOwner.address,
        kind: 0,
        assetId: 1n,
        version: 1n,
        price: DATANET_PRICE,
        bond,
        termsURI: 'ipfs://terms',
      },
    ]);
    expect(await listing(DATANET_LISTING)).toEqual({
      seller: datanetOwner.address,
      kind: 0,
      active: true,
      assetId: 1n,
      version: 1n,
      price: DATANET_PRICE,
      freeBond: bond,
      lockedBond: 0n,
      pendingPurchases: 0n,
      termsURI: 'ipfs://terms',
    });

    const modelBond = bondOf(MODEL_PRICE);
    await expectRevert(buyer, market, 'listModel', [1n, MODEL_PRICE, ''], 'NotAssetOwner', modelBond);
    await expectRevert(modelOwner, market, 'listModel', [2n, MODEL_PRICE, ''], 'ModelNotActive', modelBond);
    await send(modelOwner, market, 'listModel', [1n, MODEL_PRICE, 'ipfs://model-terms'], modelBond);
    expect(await listing(MODEL_LISTING)).toMatchObject({
      seller: modelOwner.address,
      kind: 1,
      freeBond: modelBond,
    });
    expect(await balance(market.address)).toBe(bond + modelBond);
  });

  it('sells for exactly price plus bond, locking one seller bond per pending purchase', async () => {
    const bond = bondOf(DATANET_PRICE);
    await expectRevert(buyer, market, 'buy', [DATANET_LISTING], 'WrongPayment', DATANET_PRICE);
    await expectRevert(
      datanetOwner,
      market,
      'buy',
      [DATANET_LISTING],
      'SellerCannotBuy',
      DATANET_PRICE + bond,
    );
    await expectRevert(buyer, market, 'buy', [9n], 'UnknownListing', DATANET_PRICE + bond);

    const { receipt } = await send(buyer, market, 'buy', [DATANET_LISTING], DATANET_PRICE + bond);
    expect(eventArgs(market, receipt, 'Purchased')).toEqual([
      { purchaseId: 1n, listingId: DATANET_LISTING, buyer: buyer.address, price: DATANET_PRICE },
    ]);
    const { timestamp } = await pub.getBlock({ blockNumber: receipt.blockNumber });
    expect(await purchase(1n)).toEqual({
      listingId: DATANET_LISTING,
      buyer: buyer.address,
      status: Status.Pending,
      deadline: timestamp + BigInt(ACCEPT_WINDOW),
      price: DATANET_PRICE,
      bond,
      disputeId: 0n,
    });
    expect(await read(market, 'licence', [1n])).toEqual([buyer.address, 0, 1n, 1n, true]);
    expect(await listing(DATANET_LISTING)).toMatchObject({
      freeBond: 0n,
      lockedBond: bond,
      pendingPurchases: 1n,
    });

    // The only posted bond backs purchase 1: a second buyer waits for the seller to top up.
    const short = await expectRevert(
      buyer2,
      market,
      'buy',
      [DATANET_LISTING],
      'SellerBondInsufficient',
      DATANET_PRICE + bond,
    );
    expect(short.args).toEqual([0n, bond]);
    await expectRevert(buyer, market, 'topUpListingBond', [DATANET_LISTING], 'NotSeller', bond);
    await send(datanetOwner, market, 'topUpListingBond', [DATANET_LISTING], bond);
    expect((await listing(DATANET_LISTING)).freeBond).toBe(bond);
    await expectLedgerBalanced();
  });

  it('verifies sample rows against the listed version root in one call', async () => {
    const [versionRoot] = await read<readonly [Hex]>(datanets, 'versionInfo', [1n, 1n]);
    expect(versionRoot).toBe(versionTree.root);
    expect(await read(market, 'licenceRoot', [DATANET_LISTING])).toBe(versionRoot);
    expect(await read(market, 'licenceRoot', [MODEL_LISTING])).toBe(`0x${'00'.repeat(32)}`);

    const sample = [0, 2];
    const leaves = sample.map((i) => rowHash(ROWS_A[i]!));
    const proofs = sample.map((i) => treeA.getProof(i));
    expect(await read(market, 'verifySample', [treeA.root, leaves, proofs])).toBe(true);
    const tampered = [rowHash('alpha,999'), leaves[1]];
    expect(await read(market, 'verifySample', [treeA.root, tampered, proofs])).toBe(false);
    expect(await read(market, 'verifySample', [treeA.root, [], []])).toBe(false);
    const mismatch = await pub
      .readContract({ ...market, functionName: 'verifySample', args: [treeA.root, leaves, [proofs[0]]] })
      .catch((e: unknown) => e);
    expect((mismatch as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)).toMatchObject({
      data: { errorName: 'LengthMismatch' },
    });

    // One call from the listing: the contribution's leaf under the version root, then its rows.
    const contributionA = {
      contributionId: 1n,
      dataRoot: treeA.root,
      rowOffset: 0n,
      rowCount: 4n,
      proof: versionTree.getProof(0),
    };
    const contributionB = {
      contributionId: 2n,
      dataRoot: treeB.root,
      rowOffset: 4n,
      rowCount: 3n,
      proof: versionTree.getProof(1),
    };
    const check = (
      listingId: bigint,
      c: typeof contributionA,
      rows: readonly Hex[],
      rowProofs: readonly string[][],
    ) => read<boolean>(market, 'verifyListingSample', [listingId, c, rows, rowProofs]);
    expect(await check(DATANET_LISTING, contributionA, leaves, proofs)).toBe(true);
    expect(await check(DATANET_LISTING, contributionB, [rowHash(ROWS_B[1]!)], [treeB.getProof(1)])).toBe(
      true,
    );
    expect(await check(DATANET_LISTING, contributionA, tampered as Hex[], proofs)).toBe(false);
    expect(await check(DATANET_LISTING, { ...contributionA, rowOffset: 1n }, leaves, proofs)).toBe(false);
    expect(await check(MODEL_LISTING, contributionA, leaves, proofs)).toBe(false);
  });

  it('on accept pays the seller the price less the protocol fee and returns the bonds', async () => {
    const bond = bondOf(DATANET_PRICE);
    const fee = feeOf(DATANET_PRICE);
    await expectRevert(buyer2, market, 'accept', [1n], 'NotBuyer');
    const treasuryBefore = await balance(treasury.address);
    const { receipt } = await send(buyer, market, 'accept', [1n]);
    expect(eventArgs(market, receipt, 'SellerPaid')).toEqual([
      { purchaseId: 1n, seller: datanetOwner.address, amount: DATANET_PRICE - fee, protocolFee: fee },
    ]);
    expect(await balance(treasury.address)).toBe(treasuryBefore + fee);
    expect(await owed(datanetOwner.address)).toBe(DATANET_PRICE - fee);
    expect(await owed(buyer.address)).toBe(bond);
    expect((await purchase(1n)).status).toBe(Status.Completed);
    expect(await listing(DATANET_LISTING)).toMatchObject({
      freeBond: 2n * bond,
      lockedBond: 0n,
      pendingPurchases: 0n,
    });
    await expectRevert(buyer, market, 'accept', [1n], 'NotPending');

    const before = await balance(buyer.address);
    const withdrawn = await send(buyer, market, 'withdraw');
    expect(await balance(buyer.address)).toBe(before + bond - withdrawn.fee);
    expect(await owed(buyer.address)).toBe(0n);
    await expectRevert(buyer, market, 'withdraw', [], 'NothingToWithdraw');
    await expectLedgerBalanced();
  });

  it('finalizes after the acceptance window, and refuses a dispute after it', async () => {
    const bond = bondOf(DATANET_PRICE);
    await send(buyer2, market, 'buy', [DATANET_LISTING], DATANET_PRICE + bond);
    await expectRevert(jurorAccounts[0]!, market, 'finalize', [2n], 'AcceptWindowOpen');
    await advance(ACCEPT_WINDOW + 1);
    await expectRevert(buyer2, market, 'dispute', [2n, 'ipfs://late'], 'AcceptWindowClosed');
    const sellerBefore = await owed(datanetOwner.address);
    await send(jurorAccounts[0]!, market, 'finalize', [2n]);
    expect((await purchase(2n)).status).toBe(Status.Completed);
    expect(await owed(datanetOwner.address)).toBe(sellerBefore + DATANET_PRICE - feeOf(DATANET_PRICE));
    expect(await owed(buyer2.address)).toBe(bond);
    await expectLedgerBalanced();
  });

  it('registers stake-weighted jurors', async () => {
    await expectRevert(buyer, market, 'registerJuror', [], 'StakeTooLow', parseEther('9'));
    for (const [i, a] of jurorAccounts.entries()) await send(a, market, 'registerJuror', [], JUROR_STAKES[i]);
    expect(await read(market, 'jurorPool')).toEqual([5n, parseEther('150')]);
    expect(await juror(jurorAccounts[2]!.address)).toEqual({
      status: JurorStatus.Active,
      unlockAt: 0n,
      pendingDisputes: 0,
      slot: 3,
      stake: parseEther('30'),
    });
  });

  it('refunds the buyer when the jury majority says so, slashing the seller bond and the minority juror', async () => {
    const bond = bondOf(DATANET_PRICE);
    await send(buyer, market, 'buy', [DATANET_LISTING], DATANET_PRICE + bond);
    await expectRevert(jurorAccounts[0]!, market, 'dispute', [3n, 'ipfs://reason'], 'NotBuyer');
    await send(buyer, market, 'dispute', [3n, 'ipfs://reason']);
    expect((await purchase(3n)).status).toBe(Status.Disputed);
    // Simulated in the dispute's own block: the randomness of that block is not usable.
    await expectRevert(jurorAccounts[0]!, market, 'drawJury', [1n], 'DrawTooEarly');
    await expectRevert(jurorAccounts[0]!, market, 'vote', [1n, true], 'JuryNotDrawn');
    await expectRevert(jurorAccounts[0]!, market, 'resolve', [1n], 'TooEarlyToResolve');

    const drawn = await send(jurorAccounts[0]!, market, 'drawJury', [1n], 0n, 2_000_000n);
    const block = await pub.getBlock({ blockNumber: drawn.receipt.blockNumber });
    const { jurors: jury } = await disputeOf(1n);
    expect(jury).toEqual(await expectedJury(block.mixHash, 1n, 3, [buyer.address, datanetOwner.address]));
    expect(eventArgs(market, drawn.receipt, 'JuryDrawn')).toEqual([
      { disputeId: 1n, jurors: jury, voteDeadline: block.timestamp + BigInt(VOTING_PERIOD) },
    ]);
    await expectRevert(jurorAccounts[0]!, market, 'drawJury', [1n], 'JuryAlreadyDrawn');

    const outsider = jurorAccounts.find((a) => !jury.includes(a.address))!;
    await expectRevert(outsider, market, 'vote', [1n, true], 'NotDrawnJuror');
    await expectRevert(buyer, market, 'vote', [1n, true], 'NotDrawnJuror');
    const votes = [Ballot.Refund, Ballot.Refund, Ballot.Seller] as const;
    await castVotes(1n, jury, votes);
    await expectRevert(signer(jury[0]!), market, 'vote', [1n, false], 'AlreadyVoted');
    expect((await disputeOf(1n)).ballots).toEqual([...votes]);

    // All voted: resolvable at once.
    await expectResolution(1n, votes);
    expect(await read(market, 'licence', [3n])).toEqual([buyer.address, 0, 1n, 1n, false]);
    await expectRevert(buyer, market, 'resolve', [1n], 'DisputeAlreadyResolved');
    await expectLedgerBalanced();
  });

  it('pays the seller when the jury majority says so, slashing the buyer bond and the silent juror', async () => {
    const { disputeId, jury } = await openDispute(buyer2, DATANET_LISTING, DATANET_PRICE);
    const votes = [Ballot.Seller, Ballot.Seller, undefined] as const;
    await castVotes(disputeId, jury, votes);
    await expectRevert(buyer, market, 'resolve', [disputeId], 'TooEarlyToResolve');
    await advance(VOTING_PERIOD + 1);
    await expectRevert(signer(jury[2]!), market, 'vote', [disputeId, true], 'VotingClosed');
    await expectResolution(disputeId, votes);
    await expectLedgerBalanced();
  });

  it('without enough jurors, refunds the buyer and returns both bonds after the voting period', async () => {
    await send(governance, params, 'set', [JURY_SIZE, 6n]);
    const price = MODEL_PRICE;
    const bond = bondOf(price);
    await send(buyer, market, 'buy', [MODEL_LISTING], price + bond);
    const purchaseId = await read<bigint>(market, 'purchaseCount');
    await send(buyer, market, 'dispute', [purchaseId, 'ipfs://reason']);
    const disputeId = await read<bigint>(market, 'disputeCount');
    await testClient.mine({ blocks: 1 });
    const few = await expectRevert(buyer, market, 'drawJury', [disputeId], 'NotEnoughJurors');
    expect(few.args).toEqual([5n, 6n]);
    await expectRevert(buyer, market, 'resolve', [disputeId], 'TooEarlyToResolve');
    await advance(VOTING_PERIOD + 1);
    await expectRevert(buyer, market, 'drawJury', [disputeId], 'DrawWindowClosed');

    const [owedBuyer, treasuryBefore] = await Promise.all([owed(buyer.address), balance(treasury.address)]);
    const { receipt } = await send(buyer2, market, 'resolve', [disputeId]);
    expect(eventArgs(market, receipt, 'DisputeResolved')).toMatchObject([
      { refundBuyer: true, juryDrawn: false },
    ]);
    expect(await owed(buyer.address)).toBe(owedBuyer + price + bond);
    expect(await balance(treasury.address)).toBe(treasuryBefore);
    expect(await listing(MODEL_LISTING)).toMatchObject({
      freeBond: bond,
      lockedBond: 0n,
      pendingPurchases: 0n,
    });
    expect((await purchase(purchaseId)).status).toBe(Status.Refunded);
    await send(governance, params, 'set', [JURY_SIZE, 3n]);
    await expectLedgerBalanced();
  });

  it('on delist returns the free bond at once and a locked bond when its purchase settles', async () => {
    const price = MODEL_PRICE;
    const bond = bondOf(price);
    await send(buyer2, market, 'buy', [MODEL_LISTING], price + bond);
    const purchaseId = await read<bigint>(market, 'purchaseCount');
    await send(modelOwner, market, 'topUpListingBond', [MODEL_LISTING], bond);
    await expectRevert(buyer, market, 'delist', [MODEL_LISTING], 'NotSeller');
    const before = await owed(modelOwner.address);
    await send(modelOwner, market, 'delist', [MODEL_LISTING]);
    expect(await owed(modelOwner.address)).toBe(before + bond);
    expect(await listing(MODEL_LISTING)).toMatchObject({ active: false, freeBond: 0n, lockedBond: bond });
    await expectRevert(buyer, market, 'buy', [MODEL_LISTING], 'ListingNotActive', price + bond);
    await send(buyer2, market, 'accept', [purchaseId]);
    expect(await owed(modelOwner.address)).toBe(before + 2n * bond + price - feeOf(price));
    expect(await listing(MODEL_LISTING)).toMatchObject({ lockedBond: 0n, pendingPurchases: 0n });
    await expectLedgerBalanced();
  });

  it('keeps an unbonding juror slashable for its open dispute, then pays out the rest', async () => {
    const { disputeId, jury } = await openDispute(buyer, DATANET_LISTING, DATANET_PRICE);
    const leaver = signer(jury[0]!);
    const { stake } = await juror(leaver.address);
    const [poolSize, poolStake] = await read<readonly [bigint, bigint]>(market, 'jurorPool');
    await send(leaver, market, 'unregisterJuror');
    expect(await read(market, 'jurorPool')).toEqual([poolSize - 1n, poolStake - stake]);
    expect((await juror(leaver.address)).status).toBe(JurorStatus.Unbonding);
    await expectRevert(leaver, market, 'withdrawJurorStake', [], 'StillUnbonding');

    const votes = [undefined, Ballot.Refund, Ballot.Refund] as const;
    await castVotes(disputeId, jury, votes);
    await advance(JUROR_UNBONDING + 1);
    const pending = await expectRevert(leaver, market, 'withdrawJurorStake', [], 'JurorHasPendingDisputes');
    expect(pending.args).toEqual([1n]);
    await expectResolution(disputeId, votes);

    const slashed = stake - (stake * JUROR_SLASH_BPS) / BPS;
    expect((await juror(leaver.address)).stake).toBe(slashed);
    const before = await balance(leaver.address);
    const { fee } = await send(leaver, market, 'withdrawJurorStake');
    expect(await balance(leaver.address)).toBe(before + slashed - fee);
    expect(await juror(leaver.address)).toMatchObject({ status: JurorStatus.None, stake: 0n });
    // Back in the pool (same slot) for what follows.
    await send(leaver, market, 'registerJuror', [], parseEther('25'));
    await expectLedgerBalanced();
  });

  it('creates and loses no wei, and decides by the majority of votes cast, for any vote pattern', async () => {
    const vote = fc.constantFrom(Ballot.Refund, Ballot.Seller, undefined);
    let jurySize = 3;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(vote, { minLength: 5, maxLength: 5 }),
        async (size, all) => {
          if (size !== jurySize) {
            await send(governance, params, 'set', [JURY_SIZE, BigInt(size)]);
            jurySize = size;
          }
          const bond = bondOf(DATANET_PRICE);
          const { freeBond } = await listing(DATANET_LISTING);
          if (freeBond < bond)
            await send(datanetOwner, market, 'topUpListingBond', [DATANET_LISTING], bond - freeBond);
          const before = await pub.getBlockNumber();
          const heldBefore = await totalHeld(before);

          const { disputeId, jury } = await openDispute(buyer2, DATANET_LISTING, DATANET_PRICE);
          const votes = all.slice(0, size);
          await castVotes(disputeId, jury, votes);
          if (votes.includes(undefined)) await advance(VOTING_PERIOD + 1);
          await expectResolution(disputeId, votes);

          const after = await pub.getBlockNumber();
          expect((await totalHeld(after)) + (await burnedSince(before, after))).toBe(heldBefore);
          await expectLedgerBalanced();
        },
      ),
      { numRuns: 15 },
    );
    await send(governance, params, 'set', [JURY_SIZE, 3n]);
  }, 120_000);

  it('conserves OPEN over the whole scenario (holdings plus burned gas)', async () => {
    // Everyone withdraws what the market owes them, so the sum also crosses real transfers.
    for (const a of accounts) if ((await owed(a.address)) > 0n) await send(a, market, 'withdraw');
    const end = await pub.getBlockNumber();
    expect((await totalHeld(end)) + (await burnedSince(startBlock, end))).toBe(startTotal);
    await expectLedgerBalanced();
  });
});
