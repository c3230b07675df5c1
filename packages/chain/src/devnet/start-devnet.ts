import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DevAccount } from '../genesis/dev-accounts.ts';
import type { GethGenesis } from '../genesis/geth-genesis.ts';
import { Node } from '../node.ts';
import { devMethods } from '../rpc/methods/dev.ts';
import { serveNode } from '../rpc/serve-node.ts';
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
  let served;
  try {
    served = await serveNode(
      node,
      { host: options.host, port: options.port },
      options.log,
      devMethods(devnet),
    );
  } catch (error) {
    await node.close();
    throw error;
  }
  devnet.start();
  return {
    node,
    devnet,
    url: served.url,
    wsUrl: served.wsUrl,
    async close() {
      await served.close();
      await devnet.stop();
      await node.close();
    },
  };
}
