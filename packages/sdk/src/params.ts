import { keccak256, toBytes, type Hex } from 'viem';

/**
 * Every governed parameter of ProtocolParams by its dotted name; the on-chain key is the keccak256 of
 * the name (ParamKeys.sol).
 */
export const PARAM_NAMES = [
  'fees.share.contributors',
  'fees.share.modelOwner',
  'fees.share.node',
  'fees.share.protocol',
  'staking.minValidatorStake',
  'staking.minDelegation',
  'staking.unbondingPeriod',
  'staking.maxValidators',
  'staking.epochBlocks',
  'staking.blockReward',
  'slashing.doubleSignBps',
  'slashing.downtimeBps',
  'slashing.downtimeJailPeriod',
  'slashing.downtimeWindowBlocks',
  'slashing.downtimeMinSignedBps',
  'datanet.minCuratorStake',
  'datanet.minCuratorQuorum',
  'datanet.minContributorBond',
  'datanet.maxRowsPerContribution',
  'datanet.curationPeriod',
  'datanet.challengeWindow',
  'datanet.challengeBond',
  'datanet.curatorSlashBps',
  'datanet.curatorUnbondingPeriod',
  'slashing.challengerRewardBps',
  'model.registrationFee',
  'payments.withdrawDelay',
  'attribution.epochLength',
  'attribution.challengeWindow',
  'attribution.operatorBond',
  'attribution.operatorUnbondingPeriod',
  'market.acceptWindow',
  'market.disputeBondBps',
  'market.protocolFeeBps',
  'market.minJurorStake',
  'market.jurySize',
  'market.votingPeriod',
  'market.jurorSlashBps',
  'market.jurorUnbondingPeriod',
] as const;

export type ParamName = (typeof PARAM_NAMES)[number];

/** The ProtocolParams key of a parameter. */
export function paramKey(name: ParamName): Hex {
  return keccak256(toBytes(name));
}

const byKey = new Map<Hex, ParamName>(PARAM_NAMES.map((name) => [paramKey(name), name]));

/** The name of an on-chain key, or undefined for a key this SDK does not know. */
export function paramName(key: Hex): ParamName | undefined {
  return byKey.get(key.toLowerCase() as Hex);
}
