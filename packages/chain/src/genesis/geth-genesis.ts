import { z } from 'zod';

// geth writes quantities either as 0x-hex strings or as decimal numbers/strings; accept all three.
const quantity = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^(0x[0-9a-fA-F]+|[0-9]+)$/, 'expected a hex (0x...) or decimal quantity'),
]);
const hexData = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'expected 0x-prefixed hex bytes');
const address = z.string().regex(/^(0x)?[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address');

const allocAccount = z.object({
  balance: quantity.default('0x0'),
  nonce: quantity.optional(),
  code: hexData.optional(),
  storage: z.record(z.string(), z.string()).optional(),
});

const blobSchedule = z.object({
  target: z.number(),
  max: z.number(),
  baseFeeUpdateFraction: z.number(),
});

const config = z
  .object({
    chainId: z.number().int().positive(),
    terminalTotalDifficulty: z.union([z.number(), z.string(), z.bigint()]).optional(),
    blobSchedule: z.record(z.string(), blobSchedule).optional(),
    depositContractAddress: address.optional(),
  })
  .catchall(z.unknown());

export const gethGenesisSchema = z.object({
  config,
  nonce: quantity.default('0x0'),
  timestamp: quantity.default('0x0'),
  extraData: hexData.default('0x'),
  gasLimit: quantity,
  difficulty: quantity.default('0x0'),
  mixHash: hexData.optional(),
  coinbase: address.optional(),
  alloc: z.record(address, allocAccount),
  number: quantity.optional(),
  gasUsed: quantity.optional(),
  parentHash: hexData.optional(),
  baseFeePerGas: quantity.optional().nullable(),
  excessBlobGas: quantity.optional().nullable(),
  blobGasUsed: quantity.optional().nullable(),
});

export type GethGenesis = z.infer<typeof gethGenesisSchema>;
export type GethAllocAccount = z.infer<typeof allocAccount>;

export function parseQuantity(value: string | number): bigint {
  return BigInt(value);
}

/** Validates a geth-style genesis.json; the error lists every offending field. */
export function parseGethGenesis(json: unknown): GethGenesis {
  const result = gethGenesisSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid genesis: ${problems.join('; ')}`);
  }
  return result.data;
}
