import {
  CLRequest,
  CLRequestType,
  bigIntToBytes,
  createAddressFromBigInt,
  setLengthLeft,
} from '@ethereumjs/util';
import type { VM } from '@ethereumjs/vm';

const SYSTEM_ADDRESS = 0xfffffffffffffffffffffffffffffffffffffffen;
const BEACON_ROOTS_ADDRESS = 0x000f3df6d732807ef1319fb7b8bb8522d0beac02n;

/**
 * Block-level state updates that Prague requires before the first transaction: EIP-4788 (parent
 * beacon root ring buffer) and EIP-2935 (parent block hash ring buffer). As in geth and ethereumjs,
 * nothing is written when the system contract has no code.
 */
export async function applyPreBlockSystemCalls(
  vm: VM,
  header: { number: bigint; timestamp: bigint; parentHash: Uint8Array; parentBeaconBlockRoot?: Uint8Array },
): Promise<void> {
  const state = vm.stateManager;
  if (vm.common.isActivatedEIP(4788) && header.parentBeaconBlockRoot !== undefined) {
    const address = createAddressFromBigInt(BEACON_ROOTS_ADDRESS);
    if ((await state.getCode(address)).length > 0) {
      const length = BigInt(vm.common.param('historicalRootsLength'));
      const index = header.timestamp % length;
      await state.putStorage(address, slot(index), bigIntToBytes(header.timestamp));
      await state.putStorage(address, slot(index + length), header.parentBeaconBlockRoot);
    }
  }
  if (vm.common.isActivatedEIP(2935) && header.number > 0n) {
    const address = createAddressFromBigInt(BigInt(vm.common.param('historyStorageAddress')));
    if ((await state.getCode(address)).length > 0) {
      const window = BigInt(vm.common.param('historyServeWindow'));
      await state.putStorage(address, slot((header.number - 1n) % window), header.parentHash);
    }
  }
}

/**
 * EIP-7685 execution-layer requests after the last transaction: the EIP-7002 withdrawal and
 * EIP-7251 consolidation queues are drained by a system call to their contracts. This chain has no
 * beacon deposit contract, so deposit requests are always empty.
 */
export async function collectRequests(vm: VM): Promise<CLRequest<CLRequestType>[]> {
  if (!vm.common.isActivatedEIP(7685)) return [];
  const requests: CLRequest<CLRequestType>[] = [];
  const queues: [number, bigint, CLRequestType][] = [
    [7002, BigInt(vm.common.param('withdrawalRequestPredeployAddress')), CLRequestType.Withdrawal],
    [7251, BigInt(vm.common.param('consolidationRequestPredeployAddress')), CLRequestType.Consolidation],
  ];
  for (const [eip, contract, type] of queues) {
    if (!vm.common.isActivatedEIP(eip)) continue;
    const to = createAddressFromBigInt(contract);
    if ((await vm.stateManager.getCode(to)).length === 0) continue;
    // A system call must leave no trace on the system account itself.
    const caller = createAddressFromBigInt(SYSTEM_ADDRESS);
    const callerBefore = await vm.stateManager.getAccount(caller);
    const result = await vm.evm.runCall({
      caller,
      to,
      gasLimit: BigInt(vm.common.param('systemCallGasLimit')),
      data: new Uint8Array(),
      skipBalance: true,
    });
    if (callerBefore === undefined) await vm.stateManager.deleteAccount(caller);
    else await vm.stateManager.putAccount(caller, callerBefore);
    requests.push(new CLRequest(type, result.execResult.returnValue));
  }
  return requests;
}

function slot(index: bigint): Uint8Array {
  return setLengthLeft(bigIntToBytes(index), 32);
}
