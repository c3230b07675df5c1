// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IAttributionSettlement
/// @notice How InferencePayments hands the contributors' share of a query fee to settlement.
interface IAttributionSettlement {
    /// @notice Adds msg.value to what `modelId` collected in the current epoch, for its contributors.
    function fund(uint256 modelId) external payable;

    /// @notice The current epoch number. Epochs advance lazily, each lasting the epoch length in force
    ///         when it began, so a governance change of the length never renumbers past epochs.
    function currentEpoch() external view returns (uint256);
}
