import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  ExportVerificationError,
  prepareVersionExport,
  writeVersionJsonl,
} from '../../export/export-jsonl.ts';
import { previewSize } from '../../preview/preview-seed.ts';
import {
  PreviewIntegrityError,
  PreviewNotAvailableError,
  samplePreview,
} from '../../preview/sample-preview.ts';
import { versionStats } from '../../preview/version-stats.ts';
import type { DataPlane } from '../../service/data-plane.ts';
import { requireDatanet } from '../../service/standards.ts';
import { VersionVerificationError } from '../../versions/materialize-version.ts';
import {
  VersionIncompleteError,
  VersionNotFoundError,
  VersionStore,
  type VersionSummary,
} from '../../versions/version-store.ts';
import { authenticate, authorizeRows } from '../auth.ts';
import { HttpError, toHttpError } from '../errors.ts';
import { DATANET_ID, ERRORS, UINT } from '../openapi.ts';

const VERSION = { type: 'string', pattern: '^[1-9][0-9]{0,14}$', description: 'Version number (from 1)' };
const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: DATANET_ID },
} as const;
const versionParamsSchema = {
  type: 'object',
  required: ['id', 'v'],
  additionalProperties: false,
  properties: { id: DATANET_ID, v: VERSION },
} as const;
const json = (description: string) => ({ description, schema: { type: 'object' } });
const notMaterialised = {
  description: 'No such version materialised here',
  schema: { $ref: '#/components/schemas/Error' },
};

interface VersionParams {
  id: string;
  v: string;
}

export interface VersionRoutesOptions {
  /** Where the materialised versions are (default: the plane's `<dataDir>/versions`, which the follower fills). */
  store?: VersionStore;
}

/**
 * Materialised Datanet versions (filled by the VersionFollower):
 *
 * - `GET /datanets/:id/versions`: the versions materialised here, oldest first (public).
 * - `GET /datanets/:id/versions/:v`: one version: its on-chain commitment, status (complete / incomplete,
 *   with the missing contributions) and entries in leaf order (public: no rows).
 * - `GET /datanets/:id/versions/:v/preview?n=20`: the verifiable sample (public; n from 1 to 100); 409
 *   `preview-not-available` until the block after the publish block exists, 409 `version-incomplete`
 *   when some contributions are not stored here.
 * - `GET /datanets/:id/versions/:v/stats`: the version's statistics (public).
 * - `GET /datanets/:id/versions/:v/export[?purchaseId=]`: every row as JSONL, verified while streaming.
 *   Raw rows: the same rule as the rows endpoint (auth.ts): `Authorization: OpenLedger
 *   <address>.<expiry>.<signature>` from the owner, a curator, or the holder of a licence (purchaseId)
 *   to this version or a later one. A verification failure before the first row is a 500
 *   `verification-failed`; one during the stream aborts the response (the connection is reset and
 *   the body is shorter than `X-Row-Count` rows).
 *
 * Errors are `{ error: { code, message } }`.
 */
export async function versionRoutes(
  app: FastifyInstance,
  plane: DataPlane,
  options: VersionRoutesOptions = {},
): Promise<void> {
  const store = options.store ? Promise.resolve(options.store) : VersionStore.forPlane(plane);

  app.get<{ Params: { id: string } }>(
    '/datanets/:id/versions',
    {
      schema: { params: idParams },
      config: {
        openapi: {
          summary: 'The versions of a Datanet materialised here',
          description:
            'Versions published on-chain (DatanetRegistry `VersionPublished`) that the version follower materialised, oldest first: root, rows, bytes, first row, publish block, and `complete` or `incomplete` (with the contribution ids whose rows are not stored here).',
          tags: ['versions'],
          responses: { '200': json('The versions'), '400': ERRORS.badRequest },
        },
      },
    },
    async (request, reply) =>
      handle(reply, async () => {
        const id = datanetParam(request.params.id);
        const versions = await (await store).list(id.toString());
        return { datanetId: id.toString(), versions: versions.map(publicSummary) };
      }),
  );

  app.get<{ Params: VersionParams }>(
    '/datanets/:id/versions/:v',
    {
      schema: { params: versionParamsSchema },
      config: {
        openapi: {
          summary: 'One materialised version: its entries and status',
          description:
            'The on-chain commitment (root, rows, bytes, publish block and transaction) and the contributions in leaf order: contribution id, local record id (null when missing here), contributor, row offset, row count and data root. `versionTree` over the entries gives the root.',
          tags: ['versions'],
          responses: { '200': json('The version'), '400': ERRORS.badRequest, '404': notMaterialised },
        },
      },
    },
    async (request, reply) =>
      handle(reply, async () => {
        const { id, v } = versionParams(request.params);
        const version = await (await store).get(id.toString(), v);
        if (!version) throw new VersionNotFoundError(id.toString(), v);
        return version;
      }),
  );

  app.get<{ Params: VersionParams; Querystring: { n?: string } }>(
    '/datanets/:id/versions/:v/preview',
    {
      schema: {
        params: versionParamsSchema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            n: {
              type: 'string',
              pattern: '^[0-9]{1,3}$',
              description: 'Rows to sample (1 to 100, default 20)',
            },
          },
        },
      },
      config: {
        openapi: {
          summary: 'A verifiable preview: sampled rows with proofs, and statistics',
          description:
            "seed = keccak256(abi.encode(blockhash(publishBlock + 1), datanetId, version)); rows drawn by p = uint256(keccak256(abi.encode(seed, counter))) mod rows for counter = 0, 1, ..., skipping repeats, until min(n, rows) rows; row = firstRow + p. Each row comes with its proof to its contribution's data root and the contribution's proof to the version root. Check it with `openledger datanet verify-preview`.",
          tags: ['versions'],
          responses: {
            '200': json('The preview'),
            '400': ERRORS.badRequest,
            '404': notMaterialised,
            '409': {
              description:
                '`preview-not-available` (the block after the publish block does not exist yet) or `version-incomplete`',
              schema: { $ref: '#/components/schemas/Error' },
            },
          },
        },
      },
    },
    async (request, reply) =>
      handle(reply, async () => {
        const { id, v } = versionParams(request.params);
        let n: number;
        try {
          n = previewSize(request.query.n);
        } catch (error) {
          throw new HttpError(400, 'bad-request', (error as Error).message);
        }
        return samplePreview(plane, id, v, { n, store: await store });
      }),
  );

  app.get<{ Params: VersionParams }>(
    '/datanets/:id/versions/:v/stats',
    {
      schema: { params: versionParamsSchema },
      config: {
        openapi: {
          summary: "A version's statistics",
          description:
            "Rows, bytes, approximate tokens (round(1.3 × whitespace-separated words)), the quality histogram of the rows (10 bins of the row index quality scores), the duplicate rate from the contributions' ingest reports, and languages.",
          tags: ['versions'],
          responses: { '200': json('The statistics'), '400': ERRORS.badRequest, '404': notMaterialised },
        },
      },
    },
    async (request, reply) =>
      handle(reply, async () => {
        const { id, v } = versionParams(request.params);
        return versionStats(plane, id, v, { store: await store });
      }),
  );

  app.get<{ Params: VersionParams; Querystring: { purchaseId?: string } }>(
    '/datanets/:id/versions/:v/export',
    {
      schema: {
        params: versionParamsSchema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            purchaseId: {
              ...UINT,
              description: 'A DataMarket purchase (licence) of the caller, for licence holders',
            },
          },
        },
      },
      config: {
        openapi: {
          summary: 'Every row of a version as JSONL, verified while it streams',
          description:
            "One line per row in version order: `{ row, text, hash, contributor, contributionId, offsetInContribution }`, `row` being the Datanet-wide index. Every contribution is proven against the on-chain version root and every row against its contribution's data root before it is written; a failure mid-stream aborts the response (fewer lines than `X-Row-Count`). Only for the owner, curators and holders of a licence to this version or a later one.",
          tags: ['versions'],
          auth: true,
          responses: {
            '200': { description: 'The rows (application/x-ndjson)' },
            '400': ERRORS.badRequest,
            '401': ERRORS.unauthorized,
            '403': ERRORS.forbidden,
            '404': notMaterialised,
            '409': { description: '`version-incomplete`', schema: { $ref: '#/components/schemas/Error' } },
            '500': { description: '`verification-failed`', schema: { $ref: '#/components/schemas/Error' } },
          },
        },
      },
    },
    async (request, reply) => {
      let prepared;
      try {
        const { id, v } = versionParams(request.params);
        const caller = await authenticate(request.headers.authorization, id);
        const purchaseId = optionalUint(request.query.purchaseId, 'purchaseId');
        const right = await authorizeRows(plane, await requireDatanet(plane, id), caller, purchaseId);
        if (right.kind === 'licence' && right.version < BigInt(v))
          throw new HttpError(
            403,
            'no-access',
            `purchase ${right.purchaseId} licenses version ${right.version} of Datanet ${id}, not version ${v}`,
          );
        prepared = await prepareVersionExport(plane, id, v, { store: await store });
      } catch (error) {
        return sendError(reply, error);
      }
      const body = new PassThrough();
      const { version } = prepared;
      void reply
        .code(200)
        .type('application/x-ndjson; charset=utf-8')
        .header(
          'Content-Disposition',
          `attachment; filename="datanet-${version.datanetId}-v${version.version}.jsonl"`,
        )
        .header('X-Row-Count', String(version.rowCount))
        .header('X-Version-Root', prepared.onchainRoot)
        .send(body);
      writeVersionJsonl(plane, prepared, body).then(
        () => body.end(),
        (error: unknown) => {
          request.log.error({ err: error }, 'version export aborted');
          body.destroy(error as Error);
        },
      );
      return reply;
    },
  );
}

/** The summary without the store's internal pointers. */
function publicSummary(summary: VersionSummary) {
  const { stats: _stats, statsFor: _statsFor, ...rest } = summary;
  return rest;
}

async function handle<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await run();
  } catch (error) {
    return sendError(reply, error);
  }
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const http = versionHttpError(error);
  if (http.status >= 500) reply.log.error({ err: error }, http.message);
  return reply
    .code(http.status)
    .headers(http.headers ?? {})
    .send({
      error: {
        code: http.code,
        message: http.message,
        ...(http.details !== undefined && { details: http.details }),
      },
    });
}

/** This module's errors as HTTP answers; everything else as the server maps it (`toHttpError`). */
export function versionHttpError(error: unknown): HttpError {
  if (error instanceof VersionNotFoundError) return new HttpError(404, error.code, error.message);
  if (error instanceof PreviewNotAvailableError)
    return new HttpError(409, error.code, error.message, { seedBlock: error.seedBlock, head: error.head });
  if (error instanceof VersionIncompleteError)
    return new HttpError(409, error.code, error.message, { missing: error.missing });
  if (
    error instanceof ExportVerificationError ||
    error instanceof PreviewIntegrityError ||
    error instanceof VersionVerificationError
  )
    return new HttpError(500, 'verification-failed', error.message);
  return toHttpError(error);
}

function datanetParam(value: string): bigint {
  if (!/^[1-9]\d{0,30}$/.test(value)) throw new HttpError(400, 'bad-request', `not a Datanet id: "${value}"`);
  return BigInt(value);
}

function versionParams(params: VersionParams): { id: bigint; v: number } {
  const id = datanetParam(params.id);
  if (!/^[1-9]\d{0,14}$/.test(params.v))
    throw new HttpError(400, 'bad-request', `not a version number: "${params.v}"`);
  return { id, v: Number(params.v) };
}

function optionalUint(value: string | undefined, name: string): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,78}$/.test(value)) throw new HttpError(400, 'bad-request', `${name} must be a whole number`);
  return BigInt(value);
}
