import type { Logger } from 'pino';
import type { Node } from '../node.ts';
import type { Method } from './dispatcher.ts';
import { Dispatcher } from './dispatcher.ts';
import { startRpcFront } from './front/front-host.ts';
import { nodeMethods } from './methods/index.ts';
import { DEFAULT_RPC_SERVER_OPTIONS } from './server.ts';

export interface ServedNode {
  url: string;
  wsUrl: string;
  /** Stops the server; the node itself stays open. */
  close(): Promise<void>;
}

/**
 * Serves `node`'s methods, plus `extra` ones (a devnet's), over JSON-RPC on `host:port`: the
 * sockets, JSON and signature recovery on a worker thread, the methods on this one.
 */
export async function serveNode(
  node: Node,
  endpoint: { host: string; port: number },
  log: Logger,
  extra: Record<string, Method> = {},
): Promise<ServedNode> {
  const dispatcher = new Dispatcher(log.child({ module: 'rpc' }));
  dispatcher.register(nodeMethods(node));
  dispatcher.register(extra);
  const front = await startRpcFront(
    dispatcher,
    { ...DEFAULT_RPC_SERVER_OPTIONS, ...endpoint },
    node.chain.config.genesis,
    log,
    // Without its RPC the node can neither be used nor asked to stop: end the process.
    () => process.exit(1),
  );
  const { address, port } = front.address;
  const host = front.address.family === 'IPv6' ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    close: () => front.close(),
  };
}
