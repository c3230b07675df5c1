import { SimpleMerkleTree } from '@openzeppelin/merkle-tree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeAbiParameters,
  hashTypedData,
  keccak256,
  parseEther,
  toBytes,
  toHex,
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
  type Sent,
} from './support/devnet-contracts.ts';

// ---------------------------------------------------------------- accounts and clients

/** Deploys the contracts; also the devnet's block producer (it earns the tips), so never part of a sum. */
const deployer = devAccount(0);
const owner = devAccount(1);
const alice = devAccount(2);
const bob = devAccount(3);
const relayer = devAccount(4);
const cur1 = devAccount(5);
const cur2 = devAccount(6);
const cur3 = devAccount(7);
const challenger = devAccount(8);
/** Owner of ProtocolParams and EcosystemTreasury (stands in for the Timelock). */
const governance = devAccount(9);
/** Every account whose balance the conservation check sums. */
const PEOPLE = [owner, alice, bob, relayer, cur1, cur2, cur3, challenger, governance];

const DAY = 86_400;
// ProtocolParams defaults this test relies on.
const CURATION_PERIOD = 3 * DAY;
const CHALLENGE_WINDOW = 3 * DAY;
const UNBONDING = 7 * DAY;
const MIN_STAKE = parseEther('10');
const MIN_BOND = parseEther('0.1');
const CHALLENGE_BOND = parseEther('5');
const CURATOR_SLASH_BPS = 1_000n;
const CHALLENGER_REWARD_BPS = 5_000n;
const MAX_ROWS = 1_000_000n;

const Status = { None: 0, Pending: 1, Approved: 2, Rejected: 3, Expired: 4, Slashed: 5 } as const;

let params: Contract;
let treasury: Contract;
let registry: Contract;
/** Gas paid by PEOPLE since the conservation snapshot. */
let gasPaid = 0n;

let devnet: DevnetProcess;
const dc = devnetContracts({ deployer, onFee: (_from, fee) => (gasPaid += fee) });
const { deploy, send, balance, latestTimestamp } = dc;
let pub: DevnetPublicClient;

/** Sends a registry call. */
const tx = (from: HDAccount, functionName: string, args: readonly unknown[] = [], value = 0n) =>
  send(from, registry, functionName, args, value);

/** Reads from the registry, or from `c`. */
const read = <T>(functionName: string, args: readonly unknown[] = [], c: Contract = registry): Promise<T> =>
  dc.read<T>(c, functionName, args);

/** Simulates the registry call, expects the custom error `errorName`, and returns its arguments. */
async function expectRevert(
  from: HDAccount,
  functionName: string,
  args: readonly unknown[],
  errorName: string,
  value = 0n,
): Promise<readonly unknown[] | undefined> {
  return (await dc.expectRevert(from, registry, functionName, args, errorName, value)).args;
}

/** Moves the chain at least `seconds` past the latest block. */
async function advance(seconds: number): Promise<void> {
  await dc.advanceTo((await latestTimestamp()) + BigInt(seconds));
}

const eventArgs = (receipt: TransactionReceipt, eventName: string) =>
  dc.eventArgs<Record<string, unknown>>(registry, receipt, eventName);

// ---------------------------------------------------------------- registry helpers

interface ContributionView {
  contributor: Address;
  status: number;
  quorum: number;
  approvals: number;
  rejections: number;
  datanetId: bigint;
  version: bigint;
  rowOffset: bigint;
  submittedAt: bigint;
  approvedAt: bigint;
  rowCount: bigint;
  byteSize: bigint;
  dataRoot: Hex;
  fee: bigint;
  bond: bigint;
  openChallenge: bigint;
  metadataURI: string;
}

interface DatanetView {
  owner: Address;
  curatorQuorum: number;
  totalRows: bigint;
  validationStandardHash: Hex;
  contributionFee: bigint;
  contributorBond: bigint;
  metadataURI: string;
  validationStandardURI: string;
}

interface StakeView {
  active: bigint;
  unbonding: bigint;
  unbondingEnd: bigint;
  openChallenges: number;
}

interface Terms {
  fee: bigint;
  bond: bigint;
  quorum: number;
}

const contribution = (id: bigint) => read<ContributionView>('contribution', [id]);
const stakeOf = (datanetId: bigint, curator: HDAccount) =>
  read<StakeView>('curatorStake', [datanetId, curator.address]);
const credits = (who: HDAccount) => read<bigint>('withdrawable', [who.address]);
const reputation = async (who: HDAccount) => {
  const [approved, rejected, slashed] = await read<readonly [bigint, bigint, bigint]>('reputation', [
    who.address,
  ]);
  return { approved, rejected, slashed };
};

let rootCounter = 0;
/** A fresh, never-used data root. */
const freshRoot = (): Hex => keccak256(toBytes(`datanet-test-root-${++rootCounter}`));

async function createDatanet(terms: Terms, by: HDAccount = owner): Promise<bigint> {
  const { receipt } = await tx(by, 'createDatanet', [
    'ipfs://datanet-meta',
    keccak256(toBytes('{"type":"object"}')),
    'ipfs://schema.json',
    terms.fee,
    terms.bond,
    terms.quorum,
  ]);
  return eventArgs(receipt, 'DatanetCreated')[0]!.datanetId as bigint;
}

async function stake(datanetId: bigint, curators: HDAccount[], amount = MIN_STAKE): Promise<void> {
  for (const c of curators) await tx(c, 'stakeAsCurator', [datanetId], amount);
}

interface Submitted extends Sent {
  id: bigint;
  root: Hex;
}

async function submit(
  datanetId: bigint,
  from: HDAccount,
  value: bigint,
  rows = 100n,
  bytes = 4_096n,
  root: Hex = freshRoot(),
): Promise<Submitted> {
  const sent = await tx(
    from,
    'submitContribution',
    [datanetId, root, rows, bytes, `ipfs://rows/${root}`],
    value,
  );
  return { ...sent, id: eventArgs(sent.receipt, 'ContributionSubmitted')[0]!.contributionId as bigint, root };
}

async function approve(id: bigint, curators: HDAccount[]): Promise<void> {
  for (const c of curators) await tx(c, 'vote', [id, true]);
}

const leafOf = (id: bigint, root: Hex, rowOffset: bigint, rowCount: bigint): Hex =>
  keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
      [id, root, rowOffset, rowCount],
    ),
  );

const paramKey = (name: string): Hex => keccak256(toBytes(name));

// ---------------------------------------------------------------- setup

let snapshot = 0n;

async function holdings(): Promise<bigint> {
  const balances = await Promise.all([
    ...PEOPLE.map((p) => balance(p.address)),
    balance(registry.address),
    balance(treasury.address),
  ]);
  return balances.reduce((a, b) => a + b, 0n);
}

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dc.connect(devnet.url);
  pub = dc.pub;
  params = await deploy('ProtocolParams', [governance.address]);
  treasury = await deploy('EcosystemTreasury', [governance.address]);
  registry = await deploy('DatanetRegistry', [params.address, treasury.address]);
  snapshot = await holdings();
});

afterAll(async () => {
  await devnet?.stop();
});

// ---------------------------------------------------------------- tests

describe('DatanetRegistry', () => {
  it('creates Datanets within the governed bounds; the owner updates and transfers them', async () => {
    await expectRevert(
      owner,
      'createDatanet',
      ['m', toHex(0, { size: 32 }), 's', 0n, MIN_BOND - 1n, 1],
      'BondTooLow',
    );
    await expectRevert(
      owner,
      'createDatanet',
      ['m', toHex(0, { size: 32 }), 's', 0n, MIN_BOND, 0],
      'QuorumOutOfRange',
    );
    await expectRevert(
      owner,
      'createDatanet',
      ['m', toHex(0, { size: 32 }), 's', 0n, MIN_BOND, 101],
      'QuorumOutOfRange',
    );

    // Governance raises the minimum bond: it is read at use time.
    await send(governance, params, 'set', [paramKey('datanet.minContributorBond'), parseEther('1')]);
    await expectRevert(
      owner,
      'createDatanet',
      ['m', toHex(0, { size: 32 }), 's', 0n, MIN_BOND, 1],
      'BondTooLow',
    );
    await send(governance, params, 'set', [paramKey('datanet.minContributorBond'), MIN_BOND]);

    const id = await createDatanet({ fee: parseEther('1'), bond: parseEther('2'), quorum: 2 });
    expect(await read<boolean>('exists', [id])).toBe(true);
    expect(await read<boolean>('exists', [id + 1n])).toBe(false);
    expect(await read<Address>('datanetOwner', [id])).toBe(owner.address);
    await expectRevert(owner, 'datanetOwner', [id + 1n], 'UnknownDatanet');
    const d = await read<DatanetView>('datanet', [id]);
    expect(d).toMatchObject({
      owner: owner.address,
      curatorQuorum: 2,
      contributionFee: parseEther('1'),
      contributorBond: parseEther('2'),
      metadataURI: 'ipfs://datanet-meta',
      validationStandardURI: 'ipfs://schema.json',
      validationStandardHash: keccak256(toBytes('{"type":"object"}')),
    });

    await expectRevert(bob, 'updateTerms', [id, 0n, MIN_BOND, 1], 'NotDatanetOwner');
    await expectRevert(bob, 'updateMetadata', [id, 'x'], 'NotDatanetOwner');
    await expectRevert(
      owner,
      'transferDatanetOwnership',
      [id, '0x0000000000000000000000000000000000000000'],
      'ZeroAddress',
    );

    // A pending contribution keeps the quorum it was submitted under.
    const before = await submit(id, alice, parseEther('3'));
    await tx(owner, 'updateTerms', [id, parseEther('0.5'), parseEther('0.25'), 1]);
    await tx(owner, 'updateMetadata', [id, 'ipfs://datanet-meta-2']);
    expect(await read<DatanetView>('datanet', [id])).toMatchObject({
      curatorQuorum: 1,
      contributionFee: parseEther('0.5'),
      contributorBond: parseEther('0.25'),
      metadataURI: 'ipfs://datanet-meta-2',
    });
    expect((await contribution(before.id)).quorum).toBe(2);
    await expectRevert(
      alice,
      'submitContribution',
      [id, freshRoot(), 1n, 1n, ''],
      'WrongPayment',
      parseEther('3'),
    );

    // Ownership moves; fees already credited stay with the previous owner, later ones go to the new one.
    await tx(owner, 'transferDatanetOwnership', [id, bob.address]);
    expect(await read<Address>('datanetOwner', [id])).toBe(bob.address);
    await expectRevert(owner, 'updateMetadata', [id, 'x'], 'NotDatanetOwner');
    const bobCredits = await credits(bob);
    await submit(id, alice, parseEther('0.75'));
    expect(await credits(bob)).toBe(bobCredits + parseEther('0.5'));
    await tx(bob, 'transferDatanetOwnership', [id, owner.address]);
  });

  it('takes contributions for exactly fee + bond, credits the fee to the owner and holds the bond', async () => {
    const fee = parseEther('1');
    const bond = parseEther('2');
    const id = await createDatanet({ fee, bond, quorum: 1 });
    const root = freshRoot();

    await expectRevert(
      alice,
      'submitContribution',
      [id, root, 10n, 10n, 'u'],
      'WrongPayment',
      fee + bond - 1n,
    );
    await expectRevert(
      alice,
      'submitContribution',
      [id, root, 10n, 10n, 'u'],
      'WrongPayment',
      fee + bond + 1n,
    );
    await expectRevert(alice, 'submitContribution', [id, root, 10n, 10n, 'u'], 'WrongPayment', fee);
    await expectRevert(alice, 'submitContribution', [id, root, 0n, 10n, 'u'], 'InvalidRowCount', fee + bond);
    await expectRevert(
      alice,
      'submitContribution',
      [id, root, MAX_ROWS + 1n, 10n, 'u'],
      'InvalidRowCount',
      fee + bond,
    );
    await expectRevert(
      alice,
      'submitContribution',
      [id, toHex(0, { size: 32 }), 1n, 10n, 'u'],
      'ZeroDataRoot',
      fee + bond,
    );
    await expectRevert(alice, 'submitContribution', [999n, root, 1n, 10n, 'u'], 'UnknownDatanet', fee + bond);

    const aliceBefore = await balance(alice.address);
    const registryBefore = await balance(registry.address);
    const ownerCredits = await credits(owner);
    const sub = await submit(id, alice, fee + bond, MAX_ROWS, 123_456n, root);
    expect(await balance(alice.address)).toBe(aliceBefore - fee - bond - sub.fee);
    expect(await balance(registry.address)).toBe(registryBefore + fee + bond);
    expect(await credits(owner)).toBe(ownerCredits + fee);
    const c = await contribution(sub.id);
    expect(c).toMatchObject({
      contributor: alice.address,
      status: Status.Pending,
      datanetId: id,
      rowCount: MAX_ROWS,
      byteSize: 123_456n,
      dataRoot: root,
      fee,
      bond,
      version: 0n,
      metadataURI: `ipfs://rows/${root}`,
    });
    expect(eventArgs(sub.receipt, 'ContributionSubmitted')[0]).toMatchObject({
      contributor: alice.address,
      payer: alice.address,
      dataRoot: root,
    });
    expect(await read<bigint>('contributionByRoot', [id, root])).toBe(sub.id);

    // The same root again, by anyone, is a duplicate; in another Datanet it is fine.
    const dup = await expectRevert(
      bob,
      'submitContribution',
      [id, root, 5n, 5n, 'u'],
      'DuplicateContribution',
      fee + bond,
    );
    expect(dup).toEqual([id, root, sub.id]);
    const other = await createDatanet({ fee: 0n, bond: MIN_BOND, quorum: 1 });
    await submit(other, bob, MIN_BOND, 5n, 5n, root);

    // An expired contribution's root may be submitted again; the bond came back, the fee did not.
    await advance(CURATION_PERIOD + 10);
    const aliceCredits = await credits(alice);
    await tx(bob, 'expire', [sub.id]);
    expect(await credits(alice)).toBe(aliceCredits + bond);
    const again = await submit(id, alice, fee + bond, 10n, 10n, root);
    expect(await read<bigint>('contributionByRoot', [id, root])).toBe(again.id);

    // The owner pulls the fees.
    const credited = await credits(owner);
    const ownerBefore = await balance(owner.address);
    const w = await tx(owner, 'withdraw');
    expect(await balance(owner.address)).toBe(ownerBefore + credited - w.fee);
    expect(await credits(owner)).toBe(0n);
    await expectRevert(owner, 'withdraw', [], 'NothingToWithdraw');
  });

  it('relays EIP-712 signed contributions and rejects forged, replayed and expired signatures', async () => {
    const fee = parseEther('0.5');
    const bond = parseEther('1');
    const id = await createDatanet({ fee, bond, quorum: 1 });
    await stake(id, [cur1]);

    const domain = {
      name: 'OpenLedger DatanetRegistry',
      version: '1',
      chainId: devnetChain.id,
      verifyingContract: registry.address,
    } as const;
    const types = {
      Contribution: [
        { name: 'datanetId', type: 'uint256' },
        { name: 'dataRoot', type: 'bytes32' },
        { name: 'rowCount', type: 'uint64' },
        { name: 'byteSize', type: 'uint64' },
        { name: 'metadataHash', type: 'bytes32' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    } as const;
    const root = freshRoot();
    const uri = 'ipfs://alice-rows';
    const nonce = await read<bigint>('nonces', [alice.address]);
    const deadline = (await latestTimestamp()) + 3_600n;
    const message = {
      datanetId: id,
      dataRoot: root,
      rowCount: 42n,
      byteSize: 1_000n,
      metadataHash: keccak256(toBytes(uri)),
      nonce,
      deadline,
    };
    const typed = { domain, types, primaryType: 'Contribution', message } as const;
    expect(await read<Hex>('contributionDigest', [id, root, 42n, 1_000n, uri, nonce, deadline])).toBe(
      hashTypedData(typed),
    );
    const signature = await alice.signTypedData(typed);
    const args = [alice.address, id, root, 42n, 1_000n, uri, deadline, signature];

    // Forged: bob's signature for alice; alice's signature over other fields; a wrong relayed URI.
    const forged = await bob.signTypedData(typed);
    await expectRevert(
      relayer,
      'submitContributionWithSig',
      [alice.address, id, root, 42n, 1_000n, uri, deadline, forged],
      'InvalidSignature',
      fee + bond,
    );
    await expectRevert(
      relayer,
      'submitContributionWithSig',
      [alice.address, id, root, 43n, 1_000n, uri, deadline, signature],
      'InvalidSignature',
      fee + bond,
    );
    await expectRevert(
      relayer,
      'submitContributionWithSig',
      [alice.address, id, root, 42n, 1_000n, 'ipfs://x', deadline, signature],
      'InvalidSignature',
      fee + bond,
    );
    await expectRevert(relayer, 'submitContributionWithSig', args, 'WrongPayment', fee);

    // Relayed: the relayer pays, alice owns the contribution and her balance does not move.
    const aliceBefore = await balance(alice.address);
    const relayerBefore = await balance(relayer.address);
    const sent = await tx(relayer, 'submitContributionWithSig', args, fee + bond);
    expect(await balance(relayer.address)).toBe(relayerBefore - fee - bond - sent.fee);
    expect(await balance(alice.address)).toBe(aliceBefore);
    const cid = eventArgs(sent.receipt, 'ContributionSubmitted')[0]!.contributionId as bigint;
    expect(eventArgs(sent.receipt, 'ContributionSubmitted')[0]).toMatchObject({
      contributor: alice.address,
      payer: relayer.address,
    });
    expect(await contribution(cid)).toMatchObject({
      contributor: alice.address,
      rowCount: 42n,
      byteSize: 1_000n,
    });
    expect(await read<bigint>('nonces', [alice.address])).toBe(nonce + 1n);

    // Replayed: the nonce moved on, so the same signature no longer verifies.
    await expectRevert(relayer, 'submitContributionWithSig', args, 'InvalidSignature', fee + bond);

    // Expired.
    const late = {
      ...message,
      dataRoot: freshRoot(),
      nonce: nonce + 1n,
      deadline: (await latestTimestamp()) + 60n,
    };
    const lateSig = await alice.signTypedData({ ...typed, message: late });
    await advance(120);
    await expectRevert(
      relayer,
      'submitContributionWithSig',
      [alice.address, id, late.dataRoot, 42n, 1_000n, uri, late.deadline, lateSig],
      'SignatureExpired',
      fee + bond,
    );

    // A rejection returns the bond to the contributor, not to the relayer.
    const aliceCredits = await credits(alice);
    const relayerCredits = await credits(relayer);
    await tx(cur1, 'vote', [cid, false]);
    expect((await contribution(cid)).status).toBe(Status.Rejected);
    expect(await credits(alice)).toBe(aliceCredits + bond);
    expect(await credits(relayer)).toBe(relayerCredits);
  });

  it('lets curators stake, vote to approve, reject or leave to expire, and unbond', async () => {
    const bond = parseEther('1');
    const id = await createDatanet({ fee: 0n, bond, quorum: 2 });
    await expectRevert(cur1, 'stakeAsCurator', [id], 'StakeTooLow', MIN_STAKE - 1n);
    await expectRevert(cur1, 'stakeAsCurator', [id], 'ZeroAmount', 0n);
    await tx(cur1, 'stakeAsCurator', [id], MIN_STAKE);
    await tx(cur1, 'stakeAsCurator', [id], 1n); // a top-up only has to keep the total above the minimum
    expect((await stakeOf(id, cur1)).active).toBe(MIN_STAKE + 1n);
    await stake(id, [cur2, cur3]);
    expect(await read<boolean>('isCurator', [id, cur1.address])).toBe(true);
    expect(await read<boolean>('isCurator', [id, bob.address])).toBe(false);

    const rep0 = await reputation(bob);
    const approved = await submit(id, bob, bond);
    const rejected = await submit(id, bob, bond);
    const expired = await submit(id, bob, bond);

    await expectRevert(alice, 'vote', [approved.id, true], 'NotCurator');
    await expectRevert(cur1, 'vote', [999n, true], 'UnknownContribution');
    await tx(cur1, 'vote', [approved.id, true]);
    await expectRevert(cur1, 'vote', [approved.id, false], 'AlreadyVoted');
    expect((await contribution(approved.id)).status).toBe(Status.Pending);
    const last = await tx(cur2, 'vote', [approved.id, true]);
    const c = await contribution(approved.id);
    expect(c).toMatchObject({ status: Status.Approved, approvals: 2 });
    const block = await pub.getBlock({ blockNumber: last.receipt.blockNumber });
    expect(c.approvedAt).toBe(block.timestamp);
    expect(await read<Address[]>('approvers', [approved.id])).toEqual([cur1.address, cur2.address]);
    expect(eventArgs(last.receipt, 'ContributionApproved')).toHaveLength(1);
    await expectRevert(cur3, 'vote', [approved.id, true], 'WrongStatus');

    // Two rejections reach the quorum: the bond goes back.
    const credits0 = await credits(bob);
    await tx(cur1, 'vote', [rejected.id, false]);
    await tx(cur3, 'vote', [rejected.id, true]);
    await tx(cur2, 'vote', [rejected.id, false]);
    expect(await contribution(rejected.id)).toMatchObject({
      status: Status.Rejected,
      rejections: 2,
      approvals: 1,
      bond: 0n,
    });
    expect(await credits(bob)).toBe(credits0 + bond);

    // One vote and then silence: expiry after the curation period returns the bond.
    await tx(cur1, 'vote', [expired.id, true]);
    await expectRevert(alice, 'expire', [expired.id], 'CurationOpen');
    // A curator unstakes everything: it may no longer vote, and waits out the unbonding period.
    await tx(cur3, 'unstakeCurator', [id, MIN_STAKE]);
    await expectRevert(cur3, 'vote', [expired.id, true], 'NotCurator');
    await expectRevert(cur3, 'unstakeCurator', [id, 1n], 'InsufficientStake');
    await expectRevert(cur3, 'withdrawCuratorStake', [id], 'UnbondingNotFinished');
    await advance(CURATION_PERIOD + 10);
    await expectRevert(cur2, 'vote', [expired.id, true], 'CurationClosed');
    await tx(alice, 'expire', [expired.id]);
    expect(await contribution(expired.id)).toMatchObject({ status: Status.Expired, bond: 0n });
    expect(await credits(bob)).toBe(credits0 + 2n * bond);
    await expectRevert(alice, 'expire', [expired.id], 'WrongStatus');

    expect(await reputation(bob)).toEqual({
      approved: rep0.approved + 1n,
      rejected: rep0.rejected + 1n,
      slashed: rep0.slashed,
    });

    // Once the unbonding period (longer than curation) is over, the stake comes back exactly.
    await advance(UNBONDING - CURATION_PERIOD);
    const before = await balance(cur3.address);
    const w = await tx(cur3, 'withdrawCuratorStake', [id]);
    expect(await balance(cur3.address)).toBe(before + MIN_STAKE - w.fee);
    expect(await stakeOf(id, cur3)).toMatchObject({ active: 0n, unbonding: 0n });
    await expectRevert(cur3, 'withdrawCuratorStake', [id], 'NothingToWithdraw');

    // Bob pulls his refunded bonds.
    const bobBefore = await balance(bob.address);
    const owed = await credits(bob);
    const wb = await tx(bob, 'withdraw');
    expect(await balance(bob.address)).toBe(bobBefore + owed - wb.fee);
  });

  it('publishes versions whose roots equal SimpleMerkleTree.of(leaves) and proves contributions', async () => {
    const bond = MIN_BOND;
    const id = await createDatanet({ fee: 0n, bond, quorum: 1 });
    await stake(id, [cur1]);
    await expectRevert(owner, 'publishVersion', [id], 'NothingToPublish');
    await expectRevert(bob, 'publishVersion', [id], 'NotOwnerOrCurator');

    let totalRows = 0n;
    // Tree shapes: 5 leaves (approved out of submission order), then 1, 2, 3, 4 and 7.
    for (const [round, size] of [5, 1, 2, 3, 4, 7].entries()) {
      const subs: Submitted[] = [];
      for (let i = 0; i < size; i++) {
        subs.push(
          await submit(id, i % 3 === 2 ? bob : alice, bond, BigInt(10 + round * 7 + i), BigInt(1_000 + i)),
        );
      }
      // Approve in a different order than submission: reversed.
      const order = [...subs].reverse();
      for (const s of order) await approve(s.id, [cur1]);

      const publisher = round % 2 === 0 ? owner : cur1;
      const published = await tx(publisher, 'publishVersion', [id]);
      const version = BigInt(round + 1);
      expect(eventArgs(published.receipt, 'VersionPublished')[0]).toMatchObject({ datanetId: id, version });
      expect(await read<bigint>('versionCount', [id])).toBe(version);

      const leaves: Hex[] = [];
      let rowOffset = totalRows;
      for (const s of order) {
        const c = await contribution(s.id);
        expect(c.version).toBe(version);
        expect(c.rowOffset).toBe(rowOffset);
        leaves.push(leafOf(s.id, s.root, rowOffset, c.rowCount));
        rowOffset += c.rowCount;
      }
      const tree = SimpleMerkleTree.of(leaves, { sortLeaves: false });
      const [root, rowCount, byteSize, publishedAt] = await read<readonly [Hex, bigint, bigint, bigint]>(
        'versionInfo',
        [id, version],
      );
      expect(root).toBe(tree.root);
      expect(rowCount).toBe(rowOffset - totalRows);
      const rowsOf = await Promise.all(order.map((s) => contribution(s.id)));
      expect(byteSize).toBe(rowsOf.reduce((a, c) => a + c.byteSize, 0n));
      expect(publishedAt).toBe(
        (await pub.getBlock({ blockNumber: published.receipt.blockNumber })).timestamp,
      );
      expect(await read<bigint[]>('versionContributions', [id, version])).toEqual(order.map((s) => s.id));
      const distinct = [...new Set(rowsOf.map((c) => c.contributor))];
      expect(await read<Address[]>('versionContributors', [id, version])).toEqual(distinct);
      expect((await read<DatanetView>('datanet', [id])).totalRows).toBe(rowOffset);

      // Every contribution proves against the root, on chain and with the npm package.
      for (const [i, s] of order.entries()) {
        const proof = tree.getProof(i);
        expect(await read<Hex>('contributionLeaf', [s.id])).toBe(leaves[i]);
        expect(await read<boolean>('verifyContribution', [s.id, proof])).toBe(true);
        expect(SimpleMerkleTree.verify(root, leaves[i]!, proof)).toBe(true);
      }
      if (size > 1) {
        expect(await read<boolean>('verifyContribution', [order[0]!.id, tree.getProof(1)])).toBe(false);
      }
      totalRows = rowOffset;
      await expectRevert(owner, 'publishVersion', [id], 'NothingToPublish');
    }
    expect(await read<boolean>('isVersionContributor', [id, 1n, bob.address])).toBe(true);
    expect(await read<boolean>('isVersionContributor', [id, 2n, bob.address])).toBe(false);
    await expectRevert(owner, 'versionInfo', [id, 7n], 'UnknownVersion');
    await expectRevert(owner, 'versionInfo', [id, 0n], 'UnknownVersion');
  });

  it('upholds a challenge: slashes the bond and the approving curators, pays the challenger and the treasury', async () => {
    const fee = parseEther('1');
    const bond = parseEther('2') + 1n; // an odd total, so the reward split has a remainder
    const id = await createDatanet({ fee, bond, quorum: 2 });
    const stakes = new Map<HDAccount, bigint>([
      [cur1, parseEther('20') + 7n],
      [cur2, parseEther('30')],
      [cur3, parseEther('15')],
      [relayer, parseEther('10')],
    ]);
    for (const [c, amount] of stakes) await tx(c, 'stakeAsCurator', [id], amount);

    const repAlice = await reputation(alice);
    const repBob = await reputation(bob);
    // c1 (alice) approved by cur1 + cur2 and published in version 1; c2 (bob) approved by cur1 + cur3 later.
    const c1 = await submit(id, alice, fee + bond, 50n);
    await approve(c1.id, [cur1, cur2]);
    await tx(owner, 'publishVersion', [id]);
    const c2 = await submit(id, bob, fee + bond, 60n);
    await approve(c2.id, [cur1, cur3]);
    // cur2 starts leaving: all of its stake is unbonding, and still slashable.
    await tx(cur2, 'unstakeCurator', [id, parseEther('30')]);

    await expectRevert(challenger, 'challenge', [c1.id, 'ipfs://why'], 'WrongPayment', CHALLENGE_BOND - 1n);
    await expectRevert(
      alice,
      'challenge',
      [c1.id, 'ipfs://why'],
      'ContributorCannotChallenge',
      CHALLENGE_BOND,
    );
    const ch1Sent = await tx(challenger, 'challenge', [c1.id, 'ipfs://why-1'], CHALLENGE_BOND);
    const ch1 = eventArgs(ch1Sent.receipt, 'Challenged')[0]!.challengeId as bigint;
    await expectRevert(bob, 'challenge', [c1.id, 'ipfs://again'], 'ChallengeOpen', CHALLENGE_BOND);
    const ch2Sent = await tx(challenger, 'challenge', [c2.id, 'ipfs://why-2'], CHALLENGE_BOND);
    const ch2 = eventArgs(ch2Sent.receipt, 'Challenged')[0]!.challengeId as bigint;
    expect((await contribution(c1.id)).openChallenge).toBe(ch1);
    expect((await stakeOf(id, cur1)).openChallenges).toBe(2);

    // Approvers may not judge their own approval; the contributor and non-curators may not vote.
    await expectRevert(cur1, 'voteOnChallenge', [ch1, false], 'ApproverCannotVote');
    await expectRevert(cur2, 'voteOnChallenge', [ch1, false], 'ApproverCannotVote');
    await expectRevert(alice, 'voteOnChallenge', [ch1, false], 'ContributorCannotVote');
    await expectRevert(bob, 'voteOnChallenge', [ch1, true], 'NotCurator');
    await tx(cur3, 'voteOnChallenge', [ch1, true]);
    await tx(relayer, 'voteOnChallenge', [ch1, true]);
    await expectRevert(relayer, 'voteOnChallenge', [ch1, true], 'AlreadyVoted');
    await tx(relayer, 'voteOnChallenge', [ch2, true]);
    await expectRevert(cur2, 'voteOnChallenge', [ch2, true], 'NotCurator'); // no active stake left
    await expectRevert(bob, 'resolveChallenge', [ch1], 'ChallengeVotingOpen');

    await advance(Math.max(CURATION_PERIOD, UNBONDING) + 10);
    await expectRevert(relayer, 'voteOnChallenge', [ch1, false], 'ChallengeVotingClosed');
    // cur2's unbonding is over, but a challenge that may slash it is open.
    await expectRevert(cur2, 'withdrawCuratorStake', [id], 'StakeLocked');

    const slashOf = (s: StakeView) => ((s.active + s.unbonding) * CURATOR_SLASH_BPS) / 10_000n;
    const settle = async (challengeId: bigint, contributionId: bigint, approvers: HDAccount[]) => {
      const before = await Promise.all(approvers.map((a) => stakeOf(id, a)));
      const c = await contribution(contributionId);
      const slashes = before.map(slashOf);
      const total = c.bond + slashes.reduce((a, b) => a + b, 0n);
      const reward = (total * CHALLENGER_REWARD_BPS) / 10_000n;
      const treasuryBefore = await balance(treasury.address);
      const registryBefore = await balance(registry.address);
      const challengerCredits = await credits(challenger);
      const sent = await tx(bob, 'resolveChallenge', [challengeId]);
      expect(eventArgs(sent.receipt, 'ChallengeResolved')[0]).toMatchObject({ upheld: true });
      expect(eventArgs(sent.receipt, 'SlashDistributed')[0]).toMatchObject({
        totalSlashed: total,
        challengerReward: reward,
        treasuryAmount: total - reward,
      });
      expect(await balance(treasury.address)).toBe(treasuryBefore + total - reward);
      expect(await balance(registry.address)).toBe(registryBefore - (total - reward));
      expect(await credits(challenger)).toBe(challengerCredits + reward + CHALLENGE_BOND);
      for (const [i, a] of approvers.entries()) {
        const after = await stakeOf(id, a);
        expect(after.active + after.unbonding).toBe(before[i]!.active + before[i]!.unbonding - slashes[i]!);
      }
      return { total, reward, slashes, before };
    };

    const r1 = await settle(ch1, c1.id, [cur1, cur2]);
    expect(r1.total).toBe(bond + (parseEther('20') + 7n) / 10n + parseEther('3'));
    // cur1 lost from its active stake; cur2 had only unbonding stake and lost from that.
    expect(await stakeOf(id, cur1)).toMatchObject({
      active: parseEther('20') + 7n - r1.slashes[0]!,
      unbonding: 0n,
    });
    expect(await stakeOf(id, cur2)).toMatchObject({
      active: 0n,
      unbonding: parseEther('27'),
      openChallenges: 0,
    });
    const r2 = await settle(ch2, c2.id, [cur1, cur3]);
    expect(r2.slashes[0]).toBe((parseEther('20') + 7n - r1.slashes[0]!) / 10n);
    expect(r2.slashes[1]).toBe(parseEther('1.5'));

    // Flagged: c1 stays in version 1 with status Slashed; c2 was never published and is excluded.
    expect(await contribution(c1.id)).toMatchObject({
      status: Status.Slashed,
      version: 1n,
      bond: 0n,
      openChallenge: 0n,
    });
    expect(await contribution(c2.id)).toMatchObject({ status: Status.Slashed, version: 0n });
    expect(await read<bigint[]>('versionContributions', [id, 1n])).toEqual([c1.id]);
    expect(await read<boolean>('verifyContribution', [c1.id, []])).toBe(true);
    await expectRevert(owner, 'publishVersion', [id], 'NothingToPublish');
    const c3 = await submit(id, alice, fee + bond, 70n);
    await approve(c3.id, [cur1, cur3]);
    await tx(cur3, 'publishVersion', [id]);
    expect(await read<bigint[]>('versionContributions', [id, 2n])).toEqual([c3.id]);
    expect(await contribution(c3.id)).toMatchObject({ version: 2n, rowOffset: 50n });
    await expectRevert(challenger, 'challenge', [c1.id, 'x'], 'WrongStatus', CHALLENGE_BOND);
    await expectRevert(alice, 'releaseBond', [c1.id], 'WrongStatus');

    expect(await reputation(alice)).toEqual({
      approved: repAlice.approved + 2n,
      rejected: repAlice.rejected,
      slashed: repAlice.slashed + 1n,
    });
    expect(await reputation(bob)).toEqual({
      approved: repBob.approved + 1n,
      rejected: repBob.rejected,
      slashed: repBob.slashed + 1n,
    });

    // Payouts: the challenger pulls its rewards and bonds, cur2 its remaining unbonded stake.
    const owed = await credits(challenger);
    expect(owed).toBe(r1.reward + r2.reward + 2n * CHALLENGE_BOND);
    const chBefore = await balance(challenger.address);
    const w = await tx(challenger, 'withdraw');
    expect(await balance(challenger.address)).toBe(chBefore + owed - w.fee);
    const cur2Before = await balance(cur2.address);
    const w2 = await tx(cur2, 'withdrawCuratorStake', [id]);
    expect(await balance(cur2.address)).toBe(cur2Before + parseEther('27') - w2.fee);
  });

  it('dismisses a challenge without a majority: the challenger bond compensates the contributor', async () => {
    const bond = parseEther('1');
    const id = await createDatanet({ fee: 0n, bond, quorum: 1 });
    await stake(id, [cur1, cur2, cur3]);
    const c = await submit(id, bob, bond);
    await approve(c.id, [cur1]);
    await expectRevert(bob, 'releaseBond', [c.id], 'ChallengeWindowOpen');

    const sent = await tx(challenger, 'challenge', [c.id, 'ipfs://doubt'], CHALLENGE_BOND);
    const chId = eventArgs(sent.receipt, 'Challenged')[0]!.challengeId as bigint;
    await tx(cur2, 'voteOnChallenge', [chId, true]);
    await tx(cur3, 'voteOnChallenge', [chId, false]); // a tie is not a majority
    await advance(CURATION_PERIOD + 10);
    await expectRevert(bob, 'releaseBond', [c.id], 'ChallengeOpen');

    const bobCredits = await credits(bob);
    const treasuryBefore = await balance(treasury.address);
    const resolved = await tx(alice, 'resolveChallenge', [chId]);
    expect(eventArgs(resolved.receipt, 'ChallengeResolved')[0]).toMatchObject({
      upheld: false,
      upholdVotes: 1,
      rejectVotes: 1,
    });
    expect(await credits(bob)).toBe(bobCredits + CHALLENGE_BOND);
    expect(await balance(treasury.address)).toBe(treasuryBefore);
    expect(await stakeOf(id, cur1)).toMatchObject({ active: MIN_STAKE, openChallenges: 0 });
    expect((await contribution(c.id)).status).toBe(Status.Approved);
    await expectRevert(alice, 'resolveChallenge', [chId], 'ChallengeNotOpen');

    // The challenge window has passed with no challenge open: the bond is released.
    const released = await tx(alice, 'releaseBond', [c.id]);
    expect(eventArgs(released.receipt, 'BondReleased')[0]).toMatchObject({
      contributor: bob.address,
      amount: bond,
    });
    expect(await credits(bob)).toBe(bobCredits + CHALLENGE_BOND + bond);
    await expectRevert(alice, 'releaseBond', [c.id], 'NothingToWithdraw');

    // A challenge with no votes at all is dismissed too.
    const d = await submit(id, alice, bond);
    await approve(d.id, [cur2]);
    const s2 = await tx(challenger, 'challenge', [d.id, 'ipfs://doubt-2'], CHALLENGE_BOND);
    const ch2 = eventArgs(s2.receipt, 'Challenged')[0]!.challengeId as bigint;
    await advance(CURATION_PERIOD + 10);
    const aliceCredits = await credits(alice);
    await tx(bob, 'resolveChallenge', [ch2]);
    expect(await credits(alice)).toBe(aliceCredits + CHALLENGE_BOND);

    const bobBefore = await balance(bob.address);
    const owed = await credits(bob);
    const w = await tx(bob, 'withdraw');
    expect(await balance(bob.address)).toBe(bobBefore + owed - w.fee);
  });

  it('rejects a challenge after the challenge window', async () => {
    const id = await createDatanet({ fee: 0n, bond: MIN_BOND, quorum: 1 });
    await stake(id, [cur1]);
    const c = await submit(id, alice, MIN_BOND);
    await expectRevert(challenger, 'challenge', [c.id, 'early'], 'WrongStatus', CHALLENGE_BOND);
    await approve(c.id, [cur1]);
    await advance(CHALLENGE_WINDOW + 10);
    await expectRevert(challenger, 'challenge', [c.id, 'late'], 'ChallengeWindowClosed', CHALLENGE_BOND);
    await tx(bob, 'releaseBond', [c.id]);
    expect((await contribution(c.id)).bond).toBe(0n);
  });

  it('conserves OPEN over the whole scenario', async () => {
    // What the registry holds is exactly credits + held bonds + curator stakes + open challenge bonds.
    let owed = 0n;
    for (const p of PEOPLE) owed += await credits(p);
    const contributions = await read<bigint>('contributionCount');
    for (let i = 1n; i <= contributions; i++) owed += (await contribution(i)).bond;
    const datanets = await read<bigint>('datanetCount');
    for (let d = 1n; d <= datanets; d++) {
      for (const p of PEOPLE) {
        const s = await stakeOf(d, p);
        owed += s.active + s.unbonding;
      }
    }
    const challenges = await read<bigint>('challengeCount');
    for (let i = 1n; i <= challenges; i++) {
      const ch = await read<{ status: number; bond: bigint }>('challengeInfo', [i]);
      if (ch.status === 1) owed += ch.bond;
    }
    expect(await balance(registry.address)).toBe(owed);

    // Everyone pulls what is owed; balances + gas paid + contract holdings still equal the snapshot.
    for (const p of PEOPLE) if ((await credits(p)) > 0n) await tx(p, 'withdraw');
    expect(gasPaid).toBeGreaterThan(0n);
    expect(await holdings()).toBe(snapshot - gasPaid);
  });
});
