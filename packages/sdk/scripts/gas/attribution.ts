// Which protocol function each call inside a transaction is, from its callTracer trace.
//
// The devnet's callTracer reports a sub-call's `input` as a view of the caller's memory, read after
// the transaction: when the caller later writes over that memory (return data, event encoding, the
// next call's arguments) the recorded input is garbage. So a sub-call's calldata is trusted only when
// it decodes exactly; otherwise the call is identified from what is known about it:
//  - operations the Timelock executes are the scenario's own (in order, to the expected targets), and
//    a relayed operation's inner call is in the relay's arguments;
//  - the Governor calls the Timelock's scheduleBatch from queue, executeBatch from execute and cancel
//    from cancel; InferencePayments calls only AgentRegistry.recordSpend and AttributionSettlement.fund;
//  - Staking calls VotingPower's mint or burn, told apart by the Transfer they log (from or to zero).
import { decodeFunctionData, keccak256, toBytes, type Abi, type Hex } from 'viem';
import { PREDEPLOYS, type PredeployName } from '@openledger/contracts';
import { PROTOCOL_ABIS } from '../../src/contracts.ts';
import { contractAt, functionNamed, functionOf, strictFunctionOf, type FunctionInfo } from './abi.ts';

/** A frame of geth's callTracer output (with `withLog`). */
export interface CallFrame {
  type: string;
  from: string;
  to?: string;
  input: string;
  output?: string;
  value?: string;
  gas?: string;
  gasUsed: string;
  error?: string;
  revertReason?: string;
  logs?: { address: string; topics: string[]; data: string }[];
  calls?: CallFrame[];
}

/** A protocol function called by another contract inside a transaction: the gas of its frame alone. */
export interface FrameRecord {
  contract: PredeployName;
  fn: string;
  /** The calling predeploy's name (or address). */
  caller: string;
  gasUsed: bigint;
}

/** A call the Timelock executes (a proposal's action or a directly scheduled operation). */
export interface Operation {
  target: `0x${string}`;
  data: Hex;
}

const TRANSFER = keccak256(toBytes('Transfer(address,address,uint256)'));
const ZERO_TOPIC = `0x${'0'.repeat(64)}`;

/** What the trace's calls are; `unidentified` lists protocol calls none of the rules above could name. */
export function attributeCalls(
  root: CallFrame,
  operations: readonly Operation[] = [],
): { top: FunctionInfo | undefined; internal: FrameRecord[]; unidentified: string[] } {
  const rootContract = contractAt(root.to);
  // The top frame's input is the transaction's own data, not memory: always right.
  const top = rootContract ? functionOf(rootContract, root.input) : undefined;
  const known = new Map<CallFrame, FunctionInfo>();
  if (operations.length > 0) identifyOperations(root, operations, known);

  const internal: FrameRecord[] = [];
  const unidentified: string[] = [];
  const walk = (frame: CallFrame) => {
    for (const call of frame.calls ?? []) {
      const callee = contractAt(call.to);
      if (call.type === 'CALL' && !call.error && callee && call.input !== '0x') {
        const caller = contractAt(call.from);
        const fn =
          known.get(call) ?? byRule(caller, callee, call, top) ?? strictFunctionOf(callee, call.input);
        if (fn?.mutating) {
          internal.push({
            contract: callee,
            fn: fn.key,
            caller: caller ?? call.from,
            gasUsed: BigInt(call.gasUsed),
          });
        } else if (!fn) {
          unidentified.push(`${caller ?? call.from} -> ${callee}`);
        }
      }
      walk(call);
    }
  };
  walk(root);
  return { top, internal, unidentified };
}

/** Matches the Timelock's calls, in order, to the operations it was asked to execute. */
function identifyOperations(
  root: CallFrame,
  operations: readonly Operation[],
  known: Map<CallFrame, FunctionInfo>,
) {
  const timelock = PREDEPLOYS.OpenTimelock.toLowerCase();
  const frame =
    root.to?.toLowerCase() === timelock
      ? root
      : root.calls?.find((c) => c.type === 'CALL' && c.to?.toLowerCase() === timelock);
  const calls = (frame?.calls ?? []).filter((c) => c.type === 'CALL');
  const matches =
    calls.length === operations.length &&
    calls.every((c, i) => c.to?.toLowerCase() === operations[i]!.target.toLowerCase());
  if (!matches) throw new Error('the Timelock did not make the calls of the operations it executed');
  calls.forEach((c, i) => {
    const op = operations[i]!;
    const contract = contractAt(op.target);
    const fn = contract && functionOf(contract, op.data);
    if (!contract || !fn) return;
    known.set(c, fn);
    if (contract === 'OpenGovernor' && fn.key === 'relay') {
      // relay(target, value, data): the Governor's first call is the relayed one.
      const { args } = decodeFunctionData({ abi: PROTOCOL_ABIS.OpenGovernor as Abi, data: op.data });
      const [target, , data] = args as [string, bigint, Hex];
      const inner = c.calls?.find((x) => x.type === 'CALL');
      const relayed = contractAt(target);
      const innerFn = relayed && functionOf(relayed, data);
      if (inner && innerFn) known.set(inner, innerFn);
    }
  });
}

/** The calls a protocol contract makes to another that are known from its code. */
function byRule(
  caller: PredeployName | undefined,
  callee: PredeployName,
  call: CallFrame,
  top: FunctionInfo | undefined,
): FunctionInfo | undefined {
  const pair = `${caller}>${callee}`;
  if (pair === 'OpenGovernor>OpenTimelock' && top?.contract === 'OpenGovernor') {
    const fn = { queue: 'scheduleBatch', execute: 'executeBatch', cancel: 'cancel' }[top.key];
    return fn ? functionNamed('OpenTimelock', fn) : undefined;
  }
  if (pair === 'InferencePayments>AgentRegistry') return functionNamed('AgentRegistry', 'recordSpend');
  if (pair === 'InferencePayments>AttributionSettlement')
    return functionNamed('AttributionSettlement', 'fund');
  if (pair === 'Staking>VotingPower') {
    const transfer = call.logs?.find((l) => l.topics[0] === TRANSFER);
    if (transfer?.topics[1] === ZERO_TOPIC) return functionNamed('VotingPower', 'mint');
    if (transfer?.topics[2] === ZERO_TOPIC) return functionNamed('VotingPower', 'burn');
  }
  return undefined;
}
