// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BitMaps} from "@openzeppelin/contracts/utils/structs/BitMaps.sol";
import {IAttributionSettlement} from "./interfaces/IAttributionSettlement.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {ParamKeys as K} from "./ParamKeys.sol";

/// @title AttributionSettlement
/// @notice Holds the contributors' share of every paid query, per model and epoch, until Proof of
///         Attribution has decided who earned it. A bonded operator posts, per (model, epoch), the
///         Merkle root of the rewards; anyone may prove the root fraudulent during a challenge window
///         (which slashes the operator); once final, contributors claim with Merkle proofs and the
///         unattributed remainder goes to the EcosystemTreasury.
/// @dev Reward leaves are @openzeppelin/merkle-tree StandardMerkleTree leaves with the encoding
///      ['uint256','address','uint256'] = (index, account, amount), indexes 0..leafCount-1.
///
///      Money: every wei this contract holds is exactly one of
///        - collected, not yet claimed or swept:  Σ collected − Σ claimed − Σ swept
///        - an operator's bond (until withdrawn or slashed)
///        - a challenger's reward not yet withdrawn.
///      A slashed bond is split once: floor(bond × CHALLENGER_REWARD_BPS / 10,000) credited to the
///      challenger, the rest (rounding included) pushed to the treasury.
///
///      Epochs: epoch 0 starts at deployment; epoch n+1 starts when epoch n has lasted its length.
///      The contract records epochs lazily (on state-changing calls) and views compute the same
///      numbers without writing. An epoch's length is the ATTRIBUTION_EPOCH_LENGTH in force when it
///      was recorded (epoch 0: at the first state-changing call), so a governance change applies
///      from the next epoch and never renumbers past ones. Epochs that passed with no interaction
///      are skipped over with the length in force at the call that notices them.
contract AttributionSettlement is IAttributionSettlement, ReentrancyGuard {
    using BitMaps for BitMaps.BitMap;

    /// @notice A root's state. Final is reached by time (challenge window over, not cancelled).
    enum RootStatus {
        None,
        Pending,
        Final,
        Cancelled
    }

    enum OperatorStatus {
        None,
        Active,
        Unbonding
    }

    /// @notice Which fraud proof cancelled a root.
    enum FraudKind {
        Duplicate,
        Index,
        Total
    }

    /// @notice One reward leaf: (index, account, amount).
    struct Leaf {
        uint256 index;
        address account;
        uint256 amount;
    }

    /// @notice A claim of one leaf of a final root.
    struct Claim {
        uint256 modelId;
        uint256 epoch;
        uint256 index;
        address account;
        uint256 amount;
        bytes32[] proof;
    }

    /// @notice What `rootInfo` returns.
    struct RootInfo {
        bytes32 root;
        uint256 total;
        uint256 leafCount;
        uint256 postedAt;
        address operator;
        RootStatus status;
        uint256 claimed;
        uint256 challengeEnds;
        bool swept;
    }

    /// @notice What `operatorInfo` returns. The bond can be withdrawn once the operator is unbonding
    ///         and block.timestamp >= max(withdrawableAt, slashableUntil).
    struct OperatorInfo {
        OperatorStatus status;
        uint256 bond;
        uint256 withdrawableAt;
        uint256 slashableUntil;
    }

    /// @dev Stored root state; Pending/Final/Cancelled-by-slash are derived from time and slashes.
    enum Stored {
        None,
        Posted,
        Cancelled,
        Finalized
    }

    struct RootRecord {
        bytes32 root;
        uint256 total;
        uint256 leafCount;
        uint256 claimed;
        address operator;
        uint64 postedAt;
        Stored stored;
        bool swept;
        uint64 challengeEnds;
        uint64 registration;
    }

    struct Operator {
        uint256 bond;
        uint64 registration;
        uint64 withdrawableAt;
        uint64 slashableUntil;
        OperatorStatus status;
    }

    /// @dev A run of consecutive epochs of equal length, from `firstEpoch` up to the next segment's.
    struct Segment {
        uint64 firstEpoch;
        uint64 start;
        uint64 length;
    }

    uint256 private constant BPS = 10_000;

    /// @notice Where governed numbers are read.
    IProtocolParams public immutable params;
    /// @notice Models that may be funded and settled.
    IModelRegistry public immutable models;
    /// @notice The contract that funds this one in practice (kept for reference; `fund` is open).
    address public immutable inferencePayments;
    /// @notice Receives slashed bonds and unattributed remainders.
    address payable public immutable treasury;

    /// @notice Wei collected for a model's contributors in an epoch.
    mapping(uint256 modelId => mapping(uint256 epoch => uint256)) public collected;
    /// @notice Slashing rewards a challenger may withdraw.
    mapping(address challenger => uint256) public challengerRewards;

    mapping(uint256 modelId => mapping(uint256 epoch => RootRecord)) private _roots;
    mapping(uint256 modelId => mapping(uint256 epoch => BitMaps.BitMap)) private _claimedBits;
    mapping(address operator => Operator) private _operators;
    /// @dev When a registration was slashed; its roots still in their window at that time are void.
    mapping(uint64 registration => uint64) private _slashedAt;
    uint64 private _registrations;

    Segment[] private _segments;
    uint256 private _epoch;

    event EpochStarted(uint256 indexed epoch, uint256 start, uint256 length);
    event Funded(uint256 indexed modelId, uint256 indexed epoch, address indexed from, uint256 amount);
    event OperatorRegistered(address indexed operator, uint256 bond);
    event OperatorBondToppedUp(address indexed operator, uint256 amount, uint256 bond);
    event OperatorUnregistering(address indexed operator, uint256 withdrawableAt);
    event OperatorBondWithdrawn(address indexed operator, uint256 amount);
    event RootPosted(
        uint256 indexed modelId,
        uint256 indexed epoch,
        address indexed operator,
        bytes32 root,
        uint256 total,
        uint256 leafCount,
        string resultsURI,
        uint256 challengeEnds
    );
    event RootChallenged(uint256 indexed modelId, uint256 indexed epoch, address indexed challenger, FraudKind kind);
    event OperatorSlashed(
        address indexed operator, address indexed challenger, uint256 bond, uint256 challengerReward, uint256 toTreasury
    );
    event RootFinalized(uint256 indexed modelId, uint256 indexed epoch);
    event Claimed(
        uint256 indexed modelId, uint256 indexed epoch, uint256 indexed index, address account, uint256 amount
    );
    event Swept(uint256 indexed modelId, uint256 indexed epoch, uint256 amount);
    event ChallengerRewardWithdrawn(address indexed challenger, uint256 amount);

    error ZeroAddress();
    error UnknownModel(uint256 modelId);
    error BondTooLow(uint256 bond, uint256 required);
    error AlreadyRegistered(address operator);
    error NotActiveOperator(address operator);
    error NotUnbonding(address operator);
    error BondLocked(uint256 until);
    error EpochNotEnded(uint256 epoch, uint256 currentEpoch);
    error TotalExceedsCollected(uint256 total, uint256 collected);
    error InvalidRoot();
    error RootExists(uint256 modelId, uint256 epoch, RootStatus status);
    error NotChallengeable(uint256 modelId, uint256 epoch, RootStatus status);
    error NotFinal(uint256 modelId, uint256 epoch, RootStatus status);
    error InvalidProof();
    error NotFraud();
    error ZeroAccount();
    error IndexOutOfRange(uint256 index, uint256 leafCount);
    error AlreadyClaimed(uint256 modelId, uint256 epoch, uint256 index);
    error ClaimExceedsTotal(uint256 claimed, uint256 amount, uint256 total);
    error AlreadySwept(uint256 modelId, uint256 epoch);
    error NothingToWithdraw();

    constructor(IProtocolParams params_, IModelRegistry models_, address inferencePayments_, address payable treasury_) {
        if (
            address(params_) == address(0) || address(models_) == address(0) || inferencePayments_ == address(0)
                || treasury_ == address(0)
        ) revert ZeroAddress();
        params = params_;
        models = models_;
        inferencePayments = inferencePayments_;
        treasury = treasury_;
        // Length 0: epoch 0's length is fixed at the first state-changing call, so the constructor
        // calls nothing (the genesis builder may run it before the other contracts exist).
        _segments.push(Segment({firstEpoch: 0, start: uint64(block.timestamp), length: 0}));
    }

    // ---------------------------------------------------------------- funding

    /// @notice Adds msg.value to what `modelId` collected in the current epoch, for its contributors.
    ///         Anyone may fund (InferencePayments does, per paid query); zero is accepted so a payer
    ///         whose contributor share is 0 never fails.
    function fund(uint256 modelId) external payable {
        uint256 epoch = _advanceEpoch();
        if (!models.exists(modelId)) revert UnknownModel(modelId);
        collected[modelId][epoch] += msg.value;
        emit Funded(modelId, epoch, msg.sender, msg.value);
    }

    // ---------------------------------------------------------------- operators

    /// @notice Registers msg.sender as a root operator with msg.value as bond (at least ATTRIBUTION_OPERATOR_BOND).
    function registerOperator() external payable {
        _advanceEpoch();
        Operator storage op = _operators[msg.sender];
        if (op.status != OperatorStatus.None) revert AlreadyRegistered(msg.sender);
        uint256 required = _param(K.ATTRIBUTION_OPERATOR_BOND);
        if (msg.value < required) revert BondTooLow(msg.value, required);
        op.bond = msg.value;
        op.registration = ++_registrations;
        op.status = OperatorStatus.Active;
        emit OperatorRegistered(msg.sender, msg.value);
    }

    /// @notice Adds msg.value to an active operator's bond (needed when governance raises the minimum).
    function topUpBond() external payable {
        _advanceEpoch();
        Operator storage op = _operators[msg.sender];
        if (op.status != OperatorStatus.Active) revert NotActiveOperator(msg.sender);
        op.bond += msg.value;
        emit OperatorBondToppedUp(msg.sender, msg.value, op.bond);
    }

    /// @notice Stops posting; the bond stays slashable and can be withdrawn after
    ///         ATTRIBUTION_OPERATOR_UNBONDING_PERIOD and after the last posted root's challenge window.
    function unregisterOperator() external {
        _advanceEpoch();
        Operator storage op = _operators[msg.sender];
        if (op.status != OperatorStatus.Active) revert NotActiveOperator(msg.sender);
        uint256 unlock = block.timestamp + _param(K.ATTRIBUTION_OPERATOR_UNBONDING_PERIOD);
        op.status = OperatorStatus.Unbonding;
        op.withdrawableAt = uint64(unlock);
        emit OperatorUnregistering(msg.sender, unlock);
    }

    /// @notice Pays an unbonded operator's bond back to it and forgets the registration.
    function withdrawOperatorBond() external nonReentrant {
        _advanceEpoch();
        Operator storage op = _operators[msg.sender];
        if (op.status != OperatorStatus.Unbonding) revert NotUnbonding(msg.sender);
        // A root it posted may still be challenged: the bond stays until every window is over.
        uint256 unlock = op.withdrawableAt > op.slashableUntil ? op.withdrawableAt : op.slashableUntil;
        if (block.timestamp < unlock) revert BondLocked(unlock);
        uint256 amount = op.bond;
        delete _operators[msg.sender];
        emit OperatorBondWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- roots

    /// @notice Posts the Merkle root of the rewards of `modelId`'s contributors for an ended epoch
    ///         (registered, active operators only). Starts a challenge window of ATTRIBUTION_CHALLENGE_WINDOW.
    /// @param total The sum of all leaf amounts; at most what the model collected in that epoch.
    /// @param leafCount The number of leaves; their indexes are 0..leafCount-1.
    /// @param resultsURI Where the full results (the tree) are published, for claimants and challengers.
    function postRoot(
        uint256 modelId,
        uint256 epoch,
        bytes32 root,
        uint256 total,
        uint256 leafCount,
        string calldata resultsURI
    ) external {
        uint256 current = _advanceEpoch();
        Operator storage op = _operators[msg.sender];
        if (op.status != OperatorStatus.Active) revert NotActiveOperator(msg.sender);
        uint256 required = _param(K.ATTRIBUTION_OPERATOR_BOND);
        if (op.bond < required) revert BondTooLow(op.bond, required);
        _checkPostable(modelId, epoch, current, root, total, leafCount);

        uint64 ends = uint64(block.timestamp + _param(K.ATTRIBUTION_CHALLENGE_WINDOW));
        // Overwrites a cancelled root, whose claimed amount and bitmap are necessarily untouched
        // (claims need a final root, and a final root is never cancelled).
        RootRecord storage r = _roots[modelId][epoch];
        r.root = root;
        r.total = total;
        r.leafCount = leafCount;
        r.operator = msg.sender;
        r.postedAt = uint64(block.timestamp);
        r.stored = Stored.Posted;
        r.challengeEnds = ends;
        r.registration = op.registration;
        if (ends > op.slashableUntil) op.slashableUntil = ends;
        emit RootPosted(modelId, epoch, msg.sender, root, total, leafCount, resultsURI, ends);
    }

    // ---------------------------------------------------------------- fraud proofs

    /// @notice Proves that a pending root holds two different leaves for the same account (a double
    ///         claim), or two different leaves with the same index.
    function challengeDuplicate(
        uint256 modelId,
        uint256 epoch,
        Leaf calldata leafA,
        bytes32[] calldata proofA,
        Leaf calldata leafB,
        bytes32[] calldata proofB
    ) external nonReentrant {
        _advanceEpoch();
        RootRecord storage r = _challengeable(modelId, epoch);
        bytes32 hashA = _leafHash(leafA.index, leafA.account, leafA.amount);
        bytes32 hashB = _leafHash(leafB.index, leafB.account, leafB.amount);
        if (!MerkleProof.verifyCalldata(proofA, r.root, hashA) || !MerkleProof.verifyCalldata(proofB, r.root, hashB)) {
            revert InvalidProof();
        }
        bool sameAccount = leafA.account == leafB.account && leafA.index != leafB.index;
        // Indexes of a valid tree are distinct, so one index under two different leaves is fraud too.
        bool sameIndex = leafA.index == leafB.index && hashA != hashB;
        if (!sameAccount && !sameIndex) revert NotFraud();
        _cancelAndSlash(modelId, epoch, r, FraudKind.Duplicate);
    }

    /// @notice Proves that a pending root holds a leaf whose index is not below its leafCount.
    function challengeIndex(uint256 modelId, uint256 epoch, Leaf calldata leaf, bytes32[] calldata proof)
        external
        nonReentrant
    {
        _advanceEpoch();
        RootRecord storage r = _challengeable(modelId, epoch);
        if (!MerkleProof.verifyCalldata(proof, r.root, _leafHash(leaf.index, leaf.account, leaf.amount))) {
            revert InvalidProof();
        }
        if (leaf.index < r.leafCount) revert NotFraud();
        _cancelAndSlash(modelId, epoch, r, FraudKind.Index);
    }

    /// @notice Proves that a pending root's leaves do not add up to its total: a multiproof of exactly
    ///         leafCount leaves with the distinct indexes 0..leafCount-1 (in multiproof order) whose
    ///         amounts do not sum to total. Also proves an overstated leafCount: a multiproof with an
    ///         empty `proof` covers the whole tree, so fewer (or more) than leafCount leaves is fraud.
    /// @dev Gas grows with leafCount (one hash and one bit per leaf); a root too large to prove in one
    ///      block cannot be challenged this way, so off-chain operators should keep trees provable.
    function challengeTotal(
        uint256 modelId,
        uint256 epoch,
        Leaf[] calldata leaves,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external nonReentrant {
        _advanceEpoch();
        RootRecord storage r = _challengeable(modelId, epoch);
        bytes32[] memory hashes = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) {
            hashes[i] = _leafHash(leaves[i].index, leaves[i].account, leaves[i].amount);
        }
        if (!_multiProofValid(proof, proofFlags, r.root, hashes)) revert InvalidProof();
        if (leaves.length != r.leafCount) {
            // Only a whole-tree multiproof (empty proof) shows the count is wrong; a partial one shows nothing.
            if (proof.length != 0) revert NotFraud();
        } else if (_sumsTo(leaves, r.total)) {
            revert NotFraud();
        }
        _cancelAndSlash(modelId, epoch, r, FraudKind.Total);
    }

    // ---------------------------------------------------------------- claims

    /// @notice Pays a leaf of a final root to its account (anyone may submit; funds always go to the
    ///         leaf's account). A receiver that reverts only fails its own claim.
    function claim(Claim calldata c) external nonReentrant {
        _advanceEpoch();
        _claim(c);
    }

    /// @notice Claims several leaves, across models and epochs, in one transaction; all or nothing.
    /// @dev Bounded by the calldata the caller sends.
    function claimMany(Claim[] calldata claims) external nonReentrant {
        _advanceEpoch();
        for (uint256 i = 0; i < claims.length; ++i) {
            _claim(claims[i]);
        }
    }

    /// @notice Sends what a model collected in an epoch beyond its final root's total (what the base
    ///         model knew, plus rounding) to the treasury; once per (model, epoch), anyone may call.
    function sweepUnattributed(uint256 modelId, uint256 epoch) external nonReentrant {
        _advanceEpoch();
        RootRecord storage r = _finalRoot(modelId, epoch);
        if (r.swept) revert AlreadySwept(modelId, epoch);
        r.swept = true;
        uint256 amount = collected[modelId][epoch] - r.total;
        emit Swept(modelId, epoch, amount);
        if (amount != 0) Address.sendValue(treasury, amount);
    }

    /// @notice Withdraws msg.sender's accumulated challenger rewards.
    function withdrawChallengerReward() external nonReentrant {
        _advanceEpoch();
        uint256 amount = challengerRewards[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        challengerRewards[msg.sender] = 0;
        emit ChallengerRewardWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice The current epoch number, counting the epochs that have started but are not yet recorded.
    function currentEpoch() public view returns (uint256) {
        uint256 end = _currentEnd();
        if (block.timestamp < end) return _epoch;
        return _epoch + 1 + (block.timestamp - end) / _param(K.ATTRIBUTION_EPOCH_LENGTH);
    }

    /// @notice When `epoch` started (or, for an epoch after the current one, will start if the epoch
    ///         length stays as it is now).
    function epochStart(uint256 epoch) external view returns (uint256) {
        uint256 recorded = _epoch;
        if (epoch > recorded) {
            return _currentEnd() + (epoch - recorded - 1) * _param(K.ATTRIBUTION_EPOCH_LENGTH);
        }
        // Binary search for the last segment whose first epoch is <= epoch.
        uint256 lo = 0;
        uint256 hi = _segments.length;
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            if (_segments[mid].firstEpoch <= epoch) lo = mid;
            else hi = mid;
        }
        Segment storage s = _segments[lo];
        return s.start + (epoch - s.firstEpoch) * s.length;
    }

    /// @notice Everything about the root of (`modelId`, `epoch`); status None if none was posted.
    function rootInfo(uint256 modelId, uint256 epoch) external view returns (RootInfo memory) {
        RootRecord storage r = _roots[modelId][epoch];
        return RootInfo({
            root: r.root,
            total: r.total,
            leafCount: r.leafCount,
            postedAt: r.postedAt,
            operator: r.operator,
            status: _status(r),
            claimed: r.claimed,
            challengeEnds: r.challengeEnds,
            swept: r.swept
        });
    }

    /// @notice Whether leaf `index` of (`modelId`, `epoch`) was claimed.
    function isClaimed(uint256 modelId, uint256 epoch, uint256 index) external view returns (bool) {
        return _claimedBits[modelId][epoch].get(index);
    }

    /// @notice An operator's status, bond and when the bond can be withdrawn.
    function operatorInfo(address operator) external view returns (OperatorInfo memory) {
        Operator storage op = _operators[operator];
        return OperatorInfo({
            status: op.status,
            bond: op.bond,
            withdrawableAt: op.withdrawableAt,
            slashableUntil: op.slashableUntil
        });
    }

    /// @notice When the challenge window of the current root of (`modelId`, `epoch`) ends (0: none posted).
    function challengeWindowEnds(uint256 modelId, uint256 epoch) external view returns (uint256) {
        return _roots[modelId][epoch].challengeEnds;
    }

    // ---------------------------------------------------------------- internals

    function _checkPostable(
        uint256 modelId,
        uint256 epoch,
        uint256 current,
        bytes32 root,
        uint256 total,
        uint256 leafCount
    ) private view {
        if (!models.exists(modelId)) revert UnknownModel(modelId);
        // Only a closed epoch: its collected amount can no longer grow.
        if (epoch >= current) revert EpochNotEnded(epoch, current);
        RootStatus status = _status(_roots[modelId][epoch]);
        if (status != RootStatus.None && status != RootStatus.Cancelled) revert RootExists(modelId, epoch, status);
        uint256 available = collected[modelId][epoch];
        if (total > available) revert TotalExceedsCollected(total, available);
        // An empty tree cannot carry a total, and a zero root cannot be proven against: both would
        // lock the total with no claim and no fraud proof possible.
        if (leafCount == 0 ? total != 0 : root == bytes32(0)) revert InvalidRoot();
    }

    /// @dev Whether `leaves` (exactly the indexes 0..leaves.length-1, each once; NotFraud otherwise)
    ///      sum to `total`. An overflowing sum cannot equal any total, so it counts as "no".
    function _sumsTo(Leaf[] calldata leaves, uint256 total) private pure returns (bool) {
        uint256 n = leaves.length;
        uint256[] memory seen = new uint256[]((n + 255) / 256);
        uint256 sum;
        bool overflow;
        for (uint256 i = 0; i < n; ++i) {
            uint256 index = leaves[i].index;
            if (index >= n) revert NotFraud();
            uint256 bit = 1 << (index & 255);
            if (seen[index >> 8] & bit != 0) revert NotFraud();
            seen[index >> 8] |= bit;
            unchecked {
                uint256 next = sum + leaves[i].amount;
                if (next < sum) overflow = true;
                sum = next;
            }
        }
        return !overflow && sum == total;
    }

    function _claim(Claim calldata c) private {
        RootRecord storage r = _finalRoot(c.modelId, c.epoch);
        if (c.account == address(0)) revert ZeroAccount();
        if (c.index >= r.leafCount) revert IndexOutOfRange(c.index, r.leafCount);
        BitMaps.BitMap storage bits = _claimedBits[c.modelId][c.epoch];
        if (bits.get(c.index)) revert AlreadyClaimed(c.modelId, c.epoch, c.index);
        if (!MerkleProof.verifyCalldata(c.proof, r.root, _leafHash(c.index, c.account, c.amount))) {
            revert InvalidProof();
        }
        // The cap holds even for a bad root nobody challenged: contributors never get more than total.
        if (r.claimed + c.amount > r.total) revert ClaimExceedsTotal(r.claimed, c.amount, r.total);
        bits.set(c.index);
        r.claimed += c.amount;
        emit Claimed(c.modelId, c.epoch, c.index, c.account, c.amount);
        Address.sendValue(payable(c.account), c.amount);
    }

    /// @dev The root of (modelId, epoch) if it is final, recording (and announcing) finality once.
    function _finalRoot(uint256 modelId, uint256 epoch) private returns (RootRecord storage r) {
        r = _roots[modelId][epoch];
        RootStatus status = _status(r);
        if (status != RootStatus.Final) revert NotFinal(modelId, epoch, status);
        if (r.stored != Stored.Finalized) {
            r.stored = Stored.Finalized;
            emit RootFinalized(modelId, epoch);
        }
    }

    function _challengeable(uint256 modelId, uint256 epoch) private view returns (RootRecord storage r) {
        r = _roots[modelId][epoch];
        RootStatus status = _status(r);
        if (status != RootStatus.Pending) revert NotChallengeable(modelId, epoch, status);
    }

    /// @dev Cancels the root and slashes its operator's whole bond. The slash also voids every other
    ///      root of that registration still in its window (see _status): a proven cheat's other
    ///      unfinished work is not trusted either.
    function _cancelAndSlash(uint256 modelId, uint256 epoch, RootRecord storage r, FraudKind kind) private {
        r.stored = Stored.Cancelled;
        emit RootChallenged(modelId, epoch, msg.sender, kind);

        address operator = r.operator;
        Operator storage op = _operators[operator];
        uint256 bond = op.bond;
        uint256 reward = (bond * _param(K.CHALLENGER_REWARD_BPS)) / BPS;
        uint256 toTreasury = bond - reward;
        _slashedAt[op.registration] = uint64(block.timestamp);
        delete _operators[operator];
        challengerRewards[msg.sender] += reward;
        emit OperatorSlashed(operator, msg.sender, bond, reward, toTreasury);
        if (toTreasury != 0) Address.sendValue(treasury, toTreasury);
    }

    function _status(RootRecord storage r) private view returns (RootStatus) {
        Stored stored = r.stored;
        if (stored == Stored.None) return RootStatus.None;
        if (stored == Stored.Cancelled) return RootStatus.Cancelled;
        if (stored == Stored.Finalized) return RootStatus.Final;
        uint64 slashedAt = _slashedAt[r.registration];
        if (slashedAt != 0 && slashedAt < r.challengeEnds) return RootStatus.Cancelled;
        return block.timestamp < r.challengeEnds ? RootStatus.Pending : RootStatus.Final;
    }

    /// @dev Records the epochs that started since the last call and returns the current one.
    function _advanceEpoch() private returns (uint256 epoch) {
        Segment storage s = _segments[_segments.length - 1];
        uint256 length = s.length;
        if (length == 0) {
            length = _param(K.ATTRIBUTION_EPOCH_LENGTH);
            s.length = uint64(length);
        }
        epoch = _epoch;
        uint256 end = s.start + (epoch - s.firstEpoch + 1) * length;
        if (block.timestamp < end) return epoch;

        // The length in force now applies to every epoch from the next one on.
        uint256 next = _param(K.ATTRIBUTION_EPOCH_LENGTH);
        if (next != length) {
            _segments.push(Segment({firstEpoch: uint64(epoch + 1), start: uint64(end), length: uint64(next)}));
        }
        uint256 skipped = (block.timestamp - end) / next;
        epoch += 1 + skipped;
        _epoch = epoch;
        emit EpochStarted(epoch, end + skipped * next, next);
    }

    /// @dev When the recorded current epoch ends (its length is fixed, or read if not yet fixed).
    function _currentEnd() private view returns (uint256) {
        Segment storage s = _segments[_segments.length - 1];
        uint256 length = s.length == 0 ? _param(K.ATTRIBUTION_EPOCH_LENGTH) : s.length;
        return s.start + (_epoch - s.firstEpoch + 1) * length;
    }

    /// @dev A multiproof check that reports malformed flags as false instead of reverting with the
    ///      library's error: the false flags must consume exactly the proof (see MerkleProof).
    function _multiProofValid(bytes32[] calldata proof, bool[] calldata flags, bytes32 root, bytes32[] memory leaves)
        private
        pure
        returns (bool)
    {
        if (leaves.length + proof.length != flags.length + 1) return false;
        uint256 fromProof;
        for (uint256 i = 0; i < flags.length; ++i) {
            if (!flags[i]) ++fromProof;
        }
        if (fromProof != proof.length) return false;
        // No leaves and a one-element proof "proves" the empty set against any root equal to proof[0].
        if (leaves.length == 0) return false;
        return MerkleProof.multiProofVerifyCalldata(proof, flags, root, leaves);
    }

    function _leafHash(uint256 index, address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
    }

    function _param(bytes32 key) private view returns (uint256) {
        return params.get(key);
    }
}
