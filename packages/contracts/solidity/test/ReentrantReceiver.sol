// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice The InferencePayments functions the attacker drives.
interface IPaymentsReentryTarget {
    function deposit() external payable;
    function requestWithdrawal(uint256 amount) external;
    function withdraw() external;
    function withdrawEarnings() external;
}

/// @title ReentrantReceiver
/// @notice Test fixture, not a production contract: a malicious payer/node that re-enters
///         InferencePayments from receive() to try to be paid twice. It is also an ERC-1271 wallet whose
///         signatures are those of its `signer` EOA, so tests can use it as a voucher payer.
contract ReentrantReceiver is IERC1271 {
    /// @notice What receive() re-enters.
    enum Mode {
        None,
        WithdrawEarnings,
        Withdraw,
        RevertOnReceive
    }

    IPaymentsReentryTarget public immutable target;
    address public immutable signer;
    Mode public mode;
    uint256 public reentryAttempts;
    uint256 public reentryFailures;
    uint256 public received;
    bool private _attacking;

    event AttackResult(bool reentered, bytes reason);

    error Refused();

    constructor(IPaymentsReentryTarget target_, address signer_) {
        target = target_;
        signer = signer_;
    }

    /// @notice Chooses what receive() does.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice Deposits msg.value as this contract's payer balance.
    function deposit() external payable {
        target.deposit{value: msg.value}();
    }

    /// @notice Requests a withdrawal of this contract's deposit.
    function requestWithdrawal(uint256 amount) external {
        target.requestWithdrawal(amount);
    }

    /// @notice Withdraws this contract's deposit (receive() then tries to re-enter).
    function withdraw() external {
        target.withdraw();
    }

    /// @notice Withdraws this contract's earnings (receive() then tries to re-enter).
    function withdrawEarnings() external {
        target.withdrawEarnings();
    }

    /// @dev Catches the failed re-entry so the outer payout can complete and show it paid only once.
    receive() external payable {
        received += msg.value;
        Mode m = mode;
        if (m == Mode.RevertOnReceive) revert Refused();
        // One re-entry per payout: a successful one would pay again and must not recurse forever.
        if (m == Mode.None || _attacking) return;
        _attacking = true;
        reentryAttempts++;
        if (m == Mode.WithdrawEarnings) {
            try target.withdrawEarnings() {
                emit AttackResult(true, "");
            } catch (bytes memory reason) {
                reentryFailures++;
                emit AttackResult(false, reason);
            }
        } else {
            try target.withdraw() {
                emit AttackResult(true, "");
            } catch (bytes memory reason) {
                reentryFailures++;
                emit AttackResult(false, reason);
            }
        }
        _attacking = false;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        bool valid = err == ECDSA.RecoverError.NoError && recovered == signer;
        return valid ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
