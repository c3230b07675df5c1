import type { Logger } from 'pino';
import type { GethGenesis } from '../genesis/geth-genesis.ts';
import { Node } from '../node.ts';
import { serveNode } from '../rpc/serve-node.ts';

export interface StartRpcNodeOptions {
  dataDir: string;
  genesis: GethGenesis;
  host: string;
  port: number;
  log: Logger;
}

export interface RunningRpcNode {
  node: Node;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/**
 * A node that serves the chain in `dataDir` over JSON-RPC and nothing else: no block producer and
 * no dev methods, so its answers come only from the blocks it holds (an imported chain, to be
 * compared with another client's).
 */
export async function startRpcNode(options: StartRpcNodeOptions): Promise<RunningRpcNode> {
  const node = await Node.open({ dataDir: options.dataDir, genesis: options.genesis, log: options.log });
  let served;
  try {
    served = await serveNode(node, { host: options.host, port: options.port }, options.log);
  } catch (error) {
    await node.close();
    throw error;
  }
  return {
    node,
    url: served.url,
    wsUrl: served.wsUrl,
    async close() {
      await served.close();
      await node.close();
    },
  };
}
