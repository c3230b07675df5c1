import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DevAccount } from '../genesis/dev-accounts.ts';
import type { GethGenesis } from '../genesis/geth-genesis.ts';
import { Node } from '../node.ts';
import { Dispatcher } from '../rpc/dispatcher.ts';
import { nodeMethods } from '../rpc/methods/index.ts';
import { devMethods } from '../rpc/methods/dev.ts';
import { RpcServer } from '../rpc/server.ts';
import { Devnet } from './devnet.ts';

export interface StartDevnetOptions {
  dataDir: string;
  reset: boolean;
  genesis: GethGenesis;
  accounts: DevAccount[];
  blockTime: number;
  host: string;
  port: number;
  log: Logger;
}

export interface RunningDevnet {
  node: Node;
  devnet: Devnet;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startDevnet(options: StartDevnetOptions): Promise<RunningDevnet> {
  if (options.reset) await rm(options.dataDir, { recursive: true, force: true });
  const node = await Node.open({ dataDir: options.dataDir, genesis: options.genesis, log: options.log });
  const devnet = new Devnet(node, { accounts: options.accounts, blockTime: options.blockTime }, options.log);
  const dispatcher = new Dispatcher(options.log.child({ module: 'rpc' }));
  dispatcher.register(nodeMethods(node));
  dispatcher.register(devMethods(devnet));
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
  devnet.start();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    node,
    devnet,
    url: `http://${host}:${address.port}`,
    wsUrl: `ws://${host}:${address.port}`,
    async close() {
      await server.close();
      await devnet.stop();
      await node.close();
    },
  };
}
