/**
 * Datanet routes: on-chain information with off-chain statistics, the validation standard, and the
 * raw rows (owner, curators and licence holders only; see `auth.ts`).
 */
import type { FastifyInstance } from 'fastify';
import type { ContributionRecord, ContributionReport } from '../../contributions/contribution-record.ts';
import { INDEX_ENTRY_BYTES, readRows } from '../../contributions/row-pack.ts';
import { requireDatanet, type OnchainDatanet } from '../../service/standards.ts';
import { authenticate, authorizeRows } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { CONTRIBUTION_ID, DATANET_ID, ERRORS, ref } from '../openapi.ts';

const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: DATANET_ID },
} as const;

interface IdParams {
  id: string;
}

/** Registers `/datanets/:id`, `/datanets/:id/standard` and `/datanets/:id/rows`. */
export async function datanetRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { plane, standards } = ctx;
  const stats = new DatanetStats(ctx);

  app.get<{ Params: IdParams }>(
    '/datanets/:id',
    {
      schema: { params: idParams },
      config: {
        openapi: {
          summary: 'A Datanet: on-chain terms and off-chain statistics',
          description:
            "DatanetRegistry's record of the Datanet, whether its validation standard is registered here, and statistics over the contributions stored here: counts, rows, bytes, the mean row quality and the duplicate rate.",
          tags: ['datanets'],
          responses: {
            '200': { description: 'The Datanet', schema: ref('Datanet') },
            '400': ERRORS.badRequest,
            '404': ERRORS.notFound,
            '502': ERRORS.chain,
          },
        },
      },
    },
    async (request) => {
      const datanet = await requireDatanet(plane, BigInt(request.params.id));
      const registered = (await standards.get(datanet)) !== undefined;
      return {
        id: datanet.id.toString(),
        onchain: {
          owner: datanet.owner,
          curatorQuorum: datanet.curatorQuorum,
          createdAt: datanet.createdAt.toString(),
          totalRows: datanet.totalRows.toString(),
          contributionFee: datanet.contributionFee.toString(),
          contributorBond: datanet.contributorBond.toString(),
          metadataURI: datanet.metadataURI,
          validationStandardHash: datanet.validationStandardHash,
          validationStandardURI: datanet.validationStandardURI,
          versions: (await plane.chain.contracts.datanets.read.versionCount([datanet.id])).toString(),
        },
        standard: { hash: datanet.validationStandardHash, registered },
        stats: await stats.of(datanet.id.toString()),
      };
    },
  );

  app.put<{ Params: IdParams; Body: Record<string, unknown> }>(
    '/datanets/:id/standard',
    {
      schema: { params: idParams, body: { type: 'object' } },
      config: {
        openapi: {
          summary: "Register the Datanet's validation standard",
          description:
            "Accepted only if keccak256 of the standard's canonical JSON equals the Datanet's on-chain `validationStandardHash`, so anyone may register it (the owner usually does, right after creating the Datanet). Uploads are checked against it. Idempotent.",
          tags: ['datanets'],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: ref('ValidationStandard') } },
          },
          responses: {
            '201': { description: 'Registered', schema: standardAnswer },
            '200': { description: 'Already registered', schema: standardAnswer },
            '400': errorWith(
              'Not a valid standard (`invalid-standard`, with the bad fields), or not the committed one (`standard-mismatch`)',
            ),
            '404': ERRORS.notFound,
            '409': errorWith('The Datanet committed to no standard (`no-standard`)'),
          },
        },
      },
    },
    async (request, reply) => {
      const datanet = await requireDatanet(plane, BigInt(request.params.id));
      const { hash, standard, created } = await standards.register(datanet, request.body);
      return reply.status(created ? 201 : 200).send({ datanetId: datanet.id.toString(), hash, standard });
    },
  );

  app.get<{ Params: IdParams }>(
    '/datanets/:id/standard',
    {
      schema: { params: idParams },
      config: {
        openapi: {
          summary: "The Datanet's validation standard",
          tags: ['datanets'],
          responses: {
            '200': { description: 'The standard (canonical form) and its hash', schema: standardAnswer },
            '404': errorWith(
              'No such Datanet, or its standard is not registered (`standard-not-registered`)',
            ),
          },
        },
      },
    },
    async (request) => {
      const datanet = await requireDatanet(plane, BigInt(request.params.id));
      const standard = await standards.get(datanet);
      if (!standard) {
        throw new HttpError(
          404,
          'standard-not-registered',
          `the validation standard of Datanet ${datanet.id} is not registered here`,
        );
      }
      return { datanetId: datanet.id.toString(), hash: datanet.validationStandardHash, standard };
    },
  );

  app.get<{
    Params: IdParams;
    Querystring: { contribution: string; from: number; count: number; purchaseId?: string };
  }>(
    '/datanets/:id/rows',
    {
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          required: ['contribution'],
          additionalProperties: false,
          properties: {
            contribution: CONTRIBUTION_ID,
            from: { type: 'integer', minimum: 0, default: 0, description: 'First row index' },
            count: {
              type: 'integer',
              minimum: 1,
              maximum: ctx.limits.maxRowsPerRequest,
              default: 100,
              description: `Rows wanted (at most ${ctx.limits.maxRowsPerRequest}; fewer when they exceed ${ctx.limits.maxRowBytesPerRequest} bytes)`,
            },
            purchaseId: {
              type: 'string',
              pattern: '^[1-9][0-9]{0,77}$',
              description: 'A DataMarket purchase (licence) of the caller, for licence holders',
            },
          },
        },
      },
      config: {
        openapi: {
          summary: 'Raw rows of a contribution',
          description:
            "Only for the Datanet's owner, its curators (DatanetRegistry `isCurator`) and licence holders (DataMarket `licence(purchaseId)`: bought by the caller, for a version of this Datanet, valid; it covers contributions published up to that version). Every row is checked against its hash before it is served; the hashes are the leaves of the contribution's Merkle tree (`dataRoot`).",
          tags: ['datanets'],
          auth: true,
          responses: {
            '200': {
              description: 'The rows',
              schema: {
                type: 'object',
                properties: {
                  datanetId: { type: 'string' },
                  contribution: { type: 'string' },
                  dataRoot: { type: 'string' },
                  rowCount: { type: 'integer' },
                  from: { type: 'integer' },
                  access: { enum: ['owner', 'curator', 'licence'] },
                  rows: { type: 'array', items: ref('Row') },
                },
              },
            },
            '400': ERRORS.badRequest,
            '401': ERRORS.unauthorized,
            '403': ERRORS.forbidden,
            '404': ERRORS.notFound,
          },
        },
      },
    },
    async (request, reply) => {
      const datanet = await requireDatanet(plane, BigInt(request.params.id));
      const caller = await authenticate(request.headers.authorization, datanet.id);
      const { contribution, from, count, purchaseId } = request.query;
      const right = await authorizeRows(
        plane,
        datanet,
        caller,
        purchaseId === undefined ? undefined : BigInt(purchaseId),
      );
      const record = await plane.records.get(contribution.toLowerCase());
      if (!record || record.datanetId !== datanet.id.toString())
        throw new HttpError(
          404,
          'unknown-contribution',
          `Datanet ${datanet.id} has no contribution ${contribution}`,
        );
      if (right.kind === 'licence') await checkLicensed(ctx, datanet, record, right.version);
      const served = await servableCount(ctx, record, from, count);
      const rows = await readRows(plane.blobs, record, from, served);
      void reply.header('Cache-Control', 'private, no-store');
      return {
        datanetId: datanet.id.toString(),
        contribution: record.id,
        dataRoot: record.dataRoot,
        rowCount: record.rowCount,
        from,
        access: right.kind,
        rows,
      };
    },
  );
}

const standardAnswer = {
  type: 'object',
  properties: {
    datanetId: { type: 'string' },
    hash: { type: 'string' },
    standard: ref('ValidationStandard'),
  },
};

function errorWith(description: string) {
  return { description, schema: ref('Error') };
}

/** A licence covers the contributions of its version and earlier ones. */
async function checkLicensed(
  ctx: ServerContext,
  datanet: OnchainDatanet,
  record: ContributionRecord,
  version: bigint,
): Promise<void> {
  const onchain = await ctx.submitter.onchain(await ctx.submitter.reconcile(record));
  const published = onchain ? BigInt(onchain.version) : 0n;
  if (published === 0n || published > version) {
    throw new HttpError(
      403,
      'not-licensed',
      `the licence covers Datanet ${datanet.id} up to version ${version}; contribution ${record.id} is ${published === 0n ? 'in no version yet' : `in version ${published}`}`,
    );
  }
}

/** How many of `count` rows from `from` fit the per-request byte budget (at least one). */
async function servableCount(
  ctx: ServerContext,
  record: ContributionRecord,
  from: number,
  count: number,
): Promise<number> {
  const end = Math.min(record.rowCount, from + count);
  if (from >= end) return 0;
  const entries = Buffer.from(
    await ctx.plane.blobs.getRange(record.index, from * INDEX_ENTRY_BYTES, (end - from) * INDEX_ENTRY_BYTES),
  );
  let bytes = 0;
  for (let i = 0; i < end - from; i++) {
    bytes += entries.readUInt32BE(i * INDEX_ENTRY_BYTES + 40);
    if (bytes > ctx.limits.maxRowBytesPerRequest) return Math.max(1, i);
  }
  return end - from;
}

interface Totals {
  contributions: number;
  submitted: number;
  rows: number;
  bytes: number;
  rowsRejected: number;
  qualitySum: number;
  duplicates: number;
  checked: number;
}

/**
 * Statistics over a Datanet's stored contributions. Reports are blobs; each is read once and its
 * numbers kept, so a request reads only the reports of contributions stored since the last one.
 */
class DatanetStats {
  private readonly cache = new Map<string, { seen: Map<string, Totals>; contributors: Set<string> }>();

  constructor(private readonly ctx: ServerContext) {}

  async of(datanetId: string) {
    let entry = this.cache.get(datanetId);
    if (!entry) {
      entry = { seen: new Map(), contributors: new Set() };
      this.cache.set(datanetId, entry);
    }
    const sum: Totals = {
      contributions: 0,
      submitted: 0,
      rows: 0,
      bytes: 0,
      rowsRejected: 0,
      qualitySum: 0,
      duplicates: 0,
      checked: 0,
    };
    for (const record of await this.ctx.plane.records.list(datanetId)) {
      let totals = entry.seen.get(record.id);
      if (!totals) {
        const report = JSON.parse(
          Buffer.from(await this.ctx.plane.blobs.get(record.report)).toString('utf8'),
        ) as ContributionReport;
        totals = {
          contributions: 1,
          submitted: 0,
          rows: record.rowCount,
          bytes: record.byteSize,
          rowsRejected: report.rowsRejected,
          qualitySum: report.quality.mean * report.quality.rows,
          duplicates: report.duplicates.exact + report.duplicates.near,
          checked: report.scrub.rowsScanned,
        };
        entry.seen.set(record.id, totals);
        entry.contributors.add(record.contributor.toLowerCase());
      }
      for (const key of Object.keys(sum) as (keyof Totals)[]) sum[key] += totals[key];
      if (record.status === 'submitted') sum.submitted++;
    }
    return {
      contributions: sum.contributions,
      submitted: sum.submitted,
      contributors: entry.contributors.size,
      rows: sum.rows,
      bytes: sum.bytes,
      rowsRejected: sum.rowsRejected,
      qualityMean: sum.rows === 0 ? 0 : sum.qualitySum / sum.rows,
      duplicateRate: sum.checked === 0 ? 0 : sum.duplicates / sum.checked,
    };
  }
}
