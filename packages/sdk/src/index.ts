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
export {
  MissingSignerError,
  PROTOCOL_ERRORS,
  ProtocolTxError,
  formatRevert,
  protocolTxError,
  revertOf,
  sendProtocolTx,
  shortMessage,
  signerOf,
  type Sent,
  type SimulatedRequest,
} from './actions/send.ts';
export {
  challengeContribution,
  createDatanet,
  publishVersion,
  stakeAsCurator,
  submitContribution,
  voteOnContribution,
  type ChallengeContributionOptions,
  type CreateDatanetOptions,
  type StakeAsCuratorOptions,
  type SubmitContributionOptions,
  type VoteOnContributionOptions,
} from './actions/datanets.ts';
export {
  registerModel,
  retireModel,
  setModelPrice,
  transferModelOwnership,
  type RegisterModelOptions,
} from './actions/models.ts';
export {
  deposit,
  issueVoucher,
  redeemVoucher,
  redeemVouchers,
  requestWithdrawal,
  withdrawDeposit,
  type DepositOptions,
  type IssueVoucherOptions,
} from './actions/payments.ts';
export {
  delegateVotes,
  registerValidator,
  stake,
  unstake,
  type RegisterValidatorOptions,
} from './actions/staking.ts';
export {
  PROPOSAL_STATES,
  VOTE_SUPPORT,
  castVote,
  descriptionHash,
  execute,
  grantProposal,
  paramChangeProposal,
  propose,
  proposeGrant,
  proposeParamChange,
  proposalIdOf,
  proposalState,
  queue,
  type CastVoteOptions,
  type Proposal,
  type ProposalActions,
  type ProposalRef,
  type ProposalStateName,
  type VoteSupport,
} from './actions/governance.ts';
export {
  accept,
  buy,
  dispute,
  list,
  marketBond,
  type ListOptions,
  type ListingAsset,
} from './actions/market.ts';
export { registerAgent, type RegisterAgentOptions } from './actions/agents.ts';
export {
  claimRewards,
  postRewardRoot,
  registerAttributionOperator,
  type PostRewardRootOptions,
  type RewardClaim,
} from './actions/settlement.ts';
