// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IProtocolParams} from "./interfaces/IProtocolParams.sol";
import {ParamKeys as K} from "./ParamKeys.sol";

/// @title ProtocolParams
/// @notice Every governed number of the protocol, with the bounds it must stay within. Owned by the
///         Timelock, so a value changes only through a passed, queued and executed proposal.
contract ProtocolParams is IProtocolParams, Ownable {
    struct Param {
        uint256 value;
        uint256 min;
        uint256 max;
        bool defined;
    }

    uint256 private constant BPS = 10_000;

    mapping(bytes32 key => Param) private _params;
    bytes32[] private _keys;

    constructor(address timelock) Ownable(timelock) {
        _define(K.FEE_SHARE_CONTRIBUTORS, 5_000, 0, BPS);
        _define(K.FEE_SHARE_MODEL_OWNER, 2_000, 0, BPS);
        _define(K.FEE_SHARE_NODE, 2_000, 0, BPS);
        _define(K.FEE_SHARE_PROTOCOL, 1_000, 0, BPS);

        _define(K.STAKING_MIN_VALIDATOR_STAKE, 1_000 ether, 1 ether, 1e9 ether);
        _define(K.STAKING_MIN_DELEGATION, 1 ether, 1 gwei, 1e6 ether);
        _define(K.STAKING_UNBONDING_PERIOD, 7 days, 1 hours, 365 days);
        _define(K.STAKING_MAX_VALIDATORS, 100, 1, 1_000);
        _define(K.STAKING_EPOCH_BLOCKS, 100, 1, 1_000_000);
        _define(K.STAKING_BLOCK_REWARD, 1 ether, 0, 1_000 ether);
        _define(K.SLASH_DOUBLE_SIGN_BPS, 500, 0, BPS);
        _define(K.SLASH_DOWNTIME_BPS, 100, 0, BPS);
        _define(K.DOWNTIME_JAIL_PERIOD, 1 days, 0, 365 days);
        _define(K.DOWNTIME_WINDOW_BLOCKS, 1_000, 10, 1_000_000);
        _define(K.DOWNTIME_MIN_SIGNED_BPS, 5_000, 0, BPS);

        _define(K.DATANET_MIN_CURATOR_STAKE, 10 ether, 0, 1e9 ether);
        _define(K.DATANET_MIN_CURATOR_QUORUM, 1, 1, 100);
        _define(K.DATANET_MIN_CONTRIBUTOR_BOND, 0.1 ether, 0, 1e6 ether);
        _define(K.DATANET_MAX_ROWS_PER_CONTRIBUTION, 1_000_000, 1, 1e12);
        _define(K.DATANET_CURATION_PERIOD, 3 days, 1 minutes, 90 days);
        _define(K.DATANET_CHALLENGE_WINDOW, 3 days, 1 minutes, 90 days);
        _define(K.DATANET_CHALLENGE_BOND, 5 ether, 0, 1e6 ether);
        _define(K.DATANET_CURATOR_SLASH_BPS, 1_000, 0, BPS);
        // Longer than curation plus the challenge window (3 + 3 days), so an approving curator cannot
        // withdraw before a challenge against its approval can be opened and upheld.
        _define(K.DATANET_CURATOR_UNBONDING_PERIOD, 7 days, 0, 365 days);
        _define(K.CHALLENGER_REWARD_BPS, 5_000, 0, BPS);

        _define(K.MODEL_REGISTRATION_FEE, 0.1 ether, 0, 1e6 ether);

        _define(K.PAYMENTS_WITHDRAW_DELAY, 1 days, 0, 90 days);
        _define(K.ATTRIBUTION_EPOCH_LENGTH, 1 days, 1 minutes, 90 days);
        _define(K.ATTRIBUTION_CHALLENGE_WINDOW, 1 days, 1 minutes, 90 days);
        _define(K.ATTRIBUTION_OPERATOR_BOND, 100 ether, 0, 1e9 ether);
        _define(K.ATTRIBUTION_OPERATOR_UNBONDING_PERIOD, 7 days, 0, 365 days);

        _define(K.MARKET_ACCEPT_WINDOW, 3 days, 1 minutes, 90 days);
        _define(K.MARKET_DISPUTE_BOND_BPS, 1_000, 0, BPS);
        _define(K.MARKET_PROTOCOL_FEE_BPS, 250, 0, 2_000);
        _define(K.MARKET_MIN_JUROR_STAKE, 10 ether, 1 gwei, 1e9 ether);
        _define(K.MARKET_JURY_SIZE, 3, 1, 21);
        _define(K.MARKET_VOTING_PERIOD, 2 days, 1 minutes, 90 days);
        _define(K.MARKET_JUROR_SLASH_BPS, 1_000, 0, BPS);
        _define(K.MARKET_JUROR_UNBONDING_PERIOD, 7 days, 0, 365 days);
    }

    /// @inheritdoc IProtocolParams
    function get(bytes32 key) external view returns (uint256) {
        Param storage p = _params[key];
        if (!p.defined) revert UnknownParam(key);
        return p.value;
    }

    /// @inheritdoc IProtocolParams
    function feeShares() external view returns (uint256 contributors, uint256 modelOwner, uint256 node, uint256 protocol) {
        return (
            _params[K.FEE_SHARE_CONTRIBUTORS].value,
            _params[K.FEE_SHARE_MODEL_OWNER].value,
            _params[K.FEE_SHARE_NODE].value,
            _params[K.FEE_SHARE_PROTOCOL].value
        );
    }

    /// @inheritdoc IProtocolParams
    function bounds(bytes32 key) external view returns (uint256 min, uint256 max) {
        Param storage p = _params[key];
        if (!p.defined) revert UnknownParam(key);
        return (p.min, p.max);
    }

    /// @inheritdoc IProtocolParams
    function keys() external view returns (bytes32[] memory) {
        return _keys;
    }

    /// @inheritdoc IProtocolParams
    function set(bytes32 key, uint256 value) external onlyOwner {
        if (_isFeeShare(key)) revert UseSetFeeShares();
        _set(key, value);
    }

    /// @inheritdoc IProtocolParams
    function setFeeShares(uint256 contributors, uint256 modelOwner, uint256 node, uint256 protocol) external onlyOwner {
        uint256 sum = contributors + modelOwner + node + protocol;
        if (sum != BPS) revert FeeSharesMustSumTo10000(sum);
        _set(K.FEE_SHARE_CONTRIBUTORS, contributors);
        _set(K.FEE_SHARE_MODEL_OWNER, modelOwner);
        _set(K.FEE_SHARE_NODE, node);
        _set(K.FEE_SHARE_PROTOCOL, protocol);
        emit FeeSharesChanged(contributors, modelOwner, node, protocol);
    }

    function _set(bytes32 key, uint256 value) private {
        Param storage p = _params[key];
        if (!p.defined) revert UnknownParam(key);
        if (value < p.min || value > p.max) revert ParamOutOfBounds(key, value, p.min, p.max);
        emit ParamChanged(key, p.value, value);
        p.value = value;
    }

    function _define(bytes32 key, uint256 value, uint256 min, uint256 max) private {
        _params[key] = Param({value: value, min: min, max: max, defined: true});
        _keys.push(key);
    }

    function _isFeeShare(bytes32 key) private pure returns (bool) {
        return key == K.FEE_SHARE_CONTRIBUTORS || key == K.FEE_SHARE_MODEL_OWNER || key == K.FEE_SHARE_NODE
            || key == K.FEE_SHARE_PROTOCOL;
    }
}
