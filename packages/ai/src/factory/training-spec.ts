import { keccak256, stringToBytes, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { FactoryError } from './factory-error.ts';

/** The base-model matrices a LoRA adapter may target, by their short names. */
export const TRAINING_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type TrainingTarget = (typeof TRAINING_TARGETS)[number];

/** ModelRegistry's rule for names (they are the OpenAI `model` field as-is). */
const MODEL_NAME = /^[a-z0-9._-]{1,64}$/;

const hyperParameters = z.strictObject({
  rank: z.number().int().min(1).max(64).default(8),
  alpha: z.number().positive().max(1024).default(16),
  targets: z
    .array(z.enum(TRAINING_TARGETS))
    .min(1)
    .refine((t) => new Set(t).size === t.length, 'targets must not repeat')
    .default(['q', 'v']),
  epochs: z.number().int().min(1).max(100).default(3),
  learningRate: z.number().positive().max(1).default(2e-3),
  batchSize: z.number().int().min(1).max(256).default(8),
  /** Longer rows are cut to this many tokens. */
  maxSeqLen: z.number().int().min(8).max(4096).default(128),
  weightDecay: z.number().min(0).max(1).default(0),
  clipNorm: z.number().positive().max(1000).default(1),
  evalFraction: z.number().min(0.01).max(0.5).default(0.1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});

export type HyperParameters = z.output<typeof hyperParameters>;

const uint = z
  .union([z.string().regex(/^[0-9]{1,20}$/), z.number().int().min(0)])
  .transform((v) => BigInt(v));

const jobRequest = z.strictObject({
  datanetId: uint.refine((v) => v > 0n, 'Datanet ids start at 1'),
  /** The published versions to train on (their rows, in version order). */
  versions: z
    .array(z.number().int().min(1))
    .min(1)
    .max(32)
    .refine((v) => new Set(v).size === v.length, 'versions must not repeat'),
  /** A base model the service holds, by name. */
  baseModel: z.string().min(1).max(128),
  /** The name to register the model under (ModelRegistry: 1..64 of [a-z0-9._-]). */
  name: z.string().regex(MODEL_NAME, 'model names are 1..64 characters of a-z 0-9 . _ -'),
  /** Price per 1,000 tokens in wei of OPEN. */
  pricePer1kTokens: uint.default(0n),
  /** Who will own the registered model. */
  owner: z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'owner must be an address'),
  /** The data-access header (owner, curator or licence holder) the rows are exported with. */
  authorization: z.string().min(1).max(512),
  purchaseId: uint.optional(),
  hyperParameters: hyperParameters.default(hyperParameters.parse({})),
});

export type TrainingJobRequest = Omit<z.output<typeof jobRequest>, 'owner'> & { readonly owner: Address };
export type TrainingJobInput = z.input<typeof jobRequest>;

/** Parses a job request; anything out of range is a `bad-request` naming the field, before any work. */
export function parseTrainingJob(input: unknown): TrainingJobRequest {
  const parsed = jobRequest.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'request';
    throw new FactoryError('bad-request', `${where}: ${issue.message}`);
  }
  return { ...parsed.data, owner: parsed.data.owner as Address };
}

/** The request in its JSON form (integers as decimal strings), which `parseTrainingJob` reads back. */
export function requestToJson(request: TrainingJobRequest): TrainingJobInput {
  return {
    ...request,
    datanetId: request.datanetId.toString(),
    pricePer1kTokens: request.pricePer1kTokens.toString(),
    purchaseId: request.purchaseId?.toString(),
  };
}

/**
 * The hash registered on-chain as `trainingConfigHash`: keccak256 of the canonical JSON of what
 * determines the adapter (base model, data, hyper-parameters), so anyone holding the card can
 * check it.
 */
export function trainingConfigHash(config: {
  baseModelHash: Hex;
  datanetId: bigint;
  versions: readonly number[];
  hyperParameters: HyperParameters;
}): Hex {
  const canonical = JSON.stringify({
    baseModelHash: config.baseModelHash,
    datanetId: config.datanetId.toString(),
    versions: [...config.versions],
    hyperParameters: Object.fromEntries(
      Object.entries(config.hyperParameters).sort(([a], [b]) => a.localeCompare(b)),
    ),
  });
  return keccak256(stringToBytes(canonical));
}
