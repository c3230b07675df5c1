// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IProtocolParams
/// @notice The governed numbers every protocol contract reads (keys in ParamKeys).
interface IProtocolParams {
    event ParamChanged(bytes32 indexed key, uint256 oldValue, uint256 newValue);
    event FeeSharesChanged(uint256 contributors, uint256 modelOwner, uint256 node, uint256 protocol);

    error UnknownParam(bytes32 key);
    error ParamOutOfBounds(bytes32 key, uint256 value, uint256 min, uint256 max);
    error FeeSharesMustSumTo10000(uint256 sum);
    error UseSetFeeShares();

    /// @notice The value of `key`; reverts with UnknownParam for a key that was never defined.
    function get(bytes32 key) external view returns (uint256);

    /// @notice The fee split in basis points (sum 10,000).
    function feeShares() external view returns (uint256 contributors, uint256 modelOwner, uint256 node, uint256 protocol);

    /// @notice The inclusive bounds a value of `key` must stay within.
    function bounds(bytes32 key) external view returns (uint256 min, uint256 max);

    /// @notice Every defined key, in definition order.
    function keys() external view returns (bytes32[] memory);

    /// @notice Governance only (the Timelock).
    function set(bytes32 key, uint256 value) external;

    /// @notice Governance only (the Timelock); the four shares must sum to 10,000.
    function setFeeShares(uint256 contributors, uint256 modelOwner, uint256 node, uint256 protocol) external;
}
