// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IDatanetRegistry
/// @notice What other protocol contracts read from DatanetRegistry.
interface IDatanetRegistry {
    /// @notice True if `datanetId` was created.
    function exists(uint256 datanetId) external view returns (bool);

    /// @notice The Datanet's owner (receives licence payments in DataMarket).
    function datanetOwner(uint256 datanetId) external view returns (address);

    /// @notice Number of published versions; versions are numbered 1..versionCount.
    function versionCount(uint256 datanetId) external view returns (uint256);

    /// @notice A published version: the Merkle root over its contributions' leaves (`contributionLeaf`),
    ///         and its total rows and bytes.
    function versionInfo(uint256 datanetId, uint256 version)
        external
        view
        returns (bytes32 root, uint256 rowCount, uint256 byteSize, uint64 publishedAt);

    /// @notice A contribution's leaf in its version's Merkle tree:
    ///         keccak256(abi.encode(contributionId, dataRoot, rowOffset, rowCount)).
    function contributionLeaf(uint256 contributionId) external view returns (bytes32);

    /// @notice The distinct contributors whose approved contributions are in a version.
    function versionContributors(uint256 datanetId, uint256 version) external view returns (address[] memory);
}
