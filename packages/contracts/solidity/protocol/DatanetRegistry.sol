// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {ParamKeys as K} from "./ParamKeys.sol";

/// @title DatanetRegistry
/// @notice Community-owned datasets. Rows live off-chain; the chain holds the Merkle root of every
///         contribution, the curation that approved it, and versions: Merkle roots over approved
///         contributions that models train on. Contributors post a bond that curators' approval
///         and a challenge window stand behind; curators stake, and both are slashed when a
///         challenge shows an approved contribution was fraudulent.
/// @dev Every payout to an arbitrary address is credited and pulled with `withdraw()`; only the
///      trusted EcosystemTreasury is paid by push. The contract's balance always equals the sum of
///      credits, held contributor bonds, curator stakes (active and unbonding) and open challenge bonds.
contract DatanetRegistry is IDatanetRegistry, EIP712, Nonces, ReentrancyGuard {
    enum Status {
        None,
        Pending,
        Approved,
        Rejected,
        Expired,
        Slashed
    }

    enum Vote {
        None,
        Approve,
        Reject
    }

    enum ChallengeStatus {
        None,
        Open,
        Upheld,
        Dismissed
    }

    struct Datanet {
        address owner;
        uint16 curatorQuorum;
        uint64 createdAt;
        // Rows published in versions so far: the row offset the next versioned contribution gets.
        uint128 totalRows;
        // Index into the approval queue of the first approved contribution not yet in a version.
        uint64 queueHead;
        bytes32 validationStandardHash;
        uint256 contributionFee;
        uint256 contributorBond;
        string metadataURI;
        string validationStandardURI;
    }

    struct Contribution {
        address contributor;
        Status status;
        // The Datanet's quorum when submitted: later quorum changes apply to future contributions only.
        uint16 quorum;
        uint16 approvals;
        uint16 rejections;
        uint64 datanetId;
        // 0 until published; a Slashed contribution with a version stays in that version's root (flagged).
        uint64 version;
        uint128 rowOffset;
        uint64 submittedAt;
        uint64 approvedAt;
        uint64 rowCount;
        uint64 byteSize;
        bytes32 dataRoot;
        uint256 fee;
        // Bond still held: zeroed when refunded, released or slashed.
        uint256 bond;
        uint256 openChallenge;
        string metadataURI;
    }

    struct CuratorStake {
        uint256 active;
        uint256 unbonding;
        uint64 unbondingEnd;
        // Open challenges against contributions this curator approved: withdrawal waits for them.
        uint32 openChallenges;
    }

    struct Challenge {
        uint256 contributionId;
        address challenger;
        uint64 createdAt;
        ChallengeStatus status;
        uint32 upholdVotes;
        uint32 rejectVotes;
        uint256 bond;
        string reasonURI;
    }

    struct Version {
        bytes32 root;
        uint128 rowCount;
        uint128 byteSize;
        uint64 publishedAt;
        // The slice of the approval queue this version consumed (entries slashed before publication skipped).
        uint64 queueStart;
        uint64 queueEnd;
    }

    /// @dev What publishVersion gathers from the approval queue.
    struct Batch {
        bytes32[] leaves;
        uint64 queueEnd;
        uint128 nextRow;
        uint128 byteSize;
    }

    struct Reputation {
        uint64 approved;
        uint64 rejected;
        uint64 slashed;
    }

    uint256 private constant BPS = 10_000;
    /// @notice Upper bound on a Datanet's curator quorum: a challenge loops over the approvers.
    uint16 public constant MAX_CURATOR_QUORUM = 100;
    /// @notice At most this many contributions go into one version, so publishing fits in a block;
    ///         the rest wait for the next version.
    uint256 public constant MAX_VERSION_CONTRIBUTIONS = 128;
    bytes32 public constant CONTRIBUTION_TYPEHASH = keccak256(
        "Contribution(uint256 datanetId,bytes32 dataRoot,uint64 rowCount,uint64 byteSize,"
        "bytes32 metadataHash,uint256 nonce,uint256 deadline)"
    );

    /// @notice The governed numbers.
    IProtocolParams public immutable params;
    /// @notice Receives slashed funds net of the challenger's reward.
    address payable public immutable treasury;

    /// @notice Number of Datanets; ids are 1..datanetCount.
    uint256 public datanetCount;
    /// @notice Number of contributions; ids are 1..contributionCount.
    uint256 public contributionCount;
    /// @notice Number of challenges; ids are 1..challengeCount.
    uint256 public challengeCount;

    mapping(uint256 datanetId => Datanet) private _datanets;
    mapping(uint256 contributionId => Contribution) private _contributions;
    mapping(uint256 datanetId => mapping(bytes32 dataRoot => uint256 contributionId)) private _byRoot;
    mapping(uint256 contributionId => mapping(address curator => Vote)) private _votes;
    mapping(uint256 contributionId => address[]) private _approvers;
    mapping(uint256 datanetId => uint256[]) private _approvalQueue;
    mapping(uint256 datanetId => Version[]) private _versions;
    mapping(uint256 datanetId => mapping(uint256 version => address[])) private _versionContributors;
    mapping(uint256 datanetId => mapping(uint256 version => mapping(address => bool))) private _inVersion;
    mapping(uint256 datanetId => mapping(address curator => CuratorStake)) private _stakes;
    mapping(uint256 challengeId => Challenge) private _challenges;
    mapping(uint256 challengeId => mapping(address curator => bool)) private _challengeVoted;
    mapping(address contributor => Reputation) private _reputation;
    mapping(address account => uint256) private _credits;

    event DatanetCreated(
        uint256 indexed datanetId,
        address indexed owner,
        bytes32 validationStandardHash,
        string metadataURI,
        string validationStandardURI,
        uint256 contributionFee,
        uint256 contributorBond,
        uint16 curatorQuorum
    );
    event DatanetMetadataUpdated(uint256 indexed datanetId, string metadataURI);
    event DatanetTermsUpdated(
        uint256 indexed datanetId, uint256 contributionFee, uint256 contributorBond, uint16 curatorQuorum
    );
    event DatanetOwnershipTransferred(
        uint256 indexed datanetId, address indexed previousOwner, address indexed newOwner
    );
    event ContributionSubmitted(
        uint256 indexed contributionId,
        uint256 indexed datanetId,
        address indexed contributor,
        address payer,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string metadataURI
    );
    event CuratorStaked(uint256 indexed datanetId, address indexed curator, uint256 amount, uint256 activeStake);
    event CuratorUnstaked(uint256 indexed datanetId, address indexed curator, uint256 amount, uint64 unbondingEnd);
    event CuratorStakeWithdrawn(uint256 indexed datanetId, address indexed curator, uint256 amount);
    event CuratorSlashed(
        uint256 indexed datanetId, address indexed curator, uint256 indexed challengeId, uint256 amount
    );
    event Voted(uint256 indexed contributionId, address indexed curator, bool approve);
    event ContributionApproved(uint256 indexed contributionId, uint256 indexed datanetId, address indexed contributor);
    event ContributionRejected(uint256 indexed contributionId, uint256 indexed datanetId, address indexed contributor);
    event ContributionExpired(uint256 indexed contributionId, uint256 indexed datanetId, address indexed contributor);
    event ContributionVersioned(
        uint256 indexed datanetId, uint256 indexed version, uint256 indexed contributionId, uint256 rowOffset
    );
    event VersionPublished(
        uint256 indexed datanetId,
        uint256 indexed version,
        bytes32 root,
        uint256 rowCount,
        uint256 byteSize,
        uint256 contributions,
        address publisher
    );
    event Challenged(
        uint256 indexed challengeId,
        uint256 indexed contributionId,
        address indexed challenger,
        uint256 bond,
        string reasonURI
    );
    event ChallengeVoted(uint256 indexed challengeId, address indexed curator, bool uphold);
    event ChallengeResolved(
        uint256 indexed challengeId, uint256 indexed contributionId, bool upheld, uint32 upholdVotes, uint32 rejectVotes
    );
    event ContributionSlashed(
        uint256 indexed contributionId, uint256 indexed challengeId, uint256 version, uint256 bondSlashed
    );
    event SlashDistributed(
        uint256 indexed challengeId, uint256 totalSlashed, uint256 challengerReward, uint256 treasuryAmount
    );
    event BondRefunded(uint256 indexed contributionId, address indexed contributor, uint256 amount);
    event BondReleased(uint256 indexed contributionId, address indexed contributor, uint256 amount);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    error UnknownDatanet(uint256 datanetId);
    error UnknownContribution(uint256 contributionId);
    error UnknownChallenge(uint256 challengeId);
    error UnknownVersion(uint256 datanetId, uint256 version);
    error NotDatanetOwner(uint256 datanetId, address caller);
    error NotOwnerOrCurator(uint256 datanetId, address caller);
    error ZeroAddress();
    error BondTooLow(uint256 bond, uint256 minimum);
    error QuorumOutOfRange(uint16 quorum, uint256 minimum, uint256 maximum);
    error WrongPayment(uint256 sent, uint256 expected);
    error InvalidRowCount(uint64 rowCount, uint256 maximum);
    error ZeroDataRoot();
    error DuplicateContribution(uint256 datanetId, bytes32 dataRoot, uint256 existingContributionId);
    error SignatureExpired(uint256 deadline);
    error InvalidSignature();
    error ZeroAmount();
    error StakeTooLow(uint256 stake, uint256 minimum);
    error InsufficientStake(uint256 requested, uint256 active);
    error NothingToWithdraw();
    error UnbondingNotFinished(uint64 unbondingEnd);
    error StakeLocked(uint32 openChallenges);
    error NotCurator(uint256 datanetId, address account);
    error ContributorCannotVote();
    error ContributorCannotChallenge();
    error ApproverCannotVote();
    error AlreadyVoted();
    error WrongStatus(Status status);
    error CurationClosed(uint256 deadline);
    error CurationOpen(uint256 deadline);
    error NothingToPublish(uint256 datanetId);
    error ChallengeWindowClosed(uint256 deadline);
    error ChallengeWindowOpen(uint256 deadline);
    error ChallengeOpen(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error ChallengeVotingClosed(uint256 deadline);
    error ChallengeVotingOpen(uint256 deadline);

    constructor(IProtocolParams params_, address payable treasury_) EIP712("OpenLedger DatanetRegistry", "1") {
        if (address(params_) == address(0) || treasury_ == address(0)) revert ZeroAddress();
        params = params_;
        treasury = treasury_;
    }

    // ---------------------------------------------------------------- Datanets

    /// @notice Creates a Datanet owned by the caller; returns its id (from 1).
    /// @param validationStandardHash Commitment (hash) to the off-chain validation standard curators apply.
    /// @param contributionFee Paid by every contribution to the owner.
    /// @param contributorBond Held per contribution until released, refunded or slashed.
    function createDatanet(
        string calldata metadataURI,
        bytes32 validationStandardHash,
        string calldata validationStandardURI,
        uint256 contributionFee,
        uint256 contributorBond,
        uint16 curatorQuorum
    ) external returns (uint256 datanetId) {
        _checkTerms(contributorBond, curatorQuorum);
        datanetId = ++datanetCount;
        Datanet storage d = _datanets[datanetId];
        d.owner = msg.sender;
        d.curatorQuorum = curatorQuorum;
        d.createdAt = uint64(block.timestamp);
        d.validationStandardHash = validationStandardHash;
        d.contributionFee = contributionFee;
        d.contributorBond = contributorBond;
        d.metadataURI = metadataURI;
        d.validationStandardURI = validationStandardURI;
        emit DatanetCreated(
            datanetId,
            msg.sender,
            validationStandardHash,
            metadataURI,
            validationStandardURI,
            contributionFee,
            contributorBond,
            curatorQuorum
        );
    }

    /// @notice Owner only: replaces the Datanet's metadata URI.
    function updateMetadata(uint256 datanetId, string calldata metadataURI) external {
        Datanet storage d = _ownedDatanet(datanetId);
        d.metadataURI = metadataURI;
        emit DatanetMetadataUpdated(datanetId, metadataURI);
    }

    /// @notice Owner only: sets fee, bond and quorum for future contributions (submitted ones keep theirs).
    function updateTerms(uint256 datanetId, uint256 contributionFee, uint256 contributorBond, uint16 curatorQuorum)
        external
    {
        Datanet storage d = _ownedDatanet(datanetId);
        _checkTerms(contributorBond, curatorQuorum);
        d.contributionFee = contributionFee;
        d.contributorBond = contributorBond;
        d.curatorQuorum = curatorQuorum;
        emit DatanetTermsUpdated(datanetId, contributionFee, contributorBond, curatorQuorum);
    }

    /// @notice Owner only: hands the Datanet to `newOwner`. Fees already credited stay with the old owner.
    function transferDatanetOwnership(uint256 datanetId, address newOwner) external {
        Datanet storage d = _ownedDatanet(datanetId);
        if (newOwner == address(0)) revert ZeroAddress();
        emit DatanetOwnershipTransferred(datanetId, d.owner, newOwner);
        d.owner = newOwner;
    }

    // ---------------------------------------------------------------- Contributions

    /// @notice Submits a contribution (rows committed by `dataRoot`) for the caller; msg.value must be
    ///         exactly fee + bond. The fee is credited to the Datanet owner, the bond is held.
    function submitContribution(
        uint256 datanetId,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string calldata metadataURI
    ) external payable returns (uint256 contributionId) {
        return _submit(msg.sender, datanetId, dataRoot, rowCount, byteSize, metadataURI);
    }

    /// @notice Relayed submission: `contributor` signed the EIP-712 `Contribution` typed data, the caller
    ///         pays fee + bond, and the contribution (and its bond, when returned) belongs to `contributor`.
    function submitContributionWithSig(
        address contributor,
        uint256 datanetId,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string calldata metadataURI,
        uint256 deadline,
        bytes calldata signature
    ) external payable returns (uint256 contributionId) {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        {
            bytes memory fields = _typedFields(datanetId, dataRoot, rowCount, byteSize, metadataURI);
            _checkSignature(contributor, fields, deadline, signature);
        }
        return _submit(contributor, datanetId, dataRoot, rowCount, byteSize, metadataURI);
    }

    /// @notice The EIP-712 digest a contributor signs for `submitContributionWithSig`; `nonce` is
    ///         `nonces(contributor)` at signing time.
    function contributionDigest(
        uint256 datanetId,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string calldata metadataURI,
        uint256 nonce,
        uint256 deadline
    ) external view returns (bytes32) {
        return _digest(_typedFields(datanetId, dataRoot, rowCount, byteSize, metadataURI), nonce, deadline);
    }

    /// @notice A curator with at least the minimum stake votes once on a pending contribution within the
    ///         curation period; reaching the quorum approves or rejects it.
    function vote(uint256 contributionId, bool approve) external {
        Contribution storage c = _existingContribution(contributionId);
        if (c.status != Status.Pending) revert WrongStatus(c.status);
        uint256 deadline = c.submittedAt + params.get(K.DATANET_CURATION_PERIOD);
        if (block.timestamp > deadline) revert CurationClosed(deadline);
        if (msg.sender == c.contributor) revert ContributorCannotVote();
        _requireCurator(c.datanetId, msg.sender);
        if (_votes[contributionId][msg.sender] != Vote.None) revert AlreadyVoted();
        _votes[contributionId][msg.sender] = approve ? Vote.Approve : Vote.Reject;
        emit Voted(contributionId, msg.sender, approve);

        if (approve) {
            _approvers[contributionId].push(msg.sender);
            if (++c.approvals >= c.quorum) {
                c.status = Status.Approved;
                c.approvedAt = uint64(block.timestamp);
                _approvalQueue[c.datanetId].push(contributionId);
                _reputation[c.contributor].approved++;
                emit ContributionApproved(contributionId, c.datanetId, c.contributor);
            }
        } else if (++c.rejections >= c.quorum) {
            // Rejection is a quality judgment, not fraud: the bond goes back.
            c.status = Status.Rejected;
            _reputation[c.contributor].rejected++;
            emit ContributionRejected(contributionId, c.datanetId, c.contributor);
            _refundBond(contributionId, c);
        }
    }

    /// @notice Anyone: closes a contribution that reached no quorum within the curation period and
    ///         refunds its bond.
    function expire(uint256 contributionId) external {
        Contribution storage c = _existingContribution(contributionId);
        if (c.status != Status.Pending) revert WrongStatus(c.status);
        uint256 deadline = c.submittedAt + params.get(K.DATANET_CURATION_PERIOD);
        if (block.timestamp <= deadline) revert CurationOpen(deadline);
        c.status = Status.Expired;
        emit ContributionExpired(contributionId, c.datanetId, c.contributor);
        _refundBond(contributionId, c);
    }

    /// @notice Anyone: credits an approved contribution's bond back to its contributor once the
    ///         challenge window has passed with no challenge open.
    function releaseBond(uint256 contributionId) external {
        Contribution storage c = _existingContribution(contributionId);
        if (c.status != Status.Approved) revert WrongStatus(c.status);
        if (c.openChallenge != 0) revert ChallengeOpen(c.openChallenge);
        uint256 deadline = c.approvedAt + params.get(K.DATANET_CHALLENGE_WINDOW);
        if (block.timestamp <= deadline) revert ChallengeWindowOpen(deadline);
        uint256 bond = c.bond;
        if (bond == 0) revert NothingToWithdraw();
        c.bond = 0;
        emit BondReleased(contributionId, c.contributor, bond);
        _credit(c.contributor, bond);
    }

    // ---------------------------------------------------------------- Curators

    /// @notice Adds msg.value to the caller's curator stake on a Datanet; the active total must reach
    ///         the minimum curator stake.
    function stakeAsCurator(uint256 datanetId) external payable {
        _existingDatanet(datanetId);
        if (msg.value == 0) revert ZeroAmount();
        CuratorStake storage s = _stakes[datanetId][msg.sender];
        uint256 active = s.active + msg.value;
        uint256 minimum = params.get(K.DATANET_MIN_CURATOR_STAKE);
        if (active < minimum) revert StakeTooLow(active, minimum);
        s.active = active;
        emit CuratorStaked(datanetId, msg.sender, msg.value, active);
    }

    /// @notice Moves `amount` of active stake to unbonding. The whole unbonding amount becomes
    ///         withdrawable one unbonding period after the latest unstake, and stays slashable until then.
    function unstakeCurator(uint256 datanetId, uint256 amount) external {
        _existingDatanet(datanetId);
        if (amount == 0) revert ZeroAmount();
        CuratorStake storage s = _stakes[datanetId][msg.sender];
        if (amount > s.active) revert InsufficientStake(amount, s.active);
        s.active -= amount;
        s.unbonding += amount;
        uint64 end = uint64(block.timestamp + params.get(K.DATANET_CURATOR_UNBONDING_PERIOD));
        s.unbondingEnd = end;
        emit CuratorUnstaked(datanetId, msg.sender, amount, end);
    }

    /// @notice Pays the caller its unbonded curator stake, after the unbonding period and once no
    ///         challenge against a contribution it approved is open.
    function withdrawCuratorStake(uint256 datanetId) external nonReentrant {
        CuratorStake storage s = _stakes[datanetId][msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < s.unbondingEnd) revert UnbondingNotFinished(s.unbondingEnd);
        if (s.openChallenges != 0) revert StakeLocked(s.openChallenges);
        s.unbonding = 0;
        emit CuratorStakeWithdrawn(datanetId, msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- Versions

    /// @notice Owner or curator: publishes the approved contributions not yet in a version (in approval
    ///         order, at most MAX_VERSION_CONTRIBUTIONS) as the next version and returns its number.
    /// @dev The root equals `SimpleMerkleTree.of(leaves, { sortLeaves: false }).root` of the OpenZeppelin
    ///      merkle-tree npm package, leaf_i = keccak256(abi.encode(contributionId, dataRoot, rowOffset, rowCount))
    ///      as (uint256, bytes32, uint256, uint256). The loop is bounded by MAX_VERSION_CONTRIBUTIONS included
    ///      entries plus the queue entries slashed before publication, which are skipped. Measured cost: about
    ///      200k gas, plus about 10k per contribution and 65k more per distinct contributor, so a full version
    ///      of distinct contributors stays near 10M gas, well inside a 30M block.
    function publishVersion(uint256 datanetId) external returns (uint256 version) {
        Datanet storage d = _existingDatanet(datanetId);
        if (msg.sender != d.owner && !isCurator(datanetId, msg.sender)) {
            revert NotOwnerOrCurator(datanetId, msg.sender);
        }
        version = _versions[datanetId].length + 1;
        uint128 firstRow = d.totalRows;
        Batch memory b = _collect(datanetId, version, d.queueHead, firstRow);
        if (b.leaves.length == 0) revert NothingToPublish(datanetId);

        bytes32 root = _merkleRoot(b.leaves);
        uint128 rows = b.nextRow - firstRow;
        _versions[datanetId].push(
            Version({
                root: root,
                rowCount: rows,
                byteSize: b.byteSize,
                publishedAt: uint64(block.timestamp),
                queueStart: d.queueHead,
                queueEnd: b.queueEnd
            })
        );
        d.totalRows = b.nextRow;
        d.queueHead = b.queueEnd;
        emit VersionPublished(datanetId, version, root, rows, b.byteSize, b.leaves.length, msg.sender);
    }

    // ---------------------------------------------------------------- Challenges

    /// @notice Challenges an approved contribution within the challenge window; msg.value must be
    ///         exactly the challenge bond. One open challenge per contribution.
    function challenge(uint256 contributionId, string calldata reasonURI)
        external
        payable
        returns (uint256 challengeId)
    {
        Contribution storage c = _existingContribution(contributionId);
        if (c.status != Status.Approved) revert WrongStatus(c.status);
        if (c.openChallenge != 0) revert ChallengeOpen(c.openChallenge);
        uint256 deadline = c.approvedAt + params.get(K.DATANET_CHALLENGE_WINDOW);
        if (block.timestamp > deadline) revert ChallengeWindowClosed(deadline);
        if (msg.sender == c.contributor) revert ContributorCannotChallenge();
        uint256 bond = params.get(K.DATANET_CHALLENGE_BOND);
        if (msg.value != bond) revert WrongPayment(msg.value, bond);

        challengeId = ++challengeCount;
        Challenge storage ch = _challenges[challengeId];
        ch.contributionId = contributionId;
        ch.challenger = msg.sender;
        ch.createdAt = uint64(block.timestamp);
        ch.status = ChallengeStatus.Open;
        ch.bond = bond;
        ch.reasonURI = reasonURI;
        c.openChallenge = challengeId;
        // Approvers cannot withdraw unbonded stake while the challenge that may slash it is open.
        address[] storage approvers_ = _approvers[contributionId];
        uint256 datanetId = c.datanetId;
        for (uint256 j; j < approvers_.length; ++j) {
            _stakes[datanetId][approvers_[j]].openChallenges++;
        }
        emit Challenged(challengeId, contributionId, msg.sender, bond, reasonURI);
    }

    /// @notice A curator of the Datanet who did not approve the contribution votes once on an open
    ///         challenge, within the curation period after it was opened.
    function voteOnChallenge(uint256 challengeId, bool uphold) external {
        Challenge storage ch = _openChallenge(challengeId);
        uint256 deadline = ch.createdAt + params.get(K.DATANET_CURATION_PERIOD);
        if (block.timestamp > deadline) revert ChallengeVotingClosed(deadline);
        Contribution storage c = _contributions[ch.contributionId];
        if (msg.sender == c.contributor) revert ContributorCannotVote();
        if (_votes[ch.contributionId][msg.sender] == Vote.Approve) revert ApproverCannotVote();
        _requireCurator(c.datanetId, msg.sender);
        if (_challengeVoted[challengeId][msg.sender]) revert AlreadyVoted();
        _challengeVoted[challengeId][msg.sender] = true;
        if (uphold) ch.upholdVotes++;
        else ch.rejectVotes++;
        emit ChallengeVoted(challengeId, msg.sender, uphold);
    }

    /// @notice Anyone, after the challenge's voting period: upheld (more uphold than reject votes) slashes
    ///         the contributor bond and the approvers' stake, paying the challenger its reward and the
    ///         treasury the rest; otherwise the challenger's bond compensates the contributor.
    function resolveChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage ch = _openChallenge(challengeId);
        uint256 deadline = ch.createdAt + params.get(K.DATANET_CURATION_PERIOD);
        if (block.timestamp <= deadline) revert ChallengeVotingOpen(deadline);
        uint256 contributionId = ch.contributionId;
        Contribution storage c = _contributions[contributionId];
        bool upheld = ch.upholdVotes > ch.rejectVotes;
        ch.status = upheld ? ChallengeStatus.Upheld : ChallengeStatus.Dismissed;
        c.openChallenge = 0;
        emit ChallengeResolved(challengeId, contributionId, upheld, ch.upholdVotes, ch.rejectVotes);

        if (!upheld) {
            _credit(c.contributor, ch.bond);
            _unlockApprovers(contributionId, c.datanetId, 0, 0);
            return;
        }

        c.status = Status.Slashed;
        _reputation[c.contributor].slashed++;
        uint256 slashed = c.bond;
        c.bond = 0;
        emit ContributionSlashed(contributionId, challengeId, c.version, slashed);
        slashed += _unlockApprovers(contributionId, c.datanetId, challengeId, params.get(K.DATANET_CURATOR_SLASH_BPS));

        // Rounding remainder of the reward goes to the treasury with the rest.
        uint256 reward = slashed * params.get(K.CHALLENGER_REWARD_BPS) / BPS;
        uint256 toTreasury = slashed - reward;
        emit SlashDistributed(challengeId, slashed, reward, toTreasury);
        _credit(ch.challenger, reward + ch.bond);
        if (toTreasury != 0) Address.sendValue(treasury, toTreasury);
    }

    // ---------------------------------------------------------------- Payouts

    /// @notice Pays the caller everything credited to it (fees, refunded or released bonds, rewards,
    ///         compensation).
    function withdraw() external nonReentrant {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        _credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- Views

    /// @inheritdoc IDatanetRegistry
    function exists(uint256 datanetId) public view returns (bool) {
        return _datanets[datanetId].owner != address(0);
    }

    /// @inheritdoc IDatanetRegistry
    /// @dev Reverts UnknownDatanet for an id never created, so nothing is ever paid to address(0).
    function datanetOwner(uint256 datanetId) external view returns (address) {
        return _existingDatanet(datanetId).owner;
    }

    /// @inheritdoc IDatanetRegistry
    function versionCount(uint256 datanetId) external view returns (uint256) {
        return _versions[datanetId].length;
    }

    /// @inheritdoc IDatanetRegistry
    function versionInfo(uint256 datanetId, uint256 version)
        external
        view
        returns (bytes32 root, uint256 rowCount, uint256 byteSize, uint64 publishedAt)
    {
        Version storage v = _version(datanetId, version);
        return (v.root, v.rowCount, v.byteSize, v.publishedAt);
    }

    /// @inheritdoc IDatanetRegistry
    function versionContributors(uint256 datanetId, uint256 version) external view returns (address[] memory) {
        _version(datanetId, version);
        return _versionContributors[datanetId][version];
    }

    /// @notice True if `contributor` has a contribution in the version (one of `versionContributors`).
    function isVersionContributor(uint256 datanetId, uint256 version, address contributor)
        external
        view
        returns (bool)
    {
        return _inVersion[datanetId][version][contributor];
    }

    /// @notice The contribution ids in a version, in leaf order (including ones slashed since).
    function versionContributions(uint256 datanetId, uint256 version) external view returns (uint256[] memory ids) {
        Version storage v = _version(datanetId, version);
        uint256[] storage queue = _approvalQueue[datanetId];
        ids = new uint256[](v.queueEnd - v.queueStart);
        uint256 n;
        for (uint256 i = v.queueStart; i < v.queueEnd; ++i) {
            if (_contributions[queue[i]].version == version) ids[n++] = queue[i];
        }
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    /// @notice Everything stored about a Datanet.
    function datanet(uint256 datanetId) external view returns (Datanet memory) {
        return _existingDatanet(datanetId);
    }

    /// @notice Everything stored about a contribution (status, datanetId, contributor, version, rowOffset, ...).
    function contribution(uint256 contributionId) external view returns (Contribution memory) {
        return _existingContribution(contributionId);
    }

    /// @notice The latest contribution that committed `dataRoot` in a Datanet (0 if none).
    function contributionByRoot(uint256 datanetId, bytes32 dataRoot) external view returns (uint256) {
        return _byRoot[datanetId][dataRoot];
    }

    /// @notice The curators whose approvals approved a contribution, in vote order.
    function approvers(uint256 contributionId) external view returns (address[] memory) {
        return _approvers[contributionId];
    }

    /// @notice How `curator` voted on a contribution.
    function voteOf(uint256 contributionId, address curator) external view returns (Vote) {
        return _votes[contributionId][curator];
    }

    /// @notice A versioned contribution's leaf in its version's tree.
    function contributionLeaf(uint256 contributionId) public view returns (bytes32) {
        Contribution storage c = _existingContribution(contributionId);
        if (c.version == 0) revert UnknownVersion(c.datanetId, 0);
        return _leaf(contributionId, c.dataRoot, c.rowOffset, c.rowCount);
    }

    /// @notice True if `proof` proves the contribution's leaf against its version's root.
    function verifyContribution(uint256 contributionId, bytes32[] calldata proof) external view returns (bool) {
        Contribution storage c = _existingContribution(contributionId);
        bytes32 root = _version(c.datanetId, c.version).root;
        return MerkleProof.verifyCalldata(proof, root, contributionLeaf(contributionId));
    }

    /// @notice A curator's stake on a Datanet.
    function curatorStake(uint256 datanetId, address curator) external view returns (CuratorStake memory) {
        return _stakes[datanetId][curator];
    }

    /// @notice True if `account` has at least the minimum curator stake active on the Datanet.
    function isCurator(uint256 datanetId, address account) public view returns (bool) {
        uint256 active = _stakes[datanetId][account].active;
        return active != 0 && active >= params.get(K.DATANET_MIN_CURATOR_STAKE);
    }

    /// @notice Everything stored about a challenge.
    function challengeInfo(uint256 challengeId) external view returns (Challenge memory) {
        Challenge storage ch = _challenges[challengeId];
        if (ch.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        return ch;
    }

    /// @notice True if `curator` voted on the challenge.
    function hasVotedOnChallenge(uint256 challengeId, address curator) external view returns (bool) {
        return _challengeVoted[challengeId][curator];
    }

    /// @notice A contributor's track record.
    function reputation(address contributor) external view returns (uint64 approved, uint64 rejected, uint64 slashed) {
        Reputation storage r = _reputation[contributor];
        return (r.approved, r.rejected, r.slashed);
    }

    /// @notice What `withdraw()` would pay `account`.
    function withdrawable(address account) external view returns (uint256) {
        return _credits[account];
    }

    // ---------------------------------------------------------------- Internals

    /// @dev The leading words of the Contribution struct's EIP-712 encoding (type hash through metadataHash);
    ///      split from nonce and deadline only to keep the relayed entry point within the stack limit.
    function _typedFields(
        uint256 datanetId,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string calldata metadataURI
    ) private pure returns (bytes memory) {
        return abi.encode(
            CONTRIBUTION_TYPEHASH, datanetId, dataRoot, rowCount, byteSize, keccak256(bytes(metadataURI))
        );
    }

    function _digest(bytes memory fields, uint256 nonce, uint256 deadline) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(bytes.concat(fields, abi.encode(nonce, deadline))));
    }

    /// @dev Consumes the contributor's nonce before checking: a failed check reverts it, and a passed one
    ///      makes the same signature fail next time (replay).
    function _checkSignature(address contributor, bytes memory fields, uint256 deadline, bytes calldata signature)
        private
    {
        bytes32 digest = _digest(fields, _useNonce(contributor), deadline);
        if (contributor == address(0) || !SignatureChecker.isValidSignatureNowCalldata(contributor, digest, signature))
        {
            revert InvalidSignature();
        }
    }

    function _submit(
        address contributor,
        uint256 datanetId,
        bytes32 dataRoot,
        uint64 rowCount,
        uint64 byteSize,
        string calldata metadataURI
    ) private returns (uint256 id) {
        Datanet storage d = _existingDatanet(datanetId);
        if (dataRoot == bytes32(0)) revert ZeroDataRoot();
        {
            uint256 maxRows = params.get(K.DATANET_MAX_ROWS_PER_CONTRIBUTION);
            if (rowCount == 0 || rowCount > maxRows) revert InvalidRowCount(rowCount, maxRows);
            uint256 price = d.contributionFee + d.contributorBond;
            if (msg.value != price) revert WrongPayment(msg.value, price);
            // An expired root may be resubmitted (nobody judged it); any other earlier commitment blocks it.
            uint256 previous = _byRoot[datanetId][dataRoot];
            if (previous != 0 && _contributions[previous].status != Status.Expired) {
                revert DuplicateContribution(datanetId, dataRoot, previous);
            }
        }

        id = ++contributionCount;
        _byRoot[datanetId][dataRoot] = id;
        Contribution storage c = _contributions[id];
        c.contributor = contributor;
        c.status = Status.Pending;
        c.quorum = d.curatorQuorum;
        c.datanetId = uint64(datanetId);
        c.submittedAt = uint64(block.timestamp);
        c.rowCount = rowCount;
        c.byteSize = byteSize;
        c.dataRoot = dataRoot;
        c.fee = d.contributionFee;
        c.bond = d.contributorBond;
        c.metadataURI = metadataURI;
        emit ContributionSubmitted(id, datanetId, contributor, msg.sender, dataRoot, rowCount, byteSize, metadataURI);
        _credit(d.owner, c.fee);
    }

    /// @dev Ends the lock a challenge put on the contribution's approvers and, with a non-zero `slashBps`,
    ///      slashes each approver's stake on the Datanet (active first, then unbonding). Returns the total
    ///      slashed. Bounded by the quorum (at most MAX_CURATOR_QUORUM approvers).
    function _unlockApprovers(uint256 contributionId, uint256 datanetId, uint256 challengeId, uint256 slashBps)
        private
        returns (uint256 total)
    {
        address[] storage approvers_ = _approvers[contributionId];
        for (uint256 j; j < approvers_.length; ++j) {
            address curator = approvers_[j];
            CuratorStake storage s = _stakes[datanetId][curator];
            s.openChallenges--;
            if (slashBps == 0) continue;
            uint256 amount = (s.active + s.unbonding) * slashBps / BPS;
            if (amount == 0) continue;
            uint256 fromActive = amount < s.active ? amount : s.active;
            s.active -= fromActive;
            s.unbonding -= amount - fromActive;
            total += amount;
            emit CuratorSlashed(datanetId, curator, challengeId, amount);
        }
    }

    /// @dev Walks the approval queue from `head`, assigning row offsets from `firstRow` and the version to
    ///      every still-Approved entry (at most MAX_VERSION_CONTRIBUTIONS), skipping ones slashed before
    ///      publication, and records the version's distinct contributors.
    function _collect(uint256 datanetId, uint256 version, uint64 head, uint128 firstRow)
        private
        returns (Batch memory b)
    {
        uint256[] storage queue = _approvalQueue[datanetId];
        uint256 end = queue.length;
        uint256 cap = end - head < MAX_VERSION_CONTRIBUTIONS ? end - head : MAX_VERSION_CONTRIBUTIONS;
        b.leaves = new bytes32[](cap);
        b.nextRow = firstRow;
        uint256 n;
        uint256 i = head;
        for (; i < end && n < cap; ++i) {
            uint256 id = queue[i];
            Contribution storage c = _contributions[id];
            if (c.status != Status.Approved) continue;
            c.version = uint64(version);
            c.rowOffset = b.nextRow;
            b.leaves[n++] = _leaf(id, c.dataRoot, b.nextRow, c.rowCount);
            emit ContributionVersioned(datanetId, version, id, b.nextRow);
            b.nextRow += c.rowCount;
            b.byteSize += c.byteSize;
            _addVersionContributor(datanetId, version, c.contributor);
        }
        bytes32[] memory leaves = b.leaves;
        // Shrink to the leaves actually filled: skipped entries leave the tail unused.
        assembly ("memory-safe") {
            mstore(leaves, n)
        }
        b.queueEnd = uint64(i);
    }

    function _addVersionContributor(uint256 datanetId, uint256 version, address contributor) private {
        mapping(address => bool) storage seen = _inVersion[datanetId][version];
        if (seen[contributor]) return;
        seen[contributor] = true;
        _versionContributors[datanetId][version].push(contributor);
    }

    function _refundBond(uint256 contributionId, Contribution storage c) private {
        uint256 bond = c.bond;
        c.bond = 0;
        emit BondRefunded(contributionId, c.contributor, bond);
        _credit(c.contributor, bond);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _credits[account] += amount;
        emit Credited(account, amount);
    }

    /// @dev OpenZeppelin merkle-tree's layout: 2n-1 nodes, leaf i at index 2n-2-i, node i hashes its
    ///      children 2i+1 and 2i+2 with the commutative (sorted-pair) keccak; the root is node 0.
    function _merkleRoot(bytes32[] memory leaves) private pure returns (bytes32) {
        uint256 n = leaves.length;
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            tree[2 * n - 2 - i] = leaves[i];
        }
        for (uint256 i = n - 1; i > 0;) {
            --i;
            tree[i] = Hashes.commutativeKeccak256(tree[2 * i + 1], tree[2 * i + 2]);
        }
        return tree[0];
    }

    function _leaf(uint256 contributionId, bytes32 dataRoot, uint256 rowOffset, uint256 rowCount)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(contributionId, dataRoot, rowOffset, rowCount));
    }

    function _checkTerms(uint256 contributorBond, uint16 curatorQuorum) private view {
        uint256 minBond = params.get(K.DATANET_MIN_CONTRIBUTOR_BOND);
        if (contributorBond < minBond) revert BondTooLow(contributorBond, minBond);
        uint256 minQuorum = params.get(K.DATANET_MIN_CURATOR_QUORUM);
        if (curatorQuorum < minQuorum || curatorQuorum > MAX_CURATOR_QUORUM) {
            revert QuorumOutOfRange(curatorQuorum, minQuorum, MAX_CURATOR_QUORUM);
        }
    }

    function _requireCurator(uint256 datanetId, address account) private view {
        if (!isCurator(datanetId, account)) revert NotCurator(datanetId, account);
    }

    function _existingDatanet(uint256 datanetId) private view returns (Datanet storage d) {
        d = _datanets[datanetId];
        if (d.owner == address(0)) revert UnknownDatanet(datanetId);
    }

    function _ownedDatanet(uint256 datanetId) private view returns (Datanet storage d) {
        d = _existingDatanet(datanetId);
        if (msg.sender != d.owner) revert NotDatanetOwner(datanetId, msg.sender);
    }

    function _existingContribution(uint256 contributionId) private view returns (Contribution storage c) {
        c = _contributions[contributionId];
        if (c.status == Status.None) revert UnknownContribution(contributionId);
    }

    function _openChallenge(uint256 challengeId) private view returns (Challenge storage ch) {
        ch = _challenges[challengeId];
        if (ch.status == ChallengeStatus.None) revert UnknownChallenge(challengeId);
        if (ch.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
    }

    function _version(uint256 datanetId, uint256 version) private view returns (Version storage) {
        Version[] storage versions = _versions[datanetId];
        if (version == 0 || version > versions.length) revert UnknownVersion(datanetId, version);
        return versions[version - 1];
    }
}
