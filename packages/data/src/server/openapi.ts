/**
 * The OpenAPI 3.1 document of the data plane, generated from the routes as they are registered: the
 * parameters and JSON bodies from each route's validation schema (the one Fastify checks requests
 * against, so the document cannot drift from what is enforced), summaries, responses and the rest
 * from its `config.openapi`. Routes registered by other modules (`versionRoutes`) are included the
 * same way; one with no docs is still listed, with its schema.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

/** What a route says about itself beyond its validation schema. */
export interface RouteDocs {
  summary: string;
  description?: string;
  tags?: string[];
  /** Needs the `Authorization: OpenLedger …` header. */
  auth?: boolean;
  /** A request body that is not JSON (multipart uploads), as an OpenAPI requestBody object. */
  requestBody?: Record<string, unknown>;
  /** By status: a description and, for JSON answers, a schema (a `$ref` to a component or inline). */
  responses: Record<string, { description: string; schema?: Record<string, unknown> }>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: RouteDocs;
  }
}

interface TrackedRoute {
  method: string;
  url: string;
  schema: Record<string, unknown> | undefined;
  docs: RouteDocs | undefined;
}

/** Records every route registered on `app` from now on (call before registering them). */
export function trackRoutes(app: FastifyInstance): TrackedRoute[] {
  const routes: TrackedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      // Fastify adds a HEAD route for every GET; the GET documents both.
      if (method === 'HEAD') continue;
      routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: route.schema as Record<string, unknown> | undefined,
        docs: route.config?.openapi,
      });
    }
  });
  return routes;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({ description, schema: ref('Error') });

/** Error answers most routes share. */
export const ERRORS = {
  badRequest: errorResponse('Bad input (`bad-request` and more specific codes)'),
  unauthorized: errorResponse('No, malformed, expired or wrongly signed authorization'),
  forbidden: errorResponse('Authenticated, but without a right to this'),
  notFound: errorResponse('No such Datanet or contribution'),
  conflict: errorResponse('A conflict with the current state (duplicate, already submitted)'),
  tooLarge: errorResponse('A file or the request is over its size limit'),
  unprocessable: errorResponse(
    'Understood but refused (no valid row, only duplicates, a reverted transaction)',
  ),
  busy: errorResponse('Too many uploads in progress; retry after the `Retry-After` seconds'),
  chain: errorResponse('The chain node did not answer, or a relayed transaction failed'),
};

/** Path and query schemas shared by the routes. */
export const DATANET_ID = {
  type: 'string',
  pattern: '^[1-9][0-9]{0,19}$',
  description: 'Datanet id (from 1)',
};
export const CONTRIBUTION_ID = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: "The data plane's contribution id (a UUID; `onchainId` is DatanetRegistry's)",
};
export const ADDRESS = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' };
export const BYTES32 = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' };
export const UINT = { type: 'string', pattern: '^[0-9]{1,78}$' };

/** Components: the answers' shapes (documentation; requests are what the route schemas validate). */
const COMPONENTS = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string', examples: ['file-too-large'] },
          message: { type: 'string' },
          details: { description: 'Extra detail, e.g. the bad fields of a validation standard' },
        },
      },
    },
  },
  ValidationStandard: {
    type: 'object',
    description:
      'A Datanet validation standard: `{ kind: "text", granularity, minLength, maxLength, languages?, allowedKinds? }` or `{ kind: "structured", schema, allowedKinds? }`; its hash is keccak256 of its canonical JSON.',
    required: ['kind'],
    properties: { kind: { enum: ['text', 'structured'] } },
  },
  Contribution: {
    type: 'object',
    description:
      'A stored contribution. Until it is submitted, its data root and blob addresses are shown only to the uploader (in the upload answer), so nobody else can commit the root first.',
    required: ['id', 'datanetId', 'contributor', 'rowCount', 'byteSize', 'status', 'createdAt'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      datanetId: { type: 'string' },
      contributor: ADDRESS,
      dataRoot: BYTES32,
      rowCount: { type: 'integer' },
      byteSize: { type: 'integer' },
      pack: BYTES32,
      index: BYTES32,
      tree: BYTES32,
      report: BYTES32,
      metadataURI: { type: 'string' },
      createdAt: { type: 'integer', description: 'ms since the epoch' },
      status: { enum: ['stored', 'submitted'] },
      onchainId: { type: 'string' },
      txHash: BYTES32,
    },
  },
  Report: {
    type: 'object',
    description:
      'What the upload became: rows accepted and rejected (with reasons), personal data removed (masked previews only), duplicates, quality scores and languages. Contains no raw rows.',
    required: ['files', 'rowsAccepted', 'rowsRejected', 'issues', 'scrub', 'duplicates', 'quality'],
    properties: {
      files: { type: 'array', items: { type: 'object' } },
      rowsAccepted: { type: 'integer' },
      rowsRejected: { type: 'integer' },
      issues: { type: 'array', items: { type: 'object' } },
      issuesOmitted: { type: 'integer' },
      scrub: { type: 'object' },
      duplicates: { type: 'object' },
      quality: { type: 'object' },
      languages: { type: 'object', additionalProperties: { type: 'integer' } },
    },
  },
  OnchainContribution: {
    type: 'object',
    description: "DatanetRegistry's view of a submitted contribution",
    properties: {
      id: { type: 'string' },
      status: { enum: ['None', 'Pending', 'Approved', 'Rejected', 'Expired', 'Slashed'] },
      quorum: { type: 'integer' },
      approvals: { type: 'integer' },
      rejections: { type: 'integer' },
      version: { type: 'string' },
      rowOffset: { type: 'string' },
      submittedAt: { type: 'string' },
      approvedAt: { type: 'string' },
      fee: { type: 'string' },
      bond: { type: 'string' },
    },
  },
  Submission: {
    type: 'object',
    description:
      "How to put the contribution on the chain: sign `typedData` (EIP-712, for `POST /contributions/{id}/submit`), or send `unsignedTx` from the contributor's wallet and report it to `POST /contributions/{id}/submitted`. Integers are decimal strings; `unsignedTx.value` is hex wei.",
    required: ['chainId', 'verifyingContract', 'contribution', 'typedData', 'unsignedTx'],
    properties: {
      chainId: { type: 'integer' },
      verifyingContract: ADDRESS,
      fee: { type: 'string' },
      bond: { type: 'string' },
      contribution: {
        type: 'object',
        properties: {
          contributor: ADDRESS,
          datanetId: { type: 'string' },
          dataRoot: BYTES32,
          rowCount: { type: 'string' },
          byteSize: { type: 'string' },
          metadataURI: { type: 'string' },
          nonce: { type: 'string' },
          deadline: { type: 'string' },
        },
      },
      typedData: {
        type: 'object',
        properties: {
          domain: { type: 'object' },
          types: { type: 'object' },
          primaryType: { const: 'Contribution' },
          message: { type: 'object' },
        },
      },
      unsignedTx: {
        type: 'object',
        properties: {
          from: ADDRESS,
          to: ADDRESS,
          data: { type: 'string' },
          value: { type: 'string' },
          chainId: { type: 'integer' },
        },
      },
      relayer: { oneOf: [ADDRESS, { type: 'null' }] },
    },
  },
  Row: {
    type: 'object',
    required: ['index', 'hash', 'text', 'quality'],
    properties: {
      index: { type: 'integer', description: 'Row index in the contribution (its Merkle leaf position)' },
      hash: { ...BYTES32, description: 'keccak256 of the text: the Merkle leaf, checked before serving' },
      text: { type: 'string' },
      quality: { type: 'number' },
    },
  },
  Datanet: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      onchain: {
        type: 'object',
        description: "DatanetRegistry's `datanet(id)`, integers as decimal strings",
      },
      standard: {
        type: 'object',
        properties: { hash: BYTES32, registered: { type: 'boolean' } },
      },
      stats: {
        type: 'object',
        properties: {
          contributions: { type: 'integer' },
          submitted: { type: 'integer' },
          contributors: { type: 'integer' },
          rows: { type: 'integer' },
          bytes: { type: 'integer' },
          rowsRejected: { type: 'integer' },
          qualityMean: { type: 'number', description: 'Mean row quality over all stored rows' },
          duplicateRate: {
            type: 'number',
            description: 'Duplicate rows (exact and near) / valid rows checked, over stored contributions',
          },
        },
      },
    },
  },
};

/** Builds the document from the tracked routes. */
export function openApiDocument(
  routes: readonly TrackedRoute[],
  info: { version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const schema = route.schema ?? {};
    const docs = route.docs;
    const parameters = [
      ...parametersOf(schema.params, 'path'),
      ...parametersOf(schema.querystring, 'query'),
      ...parametersOf(schema.headers, 'header'),
    ];
    // A route without a params schema still has its path parameters (OpenAPI requires them declared).
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      if (!parameters.some((p) => p.in === 'path' && p.name === name))
        parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    }
    const operation: Record<string, unknown> = {
      operationId: operationId(route.method, route.url),
      summary:
        docs?.summary ??
        (typeof schema.summary === 'string' ? schema.summary : `${route.method.toUpperCase()} ${path}`),
      ...(docs?.description && { description: docs.description }),
      ...(docs?.tags && { tags: docs.tags }),
      ...(parameters.length > 0 && { parameters }),
    };
    if (docs?.requestBody) operation.requestBody = docs.requestBody;
    else if (schema.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schema.body } } };
    }
    if (docs?.auth) operation.security = [{ OpenLedgerAuth: [] }];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(docs?.responses ?? responsesFromSchema(schema))) {
      responses[status] = {
        description: response.description,
        ...(response.schema && { content: { 'application/json': { schema: response.schema } } }),
      };
    }
    if (Object.keys(responses).length === 0) responses.default = { description: 'The answer' };
    operation.responses = responses;
    (paths[path] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'OpenLedger data plane',
      version: info.version,
      description:
        'Uploads, validation, scrubbing, deduplication and scoring of Datanet contributions, their submission to DatanetRegistry, and access to raw rows for those entitled to them. Errors are `{ error: { code, message } }`.',
    },
    paths,
    components: {
      schemas: COMPONENTS,
      securitySchemes: {
        OpenLedgerAuth: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            '`OpenLedger <address>.<expiry>.<signature>`: `signature` is the EIP-191 personal_sign of "OpenLedger data access\\nDatanet: <id>\\nExpires: <expiry>" (expiry in unix seconds, at most one day ahead).',
        },
      },
    },
  };
}

function parametersOf(schema: unknown, where: 'path' | 'query' | 'header'): Record<string, unknown>[] {
  const object = schema as
    { properties?: Record<string, Record<string, unknown>>; required?: string[] } | undefined;
  if (!object?.properties) return [];
  return Object.entries(object.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      ...(typeof description === 'string' && { description }),
      schema: rest,
    };
  });
}

function responsesFromSchema(schema: Record<string, unknown>): RouteDocs['responses'] {
  const response = schema.response as Record<string, Record<string, unknown>> | undefined;
  const out: RouteDocs['responses'] = {};
  for (const [status, body] of Object.entries(response ?? {})) {
    out[status] = {
      description: typeof body.description === 'string' ? body.description : 'The answer',
      schema: body,
    };
  }
  return out;
}

function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .join('-');
  return `${method}-${words || 'root'}`.replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase());
}
