import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { createChainConfig } from '../../config/chain-config.ts';
import type { RequestContext } from '../dispatcher.ts';
import type { TextHandler } from '../server.ts';
import { RpcServer } from '../server.ts';
import type { FrontMessage, FrontWorkerData, HostMessage } from './messages.ts';
import { recoverSenders } from './sender-recovery.ts';

// The RPC front: HTTP and WebSocket I/O, JSON, and signature recovery run on this thread, so the
// chain thread spends its time on state and blocks. Every call is answered by the chain thread.

const port = parentPort!;
const data = workerData as FrontWorkerData;
const log = pino({ level: data.logLevel, base: undefined }, pino.destination(2)).child({
  module: 'rpc-front',
});
const { common } = createChainConfig(data.genesis);

const pending = new Map<number, (reply: unknown) => void>();
const connections = new Map<number, NonNullable<RequestContext['connection']>>();
let nextId = 1;

const post = (message: FrontMessage) => port.postMessage(message);

const handler: TextHandler = {
  answer(text, ctx) {
    const id = nextId++;
    const connection = ctx.connection;
    if (connection && !connections.has(connection.id)) {
      connections.set(connection.id, connection);
      connection.onClose(() => {
        connections.delete(connection.id);
        post({ kind: 'disconnected', connectionId: connection.id });
      });
    }
    return new Promise<unknown>((resolve) => {
      pending.set(id, resolve);
      post({
        kind: 'request',
        id,
        text,
        connectionId: connection?.id,
        senders: recoverSenders(text, common),
      });
    });
  },
};

const server = new RpcServer(handler, data.server, log);

port.on('message', (message: HostMessage) => {
  if (message.kind === 'response') {
    pending.get(message.id)?.(message.reply);
    pending.delete(message.id);
  } else if (message.kind === 'notify') {
    connections.get(message.connectionId)?.notify(message.message);
  } else {
    void server.close().then(() => {
      post({ kind: 'stopped' });
      port.close();
    });
  }
});

server.listen().then(
  (address) => post({ kind: 'listening', address }),
  (error: unknown) =>
    post({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
);
