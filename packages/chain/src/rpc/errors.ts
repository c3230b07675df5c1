/** JSON-RPC error codes: the JSON-RPC 2.0 spec, EIP-1474, and geth's `3` for reverts. */
export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** geth uses -32000 for most server-side refusals (txpool errors, "header not found"). */
  server: -32000,
  resourceNotFound: -32001,
  resourceUnavailable: -32002,
  transactionRejected: -32003,
  methodNotSupported: -32004,
  limitExceeded: -32005,
  executionReverted: 3,
} as const;

export class RpcError extends Error {
  override readonly name = 'RpcError';

  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export const invalidParams = (message: string) => new RpcError(RpcErrorCode.invalidParams, message);
export const serverError = (message: string) => new RpcError(RpcErrorCode.server, message);
