// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IAttributionSettlement} from "./interfaces/IAttributionSettlement.sol";
import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {ParamKeys} from "./ParamKeys.sol";

/// @title InferencePayments
/// @notice Pay-per-query for inference. Payers (users and agents) deposit OPEN, then sign EIP-712
///         vouchers with ever-growing cumulative amounts for one (payer, node, model) channel; the
///         serving node redeems only the latest, which charges the difference from what was redeemed
///         before. Every charge is split by the governed fee shares between the model's contributors
///         (through AttributionSettlement), the model owner, the node and the treasury.
contract InferencePayments is EIP712, ReentrancyGuard {
    /// @notice A payer's signed promise: up to `cumulativeAmount` wei in total for `modelId` served by `node`.
    struct Voucher {
        address payer;
        address node;
        uint256 modelId;
        uint256 cumulativeAmount;
        uint256 deadline;
    }

    /// @notice A pending deposit withdrawal.
    struct Withdrawal {
        uint256 amount;
        uint64 availableAt;
    }

    /// @notice EIP-712 type hash of Voucher.
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(address payer,address node,uint256 modelId,uint256 cumulativeAmount,uint256 deadline)");
    uint256 private constant BPS = 10_000;

    /// @notice The governed numbers (fee shares, withdrawal delay).
    IProtocolParams public immutable params;
    /// @notice Model existence and owners.
    IModelRegistry public immutable models;
    /// @notice Receives the contributors' share of every charge.
    IAttributionSettlement public immutable settlement;
    /// @notice Spending rules of payers that are agents.
    IAgentRegistry public immutable agents;
    /// @notice Receives the protocol share, rounding remainders included.
    address payable public immutable treasury;

    /// @notice A payer's deposit available for charges.
    mapping(address payer => uint256) public balanceOf;
    /// @notice Pull-payment balances of model owners and nodes.
    mapping(address account => uint256) public earnings;
    /// @notice The cumulative amount already charged on a (payer, node, model) channel.
    mapping(address payer => mapping(address node => mapping(uint256 modelId => uint256))) public redeemed;
    mapping(address payer => Withdrawal) private _withdrawals;

    event Deposited(address indexed payer, address indexed from, uint256 amount);
    event Charged(
        address indexed payer,
        address indexed node,
        uint256 indexed modelId,
        uint256 charge,
        uint256 contributors,
        uint256 modelOwner,
        uint256 nodeShare,
        uint256 protocol
    );
    event VoucherRedeemed(
        address indexed payer, address indexed node, uint256 indexed modelId, uint256 cumulativeAmount
    );
    event EarningsCredited(address indexed account, uint256 amount);
    event EarningsWithdrawn(address indexed account, uint256 amount);
    event WithdrawalRequested(address indexed payer, uint256 amount, uint64 availableAt);
    event WithdrawalCancelled(address indexed payer);
    event Withdrawn(address indexed payer, uint256 amount);

    error ZeroAmount();
    error ZeroAddress();
    error VoucherExpired(uint256 deadline);
    error UnknownModel(uint256 modelId);
    error VoucherAlreadyRedeemed(uint256 cumulativeAmount, uint256 alreadyRedeemed);
    error InvalidSignature();
    error InsufficientDeposit(uint256 balance, uint256 charge);
    error LengthMismatch(uint256 vouchers, uint256 signatures);
    error NothingToWithdraw();
    error NoWithdrawalRequested();
    error WithdrawalNotReady(uint64 availableAt);

    constructor(
        IProtocolParams params_,
        IModelRegistry models_,
        IAttributionSettlement settlement_,
        IAgentRegistry agents_,
        address payable treasury_
    ) EIP712("OpenLedger InferencePayments", "1") {
        if (
            address(params_) == address(0) || address(models_) == address(0) || address(settlement_) == address(0)
                || address(agents_) == address(0) || treasury_ == address(0)
        ) revert ZeroAddress();
        params = params_;
        models = models_;
        settlement = settlement_;
        agents = agents_;
        treasury = treasury_;
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Adds msg.value to the caller's deposit.
    function deposit() external payable {
        _deposit(msg.sender);
    }

    /// @notice Adds msg.value to `payer`'s deposit (an owner funding its agent, a sponsor its user).
    function depositFor(address payer) external payable {
        if (payer == address(0)) revert ZeroAddress();
        _deposit(payer);
    }

    /// @notice Starts (or replaces) a withdrawal of `amount`, payable after the governed delay so that
    ///         nodes can still redeem vouchers for queries already served; 0 cancels. An amount above
    ///         the deposit is allowed: withdraw pays what is left then (type(uint256).max = everything).
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) {
            if (_withdrawals[msg.sender].amount == 0) revert NoWithdrawalRequested();
            delete _withdrawals[msg.sender];
            emit WithdrawalCancelled(msg.sender);
            return;
        }
        uint64 availableAt = uint64(block.timestamp + params.get(ParamKeys.PAYMENTS_WITHDRAW_DELAY));
        _withdrawals[msg.sender] = Withdrawal({amount: amount, availableAt: availableAt});
        emit WithdrawalRequested(msg.sender, amount, availableAt);
    }

    /// @notice Pays the caller min(requested, deposit) once the requested withdrawal's delay has passed.
    function withdraw() external nonReentrant {
        Withdrawal memory w = _withdrawals[msg.sender];
        if (w.amount == 0) revert NoWithdrawalRequested();
        if (block.timestamp < w.availableAt) revert WithdrawalNotReady(w.availableAt);
        uint256 balance = balanceOf[msg.sender];
        uint256 amount = w.amount < balance ? w.amount : balance;
        delete _withdrawals[msg.sender];
        balanceOf[msg.sender] = balance - amount;
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice `payer`'s pending withdrawal (amount 0 if none).
    function pendingWithdrawal(address payer) external view returns (uint256 amount, uint64 availableAt) {
        Withdrawal memory w = _withdrawals[payer];
        return (w.amount, w.availableAt);
    }

    // ---------------------------------------------------------------- vouchers

    /// @notice Charges a voucher: the difference between its cumulative amount and what its channel
    ///         already redeemed. Anyone may submit it; the node's share is credited to `v.node`.
    function redeem(Voucher calldata v, bytes calldata signature) external nonReentrant returns (uint256 charge) {
        return _redeem(v, signature);
    }

    /// @notice Redeems several vouchers in one transaction; all or none. Its length is bounded only by
    ///         the block gas limit, which the caller chooses against.
    function redeemBatch(Voucher[] calldata vouchers, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint256 total)
    {
        if (vouchers.length != signatures.length) revert LengthMismatch(vouchers.length, signatures.length);
        for (uint256 i = 0; i < vouchers.length; ++i) {
            total += _redeem(vouchers[i], signatures[i]);
        }
    }

    /// @notice The EIP-712 digest a payer signs for `v`.
    function voucherDigest(Voucher calldata v) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(VOUCHER_TYPEHASH, v.payer, v.node, v.modelId, v.cumulativeAmount, v.deadline))
        );
    }

    // ---------------------------------------------------------------- earnings

    /// @notice Pays the caller everything credited to it as model owner or node.
    function withdrawEarnings() external nonReentrant {
        uint256 amount = earnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        earnings[msg.sender] = 0;
        emit EarningsWithdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------- internals

    function _deposit(address payer) private {
        if (msg.value == 0) revert ZeroAmount();
        balanceOf[payer] += msg.value;
        emit Deposited(payer, msg.sender, msg.value);
    }

    function _redeem(Voucher calldata v, bytes calldata signature) private returns (uint256 charge) {
        if (block.timestamp > v.deadline) revert VoucherExpired(v.deadline);
        // A zero node would strand its share in earnings forever.
        if (v.node == address(0)) revert ZeroAddress();
        // Existence, not activity: queries served before a model retired must still be payable.
        if (!models.exists(v.modelId)) revert UnknownModel(v.modelId);
        uint256 already = redeemed[v.payer][v.node][v.modelId];
        if (v.cumulativeAmount <= already) revert VoucherAlreadyRedeemed(v.cumulativeAmount, already);
        if (!SignatureChecker.isValidSignatureNowCalldata(v.payer, voucherDigest(v), signature)) {
            revert InvalidSignature();
        }
        charge = v.cumulativeAmount - already;
        uint256 balance = balanceOf[v.payer];
        if (balance < charge) revert InsufficientDeposit(balance, charge);
        // AgentRegistry is a trusted protocol contract; its reverts (limit, model) stop the charge.
        if (agents.isAgent(v.payer)) agents.recordSpend(v.payer, v.modelId, charge);

        redeemed[v.payer][v.node][v.modelId] = v.cumulativeAmount;
        balanceOf[v.payer] = balance - charge;
        emit VoucherRedeemed(v.payer, v.node, v.modelId, v.cumulativeAmount);
        _split(v, charge);
    }

    /// @dev The protocol share is what remains after the three others, so it takes every rounding
    ///      remainder and the four parts always sum to the charge exactly.
    function _split(Voucher calldata v, uint256 charge) private {
        (uint256 cBps, uint256 oBps, uint256 nBps,) = params.feeShares();
        uint256 toContributors = charge * cBps / BPS;
        uint256 toOwner = charge * oBps / BPS;
        uint256 toNode = charge * nBps / BPS;
        uint256 toProtocol = charge - toContributors - toOwner - toNode;
        address owner = models.modelOwner(v.modelId);

        if (toOwner > 0) {
            earnings[owner] += toOwner;
            emit EarningsCredited(owner, toOwner);
        }
        if (toNode > 0) {
            earnings[v.node] += toNode;
            emit EarningsCredited(v.node, toNode);
        }
        emit Charged(v.payer, v.node, v.modelId, charge, toContributors, toOwner, toNode, toProtocol);

        // Trusted protocol recipients last (checks-effects-interactions).
        if (toContributors > 0) settlement.fund{value: toContributors}(v.modelId);
        if (toProtocol > 0) Address.sendValue(treasury, toProtocol);
    }
}
