// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ParamKeys
/// @notice Names of every governed number in ProtocolParams. A key is the keccak256 of its dotted
///         name, so off-chain code (the SDK) derives the same key from the same string.
library ParamKeys {
    // Fee split of every paid query, in basis points; always set together and summing to 10,000.
    bytes32 internal constant FEE_SHARE_CONTRIBUTORS = keccak256("fees.share.contributors");
    bytes32 internal constant FEE_SHARE_MODEL_OWNER = keccak256("fees.share.modelOwner");
    bytes32 internal constant FEE_SHARE_NODE = keccak256("fees.share.node");
    bytes32 internal constant FEE_SHARE_PROTOCOL = keccak256("fees.share.protocol");

    // Staking.
    bytes32 internal constant STAKING_MIN_VALIDATOR_STAKE = keccak256("staking.minValidatorStake");
    bytes32 internal constant STAKING_MIN_DELEGATION = keccak256("staking.minDelegation");
    bytes32 internal constant STAKING_UNBONDING_PERIOD = keccak256("staking.unbondingPeriod");
    bytes32 internal constant STAKING_MAX_VALIDATORS = keccak256("staking.maxValidators");
    bytes32 internal constant STAKING_EPOCH_BLOCKS = keccak256("staking.epochBlocks");
    bytes32 internal constant STAKING_BLOCK_REWARD = keccak256("staking.blockReward");
    bytes32 internal constant SLASH_DOUBLE_SIGN_BPS = keccak256("slashing.doubleSignBps");
    bytes32 internal constant SLASH_DOWNTIME_BPS = keccak256("slashing.downtimeBps");
    bytes32 internal constant DOWNTIME_JAIL_PERIOD = keccak256("slashing.downtimeJailPeriod");
    bytes32 internal constant DOWNTIME_WINDOW_BLOCKS = keccak256("slashing.downtimeWindowBlocks");
    bytes32 internal constant DOWNTIME_MIN_SIGNED_BPS = keccak256("slashing.downtimeMinSignedBps");

    // Datanets.
    bytes32 internal constant DATANET_MIN_CURATOR_STAKE = keccak256("datanet.minCuratorStake");
    bytes32 internal constant DATANET_MIN_CURATOR_QUORUM = keccak256("datanet.minCuratorQuorum");
    bytes32 internal constant DATANET_MIN_CONTRIBUTOR_BOND = keccak256("datanet.minContributorBond");
    bytes32 internal constant DATANET_MAX_ROWS_PER_CONTRIBUTION = keccak256("datanet.maxRowsPerContribution");
    bytes32 internal constant DATANET_CURATION_PERIOD = keccak256("datanet.curationPeriod");
    bytes32 internal constant DATANET_CHALLENGE_WINDOW = keccak256("datanet.challengeWindow");
    bytes32 internal constant DATANET_CHALLENGE_BOND = keccak256("datanet.challengeBond");
    bytes32 internal constant DATANET_CURATOR_SLASH_BPS = keccak256("datanet.curatorSlashBps");
    bytes32 internal constant DATANET_CURATOR_UNBONDING_PERIOD = keccak256("datanet.curatorUnbondingPeriod");
    bytes32 internal constant CHALLENGER_REWARD_BPS = keccak256("slashing.challengerRewardBps");

    // Models.
    bytes32 internal constant MODEL_REGISTRATION_FEE = keccak256("model.registrationFee");

    // Payments and attribution settlement.
    bytes32 internal constant PAYMENTS_WITHDRAW_DELAY = keccak256("payments.withdrawDelay");
    bytes32 internal constant ATTRIBUTION_EPOCH_LENGTH = keccak256("attribution.epochLength");
    bytes32 internal constant ATTRIBUTION_CHALLENGE_WINDOW = keccak256("attribution.challengeWindow");
    bytes32 internal constant ATTRIBUTION_OPERATOR_BOND = keccak256("attribution.operatorBond");
    bytes32 internal constant ATTRIBUTION_OPERATOR_UNBONDING_PERIOD = keccak256("attribution.operatorUnbondingPeriod");

    // Data market (escrow and disputes).
    bytes32 internal constant MARKET_ACCEPT_WINDOW = keccak256("market.acceptWindow");
    bytes32 internal constant MARKET_DISPUTE_BOND_BPS = keccak256("market.disputeBondBps");
    bytes32 internal constant MARKET_PROTOCOL_FEE_BPS = keccak256("market.protocolFeeBps");
    bytes32 internal constant MARKET_MIN_JUROR_STAKE = keccak256("market.minJurorStake");
    bytes32 internal constant MARKET_JURY_SIZE = keccak256("market.jurySize");
    bytes32 internal constant MARKET_VOTING_PERIOD = keccak256("market.votingPeriod");
    bytes32 internal constant MARKET_JUROR_SLASH_BPS = keccak256("market.jurorSlashBps");
    bytes32 internal constant MARKET_JUROR_UNBONDING_PERIOD = keccak256("market.jurorUnbondingPeriod");
}
