// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ParamKeys as K} from "./ParamKeys.sol";
import {VotingPower} from "./VotingPower.sol";

/// @title Staking
/// @notice Proof-of-stake in native OPEN: validators register and self-bond, anyone delegates to
///         them, the top validators by stake form the consensus set, block rewards and fees flow to
///         them and their delegators, and misbehaviour is slashed to the EcosystemTreasury.
/// @dev Accounting, all loop-free over delegators:
///      - Each validator has `tokens` (OPEN bonded to it) and `shares` (claims on those tokens, like
///        Cosmos). A slash lowers `tokens` only, so every delegation loses the same fraction.
///      - Unbonding OPEN sits in per-validator cohorts (one per UNBONDING_COHORT_BLOCKS blocks), each
///        again tokens + shares, so a slash cuts a cohort in O(1). Rule: a slash cuts every cohort
///        holding an entry created at or after the infraction height, unless all its entries matured.
///        The rule is per cohort, so entries created up to UNBONDING_COHORT_BLOCKS before the
///        infraction, or matured but not withdrawn, in such a cohort share the cut.
///      - Rewards: a global reward-per-power accumulator over the reward set, settled into a
///        validator when its power or membership changes; the validator's commission is credited to
///        it and the rest raises its reward-per-share accumulator, settled into a delegation when its
///        shares change or its owner claims. Rounding remainders (under a wei per settlement) stay in
///        the pool they came from: a validator's delegator pool goes to the treasury when its last
///        share leaves, and the global pool goes to the treasury when the reward set has no power.
///      - Reward set: the active set as computed at the first reward of each epoch (block.number /
///        staking.epochBlocks), with live stake as weights; jailing or tombstoning removes a
///        validator at once, while unjailed or newly large validators join at the next epoch, as
///        they join consensus. Computing it costs about 11k gas per candidate (validators with
///        self-stake at the minimum: at most totalStaked / staking.minValidatorStake of them).
///      - Voting power: GOPEN equals the current value of an account's bonded stake after each of its
///        staking actions. A slash lowers that value for every delegator without touching their
///        GOPEN (no loop); the excess lingers until `syncVotingPower` (permissionless) or the
///        account's next staking action burns it. The slashed validator's own GOPEN is synced at once.
contract Staking is IStaking, EIP712, ReentrancyGuard {
    uint256 private constant BPS = 10_000;
    uint256 private constant SCALE = 1e30;
    bytes32 private constant VOTE_TYPEHASH = keccak256("Vote(uint64 height,uint32 round,uint8 step,bytes32 blockHash)");

    /// @notice Validators one account may hold delegations with at once (bounds reward and voting loops).
    uint256 public constant MAX_DELEGATIONS_PER_ACCOUNT = 32;
    /// @notice Unbonding entries one account may have at once (bounds the withdraw loop).
    uint256 public constant MAX_UNBONDING_ENTRIES = 32;
    /// @notice Blocks per unbonding cohort (the granularity of slashing unbonding stake).
    uint256 public constant UNBONDING_COHORT_BLOCKS = 1_000;
    /// @notice Newest cohorts of a validator a slash looks at (bounds the slash loop).
    uint256 public constant MAX_SLASHED_COHORTS = 1_000;

    struct Validator {
        address signer;
        uint16 commissionBps;
        bool registered;
        bool jailed;
        bool tombstoned;
        bool rewarded;
        uint48 jailedUntil;
        uint256 tokens;
        uint256 shares;
        uint256 rewardPerShare;
        uint256 outstanding;
        uint256 rewardPerPowerPaid;
    }

    struct Delegation {
        uint256 shares;
        uint256 rewardPerSharePaid;
    }

    struct Cohort {
        uint256 tokens;
        uint256 shares;
        uint64 id;
        uint64 lastHeight;
        uint64 maturity;
    }

    struct Unbonding {
        address validator;
        uint32 cohort;
        uint64 maturity;
        uint256 shares;
    }

    /// @notice Where every governed number is read, at use time.
    IProtocolParams public immutable params;
    /// @notice GOPEN, minted and burned here to follow bonded stake.
    VotingPower public immutable votingPower;
    /// @notice The EcosystemTreasury: receives slashed stake, unallocatable rewards and rounding dust.
    address payable public immutable treasury;
    /// @notice The chain's system address: the only caller of `rewardBlock` and `reportDowntime`.
    address public immutable systemCaller;

    /// @inheritdoc IStaking
    uint256 public totalStaked;
    /// @notice OPEN in unbonding entries, not yet withdrawn.
    uint256 public totalUnbonding;

    mapping(address validator => Validator) private _validators;
    mapping(address signer => address validator) private _signerOwner;
    mapping(address delegator => mapping(address validator => Delegation)) private _delegations;
    mapping(address delegator => address[] validators) private _delegatedTo;
    mapping(address validator => Cohort[]) private _cohorts;
    mapping(address account => Unbonding[]) private _unbondings;
    mapping(address account => uint256) private _claimable;
    mapping(bytes32 offence => bool) private _evidence;

    // Validators that may be active: not tombstoned and self-stake at the minimum when last touched.
    // Bounded by totalStaked / staking.minValidatorStake, which is what makes `activeValidators` cheap enough.
    address[] private _candidates;
    mapping(address validator => uint256 indexPlusOne) private _candidateIndex;

    address[] private _rewardSet;
    uint256 private _rewardSetEpoch; // epoch + 1 of the snapshot (0 = never taken)
    uint256 private _rewardPower;
    uint256 private _rewardPerPower;
    uint256 private _undistributed;

    modifier onlySystemCaller() {
        if (msg.sender != systemCaller) revert NotSystemCaller(msg.sender);
        _;
    }

    /// @dev Genesis: VotingPower must already exist (its GOPEN is minted here). Initial validators
    ///      sign with their own address, charge no commission and must meet the minimum stake.
    constructor(
        IProtocolParams params_,
        VotingPower votingPower_,
        address payable treasury_,
        address systemCaller_,
        address[] memory initialValidators,
        uint256[] memory initialStakes
    ) payable EIP712("OpenLedger Consensus", "1") {
        if (initialValidators.length != initialStakes.length) revert LengthMismatch();
        params = params_;
        votingPower = votingPower_;
        treasury = treasury_;
        systemCaller = systemCaller_;
        uint256 minimum = _param(K.STAKING_MIN_VALIDATOR_STAKE);
        uint256 sum;
        for (uint256 i; i < initialValidators.length; ++i) {
            address v = initialValidators[i];
            if (initialStakes[i] < minimum) revert StakeBelowMinimum(initialStakes[i], minimum);
            sum += initialStakes[i];
            _register(v, v, 0);
            _bond(v, v, initialStakes[i]);
            _syncVotingPower(v);
        }
        if (sum != msg.value) revert InitialStakeMismatch(sum, msg.value);
    }

    // ------------------------------------------------------------------ validators and delegation

    /// @notice Registers the caller as a validator, self-bonding msg.value (at least
    ///         `staking.minValidatorStake`). `consensusSigner` signs its consensus votes and must never
    ///         have belonged to a validator.
    function registerValidator(address consensusSigner, uint16 commissionBps) external payable {
        uint256 minimum = _param(K.STAKING_MIN_VALIDATOR_STAKE);
        if (msg.value < minimum) revert StakeBelowMinimum(msg.value, minimum);
        _register(msg.sender, consensusSigner, commissionBps);
        _bond(msg.sender, msg.sender, msg.value);
        _syncVotingPower(msg.sender);
    }

    /// @notice Rotates the caller's consensus signer. The old signer stays bound to the caller
    ///         forever, so evidence signed with it can still be submitted.
    function setConsensusSigner(address consensusSigner) external {
        Validator storage val = _registered(msg.sender);
        if (val.tombstoned) revert ValidatorIsTombstoned(msg.sender);
        _setSigner(msg.sender, val, consensusSigner);
    }

    /// @notice Sets the caller's commission on rewards; rewards accrued so far keep the old rate.
    function setCommission(uint16 commissionBps) external {
        Validator storage val = _registered(msg.sender);
        if (commissionBps > BPS) revert CommissionTooHigh(commissionBps);
        _settleValidator(msg.sender, val);
        val.commissionBps = commissionBps;
        emit CommissionChanged(msg.sender, commissionBps);
    }

    /// @notice Bonds msg.value (at least `staking.minDelegation`) to `validator`; the caller receives
    ///         GOPEN for it. A validator tops up its self-stake the same way.
    function stake(address validator) external payable {
        Validator storage val = _registered(validator);
        if (val.tombstoned) revert ValidatorIsTombstoned(validator);
        uint256 minimum = _param(K.STAKING_MIN_DELEGATION);
        if (msg.value < minimum) revert StakeBelowMinimum(msg.value, minimum);
        _bond(msg.sender, validator, msg.value);
        _syncVotingPower(msg.sender);
    }

    /// @notice Starts unbonding `amount` OPEN of the caller's stake with `validator`
    ///         (type(uint256).max: all of it); it can be withdrawn after `staking.unbondingPeriod` and
    ///         stays slashable for infractions before it was created. Burns the caller's GOPEN for it.
    function unstake(address validator, uint256 amount) external nonReentrant {
        Validator storage val = _validators[validator];
        Delegation storage d = _delegations[msg.sender][validator];
        if (d.shares == 0) revert NoDelegation(msg.sender, validator);
        _settleValidator(validator, val);
        _settleDelegation(msg.sender, val, d);

        uint256 burnShares;
        if (amount == type(uint256).max) {
            burnShares = d.shares;
            amount = d.shares * val.tokens / val.shares;
        } else {
            uint256 available = d.shares * val.tokens / val.shares;
            if (amount == 0) revert ZeroAmount();
            if (amount > available) revert InsufficientStake(available, amount);
            // Rounding up keeps the value of the remaining shares from dropping.
            burnShares = Math.mulDiv(amount, val.shares, val.tokens, Math.Rounding.Ceil);
        }
        // The last share takes the rounding remainder, so no tokens stay without an owner.
        if (burnShares == val.shares) amount = val.tokens;

        d.shares -= burnShares;
        val.shares -= burnShares;
        val.tokens -= amount;
        totalStaked -= amount;
        if (val.rewarded) _rewardPower -= amount;
        if (d.shares == 0) _removeDelegatedTo(msg.sender, validator);

        uint64 maturity = uint64(block.timestamp + _param(K.STAKING_UNBONDING_PERIOD));
        if (amount > 0) _enqueueUnbonding(msg.sender, validator, amount, maturity);
        emit Unstaked(msg.sender, validator, amount, burnShares, maturity);
        if (msg.sender == validator) _updateCandidacy(validator, val);
        _syncVotingPower(msg.sender);

        if (val.shares == 0 && val.outstanding > 0) {
            // No delegation is left to claim it: what remains is rounding dust.
            uint256 dust = val.outstanding;
            val.outstanding = 0;
            _toTreasury(dust);
        }
    }

    /// @notice Pays the caller every matured unbonding entry (after any slash that hit it).
    function withdrawUnbonded() external nonReentrant {
        Unbonding[] storage list = _unbondings[msg.sender];
        uint256 total;
        bool any;
        // Backwards, so the entry swapped into a removed slot has been looked at already.
        for (uint256 i = list.length; i > 0;) {
            --i;
            Unbonding storage e = list[i];
            if (e.maturity > block.timestamp) continue;
            Cohort storage c = _cohorts[e.validator][e.cohort];
            uint256 out = e.shares == c.shares ? c.tokens : e.shares * c.tokens / c.shares;
            c.tokens -= out;
            c.shares -= e.shares;
            total += out;
            any = true;
            list[i] = list[list.length - 1];
            list.pop();
        }
        if (!any) revert NothingToWithdraw();
        totalUnbonding -= total;
        emit Withdrawn(msg.sender, total);
        Address.sendValue(payable(msg.sender), total);
    }

    /// @notice Sets `account`'s GOPEN to the current value of its bonded stake: burns what a slash
    ///         took (or mints rounding gains). Permissionless.
    function syncVotingPower(address account) external {
        _syncVotingPower(account);
    }

    // ------------------------------------------------------------------ rewards

    /// @notice Splits msg.value over the reward set pro rata to stake (commission to each validator,
    ///         the rest to its delegators pro rata to shares). With no reward set it goes to the treasury.
    function distributeRewards() external payable nonReentrant {
        _distribute(msg.value);
    }

    /// @notice Plain transfers are rewards, split like `distributeRewards`.
    receive() external payable nonReentrant {
        _distribute(msg.value);
    }

    /// @inheritdoc IStaking
    function rewardBlock(address proposer) external payable onlySystemCaller nonReentrant {
        emit BlockRewarded(proposer, msg.value);
        _distribute(msg.value);
    }

    /// @notice Pays the caller all its rewards: commission and delegation rewards.
    function claimRewards() external nonReentrant {
        address[] storage vs = _delegatedTo[msg.sender];
        for (uint256 i; i < vs.length; ++i) {
            Validator storage val = _validators[vs[i]];
            _settleValidator(vs[i], val);
            _settleDelegation(msg.sender, val, _delegations[msg.sender][vs[i]]);
        }
        // A validator without self-stake still earns commission on its delegators' stake.
        _settleValidator(msg.sender, _validators[msg.sender]);
        uint256 amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim();
        _claimable[msg.sender] = 0;
        emit RewardsClaimed(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice What `claimRewards` would pay `account` now.
    function pendingRewards(address account) external view returns (uint256 total) {
        total = _claimable[account];
        address[] storage vs = _delegatedTo[account];
        for (uint256 i; i < vs.length; ++i) {
            (, uint256 rewardPerShare) = _previewValidator(_validators[vs[i]]);
            Delegation storage d = _delegations[account][vs[i]];
            total += d.shares * (rewardPerShare - d.rewardPerSharePaid) / SCALE;
        }
        (uint256 commission,) = _previewValidator(_validators[account]);
        total += commission;
    }

    // ------------------------------------------------------------------ slashing

    /// @inheritdoc IStaking
    function submitDoubleSignEvidence(Vote calldata a, bytes calldata sigA, Vote calldata b, bytes calldata sigB)
        external
        nonReentrant
    {
        if (
            a.height != b.height || a.round != b.round || a.step != b.step || a.blockHash == b.blockHash
                || (a.step != 1 && a.step != 2)
        ) revert EvidenceNotConflicting();
        address signer = ECDSA.recover(voteDigest(a), sigA);
        address signerB = ECDSA.recover(voteDigest(b), sigB);
        if (signer != signerB) revert SignerMismatch(signer, signerB);
        address validator = _signerOwner[signer];
        if (validator == address(0)) revert UnknownSigner(signer);
        bytes32 offence = keccak256(abi.encode(signer, a.height, a.round, a.step));
        if (_evidence[offence]) revert EvidenceAlreadySubmitted(offence);
        Validator storage val = _validators[validator];
        // One tombstoning per validator: its further conflicting votes are the same misbehaviour.
        if (val.tombstoned) revert ValidatorIsTombstoned(validator);
        _evidence[offence] = true;
        emit DoubleSignEvidence(validator, signer, a.height, a.round, a.step, msg.sender);

        _leaveRewardSet(validator, val);
        val.tombstoned = true;
        emit Tombstoned(validator);
        _slash(validator, val, _param(K.SLASH_DOUBLE_SIGN_BPS), a.height, SlashReason.DoubleSign);
    }

    /// @inheritdoc IStaking
    /// @dev The infraction height is the start of the downtime window, so unbonding started during
    ///      the window (by a validator that knew it was offline) is cut too.
    function reportDowntime(address validator) external onlySystemCaller nonReentrant {
        Validator storage val = _registered(validator);
        if (val.tombstoned) revert ValidatorIsTombstoned(validator);
        if (val.jailed) revert AlreadyJailed(validator);
        _leaveRewardSet(validator, val);
        uint64 until = uint64(block.timestamp + _param(K.DOWNTIME_JAIL_PERIOD));
        val.jailed = true;
        val.jailedUntil = uint48(until);
        emit Jailed(validator, until);
        uint256 window = _param(K.DOWNTIME_WINDOW_BLOCKS);
        uint256 infraction = block.number > window ? block.number - window : 0;
        _slash(validator, val, _param(K.SLASH_DOWNTIME_BPS), infraction, SlashReason.Downtime);
    }

    /// @notice Ends the caller's jail once its period is over, if its self-stake meets the minimum.
    ///         It rejoins the active set at once and the reward set at the next epoch.
    function unjail() external {
        Validator storage val = _validators[msg.sender];
        if (!val.jailed) revert NotJailed(msg.sender);
        if (val.tombstoned) revert ValidatorIsTombstoned(msg.sender);
        if (block.timestamp < val.jailedUntil) revert JailPeriodNotOver(val.jailedUntil);
        uint256 self = _selfStake(msg.sender, val);
        uint256 minimum = _param(K.STAKING_MIN_VALIDATOR_STAKE);
        if (self < minimum) revert StakeBelowMinimum(self, minimum);
        val.jailed = false;
        val.jailedUntil = 0;
        _updateCandidacy(msg.sender, val);
        emit Unjailed(msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStaking
    function activeValidators()
        external
        view
        returns (address[] memory validators, address[] memory signers, uint256[] memory powers)
    {
        (validators, powers) = _active();
        signers = new address[](validators.length);
        for (uint256 i; i < validators.length; ++i) {
            signers[i] = _validators[validators[i]].signer;
        }
    }

    /// @inheritdoc IStaking
    function epochBlocks() public view returns (uint256) {
        return _param(K.STAKING_EPOCH_BLOCKS);
    }

    /// @notice The validators rewards are split over this epoch, the epoch they were taken for, and
    ///         their total stake.
    function rewardSet() external view returns (address[] memory validators, uint256 epoch, uint256 power) {
        return (_rewardSet, _rewardSetEpoch == 0 ? 0 : _rewardSetEpoch - 1, _rewardPower);
    }

    /// @notice A validator's registration, status and stake.
    function validatorInfo(address validator) external view returns (ValidatorInfo memory info) {
        Validator storage val = _validators[validator];
        info = ValidatorInfo({
            consensusSigner: val.signer,
            commissionBps: val.commissionBps,
            registered: val.registered,
            jailed: val.jailed,
            tombstoned: val.tombstoned,
            rewarded: val.rewarded,
            jailedUntil: val.jailedUntil,
            totalStake: val.tokens,
            totalShares: val.shares,
            selfStake: _selfStake(validator, val)
        });
    }

    /// @notice `delegator`'s shares with `validator` and their current value in OPEN.
    function delegationOf(address delegator, address validator) external view returns (uint256 shares, uint256 value) {
        shares = _delegations[delegator][validator].shares;
        value = _value(shares, _validators[validator]);
    }

    /// @notice `account`'s unbonding entries: validator, current amount, and when it can be withdrawn.
    function unbondingOf(address account)
        external
        view
        returns (address[] memory validators, uint256[] memory amounts, uint64[] memory maturities)
    {
        Unbonding[] storage list = _unbondings[account];
        validators = new address[](list.length);
        amounts = new uint256[](list.length);
        maturities = new uint64[](list.length);
        for (uint256 i; i < list.length; ++i) {
            Cohort storage c = _cohorts[list[i].validator][list[i].cohort];
            validators[i] = list[i].validator;
            amounts[i] = list[i].shares == c.shares ? c.tokens : list[i].shares * c.tokens / c.shares;
            maturities[i] = list[i].maturity;
        }
    }

    /// @inheritdoc IStaking
    function validatorOfSigner(address signer) external view returns (address) {
        return _signerOwner[signer];
    }

    /// @notice True once evidence of `signer` double-signing at (height, round, step) was slashed.
    function evidenceSubmitted(address signer, uint64 height, uint32 round, uint8 step) external view returns (bool) {
        return _evidence[keccak256(abi.encode(signer, height, round, step))];
    }

    /// @inheritdoc IStaking
    function voteDigest(Vote calldata vote) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOTE_TYPEHASH, vote.height, vote.round, vote.step, vote.blockHash))
        );
    }

    // ------------------------------------------------------------------ internals: registry

    function _param(bytes32 key) private view returns (uint256) {
        return params.get(key);
    }

    function _registered(address validator) private view returns (Validator storage val) {
        val = _validators[validator];
        if (!val.registered) revert UnknownValidator(validator);
    }

    function _register(address validator, address signer, uint16 commissionBps) private {
        Validator storage val = _validators[validator];
        if (val.registered) revert AlreadyRegistered(validator);
        if (commissionBps > BPS) revert CommissionTooHigh(commissionBps);
        val.registered = true;
        val.commissionBps = commissionBps;
        // Start at the current accumulator so it earns nothing from before it joined.
        val.rewardPerPowerPaid = _rewardPerPower;
        emit ValidatorRegistered(validator, signer, commissionBps);
        _setSigner(validator, val, signer);
    }

    function _setSigner(address validator, Validator storage val, address signer) private {
        if (signer == address(0)) revert ZeroAddress();
        address owner = _signerOwner[signer];
        if (owner != address(0)) revert SignerInUse(signer, owner);
        _signerOwner[signer] = validator;
        val.signer = signer;
        emit ConsensusSignerChanged(validator, signer);
    }

    function _bond(address delegator, address validator, uint256 amount) private {
        Validator storage val = _validators[validator];
        _settleValidator(validator, val);
        Delegation storage d = _delegations[delegator][validator];
        _settleDelegation(delegator, val, d);
        uint256 shares;
        if (val.shares == 0) {
            shares = amount;
        } else {
            if (val.tokens == 0) revert ValidatorWipedOut(validator);
            shares = amount * val.shares / val.tokens;
            if (shares == 0) revert ZeroAmount();
        }
        if (d.shares == 0) _addDelegatedTo(delegator, validator);
        d.shares += shares;
        val.shares += shares;
        val.tokens += amount;
        totalStaked += amount;
        if (val.rewarded) _rewardPower += amount;
        emit Staked(delegator, validator, amount, shares);
        if (delegator == validator) _updateCandidacy(validator, val);
    }

    function _addDelegatedTo(address delegator, address validator) private {
        address[] storage vs = _delegatedTo[delegator];
        if (vs.length >= MAX_DELEGATIONS_PER_ACCOUNT) revert TooManyDelegations();
        vs.push(validator);
    }

    function _removeDelegatedTo(address delegator, address validator) private {
        address[] storage vs = _delegatedTo[delegator];
        for (uint256 i; i < vs.length; ++i) {
            if (vs[i] == validator) {
                vs[i] = vs[vs.length - 1];
                vs.pop();
                return;
            }
        }
    }

    function _enqueueUnbonding(address delegator, address validator, uint256 amount, uint64 maturity) private {
        Cohort[] storage cs = _cohorts[validator];
        uint64 id = uint64(block.number / UNBONDING_COHORT_BLOCKS);
        uint256 n = cs.length;
        // A fully slashed cohort (tokens 0, shares left) cannot price new shares: start a fresh one.
        if (n == 0 || cs[n - 1].id != id || (cs[n - 1].tokens == 0 && cs[n - 1].shares > 0)) {
            cs.push().id = id;
            ++n;
        }
        Cohort storage c = cs[n - 1];
        uint256 shares = c.shares == 0 ? amount : amount * c.shares / c.tokens;
        if (shares == 0) revert ZeroAmount();
        c.tokens += amount;
        c.shares += shares;
        c.lastHeight = uint64(block.number);
        if (maturity > c.maturity) c.maturity = maturity;
        totalUnbonding += amount;

        Unbonding[] storage list = _unbondings[delegator];
        uint32 index = uint32(n - 1);
        for (uint256 i; i < list.length; ++i) {
            if (list[i].validator == validator && list[i].cohort == index) {
                // Same cohort: merge, and the whole entry waits for the later maturity.
                list[i].shares += shares;
                if (maturity > list[i].maturity) list[i].maturity = maturity;
                return;
            }
        }
        if (list.length >= MAX_UNBONDING_ENTRIES) revert TooManyUnbondingEntries();
        list.push(Unbonding({validator: validator, cohort: index, maturity: maturity, shares: shares}));
    }

    function _syncVotingPower(address account) private {
        uint256 value;
        address[] storage vs = _delegatedTo[account];
        for (uint256 i; i < vs.length; ++i) {
            value += _value(_delegations[account][vs[i]].shares, _validators[vs[i]]);
        }
        uint256 balance = votingPower.balanceOf(account);
        if (value > balance) votingPower.mint(account, value - balance);
        else if (balance > value) votingPower.burn(account, balance - value);
    }

    function _value(uint256 shares, Validator storage val) private view returns (uint256) {
        return shares == 0 ? 0 : shares * val.tokens / val.shares;
    }

    function _selfStake(address validator, Validator storage val) private view returns (uint256) {
        return _value(_delegations[validator][validator].shares, val);
    }

    function _updateCandidacy(address validator, Validator storage val) private {
        bool eligible = !val.tombstoned && _selfStake(validator, val) >= _param(K.STAKING_MIN_VALIDATOR_STAKE);
        uint256 index = _candidateIndex[validator];
        if (eligible && index == 0) {
            _candidates.push(validator);
            _candidateIndex[validator] = _candidates.length;
        } else if (!eligible && index != 0) {
            address last = _candidates[_candidates.length - 1];
            _candidates[index - 1] = last;
            _candidateIndex[last] = index;
            _candidates.pop();
            delete _candidateIndex[validator];
        }
    }

    // ------------------------------------------------------------------ internals: rewards

    function _distribute(uint256 amount) private {
        _refreshRewardSet();
        if (amount == 0) return;
        if (_rewardPower == 0) {
            // Nobody to pay; with no power in the set, the global pool holds only rounding dust.
            uint256 dust = _undistributed;
            _undistributed = 0;
            _toTreasury(amount + dust);
            return;
        }
        _rewardPerPower += amount * SCALE / _rewardPower;
        _undistributed += amount;
        emit RewardsDistributed(msg.sender, amount);
    }

    function _refreshRewardSet() private {
        uint256 epoch = block.number / epochBlocks() + 1;
        if (epoch == _rewardSetEpoch) return;
        _rewardSetEpoch = epoch;
        address[] storage old = _rewardSet;
        for (uint256 i; i < old.length; ++i) {
            _leaveRewardSet(old[i], _validators[old[i]]);
        }
        (address[] memory next,) = _active();
        uint256 power;
        for (uint256 i; i < next.length; ++i) {
            Validator storage val = _validators[next[i]];
            _settleValidator(next[i], val);
            val.rewarded = true;
            power += val.tokens;
        }
        _rewardPower = power;
        _rewardSet = next;
        emit RewardSetUpdated(epoch - 1, next.length, power);
    }

    function _leaveRewardSet(address validator, Validator storage val) private {
        _settleValidator(validator, val);
        if (!val.rewarded) return;
        val.rewarded = false;
        _rewardPower -= val.tokens;
    }

    /// @dev Moves what the validator earned since its last settlement from the global pool into its
    ///      commission and delegator pool. Must run before its tokens, commission or membership change.
    function _settleValidator(address validator, Validator storage val) private {
        uint256 acc = _rewardPerPower;
        uint256 paid = val.rewardPerPowerPaid;
        if (acc == paid) return;
        val.rewardPerPowerPaid = acc;
        if (!val.rewarded) return;
        uint256 earned = val.tokens * (acc - paid) / SCALE;
        if (earned == 0) return;
        _undistributed -= earned;
        uint256 commission = earned * val.commissionBps / BPS;
        uint256 rest = earned - commission;
        _claimable[validator] += commission;
        // tokens > 0 here, so shares > 0.
        val.rewardPerShare += rest * SCALE / val.shares;
        val.outstanding += rest;
        emit RewardsAllocated(validator, commission, rest);
    }

    function _settleDelegation(address delegator, Validator storage val, Delegation storage d) private {
        uint256 rewardPerShare = val.rewardPerShare;
        uint256 paid = d.rewardPerSharePaid;
        if (rewardPerShare == paid) return;
        d.rewardPerSharePaid = rewardPerShare;
        uint256 pending = d.shares * (rewardPerShare - paid) / SCALE;
        if (pending == 0) return;
        val.outstanding -= pending;
        _claimable[delegator] += pending;
    }

    /// @dev `_settleValidator` without writing: the commission it would credit and the resulting
    ///      reward-per-share.
    function _previewValidator(Validator storage val)
        private
        view
        returns (uint256 commission, uint256 rewardPerShare)
    {
        rewardPerShare = val.rewardPerShare;
        if (!val.rewarded) return (0, rewardPerShare);
        uint256 earned = val.tokens * (_rewardPerPower - val.rewardPerPowerPaid) / SCALE;
        if (earned == 0) return (0, rewardPerShare);
        commission = earned * val.commissionBps / BPS;
        rewardPerShare += (earned - commission) * SCALE / val.shares;
    }

    // ------------------------------------------------------------------ internals: slashing

    function _slash(address validator, Validator storage val, uint256 bps, uint256 infractionHeight, SlashReason reason)
        private
    {
        _settleValidator(validator, val);
        uint256 bonded = val.tokens * bps / BPS;
        val.tokens -= bonded;
        totalStaked -= bonded;
        if (val.rewarded) _rewardPower -= bonded;
        uint256 total = bonded + _slashUnbonding(validator, bps, infractionHeight);
        emit Slashed(validator, total, reason);
        _updateCandidacy(validator, val);
        _syncVotingPower(validator);
        if (total > 0) Address.sendValue(treasury, total);
    }

    function _slashUnbonding(address validator, uint256 bps, uint256 infractionHeight) private returns (uint256 total) {
        Cohort[] storage cs = _cohorts[validator];
        uint256 n = cs.length;
        uint256 stop = n > MAX_SLASHED_COHORTS ? n - MAX_SLASHED_COHORTS : 0;
        for (uint256 i = n; i > stop;) {
            --i;
            Cohort storage c = cs[i];
            // Cohorts are in creation order: older ones hold only entries from before the infraction.
            if (c.lastHeight < infractionHeight) break;
            if (c.maturity <= block.timestamp) continue;
            uint256 cut = c.tokens * bps / BPS;
            c.tokens -= cut;
            total += cut;
        }
        totalUnbonding -= total;
    }

    function _toTreasury(uint256 amount) private {
        emit SentToTreasury(amount);
        Address.sendValue(treasury, amount);
    }

    // ------------------------------------------------------------------ internals: active set

    function _active() private view returns (address[] memory validators, uint256[] memory powers) {
        uint256 n = _candidates.length;
        uint256 minimum = _param(K.STAKING_MIN_VALIDATOR_STAKE);
        validators = new address[](n);
        powers = new uint256[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            address v = _candidates[i];
            Validator storage val = _validators[v];
            if (val.jailed || val.tokens == 0 || _selfStake(v, val) < minimum) continue;
            validators[count] = v;
            powers[count] = val.tokens;
            ++count;
        }
        _heapSort(validators, powers, count);
        uint256 max = _param(K.STAKING_MAX_VALIDATORS);
        if (count > max) count = max;
        // Truncate both arrays in place to the first `count` entries.
        assembly ("memory-safe") {
            mstore(validators, count)
            mstore(powers, count)
        }
    }

    /// @dev Heapsort (O(n log n) whatever the input, so stake choices cannot make it quadratic) into
    ///      power descending, then address ascending.
    function _heapSort(address[] memory a, uint256[] memory p, uint256 n) private pure {
        if (n < 2) return;
        for (uint256 i = n / 2; i > 0;) {
            --i;
            _siftDown(a, p, i, n);
        }
        for (uint256 end = n - 1; end > 0; --end) {
            _swap(a, p, 0, end);
            _siftDown(a, p, 0, end);
        }
    }

    /// @dev Max-heap on "ranks later", so the sorted array starts with the highest rank.
    function _siftDown(address[] memory a, uint256[] memory p, uint256 root, uint256 n) private pure {
        while (true) {
            uint256 child = 2 * root + 1;
            if (child >= n) return;
            if (child + 1 < n && _ranksLater(a, p, child + 1, child)) ++child;
            if (!_ranksLater(a, p, child, root)) return;
            _swap(a, p, root, child);
            root = child;
        }
    }

    function _ranksLater(address[] memory a, uint256[] memory p, uint256 i, uint256 j) private pure returns (bool) {
        return p[i] < p[j] || (p[i] == p[j] && a[i] > a[j]);
    }

    function _swap(address[] memory a, uint256[] memory p, uint256 i, uint256 j) private pure {
        (a[i], a[j]) = (a[j], a[i]);
        (p[i], p[j]) = (p[j], p[i]);
    }
}
