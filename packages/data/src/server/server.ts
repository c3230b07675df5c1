/**
 * The data plane's HTTP API (Fastify): uploads of contributions, their reports and submission to
 * DatanetRegistry, Datanet standards and statistics, and raw rows for those entitled to them. The
 * routes live in `routes/` (`versions.ts`: materialised versions, previews and exports); the OpenAPI
 * 3.1 document is generated from them at `GET /openapi.json`.
 *
 *     const plane = await DataPlane.open({ dataDir, rpcUrl, relayer });
 *     const server = await startDataServer(plane, { port: 8550 });
 *     // … server.url; later: await server.close(); await plane.close();
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DEFAULT_MAX_FILE_BYTES } from '../contributions/ingest-contribution.ts';
import type { DataPlane } from '../service/data-plane.ts';
import { DatanetStandards } from '../service/standards.ts';
import { ContributionSubmitter } from '../service/submission.ts';
import { VersionFollower } from '../versions/version-follower.ts';
import type { ServerContext, ServerLimits } from './context.ts';
import { toHttpError } from './errors.ts';
import { openApiDocument, trackRoutes } from './openapi.ts';
import { contributionRoutes } from './routes/contributions.ts';
import { datanetRoutes } from './routes/datanets.ts';
import { versionRoutes } from './routes/versions.ts';

export const API_VERSION = '0.1.0';

export interface DataServerOptions extends Partial<ServerLimits> {
  /** How long a prepared contribution signature stays valid, in seconds (default 3600). */
  signatureTtlSeconds?: number;
  /** Where uploads are spooled (default `<dataDir>/uploads`, emptied at start). */
  uploadDir?: string;
  /** A pino-compatible logger (default: none). */
  logger?: FastifyBaseLogger;
}

export interface RunningDataServer {
  app: FastifyInstance;
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /** Stops accepting requests and waits for those in flight (the plane stays open). */
  close(): Promise<void>;
}

/** A Fastify app serving the data plane's API (not listening yet). */
export async function createDataServer(
  plane: DataPlane,
  options: DataServerOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: 1 << 20,
    // Bad input is an error, not something to drop silently; query numbers arrive as strings.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    return503OnClosing: true,
  });
  await registerRoutes(app, plane, options);
  return app;
}

/** Creates the server and listens on `host:port` (default 127.0.0.1, port 0: any free port). */
export async function startDataServer(
  plane: DataPlane,
  options: DataServerOptions & { host?: string; port?: number } = {},
): Promise<RunningDataServer> {
  const app = await createDataServer(plane, options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  // Versions published on-chain are materialised as they appear, so previews and exports follow the chain.
  const follower = await VersionFollower.open(plane);
  follower.start();
  return {
    app,
    url: `http://${shown}:${port}`,
    close: async () => {
      await follower.stop();
      await app.close();
    },
  };
}

/**
 * Registers the whole API on `app`: the multipart parser, the error format, every route and
 * `/openapi.json` (generated from the routes registered here, other modules' included).
 */
export async function registerRoutes(
  app: FastifyInstance,
  plane: DataPlane,
  options: DataServerOptions = {},
): Promise<void> {
  const limits: ServerLimits = {
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxFiles: options.maxFiles ?? 32,
    maxConcurrentUploads: options.maxConcurrentUploads ?? 4,
    maxRowsPerRequest: options.maxRowsPerRequest ?? 1_000,
    maxRowBytesPerRequest: options.maxRowBytesPerRequest ?? 16 << 20,
  };
  const uploadDir = options.uploadDir ?? join(plane.options.dataDir, 'uploads');
  // Whatever is there was left by a process that stopped mid-upload.
  await rm(uploadDir, { recursive: true, force: true });
  const ctx: ServerContext = {
    plane,
    standards: new DatanetStandards(plane),
    submitter: new ContributionSubmitter(plane, { signatureTtlSeconds: options.signatureTtlSeconds }),
    limits,
    uploadDir,
    uploads: { active: 0 },
  };

  await app.register(multipart, { throwFileSizeLimit: false });
  app.setErrorHandler((error, request, reply) => {
    const answer = toHttpError(error);
    if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply
      .status(answer.status)
      .headers(answer.headers ?? {})
      .send({
        error: {
          code: answer.code,
          message: answer.message,
          ...(answer.details !== undefined && { details: answer.details }),
        },
      });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url}` } }),
  );

  const routes = trackRoutes(app);

  app.get(
    '/health',
    {
      config: {
        openapi: {
          summary: 'Liveness and the chain connection',
          tags: ['service'],
          responses: {
            '200': { description: 'Serving, and the chain node answers', schema: { type: 'object' } },
            '503': { description: 'Serving, but the chain node does not answer', schema: { type: 'object' } },
          },
        },
      },
    },
    async (_request, reply) => {
      const relayer = plane.relayer?.walletClient?.account.address ?? null;
      try {
        const block = await plane.chain.publicClient.getBlockNumber();
        return {
          status: 'ok',
          chainId: plane.chain.chainId,
          block: block.toString(),
          relayer,
          version: API_VERSION,
        };
      } catch {
        return reply
          .status(503)
          .send({ status: 'degraded', chainId: plane.chain.chainId, chain: 'unreachable', relayer });
      }
    },
  );

  await datanetRoutes(app, ctx);
  await contributionRoutes(app, ctx);
  await versionRoutes(app, plane);

  let document: Record<string, unknown> | undefined;
  app.get(
    '/openapi.json',
    {
      config: {
        openapi: {
          summary: 'This OpenAPI 3.1 document',
          tags: ['service'],
          responses: { '200': { description: 'The document', schema: { type: 'object' } } },
        },
      },
    },
    async () => (document ??= openApiDocument(routes, { version: API_VERSION })),
  );
}
