import type { AddressInfo } from 'node:net';
import type { GethGenesis } from '../../genesis/geth-genesis.ts';
import type { RpcServerOptions } from '../server.ts';

/** What the chain thread gives the RPC front worker at start. */
export interface FrontWorkerData {
  server: RpcServerOptions;
  /** The chain's genesis: the worker decodes transactions under the same rules. */
  genesis: GethGenesis;
  logLevel: string;
}

/** Worker → chain thread. */
export type FrontMessage =
  | { kind: 'listening'; address: AddressInfo }
  | { kind: 'failed'; message: string }
  | {
      kind: 'request';
      id: number;
      /** The body as received; parsed on the chain thread (deeply nested JSON cannot be cloned). */
      text: string;
      connectionId?: number;
      /** [lowercase raw transaction hex, sender public key] for each raw transaction in the body. */
      senders: [string, Uint8Array][];
    }
  | { kind: 'disconnected'; connectionId: number }
  | { kind: 'stopped' };

/** Chain thread → worker. */
export type HostMessage =
  | { kind: 'response'; id: number; reply: unknown }
  | { kind: 'notify'; connectionId: number; message: unknown }
  | { kind: 'stop' };
