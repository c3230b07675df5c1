// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAgentRegistry} from "./interfaces/IAgentRegistry.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title AgentRegistry
/// @notice Autonomous agents: addresses that pay for inference from their own InferencePayments deposit
///         under spending rules set by their owner (a limit per fixed time window and an optional list
///         of models). InferencePayments calls recordSpend before charging an agent, so a runaway agent
///         cannot spend more than its owner allowed.
contract AgentRegistry is IAgentRegistry {
    /// @notice An agent's rules and its spending in the window that is current as of the last spend.
    struct Agent {
        address owner;
        bool active;
        uint64 period;
        uint64 periodStart;
        uint256 limitPerPeriod;
        uint256 spentInPeriod;
        uint256[] allowedModels;
    }

    /// @notice What `agent(address)` returns; spentInPeriod and periodStart are those of the window
    ///         that contains the current block, so a window that has ended reads as spent 0.
    struct AgentInfo {
        address owner;
        bool active;
        uint256 limitPerPeriod;
        uint64 period;
        uint256 spentInPeriod;
        uint64 periodStart;
        uint256[] allowedModels;
    }

    /// @notice Most models one allow-list may name; bounds the registration loop.
    uint256 public constant MAX_ALLOWED_MODELS = 64;

    /// @notice Where allow-listed models are checked to exist.
    IModelRegistry public immutable models;
    /// @notice The only caller of recordSpend.
    address public immutable inferencePayments;

    mapping(address agent => Agent) private _agents;
    /// @dev Allow-list membership for O(1) checks in recordSpend: a model is allowed when its entry
    ///      equals the agent's current list generation, so replacing a list never has to clear the old one.
    mapping(address agent => mapping(uint256 modelId => uint256 generation)) private _allowed;
    mapping(address agent => uint256) private _generation;
    /// @notice Addresses that removed themselves as agents and refuse to be registered again.
    mapping(address agent => bool) public optedOut;

    event AgentRegistered(
        address indexed agent, address indexed owner, uint256 limitPerPeriod, uint64 period, uint256[] allowedModels
    );
    event AgentUpdated(
        address indexed agent, address indexed owner, uint256 limitPerPeriod, uint64 period, uint256[] allowedModels
    );
    event AgentDeactivated(address indexed agent, address indexed by);
    event AgentOptOutChanged(address indexed agent, bool optedOut);
    event SpendRecorded(address indexed agent, uint256 indexed modelId, uint256 amount, uint256 spentInPeriod);

    error NotAnAgent(address agent);
    error NotAgentOwner(address agent, address caller);
    error AgentAlreadyRegistered(address agent, address owner);
    error AgentOptedOut(address agent);
    error ModelNotAllowed(address agent, uint256 modelId);
    error SpendLimitExceeded(uint256 limit, uint256 wouldSpend);
    error UnknownModel(uint256 modelId);
    error TooManyModels(uint256 count, uint256 max);
    error ZeroPeriod();
    error ZeroAddress();
    error OnlyInferencePayments(address caller);

    constructor(IModelRegistry models_, address inferencePayments_) {
        if (address(models_) == address(0) || inferencePayments_ == address(0)) revert ZeroAddress();
        models = models_;
        inferencePayments = inferencePayments_;
    }

    // ---------------------------------------------------------------- owner actions

    /// @notice Registers `agent_` as the caller's agent: it may spend at most `limitPerPeriod` wei per
    ///         window of `period` seconds (windows start at registration), on `allowedModels` only
    ///         (empty = any model). An agent has one owner; a deactivated agent may be registered again.
    function registerAgent(address agent_, uint256 limitPerPeriod, uint64 period, uint256[] calldata allowedModels)
        external
    {
        if (agent_ == address(0)) revert ZeroAddress();
        Agent storage a = _agents[agent_];
        if (a.active) revert AgentAlreadyRegistered(agent_, a.owner);
        // Being an agent restricts what an address can spend, so nobody may impose it on an address
        // that said no (see deactivate).
        if (optedOut[agent_]) revert AgentOptedOut(agent_);
        a.owner = msg.sender;
        a.active = true;
        a.periodStart = uint64(block.timestamp);
        a.spentInPeriod = 0;
        _setRules(agent_, a, limitPerPeriod, period, allowedModels);
        emit AgentRegistered(agent_, msg.sender, limitPerPeriod, period, allowedModels);
    }

    /// @notice Replaces an active agent's rules; owner only. What was spent in the current window still
    ///         counts against the new limit; a new period starts a new window now.
    function updateAgent(address agent_, uint256 limitPerPeriod, uint64 period, uint256[] calldata allowedModels)
        external
    {
        Agent storage a = _ownedActive(agent_);
        _roll(a);
        if (period != a.period) a.periodStart = uint64(block.timestamp);
        _setRules(agent_, a, limitPerPeriod, period, allowedModels);
        emit AgentUpdated(agent_, msg.sender, limitPerPeriod, period, allowedModels);
    }

    /// @notice Ends an agent's registration, by its owner or by the agent itself. When the agent does it,
    ///         it also opts out of being registered again (by anyone) until it calls setOptOut(false):
    ///         otherwise anyone could register a stranger's address with a zero limit and block its payments.
    function deactivate(address agent_) external {
        Agent storage a = _agents[agent_];
        if (!a.active) revert NotAnAgent(agent_);
        if (msg.sender != a.owner && msg.sender != agent_) revert NotAgentOwner(agent_, msg.sender);
        a.active = false;
        _generation[agent_]++;
        delete a.allowedModels;
        emit AgentDeactivated(agent_, msg.sender);
        if (msg.sender == agent_ && !optedOut[agent_]) {
            optedOut[agent_] = true;
            emit AgentOptOutChanged(agent_, true);
        }
    }

    /// @notice Lets the caller refuse (true) or accept again (false) being registered as an agent. It does
    ///         not end a current registration; use deactivate for that.
    function setOptOut(bool value) external {
        optedOut[msg.sender] = value;
        emit AgentOptOutChanged(msg.sender, value);
    }

    // ---------------------------------------------------------------- InferencePayments hook

    /// @inheritdoc IAgentRegistry
    function recordSpend(address agent_, uint256 modelId, uint256 amount) external {
        if (msg.sender != inferencePayments) revert OnlyInferencePayments(msg.sender);
        Agent storage a = _agents[agent_];
        if (!a.active) revert NotAnAgent(agent_);
        if (a.allowedModels.length != 0 && _allowed[agent_][modelId] != _generation[agent_]) {
            revert ModelNotAllowed(agent_, modelId);
        }
        _roll(a);
        uint256 wouldSpend = a.spentInPeriod + amount;
        if (wouldSpend > a.limitPerPeriod) revert SpendLimitExceeded(a.limitPerPeriod, wouldSpend);
        a.spentInPeriod = wouldSpend;
        emit SpendRecorded(agent_, modelId, amount, wouldSpend);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAgentRegistry
    function isAgent(address agent_) external view returns (bool) {
        return _agents[agent_].active;
    }

    /// @notice An agent's owner, rules and spending in the window containing the current block.
    function agent(address agent_) external view returns (AgentInfo memory info) {
        Agent storage a = _agents[agent_];
        (uint64 start, bool rolled) = _currentWindow(a);
        info = AgentInfo({
            owner: a.owner,
            active: a.active,
            limitPerPeriod: a.limitPerPeriod,
            period: a.period,
            spentInPeriod: rolled ? 0 : a.spentInPeriod,
            periodStart: start,
            allowedModels: a.allowedModels
        });
    }

    /// @notice True if `agent_` is active and may spend on `modelId` (ignoring its limit).
    function isModelAllowed(address agent_, uint256 modelId) external view returns (bool) {
        Agent storage a = _agents[agent_];
        return a.active && (a.allowedModels.length == 0 || _allowed[agent_][modelId] == _generation[agent_]);
    }

    /// @notice What `agent_` may still spend in the current window (0 if not an agent).
    function remainingInPeriod(address agent_) external view returns (uint256) {
        Agent storage a = _agents[agent_];
        if (!a.active) return 0;
        (, bool rolled) = _currentWindow(a);
        uint256 spent = rolled ? 0 : a.spentInPeriod;
        return spent >= a.limitPerPeriod ? 0 : a.limitPerPeriod - spent;
    }

    // ---------------------------------------------------------------- internals

    function _ownedActive(address agent_) private view returns (Agent storage a) {
        a = _agents[agent_];
        if (!a.active) revert NotAnAgent(agent_);
        if (msg.sender != a.owner) revert NotAgentOwner(agent_, msg.sender);
    }

    /// @dev A fresh generation makes every earlier allow-list entry stale in one write.
    function _setRules(
        address agent_,
        Agent storage a,
        uint256 limitPerPeriod,
        uint64 period,
        uint256[] calldata allowedModels
    ) private {
        if (period == 0) revert ZeroPeriod();
        if (allowedModels.length > MAX_ALLOWED_MODELS) revert TooManyModels(allowedModels.length, MAX_ALLOWED_MODELS);
        uint256 generation = ++_generation[agent_];
        for (uint256 i = 0; i < allowedModels.length; ++i) {
            if (!models.exists(allowedModels[i])) revert UnknownModel(allowedModels[i]);
            _allowed[agent_][allowedModels[i]] = generation;
        }
        a.limitPerPeriod = limitPerPeriod;
        a.period = period;
        a.allowedModels = allowedModels;
    }

    /// @dev Moves the stored window forward to the one containing now, resetting what was spent.
    function _roll(Agent storage a) private {
        (uint64 start, bool rolled) = _currentWindow(a);
        if (rolled) {
            a.periodStart = start;
            a.spentInPeriod = 0;
        }
    }

    /// @dev Windows are fixed: [periodStart + k*period, periodStart + (k+1)*period).
    function _currentWindow(Agent storage a) private view returns (uint64 start, bool rolled) {
        start = a.periodStart;
        if (a.period == 0 || block.timestamp < uint256(start) + a.period) return (start, false);
        uint256 elapsed = block.timestamp - start;
        start += uint64(elapsed - (elapsed % a.period));
        return (start, true);
    }
}
