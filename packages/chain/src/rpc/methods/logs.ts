import type { Block } from '@ethereumjs/block';
import { hexToBytes } from '@ethereumjs/util';
import { z } from 'zod';
import type { Node } from '../../node.ts';
import type { Method } from '../dispatcher.ts';
import { method } from '../dispatcher.ts';
import { RpcError, RpcErrorCode, invalidParams, serverError } from '../errors.ts';
import { FilterRegistry } from '../filters/filter-registry.ts';
import type { LiveLogFilter, LocatedLog } from '../filters/log-filter.ts';
import { bloomMayMatch, formatLocatedLog, logCriteria, matchingLogs } from '../filters/log-filter.ts';
import { SubscriptionManager } from '../filters/subscriptions.ts';
import type { Hex } from '../hex.ts';
import type { LogFilter } from '../params.ts';
import { logFilter } from '../params.ts';

/** Widest eth_getLogs range, in blocks, counted after the end is cut at the head (a common provider cap). */
export const MAX_BLOCK_RANGE = 10_000n;
/**
 * Most logs one eth_getLogs answer may hold (reth's default): the answer is built in memory, so
 * without a cap one request over busy blocks could exhaust it. geth has none.
 */
export const MAX_LOGS = 20_000;
/** geth's cap on addresses, and on alternatives per topic position, in one filter. */
const MAX_ALTERNATIVES = 1000;
/** Blocks read from disk concurrently during a range scan. */
const SCAN_BATCH = 64;

const filterId = z.string().transform((s) => s.toLowerCase() as Hex);

export function logMethods(node: Node): Record<string, Method> {
  const filters = new FilterRegistry<LogFilter>(node.chain.events, node.mempool.events);
  const subscriptions = new SubscriptionManager(node.chain.events, node.mempool.events);
  return {
    eth_getLogs: method([logFilter], ([filter]) => queryLogs(node, filter)),
    eth_newFilter: method([logFilter], ([filter]) => filters.installLogs(filter, liveFilter(filter))),
    eth_newBlockFilter: method([], () => filters.installBlocks()),
    eth_newPendingTransactionFilter: method(
      [z.boolean()],
      ([full]) => filters.installPendingTransactions(full ?? false),
      0,
    ),
    eth_getFilterChanges: method([filterId], ([id]) => filters.takeChanges(id)),
    eth_getFilterLogs: method([filterId], ([id]) => queryLogs(node, filters.logFilter(id).spec)),
    eth_uninstallFilter: method([filterId], ([id]) => filters.uninstall(id)),
    eth_subscribe: method(
      [z.string(), z.unknown()],
      ([kind, options], ctx) => {
        // Over HTTP there is nowhere to push to; geth answers with this error.
        if (!ctx.connection) throw new RpcError(RpcErrorCode.methodNotFound, 'notifications not supported');
        return subscriptions.subscribe(ctx.connection, subscriptionKind(kind, options));
      },
      1,
    ),
    eth_unsubscribe: method([filterId], ([id], ctx) => {
      if (!subscriptions.unsubscribe(ctx.connection, id)) throw serverError('subscription not found');
      return true;
    }),
  };
}

function subscriptionKind(kind: string, options: unknown) {
  switch (kind) {
    case 'newHeads':
      return { kind } as const;
    case 'logs': {
      const filter = parseArgument(logFilter, options ?? {});
      return { kind, filter: liveFilter(filter) } as const;
    }
    case 'newPendingTransactions':
      return { kind, full: parseArgument(z.boolean(), options ?? false) } as const;
    default:
      throw new RpcError(RpcErrorCode.methodNotFound, `no "${kind}" subscription in eth namespace`);
  }
}

function parseArgument<T>(schema: z.ZodType<T, unknown>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (${issue.path.join('.')})` : '';
  throw invalidParams(`invalid argument 1: ${issue?.message ?? 'invalid value'}${where}`);
}

function checkSize(filter: LogFilter): void {
  if (Array.isArray(filter.address) && filter.address.length > MAX_ALTERNATIVES) {
    throw serverError('exceed max addresses');
  }
  if (filter.topics?.some((t) => Array.isArray(t) && t.length > MAX_ALTERNATIVES)) {
    throw serverError('exceed max topics');
  }
}

/**
 * How a filter applies to blocks still to come: numbered bounds limit it, tags leave it open
 * ('earliest' is block 0), and a numbered range must not be reversed.
 */
function liveFilter(filter: LogFilter): LiveLogFilter {
  checkSize(filter);
  const bound = (ref: LogFilter['fromBlock']) =>
    typeof ref === 'bigint' ? ref : ref === 'earliest' ? 0n : undefined;
  const from = bound(filter.fromBlock);
  const to = bound(filter.toBlock);
  if (from !== undefined && to !== undefined && from > to) throw invalidParams('invalid block range params');
  return { criteria: logCriteria(filter), from, to };
}

/** eth_getLogs: one block by hash, or a range of canonical blocks, skipping those whose bloom rules them out. */
async function queryLogs(node: Node, filter: LogFilter): Promise<Record<string, unknown>[]> {
  checkSize(filter);
  const criteria = logCriteria(filter);
  const store = node.chain.store;
  if (filter.blockHash !== undefined) {
    const block = await store.getBlock(hexToBytes(filter.blockHash));
    if (!block) throw serverError('unknown block');
    const receipts = bloomMayMatch(criteria, block.header.logsBloom)
      ? await store.getReceipts(block.hash())
      : [];
    return matchingLogs(criteria, block, receipts ?? []).map(formatLocatedLog);
  }
  const { from, to } = blockRange(filter, node.chain.head.header.number);
  const found: LocatedLog[] = [];
  for (let start = from; start <= to; start += BigInt(SCAN_BATCH)) {
    const numbers: bigint[] = [];
    for (let n = start; n <= to && n < start + BigInt(SCAN_BATCH); n++) numbers.push(n);
    const blocks = await Promise.all(numbers.map((n) => store.getBlockByNumber(n)));
    const candidates = blocks.filter(
      (b): b is Block => b !== undefined && bloomMayMatch(criteria, b.header.logsBloom),
    );
    const receipts = await Promise.all(candidates.map((b) => store.getReceipts(b.hash())));
    candidates.forEach((block, i) => {
      for (const log of matchingLogs(criteria, block, receipts[i] ?? [])) found.push(log);
      if (found.length > MAX_LOGS) throw tooManyLogs(from, block.header.number - 1n);
    });
    // A block gone missing means the chain was rewound under the scan: what was found so far stands.
    if (blocks.includes(undefined)) break;
  }
  return found.map(formatLocatedLog);
}

/** reth's answer when a range holds too many logs, naming the part of it that fits when some does. */
function tooManyLogs(from: bigint, lastWhole: bigint): RpcError {
  const hint = lastWhole >= from ? `, retry with the range ${from}-${lastWhole}` : '';
  return new RpcError(RpcErrorCode.limitExceeded, `query exceeds max results ${MAX_LOGS}${hint}`);
}

/** fromBlock/toBlock as numbers, checked as geth checks them; both default to the head. */
function blockRange(filter: LogFilter, head: bigint): { from: bigint; to: bigint } {
  const { fromBlock, toBlock } = filter;
  if (typeof fromBlock === 'bigint' && typeof toBlock === 'bigint' && fromBlock > toBlock) {
    throw invalidParams('invalid block range params');
  }
  const resolve = (ref: LogFilter['fromBlock']) =>
    ref === 'earliest' ? 0n : typeof ref === 'bigint' ? ref : head;
  const from = resolve(fromBlock);
  if (from > head) throw invalidParams('block range extends beyond current head block');
  // Like geth, a range reaching past the head stops at the head.
  const resolvedTo = resolve(toBlock);
  const to = resolvedTo > head ? head : resolvedTo;
  if (from > to) throw invalidParams('invalid block range params');
  if (to - from + 1n > MAX_BLOCK_RANGE) {
    throw new RpcError(RpcErrorCode.limitExceeded, `query exceeds max block range ${MAX_BLOCK_RANGE}`);
  }
  return { from, to };
}
