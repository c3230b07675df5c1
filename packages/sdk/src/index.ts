export { GENESIS_DEPLOYER, PREDEPLOYS, SYSTEM_ADDRESS, type PredeployName } from '@openledger/contracts';
export * from './abis.ts';
export {
  PROTOCOL_ABIS,
  protocolContracts,
  type ProtocolAddresses,
  type ProtocolContracts,
} from './contracts.ts';
export {
  connect,
  openledgerChain,
  DEVNET_CHAIN_ID,
  type ConnectOptions,
  type Connection,
} from './connect.ts';
export { PARAM_NAMES, paramKey, paramName, type ParamName } from './params.ts';
export {
  signVoucher,
  verifyVoucher,
  voucherDigest,
  voucherDomain,
  voucherTypes,
  type Voucher,
} from './vouchers.ts';
export {
  VoteStep,
  consensusDomain,
  consensusVoteDigest,
  consensusVoteTypes,
  signConsensusVote,
  type ConsensusVote,
} from './consensus-votes.ts';
export {
  contributionDomain,
  contributionTypes,
  signContribution,
  type ContributionSubmission,
} from './contributions.ts';
export {
  REWARD_LEAF_ENCODING,
  rewardClaim,
  rewardTree,
  rowTree,
  versionLeaf,
  versionTree,
  type RewardEntry,
  type VersionEntry,
} from './merkle.ts';
