// The gas report's scenario: every state-changing function of every protocol contract, called on the
// genesis predeploys of a fresh devnet with fixed inputs. Functions only the Timelock may call run
// inside governance proposals; the rest are plain transactions from the ten dev accounts and a few
// keys derived from fixed strings.
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  encodeFunctionData,
  keccak256,
  maxUint256,
  pad,
  parseEther,
  parseSignature,
  toBytes,
  toHex,
  zeroHash,
  type Address,
  type Hex,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { PREDEPLOYS, SYSTEM_ADDRESS, type PredeployName } from '@openledger/contracts';
import { VoteStep, signConsensusVote } from '../../src/consensus-votes.ts';
import { PROTOCOL_ABIS } from '../../src/contracts.ts';
import { signContribution } from '../../src/contributions.ts';
import { REWARD_LEAF_ENCODING, rewardClaim, rewardTree, rowTree } from '../../src/merkle.ts';
import { paramKey, type ParamName } from '../../src/params.ts';
import { signVoucher, type Voucher } from '../../src/vouchers.ts';
import type { CallFrame } from './attribution.ts';
import type { Actor, GasRunner } from './runner.ts';

export const MNEMONIC = 'test test test test test test test test test test test junk';

const DAY = 86_400n;
/** A fixed deadline/expiry (2100-01-01) for signatures, so calldata does not follow the clock. */
const FAR_FUTURE = 4_102_444_800n;
const OPEN = (amount: string) => parseEther(amount);

/** A key derived from a fixed string: the same address on every run. */
const derivedKey = (name: string) => privateKeyToAccount(keccak256(toBytes(`openledger gas report ${name}`)));

/** A call of a system-only entry point, simulated with debug_traceCall from the system address. */
export interface SimulatedCall {
  contract: PredeployName;
  fn: string;
  gasUsed: bigint;
  how: string;
}

interface ProposalCall {
  target: Address;
  data: Hex;
}

const call = <N extends PredeployName>(
  contract: N,
  functionName: string,
  args: readonly unknown[] = [],
): ProposalCall => ({
  target: PREDEPLOYS[contract],
  data: encodeFunctionData({
    abi: PROTOCOL_ABIS[contract],
    functionName,
    args,
  } as Parameters<typeof encodeFunctionData>[0]),
});

export async function runScenario(r: GasRunner): Promise<SimulatedCall[]> {
  const dev = (i: number, name: string) => r.actor(name, mnemonicToAccount(MNEMONIC, { addressIndex: i }));
  /** The genesis validator and block producer; proposes and votes. */
  const validator = await dev(0, 'validator');
  /** Datanet and model owner, seller in the market, delegator and voter. */
  const alice = await dev(1, 'alice');
  /** Curator, voter (with params), buyer. */
  const bob = await dev(2, 'bob');
  /** Curator, agent owner, juror who leaves, votes by signature. */
  const carol = await dev(3, 'carol');
  /** Contributor, inference payer, buyer; relays signed votes and a delegation. */
  const dave = await dev(4, 'dave');
  /** Contributor (also by signature), payer, juror, votes by extended signature. */
  const erin = await dev(5, 'erin');
  /** Second validator, challenger of contributions and roots, juror. */
  const frank = await dev(6, 'frank');
  /** Validator that double-signs; attribution root operator. */
  const grace = await dev(7, 'grace');
  /** Inference node, relayer, reporter of evidence, juror. */
  const heidi = await dev(8, 'heidi');
  /** Holds the Timelock's proposer and canceller roles for a while, to call the Timelock directly. */
  const ivan = await dev(9, 'ivan');
  const agent = await r.actor('agent', derivedKey('agent'));
  const agent2 = derivedKey('agent 2');
  const frankSigner = derivedKey('frank consensus signer');
  const frankSigner2 = derivedKey('frank consensus signer 2');
  const graceSigner = await r.actor('grace signer', derivedKey('grace consensus signer'));
  const actors = [validator, alice, bob, carol, dave, erin, frank, grace, heidi, ivan];
  const byAddress = (address: Address) =>
    actors.find((a) => a.address.toLowerCase() === address.toLowerCase())!;
  const read = validator.c;
  /** Governed numbers are read, not assumed: waits and bonds follow whatever genesis defines. */
  const param = (name: ParamName) => read.params.read.get([paramKey(name)]);
  const max = (...values: bigint[]) => values.reduce((a, b) => (a > b ? a : b));

  // ------------------------------------------------------------------ governance helpers

  const governorDomain = async () => {
    const [, name, version, chainId, verifyingContract] = await read.governor.read.eip712Domain();
    return { name, version, chainId: Number(chainId), verifyingContract };
  };

  /** Every way to vote: direct, with a reason, with params, and both by signature (relayed by dave). */
  const voteEveryWay = async (proposalId: bigint) => {
    const gov = read.governor;
    await r.tx('validator votes for', validator, (o) =>
      validator.c.governor.write.castVote([proposalId, 1], o),
    );
    await r.tx('alice votes for, with a reason', alice, (o) =>
      alice.c.governor.write.castVoteWithReason([proposalId, 1, 'Measured for the gas report'], o),
    );
    await r.tx('bob votes against, with params', bob, (o) =>
      bob.c.governor.write.castVoteWithReasonAndParams([proposalId, 0, 'Against, for the record', '0x'], o),
    );
    const domain = await governorDomain();
    const ballot = await carol.account.signTypedData({
      domain,
      types: {
        Ballot: [
          { name: 'proposalId', type: 'uint256' },
          { name: 'support', type: 'uint8' },
          { name: 'voter', type: 'address' },
          { name: 'nonce', type: 'uint256' },
        ],
      },
      primaryType: 'Ballot',
      message: {
        proposalId,
        support: 1,
        voter: carol.address,
        nonce: await gov.read.nonces([carol.address]),
      },
    });
    await r.tx('dave relays carol’s signed vote', dave, (o) =>
      dave.c.governor.write.castVoteBySig([proposalId, 1, carol.address, ballot], o),
    );
    const reason = 'Abstaining, signed offline';
    const extended = await erin.account.signTypedData({
      domain,
      types: {
        ExtendedBallot: [
          { name: 'proposalId', type: 'uint256' },
          { name: 'support', type: 'uint8' },
          { name: 'voter', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'reason', type: 'string' },
          { name: 'params', type: 'bytes' },
        ],
      },
      primaryType: 'ExtendedBallot',
      message: {
        proposalId,
        support: 2,
        voter: erin.address,
        nonce: await gov.read.nonces([erin.address]),
        reason,
        params: '0x',
      },
    });
    await r.tx('dave relays erin’s signed vote with a reason', dave, (o) =>
      dave.c.governor.write.castVoteWithReasonAndParamsBySig(
        [proposalId, 2, erin.address, reason, '0x', extended],
        o,
      ),
    );
  };

  /** Proposes, votes every way, queues and executes a proposal (the clock jumps over each wait). */
  const govern = async (proposer: Actor, description: string, calls: ProposalCall[]) => {
    const targets = calls.map((c) => c.target);
    const values = calls.map(() => 0n);
    const calldatas = calls.map((c) => c.data);
    const descriptionHash = keccak256(toBytes(description));
    await r.tx(`propose: ${description}`, proposer, (o) =>
      proposer.c.governor.write.propose([targets, values, calldatas, description], o),
    );
    const id = await read.governor.read.getProposalId([targets, values, calldatas, descriptionHash]);
    r.advanceTo((await read.governor.read.proposalSnapshot([id])) + 1n);
    await voteEveryWay(id);
    r.advanceTo((await read.governor.read.proposalDeadline([id])) + 1n);
    await r.tx(`queue: ${description}`, proposer, (o) =>
      proposer.c.governor.write.queue([targets, values, calldatas, descriptionHash], o),
    );
    r.advanceTo(await read.governor.read.proposalEta([id]));
    await r.tx(
      `execute: ${description}`,
      heidi,
      (o) => heidi.c.governor.write.execute([targets, values, calldatas, descriptionHash], o),
      calls,
    );
  };

  // ------------------------------------------------------------------ staking: validators and delegations

  for (const delegator of [alice, bob, carol, dave, erin]) {
    await r.tx(`${delegator.name} stakes with the validator`, delegator, (o) =>
      delegator.c.staking.write.stake([validator.address], { value: OPEN('300'), ...o }),
    );
  }
  const minValidatorStake = await param('staking.minValidatorStake');
  await r.tx('frank registers a validator', frank, (o) =>
    frank.c.staking.write.registerValidator([frankSigner.address, 1_000], {
      value: minValidatorStake + OPEN('500'),
      ...o,
    }),
  );
  await r.tx('grace registers a validator', grace, (o) =>
    grace.c.staking.write.registerValidator([graceSigner.address, 0], { value: minValidatorStake, ...o }),
  );
  await r.tx('frank rotates his consensus signer', frank, (o) =>
    frank.c.staking.write.setConsensusSigner([frankSigner2.address], o),
  );
  await r.tx('frank lowers his commission', frank, (o) => frank.c.staking.write.setCommission([500], o));
  await r.tx('heidi delegates to frank', heidi, (o) =>
    heidi.c.staking.write.stake([frank.address], { value: OPEN('100'), ...o }),
  );
  await r.tx('erin delegates to grace', erin, (o) =>
    erin.c.staking.write.stake([grace.address], { value: OPEN('100'), ...o }),
  );
  await r.tx('frank tops up his self-stake', frank, (o) =>
    frank.c.staking.write.stake([frank.address], { value: OPEN('100'), ...o }),
  );

  // ------------------------------------------------------------------ governance: a cancelled proposal

  {
    const description = 'Gas report: a proposal its proposer cancels';
    const calls = [call('EcosystemTreasury', 'grant', [alice.address, OPEN('1'), 'never paid'])];
    const args = [calls.map((c) => c.target), [0n], calls.map((c) => c.data)] as const;
    await r.tx('alice proposes', alice, (o) => alice.c.governor.write.propose([...args, description], o));
    await r.tx('alice cancels her pending proposal', alice, (o) =>
      alice.c.governor.write.cancel([...args, keccak256(toBytes(description))], o),
    );
  }

  // ------------------------------------------------------------------ governance: everything only the Timelock may call

  const timelockRoles = {
    proposer: await read.timelock.read.PROPOSER_ROLE(),
    canceller: await read.timelock.read.CANCELLER_ROLE(),
  };
  await govern(validator, 'Gas report: governed parameters, treasury, Governor and Timelock settings', [
    call('ProtocolParams', 'set', [paramKey('staking.maxValidators'), 50n]),
    call('ProtocolParams', 'setFeeShares', [5_000n, 2_000n, 1_500n, 1_500n]),
    call('ProtocolParams', 'transferOwnership', [PREDEPLOYS.OpenTimelock]),
    call('EcosystemTreasury', 'grant', [heidi.address, OPEN('100'), 'Gas report grant']),
    call('EcosystemTreasury', 'transferOwnership', [PREDEPLOYS.OpenTimelock]),
    call('OpenGovernor', 'setVotingDelay', [7_200]),
    call('OpenGovernor', 'setVotingPeriod', [2 * 86_400]),
    call('OpenGovernor', 'setProposalThreshold', [OPEN('200')]),
    call('OpenGovernor', 'updateQuorumNumerator', [5n]),
    call('OpenGovernor', 'updateTimelock', [PREDEPLOYS.OpenTimelock]),
    call('OpenGovernor', 'relay', [
      PREDEPLOYS.AgentRegistry,
      0n,
      call('AgentRegistry', 'setOptOut', [true]).data,
    ]),
    call('OpenTimelock', 'grantRole', [timelockRoles.proposer, ivan.address]),
    call('OpenTimelock', 'grantRole', [timelockRoles.canceller, ivan.address]),
    call('OpenTimelock', 'updateDelay', [2n * DAY]),
  ]);

  // ------------------------------------------------------------------ voting power

  await r.tx('heidi delegates her votes to the validator', heidi, (o) =>
    heidi.c.votingPower.write.delegate([validator.address], o),
  );
  {
    const [, name, version, chainId, verifyingContract] = await read.votingPower.read.eip712Domain();
    const nonce = await read.votingPower.read.nonces([frank.address]);
    const signature = await frank.account.signTypedData({
      domain: { name, version, chainId: Number(chainId), verifyingContract },
      types: {
        Delegation: [
          { name: 'delegatee', type: 'address' },
          { name: 'nonce', type: 'uint256' },
          { name: 'expiry', type: 'uint256' },
        ],
      },
      primaryType: 'Delegation',
      message: { delegatee: validator.address, nonce, expiry: FAR_FUTURE },
    });
    const { r: sigR, s: sigS, yParity } = parseSignature(signature);
    await r.tx('dave relays frank’s signed delegation', dave, (o) =>
      dave.c.votingPower.write.delegateBySig(
        [validator.address, nonce, FAR_FUTURE, yParity + 27, sigR, sigS],
        o,
      ),
    );
  }

  // ------------------------------------------------------------------ Timelock, called directly by a proposer

  {
    const tl = ivan.c.timelock;
    const delay = await read.timelock.read.getMinDelay();
    const salt = (n: number) => pad(toHex(n), { size: 32 });
    const single = call('EcosystemTreasury', 'grant', [ivan.address, OPEN('1'), 'Timelock operation']);
    const batch = [
      call('ProtocolParams', 'set', [paramKey('staking.maxValidators'), 100n]),
      call('EcosystemTreasury', 'grant', [ivan.address, OPEN('1'), 'Timelock batch operation']),
    ];
    const batchArgs = [batch.map((c) => c.target), [0n, 0n], batch.map((c) => c.data)] as const;
    const delayOp = call('OpenTimelock', 'updateDelay', [DAY]);
    const dropped = call('EcosystemTreasury', 'grant', [ivan.address, OPEN('1'), 'cancelled']);

    await r.tx('ivan schedules a grant', ivan, (o) =>
      tl.write.schedule([single.target, 0n, single.data, zeroHash, salt(1), delay], o),
    );
    await r.tx('ivan schedules a batch', ivan, (o) =>
      tl.write.scheduleBatch([...batchArgs, zeroHash, salt(2), delay], o),
    );
    await r.tx('ivan schedules a delay change', ivan, (o) =>
      tl.write.schedule([delayOp.target, 0n, delayOp.data, zeroHash, salt(3), delay], o),
    );
    await r.tx('ivan schedules a grant to cancel', ivan, (o) =>
      tl.write.schedule([dropped.target, 0n, dropped.data, zeroHash, salt(4), delay], o),
    );
    const droppedId = await read.timelock.read.hashOperation([
      dropped.target,
      0n,
      dropped.data,
      zeroHash,
      salt(4),
    ]);
    await r.tx('ivan cancels it', ivan, (o) => tl.write.cancel([droppedId], o));
    await r.tx('ERC-721 receipt hook', ivan, (o) =>
      tl.write.onERC721Received([ivan.address, ivan.address, 1n, '0x'], o),
    );
    await r.tx('ERC-1155 receipt hook', ivan, (o) =>
      tl.write.onERC1155Received([ivan.address, ivan.address, 1n, 1n, '0x'], o),
    );
    await r.tx('ERC-1155 batch receipt hook', ivan, (o) =>
      tl.write.onERC1155BatchReceived([ivan.address, ivan.address, [1n, 2n], [1n, 1n], '0x'], o),
    );
    const lastId = await read.timelock.read.hashOperation([
      delayOp.target,
      0n,
      delayOp.data,
      zeroHash,
      salt(3),
    ]);
    r.advanceTo(await read.timelock.read.getTimestamp([lastId]));
    await r.tx(
      'heidi executes the grant',
      heidi,
      (o) => heidi.c.timelock.write.execute([single.target, 0n, single.data, zeroHash, salt(1)], o),
      [single],
    );
    await r.tx(
      'heidi executes the batch',
      heidi,
      (o) => heidi.c.timelock.write.executeBatch([...batchArgs, zeroHash, salt(2)], o),
      batch,
    );
    await r.tx(
      'heidi executes the delay change',
      heidi,
      (o) => heidi.c.timelock.write.execute([delayOp.target, 0n, delayOp.data, zeroHash, salt(3)], o),
      [delayOp],
    );
  }

  // ------------------------------------------------------------------ staking: rewards, slashing, unbonding

  await r.tx('heidi pays rewards in', heidi, (o) =>
    heidi.c.staking.write.distributeRewards({ value: OPEN('10'), ...o }),
  );
  for (const claimer of [alice, frank, validator]) {
    await r.tx(`${claimer.name} claims rewards`, claimer, (o) => claimer.c.staking.write.claimRewards(o));
  }
  {
    const vote = (block: string) => ({
      height: 1_000n,
      round: 0,
      step: VoteStep.prevote,
      blockHash: keccak256(toBytes(block)),
    });
    const a = vote('block A');
    const b = vote('block B');
    const sign = (v: ReturnType<typeof vote>) =>
      signConsensusVote(graceSigner.ol.walletClient, graceSigner.account, v, r.chainId);
    const [sigA, sigB] = [await sign(a), await sign(b)];
    await r.tx('heidi reports grace’s double-signing', heidi, (o) =>
      heidi.c.staking.write.submitDoubleSignEvidence([a, sigA, b, sigB], o),
    );
  }
  await r.tx('heidi syncs erin’s voting power after the slash', heidi, (o) =>
    heidi.c.staking.write.syncVotingPower([erin.address], o),
  );
  await r.tx('heidi pays rewards in again', heidi, (o) =>
    heidi.c.staking.write.distributeRewards({ value: OPEN('5'), ...o }),
  );
  await r.tx('erin unstakes everything from grace', erin, (o) =>
    erin.c.staking.write.unstake([grace.address, maxUint256], o),
  );
  await r.tx('alice unstakes part of her stake', alice, (o) =>
    alice.c.staking.write.unstake([validator.address, OPEN('100')], o),
  );
  await r.tx('heidi unstakes part of her delegation', heidi, (o) =>
    heidi.c.staking.write.unstake([frank.address, OPEN('50')], o),
  );
  const simulated = await simulateSystemCalls(r, validator.address, frank.address);
  for (const a of [erin, alice, heidi]) {
    const [, , maturities] = await read.staking.read.unbondingOf([a.address]);
    r.advanceTo(max(...maturities.map(BigInt)));
  }
  for (const a of [erin, alice, heidi]) {
    await r.tx(`${a.name} withdraws unbonded stake`, a, (o) => a.c.staking.write.withdrawUnbonded(o));
  }

  // ------------------------------------------------------------------ Datanets

  const contributorBond = max(await param('datanet.minContributorBond'), OPEN('0.1'));
  const contributionPrice = OPEN('0.02') + contributorBond; // fee + bond, after updateTerms
  const curatorStake = max(await param('datanet.minCuratorStake'), OPEN('20'));
  const challengeBond = await param('datanet.challengeBond');
  const rows = (k: number) =>
    Array.from({ length: 4 }, (_, j) => keccak256(toBytes(`gas report contribution ${k} row ${j}`)));
  const dataRoot = (k: number) => rowTree(rows(k)).root as Hex;
  const contributionURI = (k: number) => `ipfs://gas-report/contribution-${k}`;
  const submit = (who: Actor, k: number) =>
    r.tx(`${who.name} submits contribution ${k}`, who, (o) =>
      who.c.datanets.write.submitContribution([1n, dataRoot(k), 4n, 4_096n, contributionURI(k)], {
        value: contributionPrice,
        ...o,
      }),
    );
  for (const k of [1, 2]) {
    await r.tx(`alice creates Datanet ${k}`, alice, (o) =>
      alice.c.datanets.write.createDatanet(
        [
          `ipfs://gas-report/datanet-${k}`,
          keccak256(toBytes(`validation standard ${k}`)),
          `ipfs://gas-report/standard-${k}`,
          OPEN('0.01'),
          contributorBond,
          1,
        ],
        o,
      ),
    );
  }
  await r.tx('alice updates the metadata', alice, (o) =>
    alice.c.datanets.write.updateMetadata([1n, 'ipfs://gas-report/datanet-1/v2'], o),
  );
  await r.tx('alice updates the terms', alice, (o) =>
    alice.c.datanets.write.updateTerms([1n, OPEN('0.02'), contributorBond, 1], o),
  );
  await r.tx('alice hands Datanet 2 to bob', alice, (o) =>
    alice.c.datanets.write.transferDatanetOwnership([2n, bob.address], o),
  );
  await r.tx('bob stakes as curator', bob, (o) =>
    bob.c.datanets.write.stakeAsCurator([1n], { value: curatorStake, ...o }),
  );
  await r.tx('carol stakes as curator', carol, (o) =>
    carol.c.datanets.write.stakeAsCurator([1n], { value: curatorStake, ...o }),
  );
  await r.tx('bob adds curator stake', bob, (o) =>
    bob.c.datanets.write.stakeAsCurator([1n], { value: OPEN('5'), ...o }),
  );
  await submit(dave, 1);
  {
    const nonce = await read.datanets.read.nonces([erin.address]);
    const signature = await signContribution(
      erin.ol.walletClient,
      erin.account,
      {
        datanetId: 1n,
        dataRoot: dataRoot(2),
        rowCount: 4n,
        byteSize: 4_096n,
        metadataURI: contributionURI(2),
        nonce,
        deadline: FAR_FUTURE,
      },
      r.chainId,
    );
    await r.tx('heidi relays erin’s signed contribution 2', heidi, (o) =>
      heidi.c.datanets.write.submitContributionWithSig(
        [erin.address, 1n, dataRoot(2), 4n, 4_096n, contributionURI(2), FAR_FUTURE, signature],
        { value: contributionPrice, ...o },
      ),
    );
  }
  await submit(dave, 3);
  await submit(erin, 4);
  await submit(dave, 5);
  await r.tx('bob approves contribution 1', bob, (o) => bob.c.datanets.write.vote([1n, true], o));
  await r.tx('carol approves contribution 2', carol, (o) => carol.c.datanets.write.vote([2n, true], o));
  await r.tx('bob rejects contribution 3', bob, (o) => bob.c.datanets.write.vote([3n, false], o));
  await r.tx('bob approves contribution 5', bob, (o) => bob.c.datanets.write.vote([5n, true], o));
  await r.tx('alice publishes version 1', alice, (o) => alice.c.datanets.write.publishVersion([1n], o));
  await submit(dave, 6);
  await r.tx('carol approves contribution 6', carol, (o) => carol.c.datanets.write.vote([6n, true], o));
  await r.tx('bob (curator) publishes version 2', bob, (o) => bob.c.datanets.write.publishVersion([1n], o));
  await r.tx('frank challenges contribution 5', frank, (o) =>
    frank.c.datanets.write.challenge([5n, 'ipfs://gas-report/challenge-1'], { value: challengeBond, ...o }),
  );
  await r.tx('frank challenges contribution 2', frank, (o) =>
    frank.c.datanets.write.challenge([2n, 'ipfs://gas-report/challenge-2'], { value: challengeBond, ...o }),
  );
  await r.tx('carol upholds challenge 1', carol, (o) =>
    carol.c.datanets.write.voteOnChallenge([1n, true], o),
  );
  await r.tx('bob dismisses challenge 2', bob, (o) => bob.c.datanets.write.voteOnChallenge([2n, false], o));

  // ------------------------------------------------------------------ models

  const model = (name: string, trainedOn: { datanetId: bigint; version: bigint }[]) => ({
    name,
    baseModelHash: keccak256(toBytes(`${name} base`)),
    adapterHash: keccak256(toBytes(`${name} adapter`)),
    trainedOn,
    trainingConfigHash: keccak256(toBytes(`${name} training config`)),
    metadataURI: `ipfs://gas-report/${name}`,
    pricePer1kTokens: OPEN('0.001'),
  });
  const registrationFee = await read.params.read.get([paramKey('model.registrationFee')]);
  await r.tx('alice registers model 1 (two Datanet versions)', alice, (o) =>
    alice.c.models.write.registerModel(
      [
        model('gas-report-model', [
          { datanetId: 1n, version: 1n },
          { datanetId: 1n, version: 2n },
        ]),
      ],
      { value: registrationFee, ...o },
    ),
  );
  await r.tx('alice registers model 2', alice, (o) =>
    alice.c.models.write.registerModel([model('gas-report-model-2', [])], { value: registrationFee, ...o }),
  );
  await r.tx('alice reprices model 1', alice, (o) => alice.c.models.write.setPrice([1n, OPEN('0.002')], o));
  await r.tx('alice hands model 2 to bob', alice, (o) =>
    alice.c.models.write.transferModelOwnership([2n, bob.address], o),
  );
  await r.tx('bob retires model 2', bob, (o) => bob.c.models.write.retire([2n], o));

  // ------------------------------------------------------------------ Datanets after the curation period

  r.advance(max(await param('datanet.curationPeriod'), await param('datanet.challengeWindow')) + 1n);
  await r.tx('heidi expires contribution 4', heidi, (o) => heidi.c.datanets.write.expire([4n], o));
  await r.tx('heidi resolves challenge 1 (upheld)', heidi, (o) =>
    heidi.c.datanets.write.resolveChallenge([1n], o),
  );
  await r.tx('heidi resolves challenge 2 (dismissed)', heidi, (o) =>
    heidi.c.datanets.write.resolveChallenge([2n], o),
  );
  for (const id of [1n, 6n]) {
    await r.tx(`heidi releases the bond of contribution ${id}`, heidi, (o) =>
      heidi.c.datanets.write.releaseBond([id], o),
    );
  }
  await r.tx('carol starts unbonding her curator stake', carol, (o) =>
    carol.c.datanets.write.unstakeCurator([1n, curatorStake], o),
  );
  for (const a of [alice, dave, erin, frank]) {
    await r.tx(`${a.name} withdraws Datanet credits`, a, (o) => a.c.datanets.write.withdraw(o));
  }
  r.advanceTo(BigInt((await read.datanets.read.curatorStake([1n, carol.address])).unbondingEnd));
  await r.tx('carol withdraws her curator stake', carol, (o) =>
    carol.c.datanets.write.withdrawCuratorStake([1n], o),
  );

  // ------------------------------------------------------------------ agents and inference payments

  await r.transfer(validator, agent.address, OPEN('1'));
  await r.tx('carol registers an agent limited to model 1', carol, (o) =>
    carol.c.agents.write.registerAgent([agent.address, OPEN('1'), DAY, [1n]], o),
  );
  await r.tx('carol raises its limit', carol, (o) =>
    carol.c.agents.write.updateAgent([agent.address, OPEN('2'), DAY, [1n]], o),
  );
  await r.tx('carol registers a second agent', carol, (o) =>
    carol.c.agents.write.registerAgent([agent2.address, OPEN('1'), DAY, []], o),
  );
  await r.tx('carol deactivates it', carol, (o) => carol.c.agents.write.deactivate([agent2.address], o));

  // Everything paid for model 1 below falls into one attribution epoch: start at its beginning.
  const currentEpoch = await read.settlement.read.currentEpoch();
  r.advanceTo((await read.settlement.read.epochStart([currentEpoch + 1n])) + 60n);
  await r.tx('carol funds her agent', carol, (o) =>
    carol.c.payments.write.depositFor([agent.address], { value: OPEN('5'), ...o }),
  );
  await r.tx('dave deposits', dave, (o) => dave.c.payments.write.deposit({ value: OPEN('10'), ...o }));
  await r.tx('erin deposits', erin, (o) => erin.c.payments.write.deposit({ value: OPEN('1'), ...o }));
  const voucher = async (payer: Actor, cumulative: string) => {
    const v: Voucher = {
      payer: payer.address,
      node: heidi.address,
      modelId: 1n,
      cumulativeAmount: OPEN(cumulative),
      deadline: FAR_FUTURE,
    };
    return { v, signature: await signVoucher(payer.ol.walletClient, payer.account, v, r.chainId) };
  };
  {
    const fromDave = await voucher(dave, '0.5');
    await r.tx('heidi redeems dave’s voucher', heidi, (o) =>
      heidi.c.payments.write.redeem([fromDave.v, fromDave.signature], o),
    );
    const fromAgent = await voucher(agent, '0.3');
    await r.tx('heidi redeems the agent’s voucher', heidi, (o) =>
      heidi.c.payments.write.redeem([fromAgent.v, fromAgent.signature], o),
    );
    const batch = [await voucher(dave, '1'), await voucher(agent, '0.6')];
    await r.tx('heidi redeems two later vouchers at once', heidi, (o) =>
      heidi.c.payments.write.redeemBatch([batch.map((b) => b.v), batch.map((b) => b.signature)], o),
    );
  }
  await r.tx('erin funds model 1’s contributors directly', erin, (o) =>
    erin.c.settlement.write.fund([1n], { value: OPEN('0.2'), ...o }),
  );
  for (const a of [heidi, alice]) {
    await r.tx(`${a.name} withdraws earnings`, a, (o) => a.c.payments.write.withdrawEarnings(o));
  }
  const withdrawalReady = r.nextTimestamp + (await param('payments.withdrawDelay'));
  await r.tx('dave requests a withdrawal', dave, (o) =>
    dave.c.payments.write.requestWithdrawal([OPEN('2')], o),
  );
  await r.tx('erin requests a withdrawal', erin, (o) =>
    erin.c.payments.write.requestWithdrawal([OPEN('0.5')], o),
  );
  await r.tx('erin cancels it', erin, (o) => erin.c.payments.write.requestWithdrawal([0n], o));
  await r.tx('the agent deactivates itself', agent, (o) =>
    agent.c.agents.write.deactivate([agent.address], o),
  );
  await r.tx('the agent accepts registration again', agent, (o) =>
    agent.c.agents.write.setOptOut([false], o),
  );

  // ------------------------------------------------------------------ attribution settlement

  const operatorBond = await param('attribution.operatorBond');
  await r.tx('grace registers as root operator', grace, (o) =>
    grace.c.settlement.write.registerOperator({ value: operatorBond, ...o }),
  );
  const epoch = await read.settlement.read.currentEpoch();
  const collected = await read.settlement.read.collected([1n, epoch]);
  if (collected !== OPEN('1'))
    throw new Error(`model 1 collected ${collected} in epoch ${epoch}, expected 1 OPEN`);
  r.advanceTo((await read.settlement.read.epochStart([epoch + 1n])) + 60n);
  const postRoot = (what: string, root: string, total: string, leafCount: bigint) =>
    r.tx(`grace posts a ${what} root`, grace, (o) =>
      grace.c.settlement.write.postRoot(
        [1n, epoch, root as Hex, OPEN(total), leafCount, `ipfs://gas-report/attribution/${what}`],
        o,
      ),
    );
  const leafOf = (claim: ReturnType<typeof rewardClaim>) => ({
    index: claim.index,
    account: claim.account,
    amount: claim.amount,
  });
  const reRegister = () =>
    r.tx('grace registers again', grace, (o) =>
      grace.c.settlement.write.registerOperator({ value: operatorBond, ...o }),
    );
  {
    const tree = rewardTree([
      { account: dave.address, amount: OPEN('0.1') },
      { account: dave.address, amount: OPEN('0.1') },
    ]);
    await postRoot('duplicate-account', tree.root, '0.2', 2n);
    const [a, b] = [rewardClaim(tree, 0), rewardClaim(tree, 1)];
    await r.tx('frank proves the duplicate', frank, (o) =>
      frank.c.settlement.write.challengeDuplicate([1n, epoch, leafOf(a), a.proof, leafOf(b), b.proof], o),
    );
  }
  await reRegister();
  {
    const tree = StandardMerkleTree.of(
      [
        [0n, dave.address, OPEN('0.1')],
        [5n, erin.address, OPEN('0.1')],
      ],
      [...REWARD_LEAF_ENCODING],
    );
    await postRoot('bad-index', tree.root, '0.2', 2n);
    await r.tx('frank proves the out-of-range index', frank, (o) =>
      frank.c.settlement.write.challengeIndex(
        [1n, epoch, { index: 5n, account: erin.address, amount: OPEN('0.1') }, tree.getProof(1) as Hex[]],
        o,
      ),
    );
  }
  await reRegister();
  {
    const tree = rewardTree([
      { account: dave.address, amount: OPEN('0.1') },
      { account: erin.address, amount: OPEN('0.1') },
    ]);
    await postRoot('overstated-total', tree.root, '0.3', 2n);
    const multi = tree.getMultiProof([0, 1]);
    const leaves = multi.leaves.map(([index, account, amount]) => ({ index, account, amount }));
    await r.tx('frank proves the wrong total', frank, (o) =>
      frank.c.settlement.write.challengeTotal([1n, epoch, leaves, multi.proof as Hex[], multi.proofFlags], o),
    );
  }
  await reRegister();
  await r.tx('grace tops up her bond', grace, (o) =>
    grace.c.settlement.write.topUpBond({ value: OPEN('10'), ...o }),
  );
  const honest = rewardTree([
    { account: dave.address, amount: OPEN('0.3') },
    { account: erin.address, amount: OPEN('0.2') },
    { account: bob.address, amount: OPEN('0.1') },
  ]);
  await postRoot('correct', honest.root, '0.6', 3n);
  await r.tx('frank withdraws his challenger rewards', frank, (o) =>
    frank.c.settlement.write.withdrawChallengerReward(o),
  );
  await r.tx('grace stops operating', grace, (o) => grace.c.settlement.write.unregisterOperator(o));
  r.advance((await param('attribution.challengeWindow')) + 1n);
  const claimOf = (i: number) => ({ modelId: 1n, epoch, ...rewardClaim(honest, i) });
  await r.tx('heidi claims dave’s reward', heidi, (o) => heidi.c.settlement.write.claim([claimOf(0)], o));
  await r.tx('heidi claims two rewards at once', heidi, (o) =>
    heidi.c.settlement.write.claimMany([[claimOf(1), claimOf(2)]], o),
  );
  await r.tx('heidi sweeps the unattributed rest', heidi, (o) =>
    heidi.c.settlement.write.sweepUnattributed([1n, epoch], o),
  );
  r.advanceTo(withdrawalReady);
  await r.tx('dave withdraws from his deposit', dave, (o) => dave.c.payments.write.withdraw(o));
  {
    const operator = await read.settlement.read.operatorInfo([grace.address]);
    r.advanceTo(max(operator.withdrawableAt, operator.slashableUntil));
  }
  await r.tx('grace withdraws her operator bond', grace, (o) =>
    grace.c.settlement.write.withdrawOperatorBond(o),
  );

  // ------------------------------------------------------------------ data market

  const disputeBondBps = await param('market.disputeBondBps');
  const bondFor = (price: bigint) => (price * disputeBondBps) / 10_000n;
  const [datanetPrice, modelPrice] = [OPEN('10'), OPEN('5')];
  const jurorStake = max(await param('market.minJurorStake'), OPEN('20'));
  await r.tx('alice lists Datanet 1 version 1', alice, (o) =>
    alice.c.market.write.listDatanetVersion([1n, 1n, datanetPrice, 'ipfs://gas-report/terms/datanet-1-v1'], {
      value: bondFor(datanetPrice),
      ...o,
    }),
  );
  await r.tx('alice lists model 1', alice, (o) =>
    alice.c.market.write.listModel([1n, modelPrice, 'ipfs://gas-report/terms/model-1'], {
      value: bondFor(modelPrice),
      ...o,
    }),
  );
  await r.tx('alice tops up listing 1’s bond', alice, (o) =>
    alice.c.market.write.topUpListingBond([1n], { value: bondFor(datanetPrice), ...o }),
  );
  for (const juror of [erin, frank, heidi]) {
    await r.tx(`${juror.name} joins the jury pool`, juror, (o) =>
      juror.c.market.write.registerJuror({ value: jurorStake, ...o }),
    );
  }
  await r.tx('carol joins the jury pool', carol, (o) =>
    carol.c.market.write.registerJuror({ value: jurorStake, ...o }),
  );
  await r.tx('carol adds juror stake', carol, (o) =>
    carol.c.market.write.registerJuror({ value: OPEN('5'), ...o }),
  );
  await r.tx('carol leaves the jury pool', carol, (o) => carol.c.market.write.unregisterJuror(o));
  await r.tx('dave buys listing 1', dave, (o) =>
    dave.c.market.write.buy([1n], { value: datanetPrice + bondFor(datanetPrice), ...o }),
  );
  await r.tx('dave accepts', dave, (o) => dave.c.market.write.accept([1n], o));
  await r.tx('bob buys listing 1', bob, (o) =>
    bob.c.market.write.buy([1n], { value: datanetPrice + bondFor(datanetPrice), ...o }),
  );
  await r.tx('dave buys listing 2', dave, (o) =>
    dave.c.market.write.buy([2n], { value: modelPrice + bondFor(modelPrice), ...o }),
  );
  await r.tx('dave disputes it', dave, (o) =>
    dave.c.market.write.dispute([3n, 'ipfs://gas-report/dispute-1'], o),
  );
  await r.tx('bob draws the jury', bob, (o) => bob.c.market.write.drawJury([1n], o));
  const { jurors } = await read.market.read.dispute([1n]);
  for (const address of jurors) {
    const juror = byAddress(address);
    const refund = juror !== heidi;
    await r.tx(`${juror.name} votes ${refund ? 'to refund' : 'for the seller'}`, juror, (o) =>
      juror.c.market.write.vote([1n, refund], o),
    );
  }
  await r.tx('bob resolves the dispute', bob, (o) => bob.c.market.write.resolve([1n], o));
  await r.tx('alice delists listing 2', alice, (o) => alice.c.market.write.delist([2n], o));
  r.advanceTo(BigInt((await read.market.read.purchase([2n])).deadline));
  await r.tx('heidi finalizes bob’s purchase', heidi, (o) => heidi.c.market.write.finalize([2n], o));
  for (const a of [alice, dave, bob, erin, frank]) {
    await r.tx(`${a.name} withdraws from the market`, a, (o) => a.c.market.write.withdraw(o));
  }
  r.advanceTo(BigInt((await read.market.read.juror([carol.address])).unlockAt));
  await r.tx('carol withdraws her juror stake', carol, (o) => carol.c.market.write.withdrawJurorStake(o));

  // ------------------------------------------------------------------ governance: hand everything back

  await govern(validator, 'Gas report: revoke the dev proposer, renounce ownership', [
    call('OpenTimelock', 'revokeRole', [timelockRoles.proposer, ivan.address]),
    call('ProtocolParams', 'renounceOwnership'),
    call('EcosystemTreasury', 'renounceOwnership'),
  ]);
  await r.tx('ivan renounces the canceller role', ivan, (o) =>
    ivan.c.timelock.write.renounceRole([timelockRoles.canceller, ivan.address], o),
  );

  return simulated;
}

/**
 * Staking's system-only entry points, run as a debug_traceCall from the system address on the
 * current state (nothing is written): what they would cost as a transaction.
 */
async function simulateSystemCalls(
  r: GasRunner,
  proposer: Address,
  offline: Address,
): Promise<SimulatedCall[]> {
  const simulate = async (fn: string, args: readonly unknown[], value: bigint): Promise<SimulatedCall> => {
    const { data } = call('Staking', fn, args);
    const trace = await r.rpc<CallFrame>('debug_traceCall', [
      { from: SYSTEM_ADDRESS, to: PREDEPLOYS.Staking, data, value: toHex(value) },
      'latest',
      { tracer: 'callTracer', stateOverrides: { [SYSTEM_ADDRESS]: { balance: toHex(OPEN('1000')) } } },
    ]);
    if (trace.error) throw new Error(`simulated ${fn} failed: ${trace.error}`);
    return {
      contract: 'Staking',
      fn,
      gasUsed: BigInt(trace.gasUsed),
      how: `debug_traceCall from the system address (${fn === 'rewardBlock' ? '1 OPEN reward' : 'jails and slashes a validator'})`,
    };
  };
  return [
    await simulate('rewardBlock', [proposer], OPEN('1')),
    await simulate('reportDowntime', [offline], 0n),
  ];
}
