// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {Arrays} from "@openzeppelin/contracts/utils/Arrays.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {ParamKeys} from "./ParamKeys.sol";

/// @title ModelRegistry
/// @notice The on-chain record of every servable model: its unique API name, the hashes that pin its
///         weights and training configuration, the Datanet versions it was trained on (its provenance,
///         which decides who shares in its query fees), its owner and its price.
contract ModelRegistry is IModelRegistry, ReentrancyGuard {
    /// @notice What a caller supplies to register a model.
    struct RegisterModel {
        string name;
        bytes32 baseModelHash;
        bytes32 adapterHash;
        DatanetVersion[] trainedOn;
        bytes32 trainingConfigHash;
        string metadataURI;
        uint256 pricePer1kTokens;
    }

    /// @notice Everything recorded about a model.
    struct Model {
        string name;
        bytes32 baseModelHash;
        bytes32 adapterHash;
        DatanetVersion[] trainedOn;
        bytes32 trainingConfigHash;
        string metadataURI;
        uint256 pricePer1kTokens;
        address owner;
        uint64 registeredAt;
        bool retired;
    }

    /// @notice Longest model name in bytes; names are the `model` string of the OpenAI-compatible API.
    uint256 public constant MAX_NAME_LENGTH = 64;
    /// @notice Most Datanet versions one model may cite; bounds the validation loop and contributorsOf.
    uint256 public constant MAX_TRAINED_ON = 32;

    /// @notice The governed numbers (the registration fee).
    IProtocolParams public immutable params;
    /// @notice Where trainedOn versions are checked and provenance is read.
    IDatanetRegistry public immutable datanets;
    /// @notice Receives registration fees.
    address payable public immutable treasury;

    mapping(uint256 modelId => Model) private _models;
    mapping(bytes32 nameHash => uint256 modelId) private _idByName;
    uint256 private _count;

    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        string name,
        bytes32 baseModelHash,
        bytes32 adapterHash,
        uint256 pricePer1kTokens,
        uint256 fee
    );
    event PriceChanged(uint256 indexed modelId, uint256 oldPrice, uint256 newPrice);
    event ModelRetired(uint256 indexed modelId);
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    error WrongRegistrationFee(uint256 sent, uint256 required);
    error InvalidModelName(string name);
    error ModelNameTaken(string name, uint256 modelId);
    error TooManyDatanetVersions(uint256 count, uint256 max);
    error UnknownDatanetVersion(uint256 datanetId, uint256 version);
    error DuplicateDatanetVersion(uint256 datanetId, uint256 version);
    error UnknownModel(uint256 modelId);
    error NotModelOwner(uint256 modelId, address caller);
    error ModelIsRetired(uint256 modelId);
    error ZeroAddress();

    constructor(IProtocolParams params_, IDatanetRegistry datanets_, address payable treasury_) {
        if (address(params_) == address(0) || address(datanets_) == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        params = params_;
        datanets = datanets_;
        treasury = treasury_;
    }

    modifier onlyModelOwner(uint256 modelId) {
        address owner = _existing(modelId).owner;
        if (msg.sender != owner) revert NotModelOwner(modelId, msg.sender);
        _;
    }

    // ---------------------------------------------------------------- registration

    /// @notice Registers a model owned by the caller; msg.value must equal the governed registration
    ///         fee, which goes to the treasury. Returns the new id (ids start at 1).
    function registerModel(RegisterModel calldata m) external payable nonReentrant returns (uint256 modelId) {
        uint256 fee = params.get(ParamKeys.MODEL_REGISTRATION_FEE);
        if (msg.value != fee) revert WrongRegistrationFee(msg.value, fee);
        if (!_validName(m.name)) revert InvalidModelName(m.name);
        bytes32 nameHash = keccak256(bytes(m.name));
        uint256 taken = _idByName[nameHash];
        if (taken != 0) revert ModelNameTaken(m.name, taken);
        _checkTrainedOn(m.trainedOn);

        modelId = ++_count;
        _idByName[nameHash] = modelId;
        Model storage s = _models[modelId];
        s.name = m.name;
        s.baseModelHash = m.baseModelHash;
        s.adapterHash = m.adapterHash;
        for (uint256 i = 0; i < m.trainedOn.length; ++i) {
            s.trainedOn.push(m.trainedOn[i]);
        }
        s.trainingConfigHash = m.trainingConfigHash;
        s.metadataURI = m.metadataURI;
        s.pricePer1kTokens = m.pricePer1kTokens;
        s.owner = msg.sender;
        s.registeredAt = uint64(block.timestamp);

        emit ModelRegistered(modelId, msg.sender, m.name, m.baseModelHash, m.adapterHash, m.pricePer1kTokens, fee);
        if (fee > 0) Address.sendValue(treasury, fee);
    }

    // ---------------------------------------------------------------- owner actions

    /// @notice Changes the price per 1,000 tokens; owner only, not on a retired model.
    function setPrice(uint256 modelId, uint256 price) external onlyModelOwner(modelId) {
        Model storage s = _models[modelId];
        if (s.retired) revert ModelIsRetired(modelId);
        emit PriceChanged(modelId, s.pricePer1kTokens, price);
        s.pricePer1kTokens = price;
    }

    /// @notice Retires a model for good: it still exists (so vouchers for queries already served stay
    ///         redeemable) but is no longer active for serving. Owner only; irreversible.
    function retire(uint256 modelId) external onlyModelOwner(modelId) {
        Model storage s = _models[modelId];
        if (s.retired) revert ModelIsRetired(modelId);
        s.retired = true;
        emit ModelRetired(modelId);
    }

    /// @notice Hands the model (and its future model-owner fee share) to `newOwner`; owner only.
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        // A zero owner would strand the model-owner share in InferencePayments earnings forever.
        if (newOwner == address(0)) revert ZeroAddress();
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
        _models[modelId].owner = newOwner;
    }

    // ---------------------------------------------------------------- views

    /// @notice Everything recorded about `modelId`; reverts for an unknown id.
    function model(uint256 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    /// @notice The id registered under `name`, or 0 if none (ids start at 1).
    function modelIdByName(string calldata name) external view returns (uint256) {
        return _idByName[keccak256(bytes(name))];
    }

    /// @notice Number of models ever registered (the highest id).
    function modelCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IModelRegistry
    function exists(uint256 modelId) public view returns (bool) {
        return modelId != 0 && modelId <= _count;
    }

    /// @inheritdoc IModelRegistry
    function isActive(uint256 modelId) external view returns (bool) {
        return exists(modelId) && !_models[modelId].retired;
    }

    /// @inheritdoc IModelRegistry
    function modelOwner(uint256 modelId) external view returns (address) {
        return _existing(modelId).owner;
    }

    /// @inheritdoc IModelRegistry
    function pricePer1kTokens(uint256 modelId) external view returns (uint256) {
        return _existing(modelId).pricePer1kTokens;
    }

    /// @inheritdoc IModelRegistry
    function trainedOn(uint256 modelId) external view returns (DatanetVersion[] memory) {
        return _existing(modelId).trainedOn;
    }

    /// @notice The distinct contributors of every Datanet version the model was trained on, sorted by
    ///         address. Off-chain view: its cost grows with the contributors (sort is n log n), and the
    ///         number of versions is capped by MAX_TRAINED_ON.
    function contributorsOf(uint256 modelId) external view returns (address[] memory) {
        DatanetVersion[] storage versions = _existing(modelId).trainedOn;
        uint256 n = versions.length;
        address[][] memory lists = new address[][](n);
        uint256 total = 0;
        for (uint256 i = 0; i < n; ++i) {
            lists[i] = datanets.versionContributors(versions[i].datanetId, versions[i].version);
            total += lists[i].length;
        }
        address[] memory all = new address[](total);
        uint256 k = 0;
        for (uint256 i = 0; i < n; ++i) {
            address[] memory list = lists[i];
            for (uint256 j = 0; j < list.length; ++j) {
                all[k++] = list[j];
            }
        }
        Arrays.sort(all);
        // Compact the sorted array in place, then shorten it: equal addresses are now adjacent.
        uint256 distinct = 0;
        for (uint256 i = 0; i < total; ++i) {
            if (distinct == 0 || all[i] != all[distinct - 1]) all[distinct++] = all[i];
        }
        assembly ("memory-safe") {
            mstore(all, distinct)
        }
        return all;
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 modelId) private view returns (Model storage) {
        if (!exists(modelId)) revert UnknownModel(modelId);
        return _models[modelId];
    }

    /// @dev Each cited version must be published, and citing one twice would double-count provenance.
    ///      The duplicate check is quadratic, which MAX_TRAINED_ON keeps small.
    function _checkTrainedOn(DatanetVersion[] calldata list) private view {
        if (list.length > MAX_TRAINED_ON) revert TooManyDatanetVersions(list.length, MAX_TRAINED_ON);
        for (uint256 i = 0; i < list.length; ++i) {
            DatanetVersion calldata v = list[i];
            if (v.version == 0 || !datanets.exists(v.datanetId) || v.version > datanets.versionCount(v.datanetId)) {
                revert UnknownDatanetVersion(v.datanetId, v.version);
            }
            for (uint256 j = 0; j < i; ++j) {
                if (list[j].datanetId == v.datanetId && list[j].version == v.version) {
                    revert DuplicateDatanetVersion(v.datanetId, v.version);
                }
            }
        }
    }

    /// @dev 1..64 bytes of [a-z0-9._-]: safe in URLs, JSON and the OpenAI `model` field as-is.
    function _validName(string calldata name) private pure returns (bool) {
        bytes calldata b = bytes(name);
        if (b.length == 0 || b.length > MAX_NAME_LENGTH) return false;
        for (uint256 i = 0; i < b.length; ++i) {
            bytes1 c = b[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-";
            if (!ok) return false;
        }
        return true;
    }
}
