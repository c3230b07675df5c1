/**
 * Contribution routes: the upload (streamed, validated, scrubbed, deduplicated, scored and stored),
 * its report and status, and its submission to DatanetRegistry (relayed with the contributor's
 * EIP-712 signature, or sent by the contributor's wallet and reported).
 */
import type { FastifyInstance } from 'fastify';
import { getAddress, isAddress, isAddressEqual, type Hex } from 'viem';
import type { ContributionRecord, ContributionReport } from '../../contributions/contribution-record.ts';
import { requireDatanet } from '../../service/standards.ts';
import { authenticate } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { ADDRESS, BYTES32, CONTRIBUTION_ID, DATANET_ID, ERRORS, UINT, ref } from '../openapi.ts';
import { spoolMultipart } from '../uploads.ts';

const MAX_METADATA_URI = 2048;
const UPLOAD_FIELDS = new Set(['contributor', 'metadataURI']);

const contributionParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: CONTRIBUTION_ID },
} as const;

interface IdParams {
  id: string;
}

/**
 * A record as anyone may see it. Until the contribution is on the chain its data root (and the
 * addresses of its blobs) stay with the uploader: whoever knew the root could commit it first
 * under their own address.
 */
export function publicRecord(record: ContributionRecord): Partial<ContributionRecord> {
  const { indexed: _indexed, dataRoot, pack, index, tree, ...rest } = record;
  return record.status === 'submitted' ? { ...rest, dataRoot, pack, index, tree } : rest;
}

/** A record as its uploader (or the transaction that committed it) already knows it. */
function fullRecord(record: ContributionRecord): Partial<ContributionRecord> {
  const { indexed: _indexed, ...rest } = record;
  return rest;
}

/** Registers the upload, status and submission routes. */
export async function contributionRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { plane, standards, submitter, limits } = ctx;

  async function recordOf(id: string): Promise<ContributionRecord> {
    const record = await plane.records.get(id.toLowerCase());
    if (!record) throw new HttpError(404, 'unknown-contribution', `there is no contribution ${id}`);
    return record;
  }

  async function reportOf(record: ContributionRecord): Promise<ContributionReport> {
    return JSON.parse(
      Buffer.from(await plane.blobs.get(record.report)).toString('utf8'),
    ) as ContributionReport;
  }

  app.post<{ Params: IdParams }>(
    '/datanets/:id/contributions',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: DATANET_ID },
        },
      },
      config: {
        openapi: {
          summary: 'Upload a contribution',
          description: `Multipart upload of one or more files (.txt .md .pdf .docx for text Datanets, .jsonl .csv for structured ones; at most ${limits.maxFiles}, each at most ${limits.maxFileBytes} bytes), streamed to disk as it arrives. The files are parsed into rows, validated against the Datanet's registered standard, scrubbed of personal data, deduplicated against the Datanet and scored; the accepted rows are stored. Everyone may upload; nothing is on the chain until the contribution is submitted (see \`submission\`).`,
          tags: ['contributions'],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: {
                  type: 'object',
                  required: ['contributor', 'files'],
                  properties: {
                    contributor: {
                      ...ADDRESS,
                      description: 'Who contributes (signs, or sends, the submission)',
                    },
                    metadataURI: { type: 'string', maxLength: MAX_METADATA_URI },
                    files: { type: 'array', items: { type: 'string', contentEncoding: 'binary' } },
                  },
                },
              },
            },
          },
          responses: {
            '201': {
              description: 'Stored',
              schema: {
                type: 'object',
                properties: {
                  contribution: ref('Contribution'),
                  report: ref('Report'),
                  submission: ref('Submission'),
                },
              },
            },
            '400': ERRORS.badRequest,
            '404': ERRORS.notFound,
            '409': {
              description:
                'The same rows are already a contribution (`duplicate-contribution`), or the Datanet has no registered standard',
              schema: ref('Error'),
            },
            '413': ERRORS.tooLarge,
            '415': { description: 'Not multipart/form-data', schema: ref('Error') },
            '422': {
              description:
                'No row passed validation (`no-valid-rows`), or every row duplicates the Datanet (`all-duplicates`)',
              schema: ref('Error'),
            },
            '429': ERRORS.busy,
          },
        },
      },
    },
    async (request, reply) => {
      if (ctx.uploads.active >= limits.maxConcurrentUploads) {
        throw new HttpError(
          429,
          'busy',
          `${ctx.uploads.active} uploads are in progress; try again shortly`,
          undefined,
          {
            'Retry-After': '5',
          },
        );
      }
      ctx.uploads.active++;
      try {
        const datanet = await requireDatanet(plane, BigInt(request.params.id));
        const standard = await standards.require(datanet);
        const upload = await spoolMultipart(request, ctx.uploadDir, limits);
        try {
          for (const field of Object.keys(upload.fields)) {
            if (!UPLOAD_FIELDS.has(field))
              throw new HttpError(
                400,
                'unexpected-field',
                `unknown field "${field}" (expected contributor, metadataURI, files)`,
              );
          }
          const given = upload.fields.contributor?.trim();
          if (!given || !isAddress(given, { strict: false })) {
            throw new HttpError(
              400,
              'bad-contributor',
              'field "contributor" must be a 0x-prefixed 20-byte address',
            );
          }
          const contributor = getAddress(given);
          const metadataURI = upload.fields.metadataURI ?? '';
          if (metadataURI.length > MAX_METADATA_URI)
            throw new HttpError(
              400,
              'bad-metadata-uri',
              `metadataURI is over ${MAX_METADATA_URI} characters`,
            );
          if (upload.files.length === 0)
            throw new HttpError(400, 'no-files', 'the upload holds no file (field "files")');
          const { record, report } = await plane.ingestor.ingest({
            datanetId: datanet.id.toString(),
            contributor,
            files: upload.files.map(({ path, name }) => ({ path, name })),
            standard,
            metadataURI,
            maxFileBytes: limits.maxFileBytes,
          });
          const submission = await submitter.prepare(record, datanet);
          return reply
            .status(201)
            .header('Location', `/contributions/${record.id}`)
            .send({ contribution: fullRecord(record), report, submission });
        } finally {
          await upload.cleanup();
        }
      } finally {
        ctx.uploads.active--;
      }
    },
  );

  app.get<{ Params: { id: string }; Querystring: { offset: number; limit: number; contributor?: string } }>(
    '/datanets/:id/contributions',
    {
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: { id: DATANET_ID },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            offset: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            contributor: { ...ADDRESS, description: 'Only this contributor’s' },
          },
        },
      },
      config: {
        openapi: {
          summary: "The Datanet's stored contributions, oldest first",
          tags: ['contributions'],
          responses: {
            '200': {
              description: 'A page of contributions',
              schema: {
                type: 'object',
                properties: {
                  datanetId: { type: 'string' },
                  total: { type: 'integer' },
                  offset: { type: 'integer' },
                  contributions: { type: 'array', items: ref('Contribution') },
                },
              },
            },
            '400': ERRORS.badRequest,
            '404': ERRORS.notFound,
          },
        },
      },
    },
    async (request) => {
      const datanet = await requireDatanet(plane, BigInt(request.params.id));
      const { offset, limit, contributor } = request.query;
      let records = await plane.records.list(datanet.id.toString());
      if (contributor) records = records.filter((r) => isAddressEqual(r.contributor, contributor as Hex));
      return {
        datanetId: datanet.id.toString(),
        total: records.length,
        offset,
        contributions: records.slice(offset, offset + limit).map(publicRecord),
      };
    },
  );

  app.get<{ Params: IdParams }>(
    '/contributions/:id',
    {
      schema: { params: contributionParams },
      config: {
        openapi: {
          summary: 'A contribution: status and report',
          description:
            'Public: the report holds no raw rows (personal data only as masked previews). `onchain` is DatanetRegistry’s view once the contribution is submitted (curation status, votes, version).',
          tags: ['contributions'],
          responses: {
            '200': {
              description: 'The contribution',
              schema: {
                type: 'object',
                properties: {
                  contribution: ref('Contribution'),
                  report: ref('Report'),
                  onchain: { oneOf: [ref('OnchainContribution'), { type: 'null' }] },
                },
              },
            },
            '400': ERRORS.badRequest,
            '404': ERRORS.notFound,
          },
        },
      },
    },
    async (request) => {
      let record = await recordOf(request.params.id);
      // The chain may know more than the record: a wallet that never reported its transaction.
      record = await submitter.reconcile(record).catch(() => record);
      const onchain = await submitter.onchain(record).catch(() => undefined);
      return { contribution: publicRecord(record), report: await reportOf(record), onchain: onchain ?? null };
    },
  );

  app.get<{ Params: IdParams }>(
    '/contributions/:id/submission',
    {
      schema: { params: contributionParams },
      config: {
        openapi: {
          summary: 'A fresh submission request (typed data and transaction) for a stored contribution',
          description:
            "For a contributor whose signature deadline passed, or whose nonce moved: the same as the upload's `submission`, with the current nonce and a new deadline. Only for the contributor (the `Authorization` header signed by them for the contribution's Datanet).",
          tags: ['contributions'],
          auth: true,
          responses: {
            '200': { description: 'The submission request', schema: ref('Submission') },
            '401': ERRORS.unauthorized,
            '403': ERRORS.forbidden,
            '404': ERRORS.notFound,
            '409': { description: 'Already submitted', schema: ref('Error') },
          },
        },
      },
    },
    async (request) => {
      const record = await recordOf(request.params.id);
      const caller = await authenticate(request.headers.authorization, BigInt(record.datanetId));
      if (!isAddressEqual(caller, record.contributor))
        throw new HttpError(
          403,
          'not-contributor',
          `only ${record.contributor} may submit contribution ${record.id}`,
        );
      if (record.status !== 'stored')
        throw new HttpError(
          409,
          'already-submitted',
          `contribution ${record.id} is already on the chain as ${record.onchainId}`,
        );
      return submitter.prepare(record);
    },
  );

  app.post<{ Params: IdParams; Body: { signature: Hex; deadline: string | number } }>(
    '/contributions/:id/submit',
    {
      schema: {
        params: contributionParams,
        body: {
          type: 'object',
          required: ['signature', 'deadline'],
          additionalProperties: false,
          properties: {
            signature: {
              type: 'string',
              pattern: '^0x([0-9a-fA-F]{2})+$',
              maxLength: 4098,
              description: "The contributor's EIP-712 signature of `submission.typedData`",
            },
            deadline: {
              anyOf: [UINT, { type: 'integer', minimum: 0 }],
              description: 'The deadline that was signed (unix seconds)',
            },
          },
        },
      },
      config: {
        openapi: {
          summary: 'Relay the signed contribution to DatanetRegistry',
          description:
            "The service checks that the contributor signed the contribution (with their current nonce) before anything is sent, then its relayer sends `submitContributionWithSig`, paying the Datanet's fee and bond. The contribution and its bond belong to the contributor.",
          tags: ['contributions'],
          responses: {
            '200': {
              description: 'On the chain',
              schema: {
                type: 'object',
                properties: { contribution: ref('Contribution'), onchain: ref('OnchainContribution') },
              },
            },
            '400': ERRORS.badRequest,
            '401': {
              description: 'The signature is not the contributor’s (nothing was sent)',
              schema: ref('Error'),
            },
            '404': ERRORS.notFound,
            '409': ERRORS.conflict,
            '502': ERRORS.chain,
            '503': {
              description: 'This service does not relay, or its relayer cannot pay',
              schema: ref('Error'),
            },
          },
        },
      },
    },
    async (request) => {
      const record = await recordOf(request.params.id);
      const submitted = await submitter.relay(record, {
        signature: request.body.signature,
        deadline: BigInt(request.body.deadline),
      });
      return { contribution: fullRecord(submitted), onchain: (await submitter.onchain(submitted)) ?? null };
    },
  );

  app.post<{ Params: IdParams; Body: { txHash: Hex } }>(
    '/contributions/:id/submitted',
    {
      schema: {
        params: contributionParams,
        body: {
          type: 'object',
          required: ['txHash'],
          additionalProperties: false,
          properties: { txHash: { ...BYTES32, description: 'The `submitContribution` transaction' } },
        },
      },
      config: {
        openapi: {
          summary: "Report the contributor's own submitContribution transaction",
          description:
            "After the contributor's wallet sent `submission.unsignedTx`: the receipt must hold DatanetRegistry's `ContributionSubmitted` event for this contribution (Datanet, data root, rows, bytes, metadata URI and contributor).",
          tags: ['contributions'],
          responses: {
            '200': {
              description: 'Recorded as submitted',
              schema: {
                type: 'object',
                properties: { contribution: ref('Contribution'), onchain: ref('OnchainContribution') },
              },
            },
            '400': ERRORS.badRequest,
            '404': { description: 'No such contribution, or no such transaction', schema: ref('Error') },
            '409': ERRORS.conflict,
            '422': {
              description: 'The transaction reverted or submitted something else',
              schema: ref('Error'),
            },
          },
        },
      },
    },
    async (request) => {
      const record = await recordOf(request.params.id);
      const submitted = await submitter.confirm(record, request.body.txHash);
      return { contribution: fullRecord(submitted), onchain: (await submitter.onchain(submitted)) ?? null };
    },
  );
}
