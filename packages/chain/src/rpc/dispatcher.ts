import type { z } from 'zod';
import type { Logger } from 'pino';
import { RpcError, RpcErrorCode, invalidParams } from './errors.ts';

export interface RequestContext {
  /** Set for WebSocket requests: where subscription notifications go. */
  connection?: { id: number; notify(message: unknown): void; onClose(fn: () => void): void };
  /**
   * Senders' public keys already recovered from raw transactions in this request (by the RPC
   * front worker), keyed by the lowercase raw transaction hex, so the chain thread need not.
   */
  senderHints?: ReadonlyMap<string, Uint8Array>;
}

/** What a transport hands parsed JSON-RPC bodies to. */
export interface RequestHandler {
  handle(body: unknown, ctx: RequestContext): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined>;
}

export interface Method {
  params: z.ZodType<unknown, unknown>[];
  required: number;
  handler: (args: unknown[], ctx: RequestContext) => Promise<unknown> | unknown;
}

type Outputs<S extends z.ZodType<unknown, unknown>[]> = { [K in keyof S]: z.output<S[K]> };

/**
 * Declares a method: positional parameter schemas, how many are required (the rest may be omitted
 * or null), and the handler, which receives parsed values.
 */
export function method<const S extends z.ZodType<unknown, unknown>[]>(
  params: S,
  handler: (args: Outputs<S>, ctx: RequestContext) => Promise<unknown> | unknown,
  required: number = params.length,
): Method {
  return { params, required, handler: handler as Method['handler'] };
}

export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

export interface DispatcherLimits {
  maxBatch: number;
}

/** Validates JSON-RPC envelopes and parameters and routes calls to methods. */
export class Dispatcher implements RequestHandler {
  private readonly methods = new Map<string, Method>();

  constructor(
    private readonly log: Logger,
    private readonly limits: DispatcherLimits = { maxBatch: 1000 },
  ) {}

  register(methods: Record<string, Method>): void {
    for (const [name, m] of Object.entries(methods)) this.methods.set(name, m);
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  names(): string[] {
    return [...this.methods.keys()].sort();
  }

  /** Answers a parsed body: one response, an array for a batch, or undefined for notifications only. */
  async handle(body: unknown, ctx: RequestContext): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
    if (Array.isArray(body)) {
      if (body.length === 0)
        return errorResponse(null, new RpcError(RpcErrorCode.invalidRequest, 'empty batch'));
      if (body.length > this.limits.maxBatch) {
        return errorResponse(
          null,
          new RpcError(
            RpcErrorCode.limitExceeded,
            `batch too large: ${body.length} items, at most ${this.limits.maxBatch}`,
          ),
        );
      }
      const responses = await Promise.all(body.map((item) => this.handleOne(item, ctx)));
      const answered = responses.filter((r): r is JsonRpcResponse => r !== undefined);
      return answered.length > 0 ? answered : undefined;
    }
    return this.handleOne(body, ctx);
  }

  private async handleOne(request: unknown, ctx: RequestContext): Promise<JsonRpcResponse | undefined> {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return errorResponse(
        null,
        new RpcError(RpcErrorCode.invalidRequest, 'invalid request: not a JSON object'),
      );
    }
    const { id, method: name, params, jsonrpc } = request as Record<string, unknown>;
    const validId = id === undefined || id === null || typeof id === 'string' || typeof id === 'number';
    const replyId = validId ? (id ?? null) : null;
    if (!validId)
      return errorResponse(null, new RpcError(RpcErrorCode.invalidRequest, 'invalid request: bad id'));
    if (jsonrpc !== undefined && jsonrpc !== '2.0') {
      return errorResponse(
        replyId,
        new RpcError(RpcErrorCode.invalidRequest, 'invalid request: jsonrpc must be "2.0"'),
      );
    }
    if (typeof name !== 'string') {
      return errorResponse(
        replyId,
        new RpcError(RpcErrorCode.invalidRequest, 'invalid request: method must be a string'),
      );
    }
    const isNotification = id === undefined;
    try {
      const result = await this.call(name, params, ctx);
      return isNotification
        ? undefined
        : { jsonrpc: '2.0', id: replyId, result: result === undefined ? null : result };
    } catch (error) {
      if (isNotification) return undefined;
      return errorResponse(replyId, this.toRpcError(error, name));
    }
  }

  private async call(name: string, params: unknown, ctx: RequestContext): Promise<unknown> {
    const m = this.methods.get(name);
    if (!m)
      throw new RpcError(RpcErrorCode.methodNotFound, `the method ${name} does not exist/is not available`);
    if (params !== undefined && params !== null && !Array.isArray(params)) {
      throw invalidParams('non-array args');
    }
    const args = (params ?? []) as unknown[];
    if (args.length > m.params.length)
      throw invalidParams(`too many arguments, want at most ${m.params.length}`);
    const parsed: unknown[] = [];
    for (let i = 0; i < m.params.length; i++) {
      const raw = args[i];
      if (raw === undefined || raw === null) {
        if (i < m.required) throw invalidParams(`missing value for required argument ${i}`);
        parsed.push(undefined);
        continue;
      }
      const result = m.params[i]!.safeParse(raw);
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
        throw invalidParams(`invalid argument ${i}: ${issue?.message ?? 'invalid value'}${where}`);
      }
      parsed.push(result.data);
    }
    return m.handler(parsed, ctx);
  }

  private toRpcError(error: unknown, name: string): RpcError {
    if (error instanceof RpcError) return error;
    this.log.error({ err: error, method: name }, 'internal error');
    const message = error instanceof Error ? error.message : String(error);
    return new RpcError(RpcErrorCode.internal, `internal error: ${message}`);
  }
}

export function errorResponse(id: unknown, error: RpcError): JsonRpcResponse {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: error.code,
      message: error.message,
      ...(error.data !== undefined && { data: error.data }),
    },
  };
}
