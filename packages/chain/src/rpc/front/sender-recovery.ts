import type { Common } from '@ethereumjs/common';
import { createTxFromRLP } from '@ethereumjs/tx';
import { hexToBytes } from '@ethereumjs/util';

const RAW_TX = /^0x([0-9a-fA-F]{2})+$/;
const MAX_RAW_HEX = 2 + 2 * 128 * 1024;

/**
 * Recovers the sender of every well-formed eth_sendRawTransaction in a JSON-RPC body. Anything
 * that does not decode is left for the chain thread, which answers it with the proper error.
 */
export function recoverSenders(text: string, common: Common): [string, Uint8Array][] {
  if (!text.includes('eth_sendRawTransaction')) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  const requests = Array.isArray(body) ? body : [body];
  const out: [string, Uint8Array][] = [];
  for (const request of requests) {
    if (typeof request !== 'object' || request === null) continue;
    const { method, params } = request as { method?: unknown; params?: unknown };
    if (method !== 'eth_sendRawTransaction' || !Array.isArray(params)) continue;
    const raw: unknown = params[0];
    if (typeof raw !== 'string' || raw.length > MAX_RAW_HEX || !RAW_TX.test(raw)) continue;
    try {
      const tx = createTxFromRLP(hexToBytes(raw as `0x${string}`), { common });
      out.push([raw.toLowerCase(), tx.getSenderPublicKey()]);
    } catch {
      // The chain thread decodes it again and reports why it is invalid.
    }
  }
  return out;
}
