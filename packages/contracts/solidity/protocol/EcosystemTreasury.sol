// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @title EcosystemTreasury
/// @notice The ecosystem development fund: receives the protocol's fee share and slashed funds, and
///         pays grants that governance (the Timelock, its owner) approves.
contract EcosystemTreasury is Ownable, ReentrancyGuard {
    event Received(address indexed from, uint256 amount);
    event GrantPaid(address indexed to, uint256 amount, string reason);

    error GrantExceedsBalance(uint256 amount, uint256 balance);
    error ZeroRecipient();

    constructor(address timelock) payable Ownable(timelock) {}

    receive() external payable {
        emit Received(msg.sender, msg.value);
    }

    /// @notice Pays `amount` of OPEN to `to`; governance only.
    function grant(address payable to, uint256 amount, string calldata reason) external onlyOwner nonReentrant {
        if (to == address(0)) revert ZeroRecipient();
        if (amount > address(this).balance) revert GrantExceedsBalance(amount, address(this).balance);
        emit GrantPaid(to, amount, reason);
        Address.sendValue(to, amount);
    }
}
