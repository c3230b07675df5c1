import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getContractAddress, parseEther } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { loadArtifact } from '@openledger/contracts';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import {
  GENESIS_DEPLOYER,
  PARAM_NAMES,
  PREDEPLOYS,
  PROTOCOL_ABIS,
  connect,
  paramKey,
  type Connection,
  type PredeployName,
} from '../src/index.ts';
import { GOVERNANCE_DEFAULTS } from '@openledger/contracts';

const MNEMONIC = 'test test test test test test test test test test test junk';
const validator = mnemonicToAccount(MNEMONIC, { addressIndex: 0 });

let node: DevnetProcess;
let ol: Connection;

beforeAll(async () => {
  node = await startDevnetProcess();
  ol = await connect({ url: node.url });
});

afterAll(async () => {
  await node?.stop();
});

describe('protocol contracts in the devnet genesis', () => {
  it('sit at the exported addresses: the genesis deployer’s CREATE addresses, in order', async () => {
    const names = Object.keys(PREDEPLOYS) as PredeployName[];
    names.forEach((name, nonce) => {
      expect(getContractAddress({ from: GENESIS_DEPLOYER, nonce: BigInt(nonce) })).toBe(PREDEPLOYS[name]);
    });
    for (const name of names) {
      const code = await ol.publicClient.getCode({ address: PREDEPLOYS[name] });
      expect(code?.length, name).toBeGreaterThan(2);
    }
  });

  it('ship ABIs equal to the compiled contracts (src/abis.ts is regenerated, not hand-edited)', async () => {
    for (const name of Object.keys(PREDEPLOYS) as PredeployName[]) {
      expect(PROTOCOL_ABIS[name], name).toEqual((await loadArtifact(name)).abi);
    }
  });

  it('hold every default parameter, owned by the Timelock', async () => {
    const { params } = ol.contracts;
    expect(await params.read.owner()).toBe(PREDEPLOYS.OpenTimelock);
    expect(await params.read.feeShares()).toEqual([5000n, 2000n, 2000n, 1000n]);
    const keys = await params.read.keys();
    expect(new Set(keys)).toEqual(new Set(PARAM_NAMES.map(paramKey)));
    expect(await params.read.get([paramKey('slashing.doubleSignBps')])).toBe(500n);
    expect(await params.read.get([paramKey('slashing.downtimeBps')])).toBe(100n);
  });

  it('start with the block producer as the one validator, its stake as voting power', async () => {
    const { staking, votingPower } = ol.contracts;
    const [validators, signers, powers] = await staking.read.activeValidators();
    expect(validators).toEqual([validator.address]);
    expect(signers).toEqual([validator.address]);
    expect(powers).toEqual([parseEther('10000')]);
    expect(await ol.publicClient.getBalance({ address: PREDEPLOYS.Staking })).toBe(parseEther('10000'));
    expect(await votingPower.read.totalSupply()).toBe(parseEther('10000'));
    expect(await votingPower.read.getVotes([validator.address])).toBe(parseEther('10000'));
  });

  it('wire governance: Governor proposes through the Timelock, which owns the treasury', async () => {
    const { governor, timelock, treasury } = ol.contracts;
    expect(await governor.read.timelock()).toBe(PREDEPLOYS.OpenTimelock);
    expect(await governor.read.token()).toBe(PREDEPLOYS.VotingPower);
    expect(await governor.read.votingDelay()).toBe(GOVERNANCE_DEFAULTS.votingDelay);
    expect(await governor.read.votingPeriod()).toBe(GOVERNANCE_DEFAULTS.votingPeriod);
    expect(await governor.read.proposalThreshold()).toBe(GOVERNANCE_DEFAULTS.proposalThreshold);
    expect(await governor.read.quorumNumerator()).toBe(GOVERNANCE_DEFAULTS.quorumPercent);
    expect(await governor.read.CLOCK_MODE()).toBe('mode=timestamp');
    expect(await timelock.read.getMinDelay()).toBe(GOVERNANCE_DEFAULTS.timelockMinDelay);
    const proposer = await timelock.read.PROPOSER_ROLE();
    expect(await timelock.read.hasRole([proposer, PREDEPLOYS.OpenGovernor])).toBe(true);
    expect(await treasury.read.owner()).toBe(PREDEPLOYS.OpenTimelock);
    expect(await ol.publicClient.getBalance({ address: PREDEPLOYS.EcosystemTreasury })).toBe(
      parseEther('1000000'),
    );
  });
});
