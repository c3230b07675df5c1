// Which protocol function a call is: selectors of every predeploy's ABI, and the state-changing
// functions each contract exposes (what the gas report has to cover).
import {
  decodeFunctionData,
  encodeFunctionData,
  toFunctionSelector,
  toFunctionSignature,
  type Abi,
  type AbiFunction,
  type Hex,
} from 'viem';
import { PREDEPLOYS, type PredeployName } from '@openledger/contracts';
import { PROTOCOL_ABIS } from '../../src/contracts.ts';

export const CONTRACT_NAMES = Object.keys(PREDEPLOYS) as PredeployName[];

export interface FunctionInfo {
  contract: PredeployName;
  /** How the report names it: the bare name, or the full signature where a name is overloaded. */
  key: string;
  signature: string;
  selector: Hex;
  /** Not view or pure: a transaction can call it. */
  mutating: boolean;
}

function functionsOf(contract: PredeployName): FunctionInfo[] {
  const abi = PROTOCOL_ABIS[contract] as readonly { type: string }[];
  const fns = abi.filter((item): item is AbiFunction => item.type === 'function');
  const isMutating = (f: AbiFunction) =>
    f.stateMutability === 'nonpayable' || f.stateMutability === 'payable';
  // Only the mutating functions are ever shown, so a name is ambiguous only among them.
  const mutatingNames = fns.filter(isMutating).map((f) => f.name);
  return fns.map((f) => {
    const signature = toFunctionSignature(f);
    const overloaded = mutatingNames.filter((n) => n === f.name).length > 1;
    return {
      contract,
      key: isMutating(f) && overloaded ? signature : f.name,
      signature,
      selector: toFunctionSelector(f),
      mutating: isMutating(f),
    };
  });
}

const byContract = new Map<PredeployName, FunctionInfo[]>(CONTRACT_NAMES.map((c) => [c, functionsOf(c)]));
const byAddress = new Map<string, PredeployName>(CONTRACT_NAMES.map((c) => [PREDEPLOYS[c].toLowerCase(), c]));

/** The predeploy at `address`, if it is one. */
export function contractAt(address: string | undefined): PredeployName | undefined {
  return address === undefined ? undefined : byAddress.get(address.toLowerCase());
}

/** The function of `contract` that calldata `input` calls (undefined for a plain transfer or an unknown selector). */
export function functionOf(contract: PredeployName, input: string): FunctionInfo | undefined {
  if (input.length < 10) return undefined;
  const selector = input.slice(0, 10).toLowerCase();
  return byContract.get(contract)!.find((f) => f.selector === selector);
}

/** Every function of `contract` a transaction can call, sorted by key. */
export function mutatingFunctions(contract: PredeployName): FunctionInfo[] {
  return byContract
    .get(contract)!
    .filter((f) => f.mutating)
    .sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Like functionOf, but only for calldata that is exactly a valid encoding of the function's arguments
 * (it decodes, and encodes back to the same bytes): a selector alone may be a coincidence.
 */
export function strictFunctionOf(contract: PredeployName, input: string): FunctionInfo | undefined {
  const fn = functionOf(contract, input);
  if (!fn) return undefined;
  const abi = PROTOCOL_ABIS[contract] as Abi;
  try {
    const { functionName, args } = decodeFunctionData({ abi, data: input as Hex });
    const again = encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0]);
    return again.toLowerCase() === input.toLowerCase() ? fn : undefined;
  } catch {
    return undefined;
  }
}

/** The state-changing function of `contract` the report calls `key`. */
export function functionNamed(contract: PredeployName, key: string): FunctionInfo {
  const fn = mutatingFunctions(contract).find((f) => f.key === key);
  if (!fn) throw new Error(`${contract} has no state-changing function ${key}`);
  return fn;
}
