import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEther, type Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import {
  buy,
  connect,
  createDatanet,
  list,
  publishVersion,
  signContribution,
  stakeAsCurator,
  voteOnContribution,
  type Connection,
} from '@openledger/sdk';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import {
  DataPlane,
  RowTree,
  accessAuthorization,
  accessMessage,
  hashValidationStandard,
  keccak256,
  registerRoutes,
  startDataServer,
  type ContributionRecord,
  type ContributionReport,
  type RunningDataServer,
  type SubmissionRequest,
} from '../src/index.ts';

/**
 * The data plane's HTTP API end to end: a real devnet process, the server in this process on a free
 * port, and plain fetch / FormData as any client would use them.
 */

const MNEMONIC = 'test test test test test test test test test test test junk';
const dev = (i: number) => mnemonicToAccount(MNEMONIC, { addressIndex: i });
const relayer = dev(0);
const owner = dev(1);
const contributor = dev(2);
const curator = dev(3);
const stranger = dev(4);

const standard = {
  kind: 'text',
  granularity: 'paragraph',
  minLength: 20,
  maxLength: 2_000,
  languages: ['eng'],
} as const;

const PARAGRAPHS = [
  'The river rose slowly through the night, and by morning the low fields near the mill were under water.',
  'Farmers moved their animals to the hills before the bridge closed, while volunteers filled sandbags.',
  'Contact the coordinator at jane.doe@example.org or call +44 20 7946 0958 to offer help with the cleanup.',
];
const MORE = [
  'A second story about the harvest festival, with music in the square and bread from every village.',
  'The old lighthouse keeper wrote in his logbook every evening, noting the wind, the ships and the birds.',
];
const MAX_FILE_BYTES = 64 * 1024;

let devnet: DevnetProcess;
let dir: string;
let plane: DataPlane;
let server: RunningDataServer;
let base: string;
let ownerConn: Connection;
let contributorConn: Connection;
let datanetId: bigint;

interface Uploaded {
  contribution: ContributionRecord;
  report: ContributionReport;
  submission: SubmissionRequest;
}

interface ErrorBody {
  error: { code: string; message: string };
}

function form(files: { name: string; content: string | Uint8Array }[], fields: Record<string, string> = {}) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  for (const file of files) body.append('files', new Blob([file.content]), file.name);
  return body;
}

async function upload(
  files: { name: string; content: string | Uint8Array }[],
  fields: Record<string, string> = { contributor: contributor.address },
  id: bigint | string = datanetId,
) {
  const response = await fetch(`${base}/datanets/${id}/contributions`, {
    method: 'POST',
    body: form(files, fields),
  });
  return { status: response.status, body: (await response.json()) as Uploaded & ErrorBody };
}

async function json(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & ErrorBody };
}

async function sign(submission: SubmissionRequest, by = contributor): Promise<Hex> {
  const c = submission.contribution;
  return signContribution(
    contributorConn.walletClient!,
    by,
    {
      datanetId: BigInt(c.datanetId),
      dataRoot: c.dataRoot,
      rowCount: BigInt(c.rowCount),
      byteSize: BigInt(c.byteSize),
      metadataURI: c.metadataURI,
      nonce: BigInt(c.nonce),
      deadline: BigInt(c.deadline),
    },
    submission.chainId,
    submission.verifyingContract,
  );
}

beforeAll(async () => {
  devnet = await startDevnetProcess({ args: ['--no-data-plane'] });
  dir = await mkdtemp(join(tmpdir(), 'openledger-data-server-'));
  plane = await DataPlane.open({ dataDir: dir, rpcUrl: devnet.url, relayer });
  server = await startDataServer(plane, { port: 0, maxFileBytes: MAX_FILE_BYTES });
  base = server.url;
  ownerConn = await connect({ url: devnet.url, account: owner });
  contributorConn = await connect({ url: devnet.url, account: contributor });
  const created = await createDatanet(ownerConn, {
    metadataURI: 'ipfs://floods',
    validationStandardHash: hashValidationStandard(standard),
    contributionFee: parseEther('0.01'),
  });
  datanetId = created.datanetId;
});

afterAll(async () => {
  await server?.close();
  await plane?.close();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('data plane server', () => {
  it('serves its health and an OpenAPI document listing every route', async () => {
    const health = await json('GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', chainId: 1612, relayer: relayer.address });

    // Every route registerRoutes adds, as Fastify sees them, is in the document.
    const app = Fastify();
    const routes: { method: string; url: string }[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') routes.push({ method, url: route.url });
    });
    await registerRoutes(app, plane, { uploadDir: join(dir, 'uploads-openapi') });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, { responses: object }>>;
    }>();
    await app.close();
    expect(doc.openapi).toBe('3.1.0');
    expect(routes.length).toBeGreaterThanOrEqual(12);
    for (const route of routes) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method.toLowerCase()], `${route.method} ${path}`).toBeDefined();
    }
    for (const path of [
      '/health',
      '/openapi.json',
      '/datanets/{id}',
      '/datanets/{id}/standard',
      '/datanets/{id}/contributions',
      '/datanets/{id}/rows',
      '/contributions/{id}',
      '/contributions/{id}/submit',
      '/contributions/{id}/submitted',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/datanets/{id}/contributions']!).sort()).toEqual(['get', 'post']);
    // And the served one documents the same operations.
    const served = (await json('GET', '/openapi.json')).body as unknown as typeof doc;
    expect(Object.keys(served.paths).sort()).toEqual(Object.keys(doc.paths).sort());
  });

  it('registers the standard only when it hashes to the on-chain commitment', async () => {
    expect((await json('GET', `/datanets/${datanetId}/standard`)).status).toBe(404);
    const early = await upload([{ name: 'a.txt', content: PARAGRAPHS[0]! }]);
    expect([early.status, early.body.error.code]).toEqual([409, 'standard-not-registered']);

    const wrong = await json('PUT', `/datanets/${datanetId}/standard`, { ...standard, minLength: 10 });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, 'standard-mismatch']);
    const invalid = await json('PUT', `/datanets/${datanetId}/standard`, {
      kind: 'text',
      granularity: 'word',
    });
    expect([invalid.status, invalid.body.error.code]).toEqual([400, 'invalid-standard']);
    const unknown = await json('PUT', '/datanets/999/standard', standard);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'unknown-datanet']);

    // Key order and list order do not matter: the canonical form is hashed.
    const reordered = {
      languages: ['eng'],
      maxLength: 2_000,
      minLength: 20,
      granularity: 'paragraph',
      kind: 'text',
    };
    const put = await json('PUT', `/datanets/${datanetId}/standard`, reordered);
    expect(put.status).toBe(201);
    expect(put.body.hash).toBe(hashValidationStandard(standard));
    expect((await json('PUT', `/datanets/${datanetId}/standard`, standard)).status).toBe(200);
    const got = await json('GET', `/datanets/${datanetId}/standard`);
    expect(got.body).toMatchObject({ datanetId: String(datanetId), standard });
  });

  let relayed: Uploaded;

  it('uploads, reports masked personal data, and relays the signed contribution', async () => {
    const text = `${PARAGRAPHS.join('\n\n')}\n\ntoo short\n`;
    const { status, body } = await upload([{ name: 'floods.txt', content: text }], {
      contributor: contributor.address.toLowerCase(),
      metadataURI: 'ipfs://floods-1',
    });
    expect(status, JSON.stringify(body)).toBe(201);
    relayed = body;
    const { contribution, report, submission } = body;
    expect(contribution).toMatchObject({
      datanetId: String(datanetId),
      contributor: contributor.address,
      status: 'stored',
    });
    expect(contribution.rowCount).toBe(3);
    expect(report.rowsRejected).toBe(1);
    expect(report.issues[0]).toMatchObject({ code: 'too-short', file: 'floods.txt' });
    expect(report.scrub.counts).toMatchObject({ email: 1, phone: 1 });
    expect(JSON.stringify(report)).not.toContain('jane.doe@example.org');
    expect(JSON.stringify(report)).not.toContain('7946 0958');
    expect(submission.typedData.message).toMatchObject({
      datanetId: String(datanetId),
      rowCount: '3',
      nonce: '0',
    });
    expect(submission.unsignedTx.to).toBe(submission.verifyingContract);
    expect(BigInt(submission.unsignedTx.value)).toBe(BigInt(submission.fee) + BigInt(submission.bond));

    // Public views do not give the root away before it is on the chain.
    const publicView = await json('GET', `/contributions/${contribution.id}`);
    expect(publicView.body).toMatchObject({ contribution: { status: 'stored' }, onchain: null });
    expect((publicView.body.contribution as Record<string, unknown>).dataRoot).toBeUndefined();
    expect(publicView.body.report).toEqual(report);

    // A fresh submission request is the contributor's alone.
    const fresh = `/contributions/${contribution.id}/submission`;
    expect((await json('GET', fresh)).status).toBe(401);
    const notMine = await json('GET', fresh, undefined, {
      authorization: await accessAuthorization(stranger, datanetId),
    });
    expect([notMine.status, notMine.body.error.code]).toEqual([403, 'not-contributor']);
    const renewed = await json('GET', fresh, undefined, {
      authorization: await accessAuthorization(contributor, datanetId),
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body).toMatchObject({ contribution: { dataRoot: contribution.dataRoot, nonce: '0' } });

    // A signature by someone else is refused before anything is sent.
    const relayerNonce = await plane.chain.publicClient.getTransactionCount({ address: relayer.address });
    const forged = await sign(submission, stranger);
    const refused = await json('POST', `/contributions/${contribution.id}/submit`, {
      signature: forged,
      deadline: submission.contribution.deadline,
    });
    expect([refused.status, refused.body.error.code]).toEqual([401, 'bad-signature']);
    expect(await plane.chain.publicClient.getTransactionCount({ address: relayer.address })).toBe(
      relayerNonce,
    );
    const garbage = await json('POST', `/contributions/${contribution.id}/submit`, {
      signature: '0x1234',
      deadline: 'soon',
    });
    expect(garbage.status).toBe(400);

    const signature = await sign(submission);
    const sent = await json('POST', `/contributions/${contribution.id}/submit`, {
      signature,
      deadline: submission.contribution.deadline,
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const record = sent.body.contribution as ContributionRecord;
    expect(record).toMatchObject({ status: 'submitted', dataRoot: contribution.dataRoot });
    expect(sent.body.onchain).toMatchObject({ status: 'Pending', id: record.onchainId });

    const onchain = await plane.chain.contracts.datanets.read.contribution([BigInt(record.onchainId!)]);
    expect(onchain.dataRoot).toBe(contribution.dataRoot);
    expect(onchain.rowCount).toBe(3n);
    expect(onchain.byteSize).toBe(BigInt(contribution.byteSize));
    expect(onchain.contributor).toBe(contributor.address);
    expect(onchain.metadataURI).toBe('ipfs://floods-1');

    const again = await json('POST', `/contributions/${contribution.id}/submit`, {
      signature,
      deadline: submission.contribution.deadline,
    });
    expect([again.status, again.body.error.code]).toEqual([409, 'already-submitted']);
    const status2 = await json('GET', `/contributions/${contribution.id}`);
    expect(status2.body).toMatchObject({
      contribution: { status: 'submitted', onchainId: record.onchainId, dataRoot: contribution.dataRoot },
    });
  });

  let direct: Uploaded;

  it('records a contribution the contributor sent from their own wallet', async () => {
    const { status, body } = await upload([{ name: 'more.md', content: MORE.join('\n\n') }]);
    expect(status, JSON.stringify(body)).toBe(201);
    direct = body;
    const { contribution, submission } = body;

    const unknownTx = await json('POST', `/contributions/${contribution.id}/submitted`, {
      txHash: `0x${'ab'.repeat(32)}`,
    });
    expect([unknownTx.status, unknownTx.body.error.code]).toEqual([404, 'unknown-transaction']);
    // The relayed transaction of the other contribution does not submit this one.
    const otherTx = await json('POST', `/contributions/${contribution.id}/submitted`, {
      txHash: (await plane.records.get(relayed.contribution.id))!.txHash,
    });
    expect([otherTx.status, otherTx.body.error.code]).toEqual([422, 'event-mismatch']);

    const wallet = contributorConn.walletClient!;
    const hash = await wallet.sendTransaction({
      account: contributor,
      chain: contributorConn.chain,
      to: submission.unsignedTx.to,
      data: submission.unsignedTx.data,
      value: BigInt(submission.unsignedTx.value),
    });
    await contributorConn.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    const reported = await json('POST', `/contributions/${contribution.id}/submitted`, { txHash: hash });
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    const record = reported.body.contribution as ContributionRecord;
    expect(record).toMatchObject({ status: 'submitted', txHash: hash });
    const onchain = await plane.chain.contracts.datanets.read.contribution([BigInt(record.onchainId!)]);
    expect([onchain.dataRoot, onchain.rowCount, onchain.contributor]).toEqual([
      contribution.dataRoot,
      BigInt(contribution.rowCount),
      contributor.address,
    ]);
    // Reporting it twice is harmless.
    expect((await json('POST', `/contributions/${contribution.id}/submitted`, { txHash: hash })).status).toBe(
      200,
    );
  });

  it('answers bad uploads with the right status and code, storing nothing', async () => {
    const before = (await plane.records.list(String(datanetId))).length;
    // Sequential: more than four at once would be answered 429.
    const cases: [string, () => Promise<{ status: number; body: ErrorBody }>, number, string][] = [
      ['no files', () => upload([]), 400, 'no-files'],
      ['empty file', () => upload([{ name: 'empty.txt', content: '' }]), 400, 'empty-file'],
      [
        'wrong extension',
        () => upload([{ name: 'tool.exe', content: 'MZ\x90\x00' }]),
        400,
        'unsupported-type',
      ],
      [
        'oversized',
        () => upload([{ name: 'big.txt', content: `${PARAGRAPHS[0]}\n\n`.repeat(1000) }]),
        413,
        'file-too-large',
      ],
      [
        'invalid UTF-8',
        () =>
          upload([
            {
              name: 'bad.txt',
              content: Buffer.concat([Buffer.from(`${MORE[0]} `), Buffer.from([0xff, 0xfe, 0x41])]),
            },
          ]),
        400,
        'invalid-utf8',
      ],
      [
        'only duplicates',
        () => upload([{ name: 'again.txt', content: PARAGRAPHS.slice(0, 2).join('\n\n') }]),
        422,
        'all-duplicates',
      ],
      [
        'no valid row',
        () => upload([{ name: 'short.txt', content: 'tiny\n\nsmall\n' }]),
        422,
        'no-valid-rows',
      ],
      [
        'bad contributor',
        () => upload([{ name: 'x.txt', content: MORE[0]! }], { contributor: '0x1234' }),
        400,
        'bad-contributor',
      ],
      ['no contributor', () => upload([{ name: 'x.txt', content: MORE[0]! }], {}), 400, 'bad-contributor'],
      [
        'unknown field',
        () =>
          upload([{ name: 'x.txt', content: MORE[0]! }], {
            contributor: contributor.address,
            colour: 'blue',
          }),
        400,
        'unexpected-field',
      ],
      [
        'unknown Datanet',
        () => upload([{ name: 'x.txt', content: MORE[0]! }], undefined, 999n),
        404,
        'unknown-datanet',
      ],
      [
        'bad Datanet id',
        () => upload([{ name: 'x.txt', content: MORE[0]! }], undefined, 'abc'),
        400,
        'bad-request',
      ],
      [
        'not multipart',
        () => json('POST', `/datanets/${datanetId}/contributions`, { files: [] }),
        415,
        'not-multipart',
      ],
    ];
    for (const [what, answer, status, code] of cases) {
      const { status: got, body } = await answer();
      expect([got, body.error?.code], what).toEqual([status, code]);
      expect(typeof body.error.message, what).toBe('string');
    }
    expect((await plane.records.list(String(datanetId))).length).toBe(before);
    expect((await json('GET', '/contributions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await json('GET', '/contributions/nope')).status).toBe(400);
    expect((await json('GET', '/no/such/route')).body.error.code).toBe('not-found');
  });

  it('serves raw rows only to the owner, curators and licence holders', async () => {
    const id = relayed.contribution.id;
    const rowsPath = `/datanets/${datanetId}/rows?contribution=${id}&from=0&count=10`;
    const as = async (authorization?: string) =>
      json('GET', rowsPath, undefined, authorization ? { authorization } : {});

    const none = await as();
    expect([none.status, none.body.error.code]).toEqual([401, 'auth-required']);
    expect((await as('Bearer nonsense')).body.error.code).toBe('bad-authorization');
    const expired = await as(
      await accessAuthorization(owner, datanetId, { expiry: Math.floor(Date.now() / 1000) - 5 }),
    );
    expect([expired.status, expired.body.error.code]).toEqual([401, 'auth-expired']);
    const tooFar = await as(await accessAuthorization(owner, datanetId, { ttlSeconds: 2 * 86_400 }));
    expect([tooFar.status, tooFar.body.error.code]).toEqual([401, 'auth-expiry-too-far']);
    // Signed by the stranger but claiming to be the owner; and signed for another Datanet.
    const expiry = Math.floor(Date.now() / 1000) + 600;
    const impostor = await stranger.signMessage({ message: accessMessage(datanetId, expiry) });
    expect((await as(`OpenLedger ${owner.address}.${expiry}.${impostor}`)).status).toBe(401);
    expect((await as(await accessAuthorization(owner, datanetId + 1n))).status).toBe(401);

    const denied = await as(await accessAuthorization(stranger, datanetId));
    expect([denied.status, denied.body.error.code]).toEqual([403, 'no-access']);
    const fakeLicence = await json('GET', `${rowsPath}&purchaseId=1`, undefined, {
      authorization: await accessAuthorization(stranger, datanetId),
    });
    expect(fakeLicence.status).toBe(403);

    const verify = (body: Record<string, unknown>) => {
      const rows = body.rows as { index: number; hash: Hex; text: string }[];
      expect(rows).toHaveLength(3);
      for (const row of rows) expect(keccak256(row.text)).toBe(row.hash);
      expect(RowTree.build(rows.map((r) => r.hash)).root).toBe(relayed.contribution.dataRoot);
      expect(rows[2]!.text).toContain('[EMAIL]');
      expect(rows[2]!.text).not.toContain('jane.doe');
    };
    const asOwner = await as(await accessAuthorization(owner, datanetId));
    expect(asOwner.status, JSON.stringify(asOwner.body)).toBe(200);
    expect(asOwner.body.access).toBe('owner');
    verify(asOwner.body);

    const curatorConn = await connect({ url: devnet.url, account: curator });
    expect((await as(await accessAuthorization(curator, datanetId))).status).toBe(403);
    await stakeAsCurator(curatorConn, { datanetId });
    const asCurator = await as(await accessAuthorization(curator, datanetId));
    expect(asCurator.status).toBe(200);
    expect(asCurator.body.access).toBe('curator');
    verify(asCurator.body);

    const page = await json(
      'GET',
      `/datanets/${datanetId}/rows?contribution=${id}&from=1&count=1`,
      undefined,
      {
        authorization: await accessAuthorization(owner, datanetId),
      },
    );
    expect((page.body.rows as { index: number }[]).map((r) => r.index)).toEqual([1]);
    const tooMany = await json(
      'GET',
      `/datanets/${datanetId}/rows?contribution=${id}&count=100000`,
      undefined,
      {
        authorization: await accessAuthorization(owner, datanetId),
      },
    );
    expect(tooMany.status).toBe(400);
  });

  it('serves a licence holder the contributions of the licensed version only', async () => {
    // The relayed contribution is approved and published as version 1; the direct one stays pending.
    const curatorConn = await connect({ url: devnet.url, account: curator });
    const onchainId = BigInt((await plane.records.get(relayed.contribution.id))!.onchainId!);
    expect((await voteOnContribution(curatorConn, { contributionId: onchainId, approve: true })).status).toBe(
      'approved',
    );
    expect((await publishVersion(ownerConn, { datanetId })).version).toBe(1n);
    const { listingId } = await list(ownerConn, {
      kind: 'datanet',
      datanetId,
      version: 1n,
      price: parseEther('1'),
    });
    const { purchaseId } = await buy(await connect({ url: devnet.url, account: stranger }), { listingId });

    const rows = async (contribution: string, by = stranger, purchase = purchaseId) =>
      json(
        'GET',
        `/datanets/${datanetId}/rows?contribution=${contribution}&purchaseId=${purchase}`,
        undefined,
        {
          authorization: await accessAuthorization(by, datanetId),
        },
      );
    const licensed = await rows(relayed.contribution.id);
    expect(licensed.status, JSON.stringify(licensed.body)).toBe(200);
    expect(licensed.body.access).toBe('licence');
    expect((licensed.body.rows as unknown[]).length).toBe(3);
    const pending = await rows(direct.contribution.id);
    expect([pending.status, pending.body.error.code]).toEqual([403, 'not-licensed']);
    // Someone else's purchase id grants nothing.
    const borrowed = await rows(relayed.contribution.id, contributor);
    expect([borrowed.status, borrowed.body.error.code]).toEqual([403, 'no-access']);
  });

  it('describes the Datanet with on-chain terms and off-chain statistics', async () => {
    const { status, body } = await json('GET', `/datanets/${datanetId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: String(datanetId),
      onchain: {
        owner: owner.address,
        contributionFee: parseEther('0.01').toString(),
        metadataURI: 'ipfs://floods',
      },
      standard: { hash: hashValidationStandard(standard), registered: true },
      stats: { contributions: 2, submitted: 2, contributors: 1, rows: 5 },
    });
    const stats = body.stats as { qualityMean: number; duplicateRate: number; bytes: number };
    expect(stats.qualityMean).toBeGreaterThan(0);
    expect(stats.qualityMean).toBeLessThanOrEqual(1);
    expect(stats.duplicateRate).toBe(0);
    expect(stats.bytes).toBeGreaterThan(0);

    const list = await json('GET', `/datanets/${datanetId}/contributions?limit=1`);
    expect(list.body).toMatchObject({ total: 2, offset: 0 });
    expect((list.body.contributions as unknown[]).length).toBe(1);
    const mine = await json('GET', `/datanets/${datanetId}/contributions?contributor=${stranger.address}`);
    expect(mine.body.total).toBe(0);
    expect((await json('GET', '/datanets/999')).status).toBe(404);
  });

  it('refuses uploads beyond the concurrency limit with 429', async () => {
    const busy = await startDataServer(plane, {
      port: 0,
      maxConcurrentUploads: 0,
      uploadDir: join(dir, 'uploads-busy'),
    });
    try {
      const response = await fetch(`${busy.url}/datanets/${datanetId}/contributions`, {
        method: 'POST',
        body: form([{ name: 'x.txt', content: MORE[0]! }], { contributor: contributor.address }),
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(((await response.json()) as ErrorBody).error.code).toBe('busy');
    } finally {
      await busy.close();
    }
  });
});
