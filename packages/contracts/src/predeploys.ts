/**
 * The protocol contracts every OpenLedger genesis contains, at fixed addresses.
 *
 * They are created in genesis by running their constructors from GENESIS_DEPLOYER, an address nobody
 * holds a key for, with nonces 0, 1, 2, … in the order below; so each address is
 * `getContractAddress({ from: GENESIS_DEPLOYER, nonce })` and the contracts can name each other in
 * their constructors before they exist. Running the real constructors (rather than writing runtime
 * code at chosen addresses) keeps `address(this)`-dependent state such as the Timelock's self-admin
 * role and EIP-712 domains correct.
 */

/** "OpenLedger" in ASCII, zero-padded: the sender of every genesis deployment. */
export const GENESIS_DEPLOYER = '0x4f70656e4c656467657200000000000000000000' as const;

/** The EIP-4788 system address: only the chain itself makes calls from it (block rewards, downtime). */
export const SYSTEM_ADDRESS = '0xfffffffffffffffffffffffffffffffffffffffe' as const;

export const PREDEPLOYS = {
  ProtocolParams: '0xeBc8A9DB4fACE31F5a5d8cB53418aF014b4191D9',
  EcosystemTreasury: '0x185d8526BdCE4e3Ae4379bc4D4Ae7f03ABee2a47',
  OpenTimelock: '0xf7682D787EA417f79867ceD202fC0c6e88f71843',
  VotingPower: '0x65454b7bDeDDeE3D8e2e3Fbe4a596795A388139E',
  Staking: '0xd7e27c7686b55ecBedB62fdb5a4fa75601Ab98a9',
  OpenGovernor: '0x4c9A5679E2Bdf47dc6B434f658A99631E3787E51',
  DatanetRegistry: '0x447E59032DcA5f04bC2654873E6E3c4f0F6A3Ed5',
  ModelRegistry: '0x375B572E788C4416945991401013Be21ca443718',
  AttributionSettlement: '0x04881Daf36B5DfB30f5dF470A790d658B8b82da6',
  AgentRegistry: '0xB61E453010240692Ba61476554A3a042B5F820b4',
  InferencePayments: '0xcdd55899Fd15De741C963866302599f8C6fa76c5',
  DataMarket: '0x12Cc79A69784191235f3363E74856cef8300D8D7',
} as const;

const zeroAddress = '0x0000000000000000000000000000000000000000';

export type PredeployName = keyof typeof PREDEPLOYS;
export type Address = `0x${string}`;

/** Governor and Timelock settings fixed at genesis (afterwards changeable only by proposals). */
export const GOVERNANCE_DEFAULTS = {
  timelockMinDelay: 86_400n,
  votingDelay: 3_600n,
  votingPeriod: 259_200n,
  proposalThreshold: 100n * 10n ** 18n,
  quorumPercent: 4n,
} as const;

export interface GenesisValidator {
  address: Address;
  /** Self-bonded stake, in wei; created in genesis on top of every balance. */
  stake: bigint;
}

export interface ProtocolGenesisOptions {
  /** The genesis validator set (each its own consensus signer). */
  validators: GenesisValidator[];
  /** OPEN the EcosystemTreasury holds at genesis, in wei. */
  treasuryBalance: bigint;
}

/** One genesis deployment: which artifact, its constructor arguments, and the OPEN sent with it. */
export interface PredeployStep {
  name: PredeployName;
  address: Address;
  args: readonly unknown[];
  value: bigint;
}

/** The deployments in nonce order; `name` is also the artifact's contract name. */
export function predeploySteps(options: ProtocolGenesisOptions): PredeployStep[] {
  const a = PREDEPLOYS;
  const stakes = options.validators.map((v) => v.stake);
  const steps: Omit<PredeployStep, 'address'>[] = [
    { name: 'ProtocolParams', args: [a.OpenTimelock], value: 0n },
    { name: 'EcosystemTreasury', args: [a.OpenTimelock], value: options.treasuryBalance },
    {
      name: 'OpenTimelock',
      args: [GOVERNANCE_DEFAULTS.timelockMinDelay, [a.OpenGovernor], [zeroAddress], zeroAddress],
      value: 0n,
    },
    { name: 'VotingPower', args: [a.Staking], value: 0n },
    {
      name: 'Staking',
      args: [
        a.ProtocolParams,
        a.VotingPower,
        a.EcosystemTreasury,
        SYSTEM_ADDRESS,
        options.validators.map((v) => v.address),
        stakes,
      ],
      value: stakes.reduce((sum, s) => sum + s, 0n),
    },
    { name: 'OpenGovernor', args: [a.VotingPower, a.OpenTimelock], value: 0n },
    { name: 'DatanetRegistry', args: [a.ProtocolParams, a.EcosystemTreasury], value: 0n },
    { name: 'ModelRegistry', args: [a.ProtocolParams, a.DatanetRegistry, a.EcosystemTreasury], value: 0n },
    {
      name: 'AttributionSettlement',
      args: [a.ProtocolParams, a.ModelRegistry, a.InferencePayments, a.EcosystemTreasury],
      value: 0n,
    },
    { name: 'AgentRegistry', args: [a.ModelRegistry, a.InferencePayments], value: 0n },
    {
      name: 'InferencePayments',
      args: [
        a.ProtocolParams,
        a.ModelRegistry,
        a.AttributionSettlement,
        a.AgentRegistry,
        a.EcosystemTreasury,
      ],
      value: 0n,
    },
    {
      name: 'DataMarket',
      args: [a.ProtocolParams, a.DatanetRegistry, a.ModelRegistry, a.EcosystemTreasury],
      value: 0n,
    },
  ];
  return steps.map((step) => ({ ...step, address: a[step.name] }));
}
