// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStaking
/// @notice What the node and other contracts call on Staking: the validator set the consensus reads
///         at epoch boundaries, the per-block reward and downtime reports (system caller), and the
///         double-sign evidence format.
interface IStaking {
    /// @notice A consensus vote as signed (EIP-712, domain "OpenLedger Consensus" version "1" of the
    ///         Staking contract) by a validator's consensus signer. step: 1 = prevote, 2 = precommit.
    struct Vote {
        uint64 height;
        uint32 round;
        uint8 step;
        bytes32 blockHash;
    }

    enum SlashReason {
        DoubleSign,
        Downtime
    }

    /// @notice A validator as `validatorInfo` reports it; stake amounts are current values in wei.
    struct ValidatorInfo {
        address consensusSigner;
        uint16 commissionBps;
        bool registered;
        bool jailed;
        bool tombstoned;
        bool rewarded;
        uint64 jailedUntil;
        uint256 totalStake;
        uint256 totalShares;
        uint256 selfStake;
    }

    event ValidatorRegistered(address indexed validator, address indexed consensusSigner, uint16 commissionBps);
    event ConsensusSignerChanged(address indexed validator, address indexed consensusSigner);
    event CommissionChanged(address indexed validator, uint16 commissionBps);
    event Staked(address indexed delegator, address indexed validator, uint256 amount, uint256 shares);
    event Unstaked(address indexed delegator, address indexed validator, uint256 amount, uint256 shares, uint64 maturity);
    event Withdrawn(address indexed account, uint256 amount);
    event RewardsDistributed(address indexed from, uint256 amount);
    event BlockRewarded(address indexed proposer, uint256 amount);
    event RewardsAllocated(address indexed validator, uint256 commission, uint256 delegators);
    event RewardsClaimed(address indexed account, uint256 amount);
    event RewardSetUpdated(uint256 indexed epoch, uint256 validators, uint256 power);
    /// @notice Rewards with no reward set to go to, or rounding dust, sent to the treasury.
    event SentToTreasury(uint256 amount);
    event DoubleSignEvidence(
        address indexed validator, address indexed signer, uint64 height, uint32 round, uint8 step, address reporter
    );
    event Slashed(address indexed validator, uint256 amount, SlashReason reason);
    event Jailed(address indexed validator, uint64 until);
    event Unjailed(address indexed validator);
    event Tombstoned(address indexed validator);

    error LengthMismatch();
    error InitialStakeMismatch(uint256 sum, uint256 value);
    error AlreadyRegistered(address validator);
    error UnknownValidator(address validator);
    error ZeroAddress();
    error SignerInUse(address signer, address validator);
    error CommissionTooHigh(uint256 commissionBps);
    error StakeBelowMinimum(uint256 amount, uint256 minimum);
    error ZeroAmount();
    error ValidatorWipedOut(address validator);
    error ValidatorIsTombstoned(address validator);
    error NoDelegation(address delegator, address validator);
    error InsufficientStake(uint256 available, uint256 requested);
    error TooManyDelegations();
    error TooManyUnbondingEntries();
    error NothingToWithdraw();
    error NothingToClaim();
    error NotSystemCaller(address caller);
    error AlreadyJailed(address validator);
    error NotJailed(address validator);
    error JailPeriodNotOver(uint64 until);
    error EvidenceNotConflicting();
    error SignerMismatch(address signerA, address signerB);
    error UnknownSigner(address signer);
    error EvidenceAlreadySubmitted(bytes32 key);

    /// @notice The consensus set: the top `staking.maxValidators` validators by total stake that are
    ///         neither jailed nor tombstoned and whose self-stake meets the minimum, sorted by power
    ///         descending then address ascending. The node reads it at epoch boundaries.
    function activeValidators()
        external
        view
        returns (address[] memory validators, address[] memory signers, uint256[] memory powers);

    /// @notice Blocks per epoch (`staking.epochBlocks`).
    function epochBlocks() external view returns (uint256);

    /// @notice The validator whose consensus signer is (or once was) `signer`; address(0) if none.
    function validatorOfSigner(address signer) external view returns (address);

    /// @notice The EIP-712 digest a consensus signer signs for `vote`.
    function voteDigest(Vote calldata vote) external view returns (bytes32);

    /// @notice System caller only: the chain's per-block reward (msg.value), split over the reward set.
    function rewardBlock(address proposer) external payable;

    /// @notice System caller only: slashes and jails a validator that missed too many blocks.
    function reportDowntime(address validator) external;

    /// @notice Anyone: slashes and tombstones the validator whose signer signed both conflicting votes.
    function submitDoubleSignEvidence(Vote calldata a, bytes calldata sigA, Vote calldata b, bytes calldata sigB)
        external;

    /// @notice OPEN bonded to validators (excluding unbonding entries).
    function totalStaked() external view returns (uint256);
}
