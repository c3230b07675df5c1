// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ReentrantClaimer
/// @notice Test fixture, not a protocol contract: a reward receiver that, when paid, calls back into
///         a target (AttributionSettlement.claim with the same claim) to try to be paid twice, and
///         records what the re-entry got. It can also refuse payments, to show a reverting receiver
///         only blocks its own claim.
contract ReentrantClaimer {
    event ReentryAttempted(bool ok, bytes result);
    event Rejecting(bool rejecting);
    event Armed(address target, bytes data);

    error PaymentRefused();

    address public target;
    bytes public reentryData;
    bool public rejecting;
    bool private _inReentry;

    uint256 public attempts;
    bool public lastReentryOk;
    bytes public lastReentryResult;

    /// @notice Re-enters `target_` with `data` (e.g. an encoded claim) on the next payment.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentryData = data;
        emit Armed(target_, data);
    }

    /// @notice Makes receive() revert (true) or accept (false).
    function setRejecting(bool rejecting_) external {
        rejecting = rejecting_;
        emit Rejecting(rejecting_);
    }

    /// @notice Accepts a payment, first trying the armed re-entry (once per payment, never nested).
    receive() external payable {
        if (rejecting) revert PaymentRefused();
        if (target == address(0) || _inReentry) return;
        _inReentry = true;
        ++attempts;
        // The failure is swallowed on purpose: the outer payment must succeed so the test can show
        // the re-entry itself got nothing.
        (bool ok, bytes memory result) = target.call(reentryData);
        lastReentryOk = ok;
        lastReentryResult = result;
        _inReentry = false;
        emit ReentryAttempted(ok, result);
    }
}
