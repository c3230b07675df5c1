import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { blockMethods } from './blocks.ts';
import { debugMethods } from './debug.ts';
import { executionMethods } from './execution.ts';
import { feeMethods } from './fees.ts';
import { logMethods } from './logs.ts';
import { stateMethods } from './state.ts';
import { transactionMethods } from './transactions.ts';
import { txpoolMethods } from './txpool.ts';
import { web3NetMethods } from './web3-net.ts';

/** Every method a node answers whatever its role; devnet-only methods are added by the devnet. */
export function nodeMethods(node: Node): Record<string, Method> {
  return {
    ...web3NetMethods(node),
    ...stateMethods(node),
    ...blockMethods(node),
    ...transactionMethods(node),
    ...feeMethods(node),
    ...executionMethods(node),
    ...logMethods(node),
    ...debugMethods(node),
    ...txpoolMethods(node),
  };
}
