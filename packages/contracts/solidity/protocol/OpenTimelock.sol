// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title OpenTimelock
/// @notice The owner of ProtocolParams and the EcosystemTreasury (and the Governor's executor): it runs an
///         operation only after the OpenGovernor queued it and `minDelay` seconds passed, so holders
///         who disagree with a passed proposal have time to exit before it takes effect.
/// @dev Plain OpenZeppelin TimelockController. Genesis deploys it with minDelay 1 day, the governor as
///      the only proposer (and canceller), address(0) as executor (anyone may execute a ready
///      operation) and no admin, so its roles change only through its own timelocked operations.
contract OpenTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
