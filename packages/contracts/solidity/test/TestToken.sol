// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice Test and benchmark fixture, not a production token: a plain OpenZeppelin ERC20 whose whole
///         supply goes to the deployer. The chain throughput benchmark deploys it with exactly the
///         constructor signature (string, string, uint256), so keep that signature stable.
contract TestToken is ERC20 {
    /// @dev Parameters carry a trailing underscore because `name` and `symbol` would shadow the
    ///      ERC20 getters of the same name (a compiler warning); the ABI types are what callers rely on.
    constructor(string memory name_, string memory symbol_, uint256 initialSupply) ERC20(name_, symbol_) {
        _mint(msg.sender, initialSupply);
    }
}
