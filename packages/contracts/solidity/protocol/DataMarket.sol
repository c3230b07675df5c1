// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {ParamKeys as K} from "./ParamKeys.sol";

/// @title DataMarket
/// @notice Licences to a published Datanet version or to a model, sold through escrow. The buyer pays
///         the price plus a dispute bond; the seller has posted a listing bond. The buyer accepts (or
///         anyone finalizes after the acceptance window) and the seller is paid, or the buyer disputes
///         and a jury drawn from staked jurors decides. A purchase record that is not refunded is the
///         licence the data plane and the model servers check (`licence`).
/// @dev Money model (no wei is created or lost; the contract holds exactly the sum of):
///      - every listing's `freeBond + lockedBond`;
///      - `price + bond` of every Pending or Disputed purchase (the buyer's escrow);
///      - every juror's `stake`;
///      - every `balances` entry (withdrawable with `withdraw`).
///      Seller bonds: one bond is `price * MARKET_DISPUTE_BOND_BPS / 10,000` (rounded down), read when
///      the purchase is made and stored in it. Listing posts one bond (`freeBond`); every purchase locks
///      one bond out of `freeBond` into `lockedBond` (reverting `SellerBondInsufficient` when the free
///      part is too small, so a seller with many concurrent buyers tops up with `topUpListingBond`).
///      When a purchase settles without a slash the bond goes back to `freeBond`, or to the seller's
///      balance once the listing is delisted; `delist` returns `freeBond` at once.
///      Rounding: the protocol fee and juror slashes round down (in the payer's favour); the jurors'
///      half of a dispute pot is split equally and its remainder goes to the treasury.
contract DataMarket is ReentrancyGuard {
    /// @notice What a listing sells.
    enum AssetKind {
        DatanetVersion,
        Model
    }

    /// @notice Life of a purchase: Pending (in the acceptance window), Disputed, then Completed (seller
    ///         paid) or Refunded (buyer repaid; the licence is void).
    enum PurchaseStatus {
        None,
        Pending,
        Disputed,
        Completed,
        Refunded
    }

    /// @notice Active jurors are drawable; Unbonding ones are not, but stay slashable until withdrawn.
    enum JurorStatus {
        None,
        Active,
        Unbonding
    }

    /// @notice A drawn juror's ballot in one dispute; None means "not on this jury".
    enum Ballot {
        None,
        NotVoted,
        Refund,
        Seller
    }

    struct Listing {
        address seller;
        AssetKind kind;
        bool active;
        uint256 assetId;
        uint256 version;
        uint256 price;
        uint256 freeBond;
        uint256 lockedBond;
        uint256 pendingPurchases;
        string termsURI;
    }

    struct Purchase {
        uint256 listingId;
        address buyer;
        PurchaseStatus status;
        uint64 deadline;
        uint256 price;
        /// @dev The buyer's bond, and also the amount locked out of the seller's listing bond.
        uint256 bond;
        uint256 disputeId;
    }

    struct Dispute {
        uint256 purchaseId;
        uint64 createdBlock;
        uint64 drawDeadline;
        uint64 voteDeadline;
        bool resolved;
        bool refundBuyer;
        uint32 refundVotes;
        uint32 sellerVotes;
        address[] jurors;
        string reasonURI;
    }

    /// @notice A dispute with each drawn juror's ballot, in the order of `jurors`.
    struct DisputeView {
        uint256 purchaseId;
        uint64 createdBlock;
        uint64 drawDeadline;
        uint64 voteDeadline;
        bool resolved;
        bool refundBuyer;
        uint32 refundVotes;
        uint32 sellerVotes;
        address[] jurors;
        Ballot[] ballots;
        string reasonURI;
    }

    /// @notice A contribution of a Datanet version and its proof up to the version root.
    struct SampleContribution {
        uint256 contributionId;
        bytes32 dataRoot;
        uint256 rowOffset;
        uint256 rowCount;
        bytes32[] proof;
    }

    struct Juror {
        JurorStatus status;
        uint64 unlockAt;
        uint32 pendingDisputes;
        uint32 slot;
        uint256 stake;
    }

    uint256 private constant BPS = 10_000;

    /// @notice The governed numbers (the MARKET_* keys), read at use time.
    IProtocolParams public immutable params;
    /// @notice Says who owns a Datanet and which versions are published.
    IDatanetRegistry public immutable datanets;
    /// @notice Says who owns a model and whether it is active.
    IModelRegistry public immutable models;
    /// @notice Receives protocol fees and its share of everything slashed.
    address payable public immutable treasury;

    /// @notice Number of listings; ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice Number of purchases; ids are 1..purchaseCount.
    uint256 public purchaseCount;
    /// @notice Number of disputes; ids are 1..disputeCount.
    uint256 public disputeCount;

    /// @notice OPEN withdrawable by each account with `withdraw`.
    mapping(address account => uint256) public balances;

    mapping(uint256 listingId => Listing) private _listings;
    mapping(uint256 purchaseId => Purchase) private _purchases;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 disputeId => mapping(address juror => Ballot)) private _ballots;
    mapping(address juror => Juror) private _jurors;

    // The drawable juror pool as a Fenwick (binary indexed) tree over slots 1..slotCount, each slot's
    // weight being its juror's stake while Active and 0 otherwise. It makes a stake-weighted draw and a
    // stake change O(log n) storage accesses, so drawing a jury stays cheap however large the pool.
    // A juror keeps its slot for life, so slotCount is the number of distinct jurors ever registered.
    mapping(uint256 slot => uint256) private _tree;
    mapping(uint256 slot => address) private _slotJuror;
    uint256 private _slotCount;
    uint256 private _poolWeight;
    uint256 private _poolSize;

    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        AssetKind kind,
        uint256 indexed assetId,
        uint256 version,
        uint256 price,
        uint256 bond,
        string termsURI
    );
    event ListingBondToppedUp(uint256 indexed listingId, uint256 amount, uint256 freeBond);
    event Delisted(uint256 indexed listingId, uint256 bondReturned);
    event Purchased(uint256 indexed purchaseId, uint256 indexed listingId, address indexed buyer, uint256 price);
    event Escrowed(uint256 indexed purchaseId, uint256 buyerBond, uint256 sellerBondLocked, uint64 deadline);
    event Accepted(uint256 indexed purchaseId);
    event Finalized(uint256 indexed purchaseId, address indexed caller);
    event SellerPaid(uint256 indexed purchaseId, address indexed seller, uint256 amount, uint256 protocolFee);
    event BuyerRefunded(uint256 indexed purchaseId, address indexed buyer, uint256 amount);
    event BondReleased(uint256 indexed purchaseId, address indexed owner, uint256 amount);
    event BondSlashed(uint256 indexed purchaseId, address indexed owner, uint256 amount);
    event Disputed(uint256 indexed disputeId, uint256 indexed purchaseId, address indexed buyer, string reasonURI);
    event JuryDrawn(uint256 indexed disputeId, address[] jurors, uint64 voteDeadline);
    event Voted(uint256 indexed disputeId, address indexed juror, bool refundBuyer);
    event DisputeResolved(
        uint256 indexed disputeId,
        uint256 indexed purchaseId,
        bool refundBuyer,
        uint256 refundVotes,
        uint256 sellerVotes,
        bool juryDrawn
    );
    event JurorSlashed(uint256 indexed disputeId, address indexed juror, uint256 amount);
    event JurorRewarded(uint256 indexed disputeId, address indexed juror, uint256 amount);
    event DisputePotDistributed(uint256 indexed disputeId, uint256 pot, uint256 toJurors, uint256 toTreasury);
    event JurorRegistered(address indexed juror, uint256 added, uint256 stake);
    event JurorUnregistered(address indexed juror, uint64 unlockAt);
    event JurorStakeWithdrawn(address indexed juror, uint256 amount);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);
    event SentToTreasury(uint256 amount);

    error UnknownDatanet(uint256 datanetId);
    error VersionNotPublished(uint256 datanetId, uint256 version);
    error ModelNotActive(uint256 modelId);
    error NotAssetOwner(address caller, address owner);
    error ZeroPrice();
    error WrongBond(uint256 expected, uint256 sent);
    error WrongPayment(uint256 expected, uint256 sent);
    error UnknownListing(uint256 listingId);
    error ListingNotActive(uint256 listingId);
    error NotSeller(address caller);
    error SellerCannotBuy();
    error SellerNoLongerOwner(address seller, address owner);
    error SellerBondInsufficient(uint256 freeBond, uint256 required);
    error UnknownPurchase(uint256 purchaseId);
    error NotBuyer(address caller);
    error NotPending(uint256 purchaseId);
    error AcceptWindowOpen(uint64 deadline);
    error AcceptWindowClosed(uint64 deadline);
    error UnknownDispute(uint256 disputeId);
    error DisputeAlreadyResolved(uint256 disputeId);
    error JuryAlreadyDrawn(uint256 disputeId);
    error DrawTooEarly(uint256 disputeBlock);
    error DrawWindowClosed(uint64 drawDeadline);
    error NotEnoughJurors(uint256 available, uint256 needed);
    error JuryNotDrawn(uint256 disputeId);
    error NotDrawnJuror(address caller);
    error AlreadyVoted(address juror);
    error VotingClosed(uint64 voteDeadline);
    error TooEarlyToResolve(uint64 until);
    error StakeTooLow(uint256 stake, uint256 minimum);
    error NotActiveJuror(address caller);
    error NotUnbonding(address caller);
    error StillUnbonding(uint64 unlockAt);
    error JurorHasPendingDisputes(uint256 count);
    error NothingToWithdraw();
    error LengthMismatch(uint256 leaves, uint256 proofs);
    error ZeroAddress();

    constructor(IProtocolParams params_, IDatanetRegistry datanets_, IModelRegistry models_, address payable treasury_) {
        if (
            address(params_) == address(0) || address(datanets_) == address(0) || address(models_) == address(0)
                || treasury_ == address(0)
        ) revert ZeroAddress();
        params = params_;
        datanets = datanets_;
        models = models_;
        treasury = treasury_;
    }

    // ---------------------------------------------------------------- listings

    /// @notice Lists a published version of a Datanet you own; send exactly one seller bond
    ///         (`price * MARKET_DISPUTE_BOND_BPS / 10,000`).
    function listDatanetVersion(uint256 datanetId, uint256 version, uint256 price, string calldata termsURI)
        external
        payable
        returns (uint256 listingId)
    {
        if (!datanets.exists(datanetId)) revert UnknownDatanet(datanetId);
        address owner = datanets.datanetOwner(datanetId);
        if (owner != msg.sender) revert NotAssetOwner(msg.sender, owner);
        if (version == 0 || version > datanets.versionCount(datanetId)) {
            revert VersionNotPublished(datanetId, version);
        }
        return _list(AssetKind.DatanetVersion, datanetId, version, price, termsURI);
    }

    /// @notice Lists an active model you own; send exactly one seller bond
    ///         (`price * MARKET_DISPUTE_BOND_BPS / 10,000`).
    function listModel(uint256 modelId, uint256 price, string calldata termsURI)
        external
        payable
        returns (uint256 listingId)
    {
        if (!models.isActive(modelId)) revert ModelNotActive(modelId);
        address owner = models.modelOwner(modelId);
        if (owner != msg.sender) revert NotAssetOwner(msg.sender, owner);
        return _list(AssetKind.Model, modelId, 0, price, termsURI);
    }

    /// @notice Adds OPEN to your listing's free bond, so more purchases can be pending at once.
    function topUpListingBond(uint256 listingId) external payable {
        Listing storage l = _activeListing(listingId);
        if (l.seller != msg.sender) revert NotSeller(msg.sender);
        l.freeBond += msg.value;
        emit ListingBondToppedUp(listingId, msg.value, l.freeBond);
    }

    /// @notice Stops new purchases of your listing and credits its free bond to your balance. Bonds
    ///         locked by pending purchases come back to your balance as each one settles.
    function delist(uint256 listingId) external {
        Listing storage l = _activeListing(listingId);
        if (l.seller != msg.sender) revert NotSeller(msg.sender);
        uint256 bond = l.freeBond;
        l.active = false;
        l.freeBond = 0;
        _credit(msg.sender, bond);
        emit Delisted(listingId, bond);
    }

    // ---------------------------------------------------------------- purchases

    /// @notice Buys a licence: send exactly price + one bond. The seller's bond for it is locked out of
    ///         the listing's free bond. Accept, or dispute, before `MARKET_ACCEPT_WINDOW` ends.
    function buy(uint256 listingId) external payable returns (uint256 purchaseId) {
        Listing storage l = _activeListing(listingId);
        address seller = l.seller;
        if (msg.sender == seller) revert SellerCannotBuy();
        // A listing sells on behalf of the asset's current owner only: after a transfer it is stale.
        address owner = l.kind == AssetKind.Model ? _activeModelOwner(l.assetId) : datanets.datanetOwner(l.assetId);
        if (owner != seller) revert SellerNoLongerOwner(seller, owner);

        uint256 price = l.price;
        uint256 bond = _bondFor(price);
        if (msg.value != price + bond) revert WrongPayment(price + bond, msg.value);
        if (l.freeBond < bond) revert SellerBondInsufficient(l.freeBond, bond);
        l.freeBond -= bond;
        l.lockedBond += bond;
        l.pendingPurchases += 1;

        purchaseId = ++purchaseCount;
        uint64 deadline = uint64(block.timestamp + params.get(K.MARKET_ACCEPT_WINDOW));
        _purchases[purchaseId] = Purchase({
            listingId: listingId,
            buyer: msg.sender,
            status: PurchaseStatus.Pending,
            deadline: deadline,
            price: price,
            bond: bond,
            disputeId: 0
        });
        emit Purchased(purchaseId, listingId, msg.sender, price);
        emit Escrowed(purchaseId, bond, bond, deadline);
    }

    /// @notice The buyer accepts the delivery: the seller is paid the price less the protocol fee and
    ///         both bonds are released.
    function accept(uint256 purchaseId) external nonReentrant {
        Purchase storage p = _pendingPurchase(purchaseId);
        if (p.buyer != msg.sender) revert NotBuyer(msg.sender);
        emit Accepted(purchaseId);
        _completeWithoutDispute(purchaseId, p);
    }

    /// @notice After the acceptance window closed without a dispute, anyone settles the purchase as
    ///         if the buyer had accepted.
    function finalize(uint256 purchaseId) external nonReentrant {
        Purchase storage p = _pendingPurchase(purchaseId);
        if (block.timestamp < p.deadline) revert AcceptWindowOpen(p.deadline);
        emit Finalized(purchaseId, msg.sender);
        _completeWithoutDispute(purchaseId, p);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice The buyer contests the delivery before the acceptance window ends. A jury can be
    ///         drawn from the next block on (`drawJury`), until `MARKET_VOTING_PERIOD` after now.
    function dispute(uint256 purchaseId, string calldata reasonURI) external returns (uint256 disputeId) {
        Purchase storage p = _pendingPurchase(purchaseId);
        if (p.buyer != msg.sender) revert NotBuyer(msg.sender);
        if (block.timestamp >= p.deadline) revert AcceptWindowClosed(p.deadline);
        p.status = PurchaseStatus.Disputed;
        disputeId = ++disputeCount;
        p.disputeId = disputeId;
        Dispute storage d = _disputes[disputeId];
        d.purchaseId = purchaseId;
        d.createdBlock = uint64(block.number);
        d.drawDeadline = uint64(block.timestamp + params.get(K.MARKET_VOTING_PERIOD));
        d.reasonURI = reasonURI;
        emit Disputed(disputeId, purchaseId, msg.sender, reasonURI);
    }

    /// @notice Draws `MARKET_JURY_SIZE` distinct Active jurors, weighted by stake, excluding the buyer
    ///         and the seller; anyone may call it from the block after the dispute until its draw
    ///         deadline. Pick i uses `keccak256(abi.encode(block.prevrandao, disputeId, i))` modulo the
    ///         stake still undrawn, so the randomness is unknown when the dispute is opened. It is not
    ///         unbiasable: a caller may choose in which block to draw, and the block producer sees
    ///         prevrandao first; stake weighting and slashing bound what a biased jury is worth.
    ///         Reverts NotEnoughJurors when the pool is too small: then, after the draw deadline, anyone
    ///         may `resolve` without a jury.
    /// @dev The jury, and so the gas, depends on the block it lands in: estimate with headroom.
    function drawJury(uint256 disputeId) external {
        Dispute storage d = _openDispute(disputeId);
        if (d.voteDeadline != 0) revert JuryAlreadyDrawn(disputeId);
        if (block.number <= d.createdBlock) revert DrawTooEarly(d.createdBlock);
        if (block.timestamp >= d.drawDeadline) revert DrawWindowClosed(d.drawDeadline);

        Purchase storage p = _purchases[d.purchaseId];
        address[2] memory excluded = [p.buyer, _listings[p.listingId].seller];
        uint256 size = params.get(K.MARKET_JURY_SIZE);
        uint256 available = _poolSize;
        uint256 remaining = _poolWeight;
        // Parties are taken out of the tree for the draw and put back afterwards.
        for (uint256 k = 0; k < 2; ++k) {
            uint256 w = _weightOf(excluded[k]);
            if (w > 0) {
                available -= 1;
                remaining -= w;
                _treeSub(_jurors[excluded[k]].slot, w);
            }
        }
        if (available < size) revert NotEnoughJurors(available, size);

        address[] memory jury = new address[](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 r = uint256(keccak256(abi.encode(block.prevrandao, disputeId, i))) % remaining;
            uint256 slot = _find(r);
            address pick = _slotJuror[slot];
            Juror storage j = _jurors[pick];
            // Drawn without replacement: the pick leaves the tree until the draw ends.
            _treeSub(slot, j.stake);
            remaining -= j.stake;
            j.pendingDisputes += 1;
            _ballots[disputeId][pick] = Ballot.NotVoted;
            jury[i] = pick;
        }
        for (uint256 i = 0; i < size; ++i) {
            Juror storage j = _jurors[jury[i]];
            _treeAdd(j.slot, j.stake);
        }
        for (uint256 k = 0; k < 2; ++k) {
            uint256 w = _weightOf(excluded[k]);
            if (w > 0) _treeAdd(_jurors[excluded[k]].slot, w);
        }

        d.jurors = jury;
        d.voteDeadline = uint64(block.timestamp + params.get(K.MARKET_VOTING_PERIOD));
        emit JuryDrawn(disputeId, jury, d.voteDeadline);
    }

    /// @notice A drawn juror votes once, before the vote deadline: refund the buyer, or pay the seller.
    function vote(uint256 disputeId, bool refundBuyer) external {
        Dispute storage d = _openDispute(disputeId);
        if (d.voteDeadline == 0) revert JuryNotDrawn(disputeId);
        if (block.timestamp >= d.voteDeadline) revert VotingClosed(d.voteDeadline);
        Ballot b = _ballots[disputeId][msg.sender];
        if (b == Ballot.None) revert NotDrawnJuror(msg.sender);
        if (b != Ballot.NotVoted) revert AlreadyVoted(msg.sender);
        if (refundBuyer) {
            _ballots[disputeId][msg.sender] = Ballot.Refund;
            d.refundVotes += 1;
        } else {
            _ballots[disputeId][msg.sender] = Ballot.Seller;
            d.sellerVotes += 1;
        }
        emit Voted(disputeId, msg.sender, refundBuyer);
    }

    /// @notice Settles a dispute; anyone may call it once every drawn juror voted or the vote deadline
    ///         passed, or, when no jury was drawn, once the draw deadline passed.
    ///         With a jury the majority of votes cast decides; a tie or no vote refunds the buyer.
    ///         The loser's bond is slashed; jurors who voted with a strict minority or did not vote lose
    ///         `MARKET_JUROR_SLASH_BPS` of their stake (in a tie no voter is slashed). Half of everything
    ///         slashed goes to the majority jurors in equal parts, the rest (and the split's remainder)
    ///         to the treasury; all of it to the treasury when there is no majority (tie or no votes).
    ///         Without a jury (the pool was too small, or nobody drew one in time) the buyer is refunded
    ///         the price and both bonds are returned; nothing is slashed.
    function resolve(uint256 disputeId) external nonReentrant {
        Dispute storage d = _openDispute(disputeId);
        bool drawn = d.voteDeadline != 0;
        if (!drawn && block.timestamp < d.drawDeadline) revert TooEarlyToResolve(d.drawDeadline);
        if (drawn && uint256(d.refundVotes) + d.sellerVotes < d.jurors.length && block.timestamp < d.voteDeadline) {
            revert TooEarlyToResolve(d.voteDeadline);
        }
        uint256 purchaseId = d.purchaseId;
        Purchase storage p = _purchases[purchaseId];
        Listing storage l = _listings[p.listingId];
        bool refund = d.refundVotes >= d.sellerVotes;
        d.resolved = true;
        d.refundBuyer = refund;
        l.pendingPurchases -= 1;
        l.lockedBond -= p.bond;
        emit DisputeResolved(disputeId, purchaseId, refund, d.refundVotes, d.sellerVotes, drawn);

        if (!drawn) {
            _refundBuyer(purchaseId, p);
            _releaseSellerBond(purchaseId, l, p.bond);
            return;
        }
        uint256 toTreasury;
        if (refund) {
            _refundBuyer(purchaseId, p);
            emit BondSlashed(purchaseId, l.seller, p.bond);
        } else {
            p.status = PurchaseStatus.Completed;
            emit BondSlashed(purchaseId, p.buyer, p.bond);
            _releaseSellerBond(purchaseId, l, p.bond);
            toTreasury = _paySeller(purchaseId, l.seller, p.price);
        }
        toTreasury += _settleJury(disputeId, d, p.bond);
        _payTreasury(toTreasury);
    }

    // ---------------------------------------------------------------- jurors

    /// @notice Joins the juror pool, or adds stake, or cancels an unbonding; the resulting stake must
    ///         be at least `MARKET_MIN_JUROR_STAKE`. The draw weight is the stake.
    function registerJuror() external payable {
        Juror storage j = _jurors[msg.sender];
        uint256 stake = j.stake + msg.value;
        uint256 minimum = params.get(K.MARKET_MIN_JUROR_STAKE);
        if (stake < minimum) revert StakeTooLow(stake, minimum);
        if (j.slot == 0) j.slot = uint32(_newSlot(msg.sender));
        uint256 oldWeight = _weightOf(msg.sender);
        j.stake = stake;
        j.status = JurorStatus.Active;
        j.unlockAt = 0;
        _setWeight(j.slot, oldWeight, stake);
        emit JurorRegistered(msg.sender, msg.value, stake);
    }

    /// @notice Leaves the pool: no longer drawable; the stake stays slashable and can be withdrawn
    ///         `MARKET_JUROR_UNBONDING_PERIOD` from now, once every dispute you sit on is resolved.
    function unregisterJuror() external {
        Juror storage j = _jurors[msg.sender];
        if (j.status != JurorStatus.Active) revert NotActiveJuror(msg.sender);
        _setWeight(j.slot, j.stake, 0);
        j.status = JurorStatus.Unbonding;
        j.unlockAt = uint64(block.timestamp + params.get(K.MARKET_JUROR_UNBONDING_PERIOD));
        emit JurorUnregistered(msg.sender, j.unlockAt);
    }

    /// @notice Sends your whole juror stake back after unbonding. Waiting for your open disputes keeps
    ///         the stake slashable for the votes you owe, whatever the unbonding period is set to.
    function withdrawJurorStake() external nonReentrant {
        Juror storage j = _jurors[msg.sender];
        if (j.status != JurorStatus.Unbonding) revert NotUnbonding(msg.sender);
        if (block.timestamp < j.unlockAt) revert StillUnbonding(j.unlockAt);
        if (j.pendingDisputes != 0) revert JurorHasPendingDisputes(j.pendingDisputes);
        uint256 amount = j.stake;
        j.stake = 0;
        j.status = JurorStatus.None;
        j.unlockAt = 0;
        emit JurorStakeWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- payouts

    /// @notice Sends your whole withdrawable balance (seller proceeds, returned bonds, refunds,
    ///         juror rewards) to you.
    function withdraw() external nonReentrant {
        uint256 amount = balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice A listing.
    function listing(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @notice A purchase (the licence record).
    function purchase(uint256 purchaseId) external view returns (Purchase memory) {
        return _purchases[purchaseId];
    }

    /// @notice A dispute, with its jurors and their ballots.
    function dispute(uint256 disputeId) external view returns (DisputeView memory v) {
        Dispute storage d = _disputes[disputeId];
        v.purchaseId = d.purchaseId;
        v.createdBlock = d.createdBlock;
        v.drawDeadline = d.drawDeadline;
        v.voteDeadline = d.voteDeadline;
        v.resolved = d.resolved;
        v.refundBuyer = d.refundBuyer;
        v.refundVotes = d.refundVotes;
        v.sellerVotes = d.sellerVotes;
        v.jurors = d.jurors;
        v.reasonURI = d.reasonURI;
        v.ballots = new Ballot[](d.jurors.length);
        for (uint256 i = 0; i < d.jurors.length; ++i) {
            v.ballots[i] = _ballots[disputeId][d.jurors[i]];
        }
    }

    /// @notice A juror's state and stake.
    function juror(address account) external view returns (Juror memory) {
        return _jurors[account];
    }

    /// @notice The drawable pool: how many Active jurors with stake, and their total stake.
    function jurorPool() external view returns (uint256 size, uint256 totalStake) {
        return (_poolSize, _poolWeight);
    }

    /// @notice What the data plane / model server checks: who holds the licence, for what, and whether
    ///         it grants access (every purchase that was not refunded does, including while pending or
    ///         disputed, since the buyer needs the data to judge it).
    function licence(uint256 purchaseId)
        external
        view
        returns (address buyer, AssetKind kind, uint256 assetId, uint256 version, bool valid)
    {
        Purchase storage p = _purchases[purchaseId];
        Listing storage l = _listings[p.listingId];
        PurchaseStatus s = p.status;
        valid = s == PurchaseStatus.Pending || s == PurchaseStatus.Disputed || s == PurchaseStatus.Completed;
        return (p.buyer, l.kind, l.assetId, l.version, valid);
    }

    /// @notice The Merkle root committing to what a listing sells: a Datanet version's root (over its
    ///         contributions' leaves, see `verifyListingSample`), or zero for a model (its weights are
    ///         pinned by their hashes in ModelRegistry instead).
    function licenceRoot(uint256 listingId) public view returns (bytes32 root) {
        Listing storage l = _listings[listingId];
        if (l.seller == address(0)) revert UnknownListing(listingId);
        if (l.kind == AssetKind.Model) return bytes32(0);
        (root,,,) = datanets.versionInfo(l.assetId, l.version);
    }

    /// @notice True when every leaf is proven under `root` by its proof (OpenZeppelin MerkleProof:
    ///         sorted-pair keccak256, as the OpenZeppelin merkle-tree JS library's SimpleMerkleTree
    ///         builds). With a contribution's `dataRoot` as root, the leaves are its row hashes. An empty
    ///         sample proves nothing: false.
    function verifySample(bytes32 root, bytes32[] calldata leaves, bytes32[][] calldata proofs)
        public
        pure
        returns (bool)
    {
        if (leaves.length != proofs.length) revert LengthMismatch(leaves.length, proofs.length);
        if (leaves.length == 0) return false;
        for (uint256 i = 0; i < leaves.length; ++i) {
            if (!MerkleProof.verify(proofs[i], root, leaves[i])) return false;
        }
        return true;
    }

    /// @notice The one-call sample check for a Datanet-version listing: proves that `c` is a
    ///         contribution of the listed version (its leaf under `licenceRoot`) and that every sample
    ///         row hash is in that contribution's `dataRoot`. False for a model listing.
    /// @dev A version root is DatanetRegistry's tree over leaves
    ///      `keccak256(abi.encode(contributionId, dataRoot, rowOffset, rowCount))` (see its
    ///      `contributionLeaf`), so a row needs two proofs: contribution to version, row to contribution.
    function verifyListingSample(
        uint256 listingId,
        SampleContribution calldata c,
        bytes32[] calldata leaves,
        bytes32[][] calldata proofs
    ) external view returns (bool) {
        bytes32 root = licenceRoot(listingId);
        if (root == bytes32(0)) return false;
        bytes32 leaf = keccak256(abi.encode(c.contributionId, c.dataRoot, c.rowOffset, c.rowCount));
        if (!MerkleProof.verify(c.proof, root, leaf)) return false;
        return verifySample(c.dataRoot, leaves, proofs);
    }

    // ---------------------------------------------------------------- internals: escrow

    function _list(AssetKind kind, uint256 assetId, uint256 version, uint256 price, string calldata termsURI)
        private
        returns (uint256 listingId)
    {
        if (price == 0) revert ZeroPrice();
        uint256 bond = _bondFor(price);
        if (msg.value != bond) revert WrongBond(bond, msg.value);
        listingId = ++listingCount;
        Listing storage l = _listings[listingId];
        l.seller = msg.sender;
        l.kind = kind;
        l.active = true;
        l.assetId = assetId;
        l.version = version;
        l.price = price;
        l.freeBond = bond;
        l.termsURI = termsURI;
        emit Listed(listingId, msg.sender, kind, assetId, version, price, bond, termsURI);
    }

    function _completeWithoutDispute(uint256 purchaseId, Purchase storage p) private {
        Listing storage l = _listings[p.listingId];
        p.status = PurchaseStatus.Completed;
        l.pendingPurchases -= 1;
        l.lockedBond -= p.bond;
        _credit(p.buyer, p.bond);
        emit BondReleased(purchaseId, p.buyer, p.bond);
        _releaseSellerBond(purchaseId, l, p.bond);
        _payTreasury(_paySeller(purchaseId, l.seller, p.price));
    }

    /// @dev Credits the seller the price less the protocol fee and returns the fee (for the caller to
    ///      send to the treasury, after its other effects).
    function _paySeller(uint256 purchaseId, address seller, uint256 price) private returns (uint256 fee) {
        fee = price * params.get(K.MARKET_PROTOCOL_FEE_BPS) / BPS;
        _credit(seller, price - fee);
        emit SellerPaid(purchaseId, seller, price - fee, fee);
    }

    function _refundBuyer(uint256 purchaseId, Purchase storage p) private {
        p.status = PurchaseStatus.Refunded;
        _credit(p.buyer, p.price + p.bond);
        emit BuyerRefunded(purchaseId, p.buyer, p.price + p.bond);
    }

    /// @dev The caller already took `bond` out of `lockedBond`.
    function _releaseSellerBond(uint256 purchaseId, Listing storage l, uint256 bond) private {
        if (l.active) l.freeBond += bond;
        else _credit(l.seller, bond);
        emit BondReleased(purchaseId, l.seller, bond);
    }

    /// @dev Slashes the jurors who voted with a strict minority or did not vote, and shares `pot` plus
    ///      those slashes: half to the majority jurors equally, the rest to the treasury. Bounded by
    ///      MARKET_JURY_SIZE (at most 21 by ProtocolParams bounds).
    ///      Returns the treasury's part, for the caller to send after its other effects.
    function _settleJury(uint256 disputeId, Dispute storage d, uint256 pot) private returns (uint256 toTreasury) {
        Ballot majority = d.refundVotes > d.sellerVotes
            ? Ballot.Refund
            : (d.sellerVotes > d.refundVotes ? Ballot.Seller : Ballot.None);
        uint256 slashBps = params.get(K.MARKET_JUROR_SLASH_BPS);
        uint256 winners;
        address[] storage jury = d.jurors;
        for (uint256 i = 0; i < jury.length; ++i) {
            address a = jury[i];
            Ballot b = _ballots[disputeId][a];
            _jurors[a].pendingDisputes -= 1;
            if (b == majority) winners += 1;
            else if (b == Ballot.NotVoted || majority != Ballot.None) pot += _slashJuror(disputeId, a, slashBps);
        }
        uint256 share = winners == 0 ? 0 : (pot / 2) / winners;
        if (share > 0) {
            for (uint256 i = 0; i < jury.length; ++i) {
                if (_ballots[disputeId][jury[i]] == majority) {
                    _credit(jury[i], share);
                    emit JurorRewarded(disputeId, jury[i], share);
                }
            }
        }
        uint256 toJurors = share * winners;
        toTreasury = pot - toJurors;
        emit DisputePotDistributed(disputeId, pot, toJurors, toTreasury);
    }

    function _slashJuror(uint256 disputeId, address account, uint256 slashBps) private returns (uint256 amount) {
        Juror storage j = _jurors[account];
        amount = j.stake * slashBps / BPS;
        if (amount == 0) return 0;
        if (j.status == JurorStatus.Active) _setWeight(j.slot, j.stake, j.stake - amount);
        j.stake -= amount;
        emit JurorSlashed(disputeId, account, amount);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        balances[account] += amount;
        emit Credited(account, amount);
    }

    function _payTreasury(uint256 amount) private {
        if (amount == 0) return;
        emit SentToTreasury(amount);
        Address.sendValue(treasury, amount);
    }

    function _bondFor(uint256 price) private view returns (uint256) {
        return price * params.get(K.MARKET_DISPUTE_BOND_BPS) / BPS;
    }

    function _activeModelOwner(uint256 modelId) private view returns (address) {
        if (!models.isActive(modelId)) revert ModelNotActive(modelId);
        return models.modelOwner(modelId);
    }

    function _activeListing(uint256 listingId) private view returns (Listing storage l) {
        l = _listings[listingId];
        if (l.seller == address(0)) revert UnknownListing(listingId);
        if (!l.active) revert ListingNotActive(listingId);
    }

    function _pendingPurchase(uint256 purchaseId) private view returns (Purchase storage p) {
        p = _purchases[purchaseId];
        if (p.status == PurchaseStatus.None) revert UnknownPurchase(purchaseId);
        if (p.status != PurchaseStatus.Pending) revert NotPending(purchaseId);
    }

    function _openDispute(uint256 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.purchaseId == 0) revert UnknownDispute(disputeId);
        if (d.resolved) revert DisputeAlreadyResolved(disputeId);
    }

    // ---------------------------------------------------------------- internals: juror pool tree

    /// @dev The draw weight: the stake while Active, else 0.
    function _weightOf(address account) private view returns (uint256) {
        Juror storage j = _jurors[account];
        return j.status == JurorStatus.Active ? j.stake : 0;
    }

    function _setWeight(uint256 slot, uint256 oldWeight, uint256 newWeight) private {
        if (newWeight > oldWeight) {
            _treeAdd(slot, newWeight - oldWeight);
            _poolWeight += newWeight - oldWeight;
        } else if (oldWeight > newWeight) {
            _treeSub(slot, oldWeight - newWeight);
            _poolWeight -= oldWeight - newWeight;
        }
        if (oldWeight == 0 && newWeight != 0) _poolSize += 1;
        else if (oldWeight != 0 && newWeight == 0) _poolSize -= 1;
    }

    /// @dev Appends a zero-weight slot. Node i covers slots (i - lowbit(i), i], so its initial value is
    ///      the sum of the slots before it in that range.
    function _newSlot(address account) private returns (uint256 slot) {
        slot = ++_slotCount;
        _tree[slot] = _prefix(slot - 1) - _prefix(slot - _lowbit(slot));
        _slotJuror[slot] = account;
    }

    function _treeAdd(uint256 slot, uint256 amount) private {
        uint256 n = _slotCount;
        for (uint256 i = slot; i <= n; i += _lowbit(i)) _tree[i] += amount;
    }

    function _treeSub(uint256 slot, uint256 amount) private {
        uint256 n = _slotCount;
        for (uint256 i = slot; i <= n; i += _lowbit(i)) _tree[i] -= amount;
    }

    function _prefix(uint256 slot) private view returns (uint256 sum) {
        for (uint256 i = slot; i > 0; i -= _lowbit(i)) sum += _tree[i];
    }

    /// @dev The first slot whose running weight sum exceeds `r` (r < total weight), so each slot is hit
    ///      with probability weight / total.
    function _find(uint256 r) private view returns (uint256) {
        uint256 n = _slotCount;
        uint256 pos = 0;
        for (uint256 step = 1 << Math.log2(n); step > 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= n && _tree[next] <= r) {
                pos = next;
                r -= _tree[next];
            }
        }
        return pos + 1;
    }

    function _lowbit(uint256 i) private pure returns (uint256) {
        unchecked {
            return i & (~i + 1);
        }
    }
}
