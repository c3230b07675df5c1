/**
 * Minimal JSON-RPC-over-HTTP client built on node:http with keep-alive sockets.
 *
 * The submit loop and the inclusion poller use this instead of viem's transport: measured with
 * bench/client-overhead.ts on the 2-core dev machine (trivial local server in another process),
 * node:http costs ~30-50 µs of client CPU per request, fetch (undici) ~210-240 µs and viem's `http`
 * transport ~280-320 µs. The client shares the cores with the node under test, so every µs spent
 * here can be taken from the node.
 */
import http from 'node:http';
import https from 'node:https';

export interface JsonRpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

export interface JsonRpcResponse {
  readonly id: number | string | null;
  readonly result?: unknown;
  readonly error?: JsonRpcErrorObject;
}

export interface JsonRpcCall {
  readonly method: string;
  readonly params: readonly unknown[];
}

export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(method: string, error: JsonRpcErrorObject) {
    super(`${method} failed: ${error.message} (code ${error.code})`);
    this.name = 'RpcError';
    this.code = error.code;
    this.data = error.data;
  }
}

export interface RpcClientOptions {
  /** Upper bound on concurrent sockets (= concurrent in-flight requests). Default: unlimited. */
  readonly maxSockets?: number;
  /** Per-request timeout. Default 120 s. */
  readonly timeoutMs?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonRpcErrorObject(value: unknown): value is JsonRpcErrorObject {
  return isRecord(value) && typeof value.code === 'number' && typeof value.message === 'string';
}

export function isJsonRpcResponse(value: unknown): value is JsonRpcResponse {
  if (!isRecord(value)) return false;
  if ('error' in value && value.error !== undefined && value.error !== null) {
    return isJsonRpcErrorObject(value.error);
  }
  return 'result' in value;
}

export class RpcClient {
  readonly url: URL;
  private readonly agent: http.Agent;
  private readonly doRequest: typeof http.request;
  private readonly timeoutMs: number;
  private nextId = 1;

  constructor(url: string, options: RpcClientOptions = {}) {
    this.url = new URL(url);
    const secure = this.url.protocol === 'https:';
    if (!secure && this.url.protocol !== 'http:') {
      throw new Error(`unsupported RPC URL protocol ${this.url.protocol} (use http:// or https://)`);
    }
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? Infinity,
      scheduling: 'fifo',
    };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.doRequest = secure ? https.request : http.request;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** POSTs a JSON body and returns the parsed JSON reply. Rejects on transport or HTTP errors. */
  post(body: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = this.doRequest(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              const status = res.statusCode ?? 0;
              reject(new Error(`HTTP ${status} from ${this.url.href}: non-JSON body ${text.slice(0, 200)}`));
              return;
            }
            resolve(parsed);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request to ${this.url.href} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Sends one request and returns the raw response (an RPC-level error is returned, not thrown). */
  async send(method: string, params: readonly unknown[]): Promise<JsonRpcResponse> {
    const id = this.nextId++;
    const reply = await this.post(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    if (!isJsonRpcResponse(reply)) {
      throw new Error(`${method}: malformed JSON-RPC response ${JSON.stringify(reply).slice(0, 200)}`);
    }
    return reply;
  }

  /** Sends one request and returns its result; an RPC-level error is thrown as RpcError. */
  async call(method: string, params: readonly unknown[] = []): Promise<unknown> {
    const reply = await this.send(method, params);
    if (reply.error) throw new RpcError(method, reply.error);
    return reply.result;
  }

  /** Like call() for methods whose result is a string (hex quantities, hashes). */
  async callString(method: string, params: readonly unknown[] = []): Promise<string> {
    const result = await this.call(method, params);
    if (typeof result !== 'string') {
      throw new Error(`${method}: expected a string result, got ${JSON.stringify(result)}`);
    }
    return result;
  }

  /**
   * Sends a JSON-RPC batch; returns the responses in call order. Throws when the endpoint does not
   * answer a batch with an array (i.e. does not support batches).
   */
  async batch(calls: readonly JsonRpcCall[]): Promise<JsonRpcResponse[]> {
    const firstId = this.nextId;
    this.nextId += calls.length;
    const body = JSON.stringify(
      calls.map((c, i) => ({ jsonrpc: '2.0', id: firstId + i, method: c.method, params: c.params })),
    );
    const reply = await this.post(body);
    if (!Array.isArray(reply)) {
      throw new Error(`batch request not supported: got ${JSON.stringify(reply).slice(0, 200)}`);
    }
    const byId = new Map<number, JsonRpcResponse>();
    for (const item of reply as unknown[]) {
      if (isJsonRpcResponse(item) && typeof item.id === 'number') byId.set(item.id, item);
    }
    return calls.map((c, i) => {
      const response = byId.get(firstId + i);
      if (!response) throw new Error(`batch response is missing the reply to ${c.method}`);
      return response;
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function hexToNumber(hex: string, what: string): number {
  const value = Number.parseInt(hex, 16);
  if (!/^0x[0-9a-fA-F]+$/.test(hex) || !Number.isSafeInteger(value)) {
    throw new Error(`${what}: expected a hex quantity, got ${hex}`);
  }
  return value;
}
