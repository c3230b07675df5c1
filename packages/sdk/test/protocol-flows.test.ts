import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeFunctionData,
  isAddressEqual,
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  type Abi,
  type Address,
  type ContractEventName,
  type GetEventArgs,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import {
  DEVNET_CHAIN_ID,
  PREDEPLOYS,
  VoteStep,
  consensusVoteDigest,
  ecosystemTreasuryAbi,
  paramKey,
  protocolParamsAbi,
  rewardClaim,
  rewardTree,
  rowTree,
  signConsensusVote,
  signContribution,
  signVoucher,
  verifyVoucher,
  versionTree,
  voucherDigest,
  type ConsensusVote,
  type ParamName,
  type Voucher,
} from '../src/index.ts';
import {
  actor,
  advanceTo,
  balanceDelta,
  devAccount,
  expectRevert,
  headTimestamp,
  mined,
  sortAddresses,
  type Actor,
  type PublicClient,
  type Sent,
} from './support/flow-helpers.ts';

/**
 * The whole protocol on a real devnet, through the SDK's typed contracts, against the genesis
 * predeploys: Datanet → model → paid queries → attribution claims; governance through the Timelock;
 * escrowed licence sales with and without a jury; double-sign slashing; access control.
 *
 * One devnet for the file; the flows run in order and each builds what it needs. Account 0 is the
 * block producer and receives every transaction's tip, so its balance is never checked exactly;
 * everyone else's is, gas included.
 */

const DAY = 86_400n;
const TREASURY = PREDEPLOYS.EcosystemTreasury;

// Status enums as the contracts number them.
const ContributionStatus = { Pending: 1, Approved: 2 } as const;
const RootStatus = { None: 0, Pending: 1, Final: 2 } as const;
const OperatorStatus = { Active: 1 } as const;
const ProposalState = { Pending: 0, Active: 1, Succeeded: 4, Queued: 5, Executed: 7 } as const;
const VoteType = { Against: 0, For: 1 } as const;
const PurchaseStatus = { Pending: 1, Disputed: 2, Completed: 3, Refunded: 4 } as const;
const AssetKind = { Model: 1 } as const;
const Ballot = { NotVoted: 1, Refund: 2, Seller: 3 } as const;
const SlashReason = { DoubleSign: 0 } as const;

let devnet: DevnetProcess;
let pub: PublicClient;
/** Genesis validator (10,000 OPEN self-staked, 10,000 GOPEN) and block producer. */
let validator0: Actor;
let datanetOwner: Actor; // 1; also the seller in the market flows
let curator: Actor; // 2; juror
let contributorA: Actor; // 3; juror
let contributorB: Actor; // 4; juror (signs its contribution, a relayer submits it)
let modelOwner: Actor; // 5; relays contributor B's contribution
let user: Actor; // 6; pays for queries, buys licences
let node: Actor; // 7; serves queries; second validator in the double-sign flow
let operator: Actor; // 8; attribution operator
let holder: Actor; // 9; stakes and votes; the outsider in the access-control flow

beforeAll(async () => {
  devnet = await startDevnetProcess();
  const actors = await Promise.all(Array.from({ length: 10 }, (_, i) => actor(devnet.url, devAccount(i))));
  [validator0, datanetOwner, curator, contributorA, contributorB, modelOwner, user, node, operator, holder] =
    actors as [Actor, Actor, Actor, Actor, Actor, Actor, Actor, Actor, Actor, Actor];
  pub = validator0.publicClient;
});

afterAll(async () => {
  await devnet?.stop();
});

// ---------------------------------------------------------------- helpers

/** The decoded args of every `eventName` log `contract` emitted in the transaction. */
function eventsOf<const abi extends Abi, name extends ContractEventName<abi>>(
  contract: { abi: abi; address: Address },
  sent: Sent,
  eventName: name,
): GetEventArgs<abi, name, { EnableUnion: false; IndexedOnly: false; Required: true }>[] {
  return parseEventLogs({ abi: contract.abi, logs: sent.receipt.logs, eventName })
    .filter((log) => isAddressEqual(log.address, contract.address))
    .map((log) => log.args) as never;
}

const param = (name: ParamName) => validator0.contracts.params.read.get([paramKey(name)]);

const treasuryDelta = (sent: Sent) => balanceDelta(pub, TREASURY, sent);

/** A model owned by `owner`, trained on `trainedOn`, registered for the governed fee; returns its id. */
async function registerModel(
  owner: Actor,
  name: string,
  trainedOn: { datanetId: bigint; version: bigint }[] = [],
): Promise<{ modelId: bigint; sent: Sent }> {
  const fee = await param('model.registrationFee');
  const sent = await mined(
    pub,
    owner.contracts.models.write.registerModel(
      [
        {
          name,
          baseModelHash: keccak256(toBytes('base: open-llama-8b')),
          adapterHash: keccak256(toBytes(`adapter: ${name}`)),
          trainedOn,
          trainingConfigHash: keccak256(toBytes(`config: ${name}`)),
          metadataURI: `ipfs://flows/models/${name}`,
          pricePer1kTokens: parseEther('0.001'),
        },
      ],
      { value: fee },
    ),
    'registerModel',
  );
  const [registered] = eventsOf(owner.contracts.models, sent, 'ModelRegistered');
  return { modelId: registered!.modelId, sent };
}

async function signedVoucher(payer: Actor, v: Omit<Voucher, 'payer'>, signer: Actor = payer) {
  const voucher: Voucher = { payer: payer.address, ...v };
  const signature = await signVoucher(signer.wallet, signer.account, voucher, DEVNET_CHAIN_ID);
  return { voucher, signature };
}

/** Registers `operator` as an attribution operator unless it already is one. */
async function ensureOperator(op: Actor): Promise<void> {
  const info = await op.contracts.settlement.read.operatorInfo([op.address]);
  if (info.status === OperatorStatus.Active) return;
  const bond = await param('attribution.operatorBond');
  await mined(pub, op.contracts.settlement.write.registerOperator({ value: bond }), 'registerOperator');
}

// ---------------------------------------------------------------- flows

describe('the protocol on the devnet, through the SDK', () => {
  it('1. data to payments to claims: Datanet, curation, version, model, vouchers, 50/20/20/10 split, attribution root, claims, sweep', async () => {
    const { datanets, models, payments, settlement, market } = validator0.contracts;
    const settlementBalanceBefore = await pub.getBalance({ address: PREDEPLOYS.AttributionSettlement });

    // -- Datanet and curator
    const contributionFee = parseEther('0.01');
    const contributorBond = await param('datanet.minContributorBond');
    expect(contributorBond).toBe(parseEther('0.1'));
    const created = await mined(
      pub,
      datanetOwner.contracts.datanets.write.createDatanet([
        'ipfs://flows/datanet/arithmetic',
        keccak256(toBytes('validation standard: exact answers only')),
        'ipfs://flows/datanet/arithmetic/standard',
        contributionFee,
        contributorBond,
        1,
      ]),
      'createDatanet',
    );
    const [datanetCreated] = eventsOf(datanets, created, 'DatanetCreated');
    const datanetId = datanetCreated!.datanetId;
    expect(datanetCreated).toMatchObject({ owner: datanetOwner.address, contributionFee, contributorBond });
    expect(await datanets.read.datanetOwner([datanetId])).toBe(datanetOwner.address);

    const curatorStake = await param('datanet.minCuratorStake');
    const staked = await mined(
      pub,
      curator.contracts.datanets.write.stakeAsCurator([datanetId], { value: curatorStake }),
      'stakeAsCurator',
    );
    expect(await balanceDelta(pub, curator.address, staked)).toBe(-curatorStake - staked.fee);
    expect(await datanets.read.isCurator([datanetId, curator.address])).toBe(true);
    expect((await datanets.read.curatorStake([datanetId, curator.address])).active).toBe(curatorStake);

    // -- Contributions: rows committed by a Merkle root over their hashes
    const rowHashesA = ['2+2=4', '3*3=9', '10-7=3'].map((row) => keccak256(toBytes(row)));
    const rowHashesB = ['12/4=3', '2^5=32'].map((row) => keccak256(toBytes(row)));
    const treeA = rowTree(rowHashesA);
    const treeB = rowTree(rowHashesB);
    const rootA = treeA.root as Hex;
    const rootB = treeB.root as Hex;
    // A row proves against its contribution's root (the check DataMarket offers buyers).
    expect(await market.read.verifySample([rootA, [rowHashesA[1]!], [treeA.getProof(1) as Hex[]]])).toBe(
      true,
    );

    const submittedA = await mined(
      pub,
      contributorA.contracts.datanets.write.submitContribution(
        [datanetId, rootA, 3n, 42n, 'ipfs://flows/rows/a'],
        { value: contributionFee + contributorBond },
      ),
      'submitContribution',
    );
    expect(await balanceDelta(pub, contributorA.address, submittedA)).toBe(
      -(contributionFee + contributorBond) - submittedA.fee,
    );
    const [submissionA] = eventsOf(datanets, submittedA, 'ContributionSubmitted');
    expect(submissionA).toMatchObject({ contributor: contributorA.address, payer: contributorA.address });
    const idA = submissionA!.contributionId;

    // Contributor B signs; the model owner relays (and pays fee + bond) for it.
    const nonceB = await datanets.read.nonces([contributorB.address]);
    const deadline = (await headTimestamp(pub)) + 3_600n;
    const signatureB = await signContribution(
      contributorB.wallet,
      contributorB.account,
      {
        datanetId,
        dataRoot: rootB,
        rowCount: 2n,
        byteSize: 25n,
        metadataURI: 'ipfs://flows/rows/b',
        nonce: nonceB,
        deadline,
      },
      DEVNET_CHAIN_ID,
    );
    const relayed = await mined(
      pub,
      modelOwner.contracts.datanets.write.submitContributionWithSig(
        [contributorB.address, datanetId, rootB, 2n, 25n, 'ipfs://flows/rows/b', deadline, signatureB],
        { value: contributionFee + contributorBond },
      ),
      'submitContributionWithSig',
    );
    const [submissionB] = eventsOf(datanets, relayed, 'ContributionSubmitted');
    expect(submissionB).toMatchObject({ contributor: contributorB.address, payer: modelOwner.address });
    const idB = submissionB!.contributionId;
    expect(await balanceDelta(pub, contributorB.address, relayed)).toBe(0n);
    expect(await balanceDelta(pub, modelOwner.address, relayed)).toBe(
      -(contributionFee + contributorBond) - relayed.fee,
    );
    expect(await datanets.read.nonces([contributorB.address])).toBe(nonceB + 1n);
    expect((await datanets.read.contribution([idB])).contributor).toBe(contributorB.address);

    // -- Curation (quorum 1) and the version
    for (const id of [idA, idB]) {
      const voted = await mined(pub, curator.contracts.datanets.write.vote([id, true]), 'vote');
      expect(eventsOf(datanets, voted, 'ContributionApproved')).toHaveLength(1);
      expect((await datanets.read.contribution([id])).status).toBe(ContributionStatus.Approved);
    }
    const published = await mined(
      pub,
      datanetOwner.contracts.datanets.write.publishVersion([datanetId]),
      'publishVersion',
    );
    const [versionPublished] = eventsOf(datanets, published, 'VersionPublished');
    expect(versionPublished).toMatchObject({ datanetId, version: 1n, rowCount: 5n, contributions: 2n });
    const entries = await Promise.all(
      [idA, idB].map(async (contributionId) => {
        const c = await datanets.read.contribution([contributionId]);
        return { contributionId, dataRoot: c.dataRoot, rowOffset: c.rowOffset, rowCount: c.rowCount };
      }),
    );
    expect(entries.map((e) => [e.dataRoot, e.rowOffset, e.rowCount])).toEqual([
      [rootA, 0n, 3n],
      [rootB, 3n, 2n],
    ]);
    const vTree = versionTree(entries);
    const [versionRoot, versionRows] = await datanets.read.versionInfo([datanetId, 1n]);
    expect(versionRoot).toBe(vTree.root);
    expect(versionPublished!.root).toBe(vTree.root);
    expect(versionRows).toBe(5n);
    expect(await datanets.read.verifyContribution([idB, vTree.getProof(1) as Hex[]])).toBe(true);
    expect(await datanets.read.versionContributors([datanetId, 1n])).toEqual([
      contributorA.address,
      contributorB.address,
    ]);
    // The owner was credited both contribution fees and pulls them.
    expect(await datanets.read.withdrawable([datanetOwner.address])).toBe(2n * contributionFee);
    const ownerWithdrew = await mined(pub, datanetOwner.contracts.datanets.write.withdraw(), 'withdraw');
    expect(await balanceDelta(pub, datanetOwner.address, ownerWithdrew)).toBe(
      2n * contributionFee - ownerWithdrew.fee,
    );

    // -- The model trained on version 1; its fee goes to the treasury
    const registrationFee = await param('model.registrationFee');
    expect(registrationFee).toBe(parseEther('0.1'));
    const { modelId, sent: registered } = await registerModel(modelOwner, 'flows-arith-8b', [
      { datanetId, version: 1n },
    ]);
    expect(await treasuryDelta(registered)).toBe(registrationFee);
    expect(await balanceDelta(pub, modelOwner.address, registered)).toBe(-registrationFee - registered.fee);
    expect(await models.read.modelOwner([modelId])).toBe(modelOwner.address);
    expect(await models.read.contributorsOf([modelId])).toEqual(
      sortAddresses([contributorA.address, contributorB.address]),
    );

    // -- Paid queries: deposit, vouchers with growing cumulative amounts, the node redeems the latest
    const deposit = parseEther('1');
    const deposited = await mined(pub, user.contracts.payments.write.deposit({ value: deposit }), 'deposit');
    expect(await balanceDelta(pub, user.address, deposited)).toBe(-deposit - deposited.fee);
    const depositBefore = await payments.read.balanceOf([user.address]);
    expect(depositBefore).toBeGreaterThanOrEqual(deposit);

    const voucherDeadline = (await headTimestamp(pub)) + DAY;
    const cumulative = [parseEther('0.01'), parseEther('0.025'), parseEther('0.04')];
    const signed = [];
    for (const cumulativeAmount of cumulative) {
      const s = await signedVoucher(user, {
        node: node.address,
        modelId,
        cumulativeAmount,
        deadline: voucherDeadline,
      });
      expect(await verifyVoucher(s.voucher, s.signature, DEVNET_CHAIN_ID)).toBe(true);
      expect(await payments.read.voucherDigest([s.voucher])).toBe(voucherDigest(s.voucher, DEVNET_CHAIN_ID));
      signed.push(s);
    }
    const latest = signed.at(-1)!;
    const charge = cumulative.at(-1)!;
    const redeemed = await mined(
      pub,
      node.contracts.payments.write.redeem([latest.voucher, latest.signature]),
      'redeem',
    );
    const toContributors = (charge * 50n) / 100n;
    const toOwner = (charge * 20n) / 100n;
    const toNode = (charge * 20n) / 100n;
    const toProtocol = charge - toContributors - toOwner - toNode;
    expect(toProtocol).toBe((charge * 10n) / 100n);
    expect(eventsOf(payments, redeemed, 'Charged')).toEqual([
      {
        payer: user.address,
        node: node.address,
        modelId,
        charge,
        contributors: toContributors,
        modelOwner: toOwner,
        nodeShare: toNode,
        protocol: toProtocol,
      },
    ]);
    const [funded] = eventsOf(settlement, redeemed, 'Funded');
    expect(funded).toMatchObject({ modelId, from: PREDEPLOYS.InferencePayments, amount: toContributors });
    const epoch = funded!.epoch;
    expect(await settlement.read.collected([modelId, epoch])).toBe(toContributors);
    expect(await payments.read.earnings([modelOwner.address])).toBe(toOwner);
    expect(await payments.read.earnings([node.address])).toBe(toNode);
    expect(await treasuryDelta(redeemed)).toBe(toProtocol);
    expect(await balanceDelta(pub, PREDEPLOYS.AttributionSettlement, redeemed)).toBe(toContributors);
    expect(await balanceDelta(pub, node.address, redeemed)).toBe(-redeemed.fee);
    expect(await payments.read.balanceOf([user.address])).toBe(depositBefore - charge);
    expect(await payments.read.redeemed([user.address, node.address, modelId])).toBe(charge);

    for (const earner of [node, modelOwner]) {
      const withdrew = await mined(
        pub,
        earner.contracts.payments.write.withdrawEarnings(),
        'withdrawEarnings',
      );
      const share = earner === node ? toNode : toOwner;
      expect(await balanceDelta(pub, earner.address, withdrew)).toBe(share - withdrew.fee);
      expect(await payments.read.earnings([earner.address])).toBe(0n);
    }

    // -- The epoch ends; a bonded operator posts the rewards root
    await advanceTo(pub, await settlement.read.epochStart([epoch + 1n]));
    expect(await settlement.read.currentEpoch()).toBeGreaterThan(epoch);
    const operatorBond = await param('attribution.operatorBond');
    const registeredOp = await mined(
      pub,
      operator.contracts.settlement.write.registerOperator({ value: operatorBond }),
      'registerOperator',
    );
    expect(await balanceDelta(pub, operator.address, registeredOp)).toBe(-operatorBond - registeredOp.fee);
    expect(await settlement.read.operatorInfo([operator.address])).toMatchObject({
      status: OperatorStatus.Active,
      bond: operatorBond,
    });

    // Rewards by rows (3:2), 75 % of what was collected; the rest is unattributed.
    const rewards = [
      { account: contributorA.address, amount: parseEther('0.009') },
      { account: contributorB.address, amount: parseEther('0.006') },
    ];
    const total = rewards.reduce((sum, r) => sum + r.amount, 0n);
    expect(total).toBeLessThanOrEqual(toContributors);
    const tree = rewardTree(rewards);
    const posted = await mined(
      pub,
      operator.contracts.settlement.write.postRoot([
        modelId,
        epoch,
        tree.root as Hex,
        total,
        2n,
        'ipfs://flows/attribution',
      ]),
      'postRoot',
    );
    expect(eventsOf(settlement, posted, 'RootPosted')).toMatchObject([
      { modelId, epoch, operator: operator.address, root: tree.root, total, leafCount: 2n },
    ]);
    const root = await settlement.read.rootInfo([modelId, epoch]);
    expect(root.status).toBe(RootStatus.Pending);
    const claimA = { modelId, epoch, ...rewardClaim(tree, 0) };
    const claimB = { modelId, epoch, ...rewardClaim(tree, 1) };
    expect(claimA).toMatchObject({ index: 0n, account: contributorA.address, amount: rewards[0]!.amount });
    await expectRevert(settlement.simulate.claim([claimA], { account: contributorA.address }), 'NotFinal', [
      modelId,
      epoch,
      RootStatus.Pending,
    ]);

    // -- The challenge window passes; both contributors claim, one through claimMany
    await advanceTo(pub, root.challengeEnds);
    expect((await settlement.read.rootInfo([modelId, epoch])).status).toBe(RootStatus.Final);
    const claimedA = await mined(pub, contributorA.contracts.settlement.write.claim([claimA]), 'claim');
    expect(await balanceDelta(pub, contributorA.address, claimedA)).toBe(rewards[0]!.amount - claimedA.fee);
    const claimedB = await mined(
      pub,
      contributorB.contracts.settlement.write.claimMany([[claimB]]),
      'claimMany',
    );
    expect(await balanceDelta(pub, contributorB.address, claimedB)).toBe(rewards[1]!.amount - claimedB.fee);
    expect(eventsOf(settlement, claimedB, 'Claimed')).toEqual([
      { modelId, epoch, index: 1n, account: contributorB.address, amount: rewards[1]!.amount },
    ]);
    expect(await settlement.read.isClaimed([modelId, epoch, 0n])).toBe(true);
    expect(await settlement.read.isClaimed([modelId, epoch, 1n])).toBe(true);
    expect((await settlement.read.rootInfo([modelId, epoch])).claimed).toBe(total);
    await expectRevert(
      settlement.simulate.claim([claimA], { account: contributorA.address }),
      'AlreadyClaimed',
      [modelId, epoch, 0n],
    );
    await expectRevert(
      settlement.simulate.claimMany([[claimB]], { account: contributorB.address }),
      'AlreadyClaimed',
      [modelId, epoch, 1n],
    );

    // -- The unattributed remainder goes to the treasury, once
    const swept = await mined(
      pub,
      operator.contracts.settlement.write.sweepUnattributed([modelId, epoch]),
      'sweepUnattributed',
    );
    expect(eventsOf(settlement, swept, 'Swept')).toEqual([
      { modelId, epoch, amount: toContributors - total },
    ]);
    expect(await treasuryDelta(swept)).toBe(toContributors - total);
    await expectRevert(
      settlement.simulate.sweepUnattributed([modelId, epoch], { account: operator.address }),
      'AlreadySwept',
    );
    // What the settlement holds now: only the operator's bond was added.
    expect(await pub.getBalance({ address: PREDEPLOYS.AttributionSettlement })).toBe(
      settlementBalanceBefore + operatorBond,
    );
  });

  it('2. governance: stake for GOPEN, propose a parameter change and a grant, vote, queue, execute through the Timelock', async () => {
    const { staking, votingPower, governor, params } = validator0.contracts;
    const recipient = privateKeyToAccount(keccak256(toBytes('openledger flows: grant recipient'))).address;
    expect(await pub.getBalance({ address: recipient })).toBe(0n);

    // -- The holder stakes with validator 0 and gets GOPEN, self-delegated
    const stake = parseEther('1000');
    const stakingBalanceBefore = await pub.getBalance({ address: PREDEPLOYS.Staking });
    const staked = await mined(
      pub,
      holder.contracts.staking.write.stake([validator0.address], { value: stake }),
      'stake',
    );
    expect(await balanceDelta(pub, holder.address, staked)).toBe(-stake - staked.fee);
    expect(await pub.getBalance({ address: PREDEPLOYS.Staking })).toBe(stakingBalanceBefore + stake);
    expect((await staking.read.delegationOf([holder.address, validator0.address]))[1]).toBe(stake);
    expect(await votingPower.read.balanceOf([holder.address])).toBe(stake);
    await mined(pub, holder.contracts.votingPower.write.delegate([holder.address]), 'delegate');
    expect(await votingPower.read.delegates([holder.address])).toBe(holder.address);
    expect(await votingPower.read.getVotes([holder.address])).toBe(stake);
    expect(await votingPower.read.getVotes([validator0.address])).toBe(parseEther('10000'));

    // -- One proposal, two actions: the unbonding period to 14 days, and a 1,000 OPEN grant
    const unbondingKey = paramKey('staking.unbondingPeriod');
    const grant = parseEther('1000');
    const targets = [PREDEPLOYS.ProtocolParams, PREDEPLOYS.EcosystemTreasury];
    const values = [0n, 0n];
    const calldatas = [
      encodeFunctionData({ abi: protocolParamsAbi, functionName: 'set', args: [unbondingKey, 14n * DAY] }),
      encodeFunctionData({
        abi: ecosystemTreasuryAbi,
        functionName: 'grant',
        args: [recipient, grant, 'grant'],
      }),
    ];
    const description = 'Unbonding period to 14 days; 1,000 OPEN ecosystem grant';
    const descriptionHash = keccak256(toBytes(description));
    const proposed = await mined(
      pub,
      holder.contracts.governor.write.propose([targets, values, calldatas, description]),
      'propose',
    );
    const [created] = eventsOf(governor, proposed, 'ProposalCreated');
    const proposalId = created!.proposalId;
    expect(proposalId).toBe(await governor.read.hashProposal([targets, values, calldatas, descriptionHash]));
    expect(created!.proposer).toBe(holder.address);
    expect(await governor.read.state([proposalId])).toBe(ProposalState.Pending);
    await expectRevert(
      governor.simulate.castVote([proposalId, VoteType.For], { account: holder.address }),
      'GovernorUnexpectedProposalState',
    );

    // -- Voting delay, then both vote For
    const snapshot = await governor.read.proposalSnapshot([proposalId]);
    await advanceTo(pub, snapshot + 1n);
    expect(await governor.read.state([proposalId])).toBe(ProposalState.Active);
    for (const voter of [validator0, holder]) {
      const cast = await mined(
        pub,
        voter.contracts.governor.write.castVote([proposalId, VoteType.For]),
        'castVote',
      );
      expect(eventsOf(governor, cast, 'VoteCast')).toMatchObject([
        { voter: voter.address, proposalId, support: VoteType.For },
      ]);
    }
    const [against, forVotes, abstain] = await governor.read.proposalVotes([proposalId]);
    expect([against, forVotes, abstain]).toEqual([0n, parseEther('10000') + stake, 0n]);
    expect(forVotes).toBeGreaterThanOrEqual(await governor.read.quorum([snapshot]));

    // -- Voting period over: queue; the Timelock delay must pass before execution
    await advanceTo(pub, (await governor.read.proposalDeadline([proposalId])) + 1n);
    expect(await governor.read.state([proposalId])).toBe(ProposalState.Succeeded);
    await mined(
      pub,
      holder.contracts.governor.write.queue([targets, values, calldatas, descriptionHash]),
      'queue',
    );
    expect(await governor.read.state([proposalId])).toBe(ProposalState.Queued);
    const eta = await governor.read.proposalEta([proposalId]);
    expect(eta).toBeGreaterThanOrEqual(
      (await headTimestamp(pub)) + (await validator0.contracts.timelock.read.getMinDelay()) - 1n,
    );
    await expectRevert(
      governor.simulate.execute([targets, values, calldatas, descriptionHash], { account: holder.address }),
      'TimelockUnexpectedOperationState',
    );
    await advanceTo(pub, eta);
    const executed = await mined(
      pub,
      holder.contracts.governor.write.execute([targets, values, calldatas, descriptionHash]),
      'execute',
    );
    expect(await governor.read.state([proposalId])).toBe(ProposalState.Executed);

    // -- Effects: the parameter, the grant (and the treasury paid exactly it)
    expect(await params.read.get([unbondingKey])).toBe(14n * DAY);
    expect(eventsOf(params, executed, 'ParamChanged')).toEqual([
      { key: unbondingKey, oldValue: 7n * DAY, newValue: 14n * DAY },
    ]);
    expect(await pub.getBalance({ address: recipient })).toBe(grant);
    expect(await treasuryDelta(executed)).toBe(-grant);
    expect(eventsOf(validator0.contracts.treasury, executed, 'GrantPaid')).toEqual([
      { to: recipient, amount: grant, reason: 'grant' },
    ]);

    // -- Nobody but the Timelock sets a parameter
    await expectRevert(
      holder.contracts.params.write.set([unbondingKey, 21n * DAY]),
      'OwnableUnauthorizedAccount',
      [holder.address],
    );
    expect(await params.read.get([unbondingKey])).toBe(14n * DAY);
  });

  it('3. escrow purchase accepted: seller paid price minus the protocol fee, both bonds back', async () => {
    const { market } = validator0.contracts;
    const seller = datanetOwner;
    const buyer = user;
    const marketBalanceBefore = await pub.getBalance({ address: PREDEPLOYS.DataMarket });
    const sellerBefore = await pub.getBalance({ address: seller.address });
    const buyerBefore = await pub.getBalance({ address: buyer.address });
    const sellerCreditBefore = await market.read.balances([seller.address]);
    const buyerCreditBefore = await market.read.balances([buyer.address]);
    let sellerFees = 0n;
    let buyerFees = 0n;

    const { modelId, sent: registered } = await registerModel(seller, 'flows-escrow-accept');
    sellerFees += registered.fee;
    const registrationFee = await param('model.registrationFee');

    const price = parseEther('10');
    const bond = (price * (await param('market.disputeBondBps'))) / 10_000n;
    expect(bond).toBe(parseEther('1'));
    const listed = await mined(
      pub,
      seller.contracts.market.write.listModel([modelId, price, 'ipfs://flows/terms/accept'], { value: bond }),
      'listModel',
    );
    sellerFees += listed.fee;
    const [listing] = eventsOf(market, listed, 'Listed');
    const listingId = listing!.listingId;

    const bought = await mined(
      pub,
      buyer.contracts.market.write.buy([listingId], { value: price + bond }),
      'buy',
    );
    buyerFees += bought.fee;
    const [escrowed] = eventsOf(market, bought, 'Escrowed');
    const purchaseId = escrowed!.purchaseId;
    expect(escrowed).toMatchObject({ buyerBond: bond, sellerBondLocked: bond });
    expect(await market.read.licence([purchaseId])).toEqual([
      buyer.address,
      AssetKind.Model,
      modelId,
      0n,
      true,
    ]);
    expect(await market.read.listing([listingId])).toMatchObject({ freeBond: 0n, lockedBond: bond });

    await expectRevert(market.simulate.accept([purchaseId], { account: seller.address }), 'NotBuyer', [
      seller.address,
    ]);
    const accepted = await mined(pub, buyer.contracts.market.write.accept([purchaseId]), 'accept');
    buyerFees += accepted.fee;
    const protocolFee = (price * (await param('market.protocolFeeBps'))) / 10_000n;
    expect(protocolFee).toBe(parseEther('0.25'));
    expect(eventsOf(market, accepted, 'SellerPaid')).toEqual([
      { purchaseId, seller: seller.address, amount: price - protocolFee, protocolFee },
    ]);
    expect(await treasuryDelta(accepted)).toBe(protocolFee);
    expect((await market.read.purchase([purchaseId])).status).toBe(PurchaseStatus.Completed);
    expect(await market.read.balances([seller.address])).toBe(sellerCreditBefore + price - protocolFee);
    expect(await market.read.balances([buyer.address])).toBe(buyerCreditBefore + bond);
    // The seller's bond is free again on the still-active listing.
    expect(await market.read.listing([listingId])).toMatchObject({
      freeBond: bond,
      lockedBond: 0n,
      active: true,
    });

    const delisted = await mined(pub, seller.contracts.market.write.delist([listingId]), 'delist');
    sellerFees += delisted.fee;
    for (const [who, credit] of [
      [seller, sellerCreditBefore + price - protocolFee + bond],
      [buyer, buyerCreditBefore + bond],
    ] as const) {
      const withdrew = await mined(pub, who.contracts.market.write.withdraw(), 'withdraw');
      expect(await balanceDelta(pub, who.address, withdrew)).toBe(credit - withdrew.fee);
      if (who === seller) sellerFees += withdrew.fee;
      else buyerFees += withdrew.fee;
    }

    // Net: the buyer paid the price; the seller got it less the fee (and paid to register the model).
    expect(await pub.getBalance({ address: buyer.address })).toBe(
      buyerBefore - price - buyerFees + buyerCreditBefore,
    );
    expect(await pub.getBalance({ address: seller.address })).toBe(
      sellerBefore + price - protocolFee - registrationFee - sellerFees + sellerCreditBefore,
    );
    expect(await pub.getBalance({ address: PREDEPLOYS.DataMarket })).toBe(
      marketBalanceBefore - sellerCreditBefore - buyerCreditBefore,
    );
  });

  it('4. escrow purchase disputed: a drawn jury refunds the buyer, the seller bond is slashed, jurors rewarded and slashed', async () => {
    const { market } = validator0.contracts;
    const seller = datanetOwner;
    const buyer = user;
    const jurors = [curator, contributorA, contributorB];
    const stakes = [parseEther('10'), parseEther('20'), parseEther('30')];
    expect(await param('market.jurySize')).toBe(3n);
    expect(await param('market.minJurorStake')).toBe(parseEther('10'));

    const { modelId } = await registerModel(seller, 'flows-escrow-dispute');
    const price = parseEther('10');
    const bond = (price * (await param('market.disputeBondBps'))) / 10_000n;
    const listed = await mined(
      pub,
      seller.contracts.market.write.listModel([modelId, price, 'ipfs://flows/terms/dispute'], {
        value: bond,
      }),
      'listModel',
    );
    const listingId = eventsOf(market, listed, 'Listed')[0]!.listingId;

    const [poolSizeBefore, poolStakeBefore] = await market.read.jurorPool();
    for (const [i, j] of jurors.entries()) {
      const joined = await mined(
        pub,
        j.contracts.market.write.registerJuror({ value: stakes[i]! }),
        'registerJuror',
      );
      expect(await balanceDelta(pub, j.address, joined)).toBe(-stakes[i]! - joined.fee);
    }
    expect(await market.read.jurorPool()).toEqual([poolSizeBefore + 3n, poolStakeBefore + parseEther('60')]);
    // The pool is exactly these three: a jury of three is all of them.
    expect(poolSizeBefore).toBe(0n);

    const bought = await mined(
      pub,
      buyer.contracts.market.write.buy([listingId], { value: price + bond }),
      'buy',
    );
    const purchaseId = eventsOf(market, bought, 'Purchased')[0]!.purchaseId;
    const disputed = await mined(
      pub,
      buyer.contracts.market.write.dispute([purchaseId, 'ipfs://flows/disputes/rows-missing']),
      'dispute',
    );
    const [opened] = eventsOf(market, disputed, 'Disputed');
    const disputeId = opened!.disputeId;
    expect((await market.read.purchase([purchaseId])).status).toBe(PurchaseStatus.Disputed);

    // The jury is drawn in a later block; its gas depends on that block, so the limit is explicit.
    const drawn = await mined(
      pub,
      validator0.contracts.market.write.drawJury([disputeId], { gas: 2_000_000n }),
      'drawJury',
    );
    expect(drawn.receipt.blockNumber).toBeGreaterThan(disputed.receipt.blockNumber);
    const [juryDrawn] = eventsOf(market, drawn, 'JuryDrawn');
    const jury = [...juryDrawn!.jurors];
    expect(sortAddresses(jury)).toEqual(sortAddresses(jurors.map((j) => j.address)));
    expect((await market.read.dispute([disputeId])).ballots).toEqual(jury.map(() => Ballot.NotVoted));

    // Two jurors vote to refund; the one with the largest stake votes for the seller (the minority).
    const dissenter = contributorB;
    const majority = jurors.filter((j) => j !== dissenter);
    for (const j of jurors) {
      await mined(pub, j.contracts.market.write.vote([disputeId, j !== dissenter]), 'vote');
    }
    await expectRevert(
      market.simulate.vote([disputeId, true], { account: curator.address }),
      'AlreadyVoted',
      [curator.address],
    );
    expect((await market.read.dispute([disputeId])).ballots).toEqual(
      jury.map((a) => (isAddressEqual(a, dissenter.address) ? Ballot.Seller : Ballot.Refund)),
    );

    const buyerCreditBefore = await market.read.balances([buyer.address]);
    const sellerCreditBefore = await market.read.balances([seller.address]);
    const creditsBefore = await Promise.all(jurors.map((j) => market.read.balances([j.address])));
    const resolved = await mined(pub, holder.contracts.market.write.resolve([disputeId]), 'resolve');

    // Contract rules: the seller's bond is the pot; the minority juror loses jurorSlashBps of its stake
    // into it; half the pot goes to the majority in equal parts, the rest to the treasury.
    const slashBps = await param('market.jurorSlashBps');
    const slash = (stakes[2]! * slashBps) / 10_000n;
    expect(slash).toBe(parseEther('3'));
    const pot = bond + slash;
    const share = pot / 2n / 2n;
    const toTreasury = pot - 2n * share;
    expect(eventsOf(market, resolved, 'DisputeResolved')).toEqual([
      { disputeId, purchaseId, refundBuyer: true, refundVotes: 2n, sellerVotes: 1n, juryDrawn: true },
    ]);
    expect(eventsOf(market, resolved, 'BondSlashed')).toEqual([
      { purchaseId, owner: seller.address, amount: bond },
    ]);
    expect(eventsOf(market, resolved, 'JurorSlashed')).toEqual([
      { disputeId, juror: dissenter.address, amount: slash },
    ]);
    expect(eventsOf(market, resolved, 'DisputePotDistributed')).toEqual([
      { disputeId, pot, toJurors: 2n * share, toTreasury },
    ]);
    expect(await treasuryDelta(resolved)).toBe(toTreasury);
    expect(await balanceDelta(pub, PREDEPLOYS.DataMarket, resolved)).toBe(-toTreasury);

    expect((await market.read.purchase([purchaseId])).status).toBe(PurchaseStatus.Refunded);
    expect((await market.read.licence([purchaseId]))[4]).toBe(false);
    expect(await market.read.balances([buyer.address])).toBe(buyerCreditBefore + price + bond);
    expect(await market.read.balances([seller.address])).toBe(sellerCreditBefore);
    expect(await market.read.listing([listingId])).toMatchObject({ freeBond: 0n, lockedBond: 0n });
    for (const [i, j] of jurors.entries()) {
      const reward = j === dissenter ? 0n : share;
      expect(await market.read.balances([j.address])).toBe(creditsBefore[i]! + reward);
      expect((await market.read.juror([j.address])).stake).toBe(stakes[i]! - (j === dissenter ? slash : 0n));
    }
    expect(await market.read.jurorPool()).toEqual([3n, parseEther('60') - slash]);

    // Payouts are pulled.
    const refunded = await mined(pub, buyer.contracts.market.write.withdraw(), 'withdraw');
    expect(await balanceDelta(pub, buyer.address, refunded)).toBe(
      buyerCreditBefore + price + bond - refunded.fee,
    );
    for (const j of majority) {
      const paid = await mined(pub, j.contracts.market.write.withdraw(), 'withdraw');
      expect(await balanceDelta(pub, j.address, paid)).toBe(share - paid.fee);
    }
  });

  it('5. validator double-sign: evidence slashes 5 % to the treasury, tombstones, drops it from the set; replay reverts', async () => {
    const { staking, votingPower } = validator0.contracts;
    const second = node;
    const signer = privateKeyToAccount(
      keccak256(toBytes('openledger flows: consensus signer of validator 2')),
    );
    const selfStake = parseEther('2000');
    expect(selfStake).toBeGreaterThanOrEqual(await param('staking.minValidatorStake'));

    const registered = await mined(
      pub,
      second.contracts.staking.write.registerValidator([signer.address, 500], { value: selfStake }),
      'registerValidator',
    );
    expect(await balanceDelta(pub, second.address, registered)).toBe(-selfStake - registered.fee);
    const [activeBefore, signersBefore, powersBefore] = await staking.read.activeValidators();
    const at = activeBefore.indexOf(second.address);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(signersBefore[at]).toBe(signer.address);
    expect(powersBefore[at]).toBe(selfStake);
    expect(await staking.read.validatorOfSigner([signer.address])).toBe(second.address);
    expect(await votingPower.read.balanceOf([second.address])).toBe(selfStake);

    // Two different precommits for the same height and round, both signed by its consensus key.
    const height = await pub.getBlockNumber();
    const voteA: ConsensusVote = {
      height,
      round: 0,
      step: VoteStep.precommit,
      blockHash: keccak256(toBytes('block A')),
    };
    const voteB: ConsensusVote = { ...voteA, blockHash: keccak256(toBytes('block B')) };
    const sigA = await signConsensusVote(second.wallet, signer, voteA, DEVNET_CHAIN_ID);
    const sigB = await signConsensusVote(second.wallet, signer, voteB, DEVNET_CHAIN_ID);
    expect(await staking.read.voteDigest([voteA])).toBe(consensusVoteDigest(voteA, DEVNET_CHAIN_ID));

    // Anyone submits the evidence.
    const totalStakedBefore = await staking.read.totalStaked();
    const reporter = holder;
    const submitted = await mined(
      pub,
      reporter.contracts.staking.write.submitDoubleSignEvidence([voteA, sigA, voteB, sigB]),
      'submitDoubleSignEvidence',
    );
    const slashBps = await param('slashing.doubleSignBps');
    expect(slashBps).toBe(500n);
    const slashed = (selfStake * slashBps) / 10_000n;
    expect(slashed).toBe(parseEther('100'));
    expect(eventsOf(staking, submitted, 'DoubleSignEvidence')).toEqual([
      {
        validator: second.address,
        signer: signer.address,
        height,
        round: 0,
        step: VoteStep.precommit,
        reporter: reporter.address,
      },
    ]);
    expect(eventsOf(staking, submitted, 'Tombstoned')).toEqual([{ validator: second.address }]);
    expect(eventsOf(staking, submitted, 'Slashed')).toEqual([
      { validator: second.address, amount: slashed, reason: SlashReason.DoubleSign },
    ]);
    expect(await treasuryDelta(submitted)).toBe(slashed);
    expect(await balanceDelta(pub, PREDEPLOYS.Staking, submitted)).toBe(-slashed);
    expect(await balanceDelta(pub, second.address, submitted)).toBe(0n);

    const info = await staking.read.validatorInfo([second.address]);
    expect(info).toMatchObject({
      tombstoned: true,
      totalStake: selfStake - slashed,
      selfStake: selfStake - slashed,
    });
    expect(await staking.read.totalStaked()).toBe(totalStakedBefore - slashed);
    expect(await votingPower.read.balanceOf([second.address])).toBe(selfStake - slashed);
    const [activeAfter] = await staking.read.activeValidators();
    expect(activeAfter).not.toContain(second.address);
    expect(activeAfter).toContain(validator0.address);
    expect(await staking.read.evidenceSubmitted([signer.address, height, 0, VoteStep.precommit])).toBe(true);

    // The same evidence again, from anyone, is rejected.
    await expectRevert(
      staking.simulate.submitDoubleSignEvidence([voteA, sigA, voteB, sigB], { account: validator0.address }),
      'EvidenceAlreadySubmitted',
    );
    await expectRevert(
      staking.simulate.submitDoubleSignEvidence([voteB, sigB, voteA, sigA], { account: reporter.address }),
      'EvidenceAlreadySubmitted',
    );
    // And a tombstoned validator takes no new stake.
    await expectRevert(
      staking.simulate.stake([second.address], { account: reporter.address, value: parseEther('1') }),
      'ValidatorIsTombstoned',
      [second.address],
    );
  });

  it('6. access control: only the Timelock governs, only operators post roots, forged and replayed vouchers and wrong proofs fail', async () => {
    const { params, treasury, timelock, governor, payments, settlement } = validator0.contracts;
    const outsider = holder;

    // -- Parameters and the treasury answer to the Timelock only
    const key = paramKey('payments.withdrawDelay');
    await expectRevert(
      params.simulate.set([key, 2n * DAY], { account: outsider.address }),
      'OwnableUnauthorizedAccount',
      [outsider.address],
    );
    await expectRevert(
      params.simulate.setFeeShares([4000n, 3000n, 2000n, 1000n], { account: outsider.address }),
      'OwnableUnauthorizedAccount',
      [outsider.address],
    );
    await expectRevert(
      treasury.simulate.grant([outsider.address, 1n, 'self-grant'], { account: outsider.address }),
      'OwnableUnauthorizedAccount',
      [outsider.address],
    );
    // Their owner is the Timelock, which only runs what a proposal passed (flow 2).
    expect(await params.read.owner()).toBe(PREDEPLOYS.OpenTimelock);
    expect(await treasury.read.owner()).toBe(PREDEPLOYS.OpenTimelock);
    // Nobody schedules on the Timelock but the Governor, and the Governor's settings need a proposal.
    const proposerRole = await timelock.read.PROPOSER_ROLE();
    await expectRevert(
      timelock.simulate.schedule(
        [PREDEPLOYS.ProtocolParams, 0n, '0x', `0x${'00'.repeat(32)}`, `0x${'11'.repeat(32)}`, DAY],
        { account: outsider.address },
      ),
      'AccessControlUnauthorizedAccount',
      [outsider.address, proposerRole],
    );
    await expectRevert(
      governor.simulate.setVotingDelay([1], { account: outsider.address }),
      'GovernorOnlyExecutor',
      [outsider.address],
    );

    // -- Vouchers: a forged one (signed by someone else) and a replayed one are rejected
    const { modelId } = await registerModel(modelOwner, 'flows-access-control');
    await mined(pub, user.contracts.payments.write.deposit({ value: parseEther('0.1') }), 'deposit');
    const deadline = (await headTimestamp(pub)) + DAY;
    const charge = parseEther('0.01');
    const genuine = await signedVoucher(user, {
      node: node.address,
      modelId,
      cumulativeAmount: charge,
      deadline,
    });
    const forged = await signedVoucher(
      user,
      { node: node.address, modelId, cumulativeAmount: parseEther('0.05'), deadline },
      outsider,
    );
    expect(await verifyVoucher(forged.voucher, forged.signature, DEVNET_CHAIN_ID)).toBe(false);
    await expectRevert(
      payments.simulate.redeem([forged.voucher, forged.signature], { account: node.address }),
      'InvalidSignature',
    );
    // A genuine signature does not cover an altered voucher either (the outsider redirects it to itself).
    await expectRevert(
      payments.simulate.redeem([{ ...genuine.voucher, node: outsider.address }, genuine.signature], {
        account: outsider.address,
      }),
      'InvalidSignature',
    );
    const depositBefore = await payments.read.balanceOf([user.address]);
    const redeemed = await mined(
      pub,
      node.contracts.payments.write.redeem([genuine.voucher, genuine.signature]),
      'redeem',
    );
    expect(await payments.read.balanceOf([user.address])).toBe(depositBefore - charge);
    await expectRevert(
      payments.simulate.redeem([genuine.voucher, genuine.signature], { account: node.address }),
      'VoucherAlreadyRedeemed',
      [charge, charge],
    );
    await expectRevert(
      payments.simulate.redeemBatch([[genuine.voucher], [genuine.signature]], { account: outsider.address }),
      'VoucherAlreadyRedeemed',
      [charge, charge],
    );
    expect(await payments.read.balanceOf([user.address])).toBe(depositBefore - charge);

    // -- Roots: only a registered, active operator posts, for an ended epoch, within what was collected
    const [funded] = eventsOf(settlement, redeemed, 'Funded');
    const epoch = funded!.epoch;
    const collected = await settlement.read.collected([modelId, epoch]);
    expect(collected).toBe(charge / 2n);
    const rewards = [
      { account: contributorA.address, amount: parseEther('0.003') },
      { account: contributorB.address, amount: parseEther('0.001') },
    ];
    const total = parseEther('0.004');
    const tree = rewardTree(rewards);
    const postArgs = [modelId, epoch, tree.root as Hex, total, 2n, 'ipfs://flows/attribution/2'] as const;
    await ensureOperator(operator);
    // (Unless the epoch happened to end in the few seconds since the charge.)
    if ((await settlement.read.currentEpoch()) === epoch) {
      await expectRevert(
        settlement.simulate.postRoot(postArgs, { account: operator.address }),
        'EpochNotEnded',
        [epoch, epoch],
      );
    }
    await advanceTo(pub, await settlement.read.epochStart([epoch + 1n]));
    await expectRevert(
      settlement.simulate.postRoot(postArgs, { account: outsider.address }),
      'NotActiveOperator',
      [outsider.address],
    );
    await expectRevert(
      settlement.simulate.postRoot([modelId, epoch, tree.root as Hex, collected + 1n, 2n, ''], {
        account: operator.address,
      }),
      'TotalExceedsCollected',
      [collected + 1n, collected],
    );
    await mined(pub, operator.contracts.settlement.write.postRoot(postArgs), 'postRoot');
    await advanceTo(pub, await settlement.read.challengeWindowEnds([modelId, epoch]));

    // -- Claims: a wrong proof, a wrong amount or a wrong account does not verify
    const good = { modelId, epoch, ...rewardClaim(tree, 0) };
    const proofOfOther = rewardClaim(tree, 1).proof;
    for (const bad of [
      { ...good, proof: proofOfOther },
      { ...good, proof: [] },
      { ...good, amount: good.amount + 1n },
      { ...good, account: outsider.address },
    ]) {
      await expectRevert(settlement.simulate.claim([bad], { account: outsider.address }), 'InvalidProof');
    }
    // The right proof pays the leaf's account, whoever submits it.
    const claimed = await mined(pub, outsider.contracts.settlement.write.claim([good]), 'claim');
    expect(await balanceDelta(pub, contributorA.address, claimed)).toBe(rewards[0]!.amount);
    expect(await balanceDelta(pub, outsider.address, claimed)).toBe(-claimed.fee);
  });
});
