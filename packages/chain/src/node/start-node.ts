import type { Logger } from 'pino';
import type { GethGenesis } from '../genesis/geth-genesis.ts';
import { Node } from '../node.ts';
import { Dispatcher } from '../rpc/dispatcher.ts';
import { nodeMethods } from '../rpc/methods/index.ts';
import { RpcServer } from '../rpc/server.ts';

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
  const dispatcher = new Dispatcher(options.log.child({ module: 'rpc' }));
  dispatcher.register(nodeMethods(node));
  const server = new RpcServer(
    dispatcher,
    { host: options.host, port: options.port, maxBodyBytes: 5 * 1024 * 1024 },
    options.log,
  );
  let address;
  try {
    address = await server.listen();
  } catch (error) {
    await node.close();
    throw error;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    node,
    url: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}`,
    async close() {
      await server.close();
      await node.close();
    },
  };
}
