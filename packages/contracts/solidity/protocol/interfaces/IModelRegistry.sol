// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IModelRegistry
/// @notice What other protocol contracts read from ModelRegistry.
interface IModelRegistry {
    /// @notice A Datanet version a model was trained on.
    struct DatanetVersion {
        uint256 datanetId;
        uint256 version;
    }

    /// @notice True if `modelId` was registered (retired models still exist).
    function exists(uint256 modelId) external view returns (bool);

    /// @notice Registered and not retired: can be served and paid for.
    function isActive(uint256 modelId) external view returns (bool);

    /// @notice The model's owner (receives the model-owner fee share).
    function modelOwner(uint256 modelId) external view returns (address);

    /// @notice Price per 1,000 tokens, in wei of OPEN.
    function pricePer1kTokens(uint256 modelId) external view returns (uint256);

    /// @notice The Datanet versions the model was trained on.
    function trainedOn(uint256 modelId) external view returns (DatanetVersion[] memory);
}
