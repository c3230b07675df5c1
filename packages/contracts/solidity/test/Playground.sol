// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Playground
/// @notice Test fixture for the node's JSON-RPC tests, not a production contract. Each function
///         exercises one behaviour the RPC layer has to get right: logs and topics, the three revert
///         shapes (reason string, custom error, empty), gas refunds, gas-dependent success, nested
///         calls, block context and value transfers.
contract Playground {
    /// @notice Thrown by failWithCustomError so tests can decode custom-error revert data.
    error PlaygroundError(uint256 code, string why);

    event ValueChanged(address indexed who, uint256 indexed oldValue, uint256 newValue);
    event Ping(uint256 indexed i, bytes32 data);
    event GasChecked(uint256 minGas, uint256 gasLeft);
    event Deposited(address indexed from, uint256 amount);

    uint256 public value;

    /// @notice Storage used by fill/clear to create (and then refund) storage writes.
    mapping(uint256 => uint256) public slots;

    function setValue(uint256 newValue) external {
        uint256 oldValue = value;
        value = newValue;
        emit ValueChanged(msg.sender, oldValue, newValue);
    }

    /// @dev Writes state before failing so tests can check that a revert rolls the write back;
    ///      it also keeps the function non-view, so it can be sent as a transaction.
    function failWithReason() external {
        value += 1;
        require(false, "playground: failed on purpose");
    }

    function failWithCustomError(uint256 code) external {
        value += 1;
        revert PlaygroundError(code, "playground: custom error");
    }

    /// @dev Reverts with empty return data, the case where there is neither a reason nor an error selector.
    function failEmpty() external {
        value += 1;
        revert();
    }

    /// @notice Writes n non-zero slots (expensive fresh SSTOREs).
    function fill(uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            slots[i] = i + 1;
        }
    }

    /// @notice Zeroes n slots. The refund makes gasUsed far lower than the gas limit the call needs
    ///         during execution, so eth_estimateGas must binary-search instead of returning gasUsed.
    function clear(uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            slots[i] = 0;
        }
    }

    /// @notice Burns gas in a hashing loop, then makes a nested call to this contract. The nested call
    ///         only receives 63/64 of the remaining gas, which estimators have to account for; its
    ///         ValueChanged event has `who == address(this)`.
    function burnGasThenCall(uint256 iterations) external {
        bytes32 acc = bytes32(iterations);
        for (uint256 i = 0; i < iterations; i++) {
            acc = keccak256(abi.encode(acc, i));
        }
        this.setValue(uint256(acc));
    }

    /// @notice Succeeds only when at least minGas is left, but uses little gas itself, so the gas
    ///         limit needed is above gasUsed (another case where gasUsed is not a valid estimate).
    function needsGas(uint256 minGas) external {
        uint256 left = gasleft();
        require(left >= minGas, "playground: out of gas budget");
        emit GasChecked(minGas, left);
    }

    function emitMany(uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit Ping(i, keccak256(abi.encode(i)));
        }
    }

    /// @notice The block context as the EVM sees it, to check what the node passes into execution.
    function blockInfo()
        external
        view
        returns (
            uint256 number,
            uint256 timestamp,
            uint256 basefee,
            address coinbase,
            uint256 chainid,
            bytes32 parentHash
        )
    {
        // Guarded so a call executed in the context of block 0 returns a zero hash instead of
        // underflowing (which would panic).
        parentHash = block.number == 0 ? bytes32(0) : blockhash(block.number - 1);
        return (block.number, block.timestamp, block.basefee, block.coinbase, block.chainid, parentHash);
    }

    function deposit() external payable {
        emit Deposited(msg.sender, msg.value);
    }

    receive() external payable {
        emit Deposited(msg.sender, msg.value);
    }
}
