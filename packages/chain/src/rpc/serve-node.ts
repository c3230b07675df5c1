import type { Logger } from 'pino';
import type { Node } from '../node.ts';
import type { Method } from './dispatcher.ts';
import { Dispatcher } from './dispatcher.ts';
import { nodeMethods } from './methods/index.ts';
import { DEFAULT_RPC_SERVER_OPTIONS, RpcServer } from './server.ts';

export interface ServedNode {
  url: string;
  wsUrl: string;
  /** Stops the server; the node itself stays open. */
  close(): Promise<void>;
}

/** Serves `node`'s methods, plus `extra` ones (a devnet's), over JSON-RPC on `host:port`. */
export async function serveNode(
  node: Node,
  endpoint: { host: string; port: number },
  log: Logger,
  extra: Record<string, Method> = {},
): Promise<ServedNode> {
  const dispatcher = new Dispatcher(log.child({ module: 'rpc' }));
  dispatcher.register(nodeMethods(node));
  dispatcher.register(extra);
  const server = new RpcServer(dispatcher, { ...DEFAULT_RPC_SERVER_OPTIONS, ...endpoint }, log);
  const address = await server.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}`,
    close: () => server.close(),
  };
}
