import { Worker } from 'node:worker_threads';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { GethGenesis } from '../../genesis/geth-genesis.ts';
import type { RequestContext, RequestHandler } from '../dispatcher.ts';
import type { RpcServerOptions } from '../server.ts';
import { jsonTextHandler } from '../server.ts';
import type { FrontMessage, FrontWorkerData, HostMessage } from './messages.ts';

export interface RpcFront {
  address: AddressInfo;
  close(): Promise<void>;
}

type Connection = NonNullable<RequestContext['connection']> & { closers: (() => void)[] };

/**
 * Starts the RPC front worker and answers its requests with `handler` on this (the chain) thread.
 * Resolves once the worker listens; rejects when it cannot (port taken, bad host).
 */
export function startRpcFront(
  handler: RequestHandler,
  server: RpcServerOptions,
  genesis: GethGenesis,
  log: Logger,
  onCrash: (error: Error) => void,
): Promise<RpcFront> {
  const data: FrontWorkerData = { server, genesis, logLevel: log.level };
  const worker = new Worker(new URL('./front-worker-entry.mjs', import.meta.url), { workerData: data });
  const answer = jsonTextHandler(handler);
  const connections = new Map<number, Connection>();
  const send = (message: HostMessage) => worker.postMessage(message);
  let stopped: (() => void) | undefined;
  let listening = false;
  const crashed = (error: Error) => {
    log.fatal({ err: error }, 'the JSON-RPC front worker failed');
    if (listening) onCrash(error);
  };

  const connectionOf = (id: number): Connection => {
    let connection = connections.get(id);
    if (!connection) {
      const closers: (() => void)[] = [];
      connection = {
        id,
        closers,
        notify: (message) => send({ kind: 'notify', connectionId: id, message }),
        onClose: (fn) => closers.push(fn),
      };
      connections.set(id, connection);
    }
    return connection;
  };

  return new Promise<RpcFront>((resolve, reject) => {
    worker.on('message', (message: FrontMessage) => {
      switch (message.kind) {
        case 'listening':
          listening = true;
          resolve({
            address: message.address,
            close: () =>
              new Promise<void>((done) => {
                stopped = done;
                send({ kind: 'stop' });
              }),
          });
          return;
        case 'failed':
          reject(new Error(`JSON-RPC server could not start: ${message.message}`));
          void worker.terminate();
          return;
        case 'request': {
          const ctx: RequestContext = {
            ...(message.connectionId !== undefined && { connection: connectionOf(message.connectionId) }),
            ...(message.senders.length > 0 && { senderHints: new Map(message.senders) }),
          };
          answer.answer(message.text, ctx).then(
            (reply) => send({ kind: 'response', id: message.id, reply }),
            (err: unknown) => {
              log.error({ err }, 'request failed');
              send({ kind: 'response', id: message.id, reply: undefined });
            },
          );
          return;
        }
        case 'disconnected':
          connections.get(message.connectionId)?.closers.forEach((fn) => fn());
          connections.delete(message.connectionId);
          return;
        case 'stopped':
          void worker.terminate().then(() => stopped?.());
          return;
      }
    });
    worker.on('error', (err) => {
      crashed(err);
      reject(err);
    });
    worker.on('exit', (code) => {
      if (stopped !== undefined) return;
      const error = new Error(`the JSON-RPC front worker exited with ${code}`);
      crashed(error);
      reject(error);
    });
  });
}
