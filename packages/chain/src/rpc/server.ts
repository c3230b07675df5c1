import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { RequestContext, RequestHandler } from './dispatcher.ts';
import { errorResponse } from './dispatcher.ts';
import { RpcError, RpcErrorCode } from './errors.ts';

export interface RpcServerOptions {
  host: string;
  port: number;
  /** Largest request body accepted, in bytes (geth's default: 5 MiB). */
  maxBodyBytes: number;
}

export const DEFAULT_RPC_SERVER_OPTIONS: RpcServerOptions = {
  host: '127.0.0.1',
  port: 8545,
  maxBodyBytes: 5 * 1024 * 1024,
};

/** Answers a request body, as received: the transport knows nothing of JSON-RPC itself. */
export interface TextHandler {
  answer(text: string, ctx: RequestContext): Promise<unknown>;
}

/** Parses a body and hands it to `handler`; malformed JSON is answered here (-32700). */
export function jsonTextHandler(handler: RequestHandler): TextHandler {
  return {
    async answer(text, ctx) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        const reason = error instanceof Error ? error.message : 'invalid JSON';
        return errorResponse(null, new RpcError(RpcErrorCode.parseError, `parse error: ${reason}`));
      }
      return handler.handle(parsed, ctx);
    },
  };
}

/** JSON-RPC over HTTP (POST) and WebSocket on one port, like geth and anvil. */
export class RpcServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private nextConnectionId = 1;

  constructor(
    private readonly handler: TextHandler,
    private readonly options: RpcServerOptions,
    private readonly log: Logger,
  ) {
    this.http = createServer((req, res) => {
      // A client that goes away mid-body rejects here; that must not take the node down.
      this.onHttp(req, res).catch((err: unknown) => {
        this.log.debug({ err }, 'http request failed');
        res.destroy();
      });
    });
    this.http.keepAliveTimeout = 60_000;
    this.wss = new WebSocketServer({ server: this.http, maxPayload: options.maxBodyBytes });
    this.wss.on('connection', (socket) => this.onConnection(socket));
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return this.http.address() as AddressInfo;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Authorization');
    res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    if (req.method === 'GET')
      return send(res, 200, { jsonrpc: '2.0', id: null, result: 'OpenLedger JSON-RPC: POST requests here' });
    if (req.method !== 'POST')
      return send(
        res,
        405,
        errorResponse(null, new RpcError(RpcErrorCode.invalidRequest, 'method not allowed: use POST')),
      );
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === 'too-large') {
      // The connection stays open while readBody drains the rest: closing it with the body unread
      // resets it, and the client may never read the 413.
      return send(
        res,
        413,
        errorResponse(
          null,
          new RpcError(
            RpcErrorCode.limitExceeded,
            `request body too large: limit is ${this.options.maxBodyBytes} bytes`,
          ),
        ),
      );
    }
    const reply = await this.handler.answer(body, {});
    if (reply === undefined) return void res.writeHead(204).end();
    send(res, 200, reply);
  }

  private onConnection(socket: WebSocket): void {
    const closers: (() => void)[] = [];
    const ctx: RequestContext = {
      connection: {
        id: this.nextConnectionId++,
        notify: (message) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
        },
        onClose: (fn) => closers.push(fn),
      },
    };
    socket.on('message', (data) => {
      this.handler
        .answer(data.toString('utf8'), ctx)
        .then((reply) => {
          if (reply !== undefined && socket.readyState === socket.OPEN) socket.send(JSON.stringify(reply));
        })
        .catch((err: unknown) => this.log.error({ err }, 'websocket request failed'));
    });
    socket.on('close', () => closers.forEach((fn) => fn()));
    socket.on('error', (err) => this.log.debug({ err }, 'websocket error'));
  }
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...(close && { Connection: 'close' }),
  });
  res.end(text);
}

/** The body as text, or 'too-large' as soon as it passes the limit (the rest is never buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
