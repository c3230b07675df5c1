// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title VotingPower (GOPEN)
/// @notice Governance weight of OPEN stakers: Staking mints it when OPEN is staked and burns it when
///         stake is unbonded or slashed, so voting power follows bonded stake (after a slash, a
///         delegator's GOPEN is corrected by `Staking.syncVotingPower` or its next staking action). It cannot be
///         transferred or approved: votes must not be bought apart from the stake that backs them.
/// @dev ERC20Votes on a timestamp clock (the OpenGovernor reads the same clock). Holders delegate
///      with `delegate` / `delegateBySig`; a holder who starts from a zero balance with no delegate
///      is self-delegated on mint, so stake counts as votes without an extra transaction.
contract VotingPower is ERC20, EIP712, ERC20Votes {
    /// @notice The Staking contract, the only minter and burner.
    address public immutable staking;

    error NonTransferable();
    error OnlyStaking(address caller);

    modifier onlyStaking() {
        if (msg.sender != staking) revert OnlyStaking(msg.sender);
        _;
    }

    constructor(address staking_) ERC20("OpenLedger Voting Power", "GOPEN") EIP712("OpenLedger Voting Power", "1") {
        staking = staking_;
    }

    /// @notice Staking only: mints `amount` GOPEN to `to` (stake bonded, or a resync after rounding).
    function mint(address to, uint256 amount) external onlyStaking {
        // A new holder votes with its stake right away; an explicit choice made while holding is kept.
        if (balanceOf(to) == 0 && delegates(to) == address(0)) _delegate(to, to);
        _mint(to, amount);
    }

    /// @notice Staking only: burns `amount` GOPEN of `from` (stake unbonded, or the excess after a slash).
    function burn(address from, uint256 amount) external onlyStaking {
        _burn(from, amount);
    }

    /// @notice Always reverts: GOPEN is not transferable.
    function transfer(address, uint256) public pure override returns (bool) {
        revert NonTransferable();
    }

    /// @notice Always reverts: GOPEN is not transferable.
    function transferFrom(address, address, uint256) public pure override returns (bool) {
        revert NonTransferable();
    }

    /// @notice Always reverts: GOPEN is not transferable, so allowances have no use.
    function approve(address, uint256) public pure override returns (bool) {
        revert NonTransferable();
    }

    /// @notice Checkpoints are keyed by block timestamp (seconds), not block number.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372 description of the clock.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
