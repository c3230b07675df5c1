import { z } from 'zod';
import type { Hex } from './hex.ts';

// Schemas for JSON-RPC parameters, with the strictness geth applies (quantities without leading
// zeros, fixed-length hashes and addresses), turning text into the types handlers work with.

export const quantity = z
  .string()
  .regex(/^0x(0|[1-9a-fA-F][0-9a-fA-F]*)$/, 'hex quantity expected (0x-prefixed, no leading zeros)')
  .transform((s) => BigInt(s));

/** A quantity, or a plain JSON number as some clients send for counts and seconds. */
export const quantityOrNumber = z.union([
  quantity,
  z
    .number()
    .int()
    .nonnegative()
    .transform((n) => BigInt(n)),
]);

export const hexData = z
  .string()
  .regex(/^0x([0-9a-fA-F]{2})*$/, 'hex data expected (0x-prefixed, even length)')
  .transform((s) => s.toLowerCase() as Hex);

export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'hex address expected (20 bytes)')
  .transform((s) => s.toLowerCase() as Hex);

export const hash = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'hex hash expected (32 bytes)')
  .transform((s) => s.toLowerCase() as Hex);

export const blockTagName = z.enum(['latest', 'earliest', 'pending', 'safe', 'finalized']);

/** A block number; like geth, numbers past int64 are refused (the store keys blocks by 8 bytes). */
const blockNumber = quantity.refine((n) => n <= 0x7fffffffffffffffn, 'block number larger than int64');

export type BlockRef =
  { tag: z.infer<typeof blockTagName> } | { number: bigint } | { hash: Hex; requireCanonical: boolean };

/** True for the `pending` tag: execute in the context of the block after the head. */
export function isPendingRef(ref: BlockRef | undefined): boolean {
  return ref !== undefined && 'tag' in ref && ref.tag === 'pending';
}

/** A block number or tag, or (EIP-1898) an object naming a block by hash or number. */
export const blockRef: z.ZodType<BlockRef, unknown> = z.union([
  blockTagName.transform((tag) => ({ tag })),
  blockNumber.transform((number) => ({ number })),
  z
    .object({ blockHash: hash, requireCanonical: z.boolean().optional() })
    .strict()
    .transform((o) => ({ hash: o.blockHash, requireCanonical: o.requireCanonical ?? false })),
  z
    .object({ blockNumber: z.union([blockNumber, blockTagName]) })
    .strict()
    .transform((o) =>
      typeof o.blockNumber === 'bigint' ? { number: o.blockNumber } : { tag: o.blockNumber },
    ),
]);

const accessList = z.array(z.object({ address, storageKeys: z.array(hash) }));

const authorization = z.object({
  chainId: quantity,
  address,
  nonce: quantity,
  yParity: quantity,
  r: quantity,
  s: quantity,
});

/** The transaction object of eth_call, eth_estimateGas, eth_createAccessList and eth_sendTransaction. */
export const callRequest = z
  .object({
    from: address.optional(),
    to: address.nullable().optional(),
    gas: quantity.optional(),
    gasPrice: quantity.optional(),
    maxFeePerGas: quantity.optional(),
    maxPriorityFeePerGas: quantity.optional(),
    value: quantity.optional(),
    data: hexData.optional(),
    input: hexData.optional(),
    nonce: quantity.optional(),
    chainId: quantity.optional(),
    type: quantity.optional(),
    accessList: accessList.optional(),
    authorizationList: z.array(authorization).optional(),
  })
  .superRefine((req, ctx) => {
    if (req.data !== undefined && req.input !== undefined && req.data !== req.input) {
      ctx.addIssue({ code: 'custom', message: 'both "data" and "input" are set and not equal' });
    }
    if (
      req.gasPrice !== undefined &&
      (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified',
      });
    }
  });

export type CallRequest = z.infer<typeof callRequest>;

const overrideAccount = z
  .object({
    balance: quantity.optional(),
    nonce: quantity.optional(),
    code: hexData.optional(),
    state: z.record(hash, hash).optional(),
    stateDiff: z.record(hash, hash).optional(),
  })
  .strict()
  .refine((o) => !(o.state && o.stateDiff), 'account has both state and stateDiff overrides');

export const stateOverrides = z.record(address, overrideAccount);
export type StateOverrides = z.infer<typeof stateOverrides>;

const topicFilter = z.union([hash, z.null(), z.array(z.union([hash, z.null()]))]);

export const logFilter = z
  .object({
    fromBlock: z.union([quantity, blockTagName]).optional(),
    toBlock: z.union([quantity, blockTagName]).optional(),
    blockHash: hash.optional(),
    address: z.union([address, z.array(address)]).optional(),
    topics: z.array(topicFilter).max(4, 'too many topics, at most 4').optional(),
  })
  .refine(
    (f) => f.blockHash === undefined || (f.fromBlock === undefined && f.toBlock === undefined),
    'cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other',
  );

export type LogFilter = z.infer<typeof logFilter>;
