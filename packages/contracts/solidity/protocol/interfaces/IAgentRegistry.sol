// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IAgentRegistry
/// @notice How InferencePayments enforces an agent's spending rules.
interface IAgentRegistry {
    /// @notice True if `agent` is registered and not deactivated.
    function isAgent(address agent) external view returns (bool);

    /// @notice Records a spend by `agent` on `modelId`; reverts if the model is not allowed or the
    ///         period's limit would be exceeded. Callable only by InferencePayments.
    function recordSpend(address agent, uint256 modelId, uint256 amount) external;
}
