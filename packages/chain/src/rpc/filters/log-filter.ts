import type { Block } from '@ethereumjs/block';
import { bytesToHex, hexToBytes } from '@ethereumjs/util';
import { keccak256 } from '../../crypto/native.ts';
import type { RawLog, StoredReceipt } from '../../storage/receipt-codec.ts';
import { formatLog } from '../format.ts';
import type { Hex } from '../hex.ts';

/** What a log filter names: addresses (any of them) and topics by position (any of each set). */
export interface LogCriteria {
  /** Empty: every address. */
  addresses: ReadonlySet<Hex>;
  /** One entry per position; null is a wildcard. Logs with fewer topics than entries never match. */
  topics: readonly (ReadonlySet<Hex> | null)[];
  /** The same, as the bloom bits each value sets, for the header pre-check. */
  bloom: { addresses: BloomBits[]; topics: (BloomBits[] | null)[] };
}

/** The filter object of eth_getLogs and eth_newFilter, as params.ts parses it. */
export interface LogFilterSpec {
  address?: Hex | Hex[] | undefined;
  topics?: (Hex | null | (Hex | null)[])[] | undefined;
}

export function logCriteria(spec: LogFilterSpec): LogCriteria {
  const addresses = new Set(spec.address === undefined ? [] : [spec.address].flat());
  const topics = (spec.topics ?? []).map(topicSet);
  return {
    addresses,
    topics,
    bloom: {
      addresses: [...addresses].map(bloomBits),
      topics: topics.map((set) => (set ? [...set].map(bloomBits) : null)),
    },
  };
}

/**
 * One topic position: a hash, or a list of alternatives. null, an empty list, or a null inside a
 * list all mean "anything here", as geth reads them.
 */
function topicSet(topic: Hex | null | (Hex | null)[]): ReadonlySet<Hex> | null {
  if (topic === null) return null;
  if (!Array.isArray(topic)) return new Set([topic]);
  if (topic.length === 0 || topic.includes(null)) return null;
  return new Set(topic as Hex[]);
}

export function matchesLog(criteria: LogCriteria, [address, topics]: RawLog): boolean {
  if (criteria.addresses.size > 0 && !criteria.addresses.has(bytesToHex(address) as Hex)) return false;
  if (criteria.topics.length > topics.length) return false;
  return criteria.topics.every((set, i) => set === null || set.has(bytesToHex(topics[i]!) as Hex));
}

/** Where in a 2048-bit logs bloom one value lands: three (byte index, mask) pairs. */
export type BloomBits = readonly [number, number][];

export function bloomBits(value: Hex): BloomBits {
  const hash = keccak256(hexToBytes(value));
  const bits: [number, number][] = [];
  for (let i = 0; i < 6; i += 2) {
    const bit = ((hash[i]! << 8) | hash[i + 1]!) & 2047;
    bits.push([255 - (bit >> 3), 1 << (bit & 7)]);
  }
  return bits;
}

function inBloom(bloom: Uint8Array, bits: BloomBits): boolean {
  return bits.every(([index, mask]) => (bloom[index]! & mask) !== 0);
}

/**
 * False when a block whose header carries `logsBloom` cannot hold a matching log, so its receipts
 * need not be read; true means "maybe" (blooms have false positives, never false negatives).
 */
export function bloomMayMatch(criteria: LogCriteria, logsBloom: Uint8Array): boolean {
  // An empty bloom is a block without logs, which even a filter without criteria can skip.
  if (logsBloom.every((byte) => byte === 0)) return false;
  const { addresses, topics } = criteria.bloom;
  if (addresses.length > 0 && !addresses.some((bits) => inBloom(logsBloom, bits))) return false;
  return topics.every(
    (alternatives) => alternatives === null || alternatives.some((bits) => inBloom(logsBloom, bits)),
  );
}

/** A matching log with where it sits, formatted only when a client asks for it. */
export interface LocatedLog {
  log: RawLog;
  block: Block;
  txIndex: number;
  txHash: Uint8Array;
  /** Index within the block, across all its transactions. */
  logIndex: number;
}

/** The logs of `block` that match `criteria`, in block order. */
export function matchingLogs(
  criteria: LogCriteria,
  block: Block,
  receipts: readonly StoredReceipt[],
): LocatedLog[] {
  const found: LocatedLog[] = [];
  let logIndex = 0;
  receipts.forEach((receipt, txIndex) => {
    for (const log of receipt.logs) {
      if (matchesLog(criteria, log)) {
        found.push({ log, block, txIndex, txHash: block.transactions[txIndex]!.hash(), logIndex });
      }
      logIndex++;
    }
  });
  return found;
}

/**
 * A filter over blocks as they are committed: criteria plus the block numbers it is limited to
 * (undefined: open-ended), as geth applies a log filter's fromBlock/toBlock to new blocks.
 */
export interface LiveLogFilter {
  criteria: LogCriteria;
  from: bigint | undefined;
  to: bigint | undefined;
}

/** The logs of a newly committed block that `filter` wants. */
export function liveLogs(
  filter: LiveLogFilter,
  block: Block,
  receipts: readonly StoredReceipt[],
): LocatedLog[] {
  const n = block.header.number;
  if ((filter.from !== undefined && n < filter.from) || (filter.to !== undefined && n > filter.to)) return [];
  if (!bloomMayMatch(filter.criteria, block.header.logsBloom)) return [];
  return matchingLogs(filter.criteria, block, receipts);
}

export function formatLocatedLog({ log, ...ctx }: LocatedLog): Record<string, unknown> {
  return formatLog(log, ctx);
}
