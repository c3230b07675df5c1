import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeFunctionData,
  getContractAddress,
  hashTypedData,
  keccak256,
  parseEther,
  parseSignature,
  toBytes,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { privateKeyToAccount, type HDAccount, type PrivateKeyAccount } from 'viem/accounts';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { devnetChain } from '../../chain/test/support/viem-chain.ts';
import {
  devAccount,
  devnetContracts,
  feeOf,
  type Contract,
  type DevnetPublicClient,
} from './support/devnet-contracts.ts';

// ---------------------------------------------------------------- accounts and clients

/** Deploys everything; also the devnet's block producer (it receives the tips), so never in a sum. */
const deployer = devAccount(0);
/** Genesis validator (constructor), its own consensus signer. */
const v1 = devAccount(1);
const v2 = devAccount(2);
const v3 = devAccount(3);
const alice = devAccount(4);
const bob = devAccount(5);
const carol = devAccount(6);
/** Submits evidence, pays rewards in, receives the governance grant. */
const reporter = devAccount(7);
/** Stands in for the chain's system address. */
const system = devAccount(8);
/** Owner of ProtocolParams and EcosystemTreasury until governance takes them over. */
const governance = devAccount(9);
const everyone = [v1, v2, v3, alice, bob, carol, reporter, system, governance];

const signerKey = (name: string): PrivateKeyAccount =>
  privateKeyToAccount(keccak256(toBytes(`openledger consensus signer ${name}`)));
const signer2 = signerKey('v2');
const signer3 = signerKey('v3');
const outsider = signerKey('nobody');

let devnet: DevnetProcess;

/** Gas paid by the accounts in `everyone` since the suite's start (for conservation checks). */
let feesPaid = 0n;

const dc = devnetContracts({
  deployer,
  onFee: (from, fee) => {
    if (from !== deployer) feesPaid += fee;
  },
});
const {
  deploy,
  send,
  read,
  revertOf,
  expectRevert,
  balance,
  advanceTo,
  eventArgs: events,
  latestTimestamp: latestTime,
} = dc;
let pub: DevnetPublicClient;

async function transfer(from: HDAccount, to: Address, value: bigint): Promise<void> {
  const hash = await dc.wallet(from).sendTransaction({ to, value });
  const receipt = await pub.waitForTransactionReceipt({ hash });
  feesPaid += feeOf(receipt);
}

async function advance(seconds: number): Promise<void> {
  await advanceTo((await latestTime()) + BigInt(seconds));
}

async function blockTime(receipt: TransactionReceipt): Promise<bigint> {
  return (await pub.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
}

// ---------------------------------------------------------------- the stack

const ZERO = '0x0000000000000000000000000000000000000000' as Address;
const key = (name: string): Hex => keccak256(toBytes(name));
const UNBONDING_PERIOD = key('staking.unbondingPeriod');
const MAX_VALIDATORS = key('staking.maxValidators');
const EPOCH_BLOCKS = key('staking.epochBlocks');
const MIN_VALIDATOR_STAKE = key('staking.minValidatorStake');
const SLASH_DOWNTIME_BPS = key('slashing.downtimeBps');
const ALL = 2n ** 256n - 1n;
const DAY = 86_400;
const OPEN = (n: string | number) => parseEther(String(n));

let params: Contract;
let treasury: Contract;
let votes: Contract;
let staking: Contract;
let timelock: Contract;
let governor: Contract;

/** Accounts funded during the suite (fresh validators of the property test). */
const extraAccounts: Address[] = [];

/** Every OPEN balance the suite moves between (the deployer excluded), plus the fees paid. */
async function holdings(): Promise<bigint> {
  const addresses = [
    ...everyone.map((a) => a.address),
    ...extraAccounts,
    staking.address,
    treasury.address,
    timelock.address,
    governor.address,
  ];
  const balances = await Promise.all(addresses.map(balance));
  return balances.reduce((sum, b) => sum + b, 0n) + feesPaid;
}
let initialHoldings: bigint;

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dc.connect(devnet.url);
  pub = dc.pub;

  params = await deploy('ProtocolParams', [governance.address]);
  treasury = await deploy('EcosystemTreasury', [governance.address]);
  // VotingPower names Staking, Staking names VotingPower, Timelock and Governor name each other.
  const nonce = await pub.getTransactionCount({ address: deployer.address, blockTag: 'pending' });
  const at = (k: number) => getContractAddress({ from: deployer.address, nonce: BigInt(nonce + k) });
  const [votesAt, stakingAt, timelockAt, governorAt] = [at(0), at(1), at(2), at(3)];
  votes = await deploy('VotingPower', [stakingAt]);
  staking = await deploy(
    'Staking',
    [params.address, votesAt, treasury.address, system.address, [v1.address], [OPEN(2000)]],
    OPEN(2000),
  );
  timelock = await deploy('OpenTimelock', [BigInt(DAY), [governorAt], [ZERO], ZERO]);
  governor = await deploy('OpenGovernor', [votesAt, timelockAt]);
  expect([votes.address, staking.address, timelock.address, governor.address]).toEqual([
    votesAt,
    stakingAt,
    timelockAt,
    governorAt,
  ]);
  // The governor's calls revert with the timelock's errors; let viem decode them.
  governor.abi = [...governor.abi, ...timelock.abi.filter((item) => item.type === 'error')];
  initialHoldings = await holdings();
});

afterAll(async () => {
  await devnet?.stop();
});

interface ValidatorInfo {
  consensusSigner: Address;
  commissionBps: number;
  registered: boolean;
  jailed: boolean;
  tombstoned: boolean;
  rewarded: boolean;
  jailedUntil: bigint;
  totalStake: bigint;
  totalShares: bigint;
  selfStake: bigint;
}

const info = (v: Address) => read<ValidatorInfo>(staking, 'validatorInfo', [v]);
const gopen = (a: Address) => read<bigint>(votes, 'balanceOf', [a]);
const votesOf = (a: Address) => read<bigint>(votes, 'getVotes', [a]);
const delegation = (d: Address, v: Address) =>
  read<readonly [bigint, bigint]>(staking, 'delegationOf', [d, v]);
const active = () =>
  read<readonly [readonly Address[], readonly Address[], readonly bigint[]]>(staking, 'activeValidators');
/** The current value of everything `a` has bonded, over the validators of this suite. */
async function heldValue(a: Address): Promise<bigint> {
  const validators = [v1.address, v2.address, v3.address, ...extraAccounts];
  const values = await Promise.all(validators.map(async (v) => (await delegation(a, v))[1]));
  return values.reduce((sum, v) => sum + v, 0n);
}
const pending = (a: Address) => read<bigint>(staking, 'pendingRewards', [a]);

/** The active-set order: power descending, then address ascending. */
function ranked(entries: { v: Address; power: bigint }[]): { v: Address; power: bigint }[] {
  return [...entries].sort((a, b) =>
    a.power !== b.power ? (a.power > b.power ? -1 : 1) : BigInt(a.v) < BigInt(b.v) ? -1 : 1,
  );
}

// ---------------------------------------------------------------- staking

describe('validators and delegation', () => {
  it('registers the genesis validator from the constructor with its GOPEN self-delegated', async () => {
    const v = await info(v1.address);
    expect(v).toMatchObject({
      consensusSigner: v1.address,
      commissionBps: 0,
      registered: true,
      jailed: false,
    });
    expect([v.totalStake, v.selfStake]).toEqual([OPEN(2000), OPEN(2000)]);
    expect(await read(staking, 'totalStaked')).toBe(OPEN(2000));
    expect(await read(staking, 'validatorOfSigner', [v1.address])).toBe(v1.address);
    expect(await gopen(v1.address)).toBe(OPEN(2000));
    expect(await votesOf(v1.address)).toBe(OPEN(2000));
    expect(await read(votes, 'delegates', [v1.address])).toBe(v1.address);
    expect(await read(votes, 'symbol')).toBe('GOPEN');
    expect(await read(votes, 'name')).toBe('OpenLedger Voting Power');
    expect(await read(votes, 'CLOCK_MODE')).toBe('mode=timestamp');
    const clock = BigInt(await read<number>(votes, 'clock'));
    const latest = await latestTime();
    expect(clock >= latest && clock <= latest + 60n).toBe(true);
  });

  it('keeps GOPEN non-transferable and mintable by Staking only', async () => {
    await expectRevert(v1, votes, 'transfer', [alice.address, 1n], 'NonTransferable');
    await expectRevert(v1, votes, 'approve', [alice.address, 1n], 'NonTransferable');
    await expectRevert(v1, votes, 'transferFrom', [v1.address, alice.address, 1n], 'NonTransferable');
    await expectRevert(v1, votes, 'mint', [v1.address, 1n], 'OnlyStaking');
  });

  it('registers validators with their consensus signers and rejects bad registrations', async () => {
    const { receipt } = await send(v2, staking, 'registerValidator', [signer2.address, 1_000], OPEN(1500));
    expect(events(staking, receipt, 'ValidatorRegistered')).toEqual([
      { validator: v2.address, consensusSigner: signer2.address, commissionBps: 1_000 },
    ]);
    await send(v3, staking, 'registerValidator', [signer3.address, 500], OPEN(1200));
    expect(await read(staking, 'validatorOfSigner', [signer2.address])).toBe(v2.address);
    expect(await gopen(v2.address)).toBe(OPEN(1500));
    expect(await votesOf(v3.address)).toBe(OPEN(1200));

    const [signer, owner] = (
      await expectRevert(alice, staking, 'registerValidator', [signer2.address, 0], 'SignerInUse', OPEN(1000))
    ).args!;
    expect([signer, owner]).toEqual([signer2.address, v2.address]);
    await expectRevert(
      alice,
      staking,
      'registerValidator',
      [alice.address, 10_001],
      'CommissionTooHigh',
      OPEN(1000),
    );
    await expectRevert(
      alice,
      staking,
      'registerValidator',
      [alice.address, 0],
      'StakeBelowMinimum',
      OPEN(999),
    );
    await expectRevert(alice, staking, 'registerValidator', [ZERO, 0], 'ZeroAddress', OPEN(1000));
    await expectRevert(v2, staking, 'registerValidator', [alice.address, 0], 'AlreadyRegistered', OPEN(1000));
    await expectRevert(v2, staking, 'setCommission', [10_001], 'CommissionTooHigh');
    await expectRevert(v2, staking, 'setConsensusSigner', [signer3.address], 'SignerInUse');
  });

  it('delegates stake, minting GOPEN 1:1 that counts as votes without a delegate call', async () => {
    const { receipt } = await send(alice, staking, 'stake', [v2.address], OPEN(300));
    expect(events(staking, receipt, 'Staked')).toEqual([
      { delegator: alice.address, validator: v2.address, amount: OPEN(300), shares: OPEN(300) },
    ]);
    await send(bob, staking, 'stake', [v3.address], OPEN(100));
    await send(bob, staking, 'stake', [v1.address], OPEN(200));

    expect(await delegation(alice.address, v2.address)).toEqual([OPEN(300), OPEN(300)]);
    expect(await gopen(alice.address)).toBe(OPEN(300));
    expect(await votesOf(alice.address)).toBe(OPEN(300));
    expect(await gopen(bob.address)).toBe(OPEN(300));
    expect((await info(v2.address)).totalStake).toBe(OPEN(1800));
    expect((await info(v2.address)).selfStake).toBe(OPEN(1500));
    expect(await read(staking, 'totalStaked')).toBe(OPEN(2000 + 1500 + 1200 + 300 + 300));

    // Votes can be delegated like any ERC20Votes token, and taken back.
    await send(bob, votes, 'delegate', [v1.address]);
    expect(await votesOf(v1.address)).toBe(OPEN(2300));
    expect(await votesOf(bob.address)).toBe(0n);
    // Back to itself, by signature: anyone may relay it (delegateBySig, EIP-712 of VotingPower).
    const delegationTypes = {
      Delegation: [
        { name: 'delegatee', type: 'address' },
        { name: 'nonce', type: 'uint256' },
        { name: 'expiry', type: 'uint256' },
      ],
    } as const;
    const message = {
      delegatee: bob.address,
      nonce: await read<bigint>(votes, 'nonces', [bob.address]),
      expiry: (await latestTime()) + 3_600n,
    };
    const signature = await bob.signTypedData({
      domain: {
        name: 'OpenLedger Voting Power',
        version: '1',
        chainId: devnetChain.id,
        verifyingContract: votes.address,
      },
      types: delegationTypes,
      primaryType: 'Delegation',
      message,
    });
    const { r, s, v } = parseSignature(signature);
    await send(carol, votes, 'delegateBySig', [
      message.delegatee,
      message.nonce,
      message.expiry,
      Number(v),
      r,
      s,
    ]);
    expect(await votesOf(bob.address)).toBe(OPEN(300));
    expect(await votesOf(v1.address)).toBe(OPEN(2000));

    await expectRevert(carol, staking, 'stake', [v2.address], 'StakeBelowMinimum', OPEN('0.5'));
    await expectRevert(carol, staking, 'stake', [carol.address], 'UnknownValidator', OPEN(1));
  });

  it('orders the active set by power then address and cuts it at staking.maxValidators', async () => {
    const all = [v1, v2, v3].map((a) => a.address);
    const signers = new Map([
      [v1.address, v1.address],
      [v2.address, signer2.address],
      [v3.address, signer3.address],
    ]);
    // v3 rises to tie with v2: the tie breaks on the address.
    await send(bob, staking, 'stake', [v3.address], OPEN(500));
    const expected = ranked(
      await Promise.all(all.map(async (v) => ({ v, power: (await info(v)).totalStake }))),
    );
    expect(expected.map((e) => e.power)).toEqual([OPEN(2200), OPEN(1800), OPEN(1800)]);
    const [validators, sigs, powers] = await active();
    expect(validators).toEqual(expected.map((e) => e.v));
    expect(sigs).toEqual(expected.map((e) => signers.get(e.v)));
    expect(powers).toEqual(expected.map((e) => e.power));
    expect(await read(staking, 'epochBlocks')).toBe(100n);

    await send(governance, params, 'set', [MAX_VALIDATORS, 2n]);
    expect((await active())[0]).toEqual(expected.slice(0, 2).map((e) => e.v));
    await send(governance, params, 'set', [MAX_VALIDATORS, 100n]);
    expect((await active())[0]).toHaveLength(3);
  });

  it('unstakes into an unbonding entry, burning GOPEN, withdrawable only after the unbonding period', async () => {
    const { receipt } = await send(alice, staking, 'unstake', [v2.address, OPEN(100)]);
    const maturity = (await blockTime(receipt)) + 7n * BigInt(DAY);
    expect(events(staking, receipt, 'Unstaked')).toEqual([
      { delegator: alice.address, validator: v2.address, amount: OPEN(100), shares: OPEN(100), maturity },
    ]);
    expect(await gopen(alice.address)).toBe(OPEN(200));
    expect(await votesOf(alice.address)).toBe(OPEN(200));
    expect(await delegation(alice.address, v2.address)).toEqual([OPEN(200), OPEN(200)]);
    expect(await read(staking, 'unbondingOf', [alice.address])).toEqual([
      [v2.address],
      [OPEN(100)],
      [maturity],
    ]);
    expect(await read(staking, 'totalUnbonding')).toBe(OPEN(100));

    await expectRevert(alice, staking, 'unstake', [v2.address, OPEN(201)], 'InsufficientStake');
    await expectRevert(alice, staking, 'unstake', [v1.address, OPEN(1)], 'NoDelegation');
    await expectRevert(alice, staking, 'withdrawUnbonded', [], 'NothingToWithdraw');
    await advanceTo(maturity - 60n);
    await expectRevert(alice, staking, 'withdrawUnbonded', [], 'NothingToWithdraw');
    await advanceTo(maturity);

    const before = await balance(alice.address);
    const { receipt: paid, fee } = await send(alice, staking, 'withdrawUnbonded');
    expect(events(staking, paid, 'Withdrawn')).toEqual([{ account: alice.address, amount: OPEN(100) }]);
    expect(await balance(alice.address)).toBe(before + OPEN(100) - fee);
    expect(await read(staking, 'unbondingOf', [alice.address])).toEqual([[], [], []]);
    expect(await read(staking, 'totalUnbonding')).toBe(0n);
  });
});

// ---------------------------------------------------------------- rewards

const SCALE = 10n ** 30n;

/** Replays the contract's reward arithmetic: global reward-per-power, then per validator per share. */
class RewardModel {
  private readonly rewardPerShare = new Map<Address, bigint>();
  private readonly commission = new Map<Address, bigint>();

  constructor(
    private readonly validators: Map<Address, ValidatorInfo>,
    private readonly delegations: Map<Address, Map<Address, bigint>>,
  ) {}

  distribute(amount: bigint): void {
    const power = [...this.validators.values()].reduce((sum, v) => sum + v.totalStake, 0n);
    const perPower = (amount * SCALE) / power;
    for (const [address, v] of this.validators) {
      const earned = (v.totalStake * perPower) / SCALE;
      const commission = (earned * BigInt(v.commissionBps)) / 10_000n;
      this.commission.set(address, (this.commission.get(address) ?? 0n) + commission);
      const perShare = ((earned - commission) * SCALE) / v.totalShares;
      this.rewardPerShare.set(address, (this.rewardPerShare.get(address) ?? 0n) + perShare);
    }
  }

  pending(account: Address): bigint {
    let total = this.commission.get(account) ?? 0n;
    for (const [v, shares] of this.delegations.get(account) ?? []) {
      total += (shares * (this.rewardPerShare.get(v) ?? 0n)) / SCALE;
    }
    return total;
  }
}

describe('rewards', () => {
  it('splits rewards over the active set by power, commission first, delegators by shares', async () => {
    // One block per epoch: every reward refreshes (and settles) the reward set, as the model assumes.
    await send(governance, params, 'set', [EPOCH_BLOCKS, 1n]);
    const validators = new Map<Address, ValidatorInfo>();
    for (const v of [v1, v2, v3]) validators.set(v.address, await info(v.address));
    const delegations = new Map<Address, Map<Address, bigint>>();
    for (const d of everyone) {
      for (const v of [v1, v2, v3]) {
        const [shares] = await delegation(d.address, v.address);
        if (shares === 0n) continue;
        delegations.set(d.address, (delegations.get(d.address) ?? new Map()).set(v.address, shares));
      }
    }
    const model = new RewardModel(validators, delegations);

    const amount = OPEN('10.000000000000000007');
    const { receipt } = await send(reporter, staking, 'distributeRewards', [], amount);
    expect(events(staking, receipt, 'RewardsDistributed')).toEqual([{ from: reporter.address, amount }]);
    const [members, , power] = await read<readonly [Address[], bigint, bigint]>(staking, 'rewardSet');
    expect([...members].sort()).toEqual([v1, v2, v3].map((a) => a.address).sort());
    expect(power).toBe([...validators.values()].reduce((sum, v) => sum + v.totalStake, 0n));
    model.distribute(amount);

    // The chain's block reward: system caller only, split the same way.
    await expectRevert(reporter, staking, 'rewardBlock', [v1.address], 'NotSystemCaller', OPEN(1));
    const blockReward = OPEN(1);
    const { receipt: rewarded } = await send(system, staking, 'rewardBlock', [v2.address], blockReward);
    expect(events(staking, rewarded, 'BlockRewarded')).toEqual([
      { proposer: v2.address, amount: blockReward },
    ]);
    model.distribute(blockReward);

    for (const a of everyone) expect(await pending(a.address), a.address).toBe(model.pending(a.address));
    // Nothing beyond rounding dust is missing from what the accounts can claim.
    const claimable = (await Promise.all(everyone.map((a) => pending(a.address)))).reduce(
      (s, p) => s + p,
      0n,
    );
    expect(amount + blockReward - claimable).toBeGreaterThanOrEqual(0n);
    expect(amount + blockReward - claimable).toBeLessThan(10n);

    // Everything owed (plus rounding dust under a wei per settlement) is exactly what Staking holds.
    const owed = (await Promise.all(everyone.map((a) => pending(a.address)))).reduce((s, p) => s + p, 0n);
    const held =
      (await balance(staking.address)) -
      (await read<bigint>(staking, 'totalStaked')) -
      (await read<bigint>(staking, 'totalUnbonding'));
    expect(held - owed).toBeGreaterThanOrEqual(0n);
    expect(held - owed).toBeLessThan(10n);
  });

  it('pays claims exactly and conserves every wei', async () => {
    for (const a of [alice, v2, bob, v1]) {
      const owed = await pending(a.address);
      const before = await balance(a.address);
      const { receipt, fee } = await send(a, staking, 'claimRewards');
      expect(events(staking, receipt, 'RewardsClaimed')).toEqual([{ account: a.address, amount: owed }]);
      expect(await balance(a.address)).toBe(before + owed - fee);
      expect(await pending(a.address)).toBe(0n);
    }
    await expectRevert(carol, staking, 'claimRewards', [], 'NothingToClaim');
    expect(await holdings()).toBe(initialHoldings);
  });
});

// ---------------------------------------------------------------- slashing

interface Vote {
  height: bigint;
  round: number;
  step: number;
  blockHash: Hex;
}

const VOTE_TYPES = {
  Vote: [
    { name: 'height', type: 'uint64' },
    { name: 'round', type: 'uint32' },
    { name: 'step', type: 'uint8' },
    { name: 'blockHash', type: 'bytes32' },
  ],
} as const;

const voteDomain = () => ({
  name: 'OpenLedger Consensus',
  version: '1',
  chainId: devnetChain.id,
  verifyingContract: staking.address,
});

const signVote = (signer: PrivateKeyAccount, vote: Vote) =>
  signer.signTypedData({ domain: voteDomain(), types: VOTE_TYPES, primaryType: 'Vote', message: vote });

describe('double-sign slashing', () => {
  it('slashes 5% of stake and later unbonding to the treasury, tombstones, and rejects bad or replayed evidence', async () => {
    const height = await pub.getBlockNumber();
    // Unbonding started after the infraction is slashed too.
    await send(alice, staking, 'unstake', [v2.address, OPEN(50)]);

    const a: Vote = { height, round: 0, step: 2, blockHash: key('block A') };
    const b: Vote = { ...a, blockHash: key('block B') };
    expect(await read(staking, 'voteDigest', [a])).toBe(
      hashTypedData({ domain: voteDomain(), types: VOTE_TYPES, primaryType: 'Vote', message: a }),
    );
    const [sigA, sigB] = [await signVote(signer2, a), await signVote(signer2, b)];

    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, sigA, a, sigA],
      'EvidenceNotConflicting',
    );
    const other = { ...b, height: height + 1n };
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, sigA, other, await signVote(signer2, other)],
      'EvidenceNotConflicting',
    );
    const prevote = { ...b, step: 1 };
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, sigA, prevote, await signVote(signer2, prevote)],
      'EvidenceNotConflicting',
    );
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, sigA, b, await signVote(signer3, b)],
      'SignerMismatch',
    );
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, await signVote(outsider, a), b, await signVote(outsider, b)],
      'UnknownSigner',
    );

    const before = await info(v2.address);
    const treasuryBefore = await balance(treasury.address);
    const stakedBefore = await read<bigint>(staking, 'totalStaked');
    const bonded = (before.totalStake * 500n) / 10_000n;
    const unbonding = (OPEN(50) * 500n) / 10_000n;

    const { receipt } = await send(reporter, staking, 'submitDoubleSignEvidence', [a, sigA, b, sigB]);
    expect(events(staking, receipt, 'Slashed')).toEqual([
      { validator: v2.address, amount: bonded + unbonding, reason: 0 },
    ]);
    expect(events(staking, receipt, 'Tombstoned')).toEqual([{ validator: v2.address }]);
    expect(await balance(treasury.address)).toBe(treasuryBefore + bonded + unbonding);
    expect(await read(staking, 'totalStaked')).toBe(stakedBefore - bonded);
    const [from, amounts] = await read<readonly [Address[], bigint[]]>(staking, 'unbondingOf', [
      alice.address,
    ]);
    expect([from, amounts]).toEqual([[v2.address], [OPEN(50) - unbonding]]);
    const after = await info(v2.address);
    expect(after).toMatchObject({ tombstoned: true, totalStake: before.totalStake - bonded });
    expect((await active())[0]).not.toContain(v2.address);
    expect(await read(staking, 'evidenceSubmitted', [signer2.address, height, 0, 2])).toBe(true);

    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [a, sigA, b, sigB],
      'EvidenceAlreadySubmitted',
    );
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [b, sigB, a, sigA],
      'EvidenceAlreadySubmitted',
    );
    const [c, d] = [
      { ...a, round: 1 },
      { ...b, round: 1 },
    ];
    await expectRevert(
      reporter,
      staking,
      'submitDoubleSignEvidence',
      [c, await signVote(signer2, c), d, await signVote(signer2, d)],
      'ValidatorIsTombstoned',
    );
    await expectRevert(carol, staking, 'stake', [v2.address], 'ValidatorIsTombstoned', OPEN(1));
    // The next reward leaves it out of the reward set.
    await send(reporter, staking, 'distributeRewards', [], OPEN(1));
    expect((await read<readonly [Address[]]>(staking, 'rewardSet'))[0]).not.toContain(v2.address);
  });

  it('lets voting power lag a slash until it is synced, and lets delegators leave', async () => {
    // The offender's own GOPEN follows at once; a delegator's until someone syncs it.
    expect(await gopen(v2.address)).toBe((await info(v2.address)).selfStake);
    const [, value] = await delegation(alice.address, v2.address);
    expect(value).toBe(OPEN(150) - (OPEN(150) * 500n) / 10_000n);
    expect(await gopen(alice.address)).toBe(OPEN(150));
    await send(carol, staking, 'syncVotingPower', [alice.address]);
    expect(await gopen(alice.address)).toBe(value);
    expect(await votesOf(alice.address)).toBe(value);

    await send(alice, staking, 'unstake', [v2.address, ALL]);
    expect(await delegation(alice.address, v2.address)).toEqual([0n, 0n]);
    expect(await gopen(alice.address)).toBe(0n);
  });
});

describe('downtime', () => {
  it('slashes 1%, jails until the jail period is over, and takes reports from the system caller only', async () => {
    await expectRevert(reporter, staking, 'reportDowntime', [v3.address], 'NotSystemCaller');
    const before = await info(v3.address);
    const treasuryBefore = await balance(treasury.address);
    const slash = (before.totalStake * 100n) / 10_000n;

    const { receipt } = await send(system, staking, 'reportDowntime', [v3.address]);
    const until = (await blockTime(receipt)) + BigInt(DAY);
    expect(events(staking, receipt, 'Slashed')).toEqual([
      { validator: v3.address, amount: slash, reason: 1 },
    ]);
    expect(events(staking, receipt, 'Jailed')).toEqual([{ validator: v3.address, until }]);
    expect(await balance(treasury.address)).toBe(treasuryBefore + slash);
    expect(await info(v3.address)).toMatchObject({ jailed: true, jailedUntil: until });
    expect((await active())[0]).toEqual([v1.address]);
    await expectRevert(system, staking, 'reportDowntime', [v3.address], 'AlreadyJailed');

    await expectRevert(v3, staking, 'unjail', [], 'JailPeriodNotOver');
    await expectRevert(v1, staking, 'unjail', [], 'NotJailed');
    await advanceTo(until);
    const { receipt: freed } = await send(v3, staking, 'unjail');
    expect(events(staking, freed, 'Unjailed')).toEqual([{ validator: v3.address }]);
    expect(await active()).toEqual([
      [v1.address, v3.address],
      [v1.address, signer3.address],
      [OPEN(2200), before.totalStake - slash],
    ]);
  });
});

describe('share accounting (property)', () => {
  it('keeps delegations pro rata through any slash and pays out every token when all leave', async () => {
    await send(governance, params, 'set', [MIN_VALIDATOR_STAKE, OPEN(10)]);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.bigInt({ min: OPEN(1), max: OPEN(50) }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 10_000 }),
        async (stakes, bps) => {
          const w = devAccount(20 + run++);
          extraAccounts.push(w.address);
          await transfer(carol, w.address, OPEN(11));
          await send(w, staking, 'registerValidator', [w.address, 0], OPEN(10));
          const delegators = [alice, bob, carol].slice(0, stakes.length);
          for (const [i, d] of delegators.entries()) await send(d, staking, 'stake', [w.address], stakes[i]!);

          await send(governance, params, 'set', [SLASH_DOWNTIME_BPS, BigInt(bps)]);
          const before = await info(w.address);
          await send(system, staking, 'reportDowntime', [w.address]);
          const after = await info(w.address);
          expect(after.totalStake).toBe(before.totalStake - (before.totalStake * BigInt(bps)) / 10_000n);
          expect(after.totalShares).toBe(before.totalShares);

          const members = [w, ...delegators];
          let values = 0n;
          for (const d of members) {
            const [shares, value] = await delegation(d.address, w.address);
            expect(value).toBe((shares * after.totalStake) / after.totalShares);
            values += value;
          }
          expect(after.totalStake - values).toBeLessThan(BigInt(members.length));

          let unbonded = 0n;
          for (const d of members) {
            const { receipt } = await send(d, staking, 'unstake', [w.address, ALL]);
            unbonded += events<{ amount: bigint }>(staking, receipt, 'Unstaked')[0]!.amount;
            expect(await gopen(d.address)).toBe(await heldValue(d.address));
          }
          expect(unbonded).toBe(after.totalStake);
          expect(await info(w.address)).toMatchObject({ totalStake: 0n, totalShares: 0n });
        },
      ),
      { numRuns: 10 },
    );
    await send(governance, params, 'set', [SLASH_DOWNTIME_BPS, 100n]);
    await send(governance, params, 'set', [MIN_VALIDATOR_STAKE, OPEN(1000)]);
    expect(await holdings()).toBe(initialHoldings);
  });
});

// ---------------------------------------------------------------- governance

const ProposalState = { Pending: 0, Active: 1, Succeeded: 4, Queued: 5, Executed: 7 } as const;

describe('governance', () => {
  it('passes a parameter change and a treasury grant through propose, vote, queue and execute', async () => {
    await send(governance, params, 'transferOwnership', [timelock.address]);
    await send(governance, treasury, 'transferOwnership', [timelock.address]);
    const [who] = (
      await expectRevert(
        governance,
        params,
        'set',
        [UNBONDING_PERIOD, BigInt(14 * DAY)],
        'OwnableUnauthorizedAccount',
      )
    ).args!;
    expect(who).toBe(governance.address);

    expect(await read(governor, 'CLOCK_MODE')).toBe('mode=timestamp');
    expect([await read(governor, 'votingDelay'), await read(governor, 'votingPeriod')]).toEqual([
      3_600n,
      259_200n,
    ]);
    const grant = OPEN(10);
    const targets = [params.address, treasury.address];
    const values = [0n, 0n];
    const calldatas = [
      encodeFunctionData({
        abi: params.abi,
        functionName: 'set',
        args: [UNBONDING_PERIOD, BigInt(14 * DAY)],
      }),
      encodeFunctionData({
        abi: treasury.abi,
        functionName: 'grant',
        args: [reporter.address, grant, 'evidence reporting tools'],
      }),
    ];
    const description = 'Unbonding period to 14 days; fund evidence reporting tools';
    const descriptionHash = keccak256(toBytes(description));

    await expectRevert(
      carol,
      governor,
      'propose',
      [targets, values, calldatas, description],
      'GovernorInsufficientProposerVotes',
    );
    const { receipt } = await send(v1, governor, 'propose', [targets, values, calldatas, description]);
    const [created] = events<{ proposalId: bigint }>(governor, receipt, 'ProposalCreated');
    const id = created!.proposalId;
    expect(await read(governor, 'state', [id])).toBe(ProposalState.Pending);

    await advance(3_601);
    expect(await read(governor, 'state', [id])).toBe(ProposalState.Active);
    await send(v1, governor, 'castVote', [id, 1]);
    await send(bob, governor, 'castVote', [id, 0]);
    await send(v3, governor, 'castVote', [id, 2]);
    const [against, forVotes, abstain] = await read<readonly [bigint, bigint, bigint]>(
      governor,
      'proposalVotes',
      [id],
    );
    expect([against, forVotes, abstain]).toEqual([
      await votesOf(bob.address),
      await votesOf(v1.address),
      await votesOf(v3.address),
    ]);

    await advance(3 * DAY);
    expect(await read(governor, 'state', [id])).toBe(ProposalState.Succeeded);
    await send(carol, governor, 'queue', [targets, values, calldatas, descriptionHash]);
    expect(await read(governor, 'state', [id])).toBe(ProposalState.Queued);
    expect(
      (await revertOf(carol, governor, 'execute', [targets, values, calldatas, descriptionHash])).name,
    ).toBe('TimelockUnexpectedOperationState');

    await advance(DAY);
    const treasuryBefore = await balance(treasury.address);
    const reporterBefore = await balance(reporter.address);
    await send(carol, governor, 'execute', [targets, values, calldatas, descriptionHash]);
    expect(await read(governor, 'state', [id])).toBe(ProposalState.Executed);
    expect(await read(params, 'get', [UNBONDING_PERIOD])).toBe(BigInt(14 * DAY));
    expect(await balance(treasury.address)).toBe(treasuryBefore - grant);
    expect(await balance(reporter.address)).toBe(reporterBefore + grant);

    // Staking reads the new period at use time.
    const { receipt: left } = await send(bob, staking, 'unstake', [v1.address, OPEN(10)]);
    const [unstaked] = events<{ maturity: bigint }>(staking, left, 'Unstaked');
    expect(unstaked!.maturity).toBe((await blockTime(left)) + BigInt(14 * DAY));
  });

  it('has moved every wei only between the accounts, the contracts and gas', async () => {
    expect(await holdings()).toBe(initialHoldings);
  });
});
