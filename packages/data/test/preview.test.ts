import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import Fastify, { type FastifyInstance } from 'fastify';
import { publishVersion, versionLeaf, type Connection } from '@openledger/sdk';
import { keccak256, toBytes } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { addVersionCommands } from '../../cli/src/commands/datanet-versions.ts';
import { readRows } from '../src/contributions/row-pack.ts';
import { exportVersionJsonl } from '../src/export/export-jsonl.ts';
import type { Hash } from '../src/hash.ts';
import { verifyRowProof } from '../src/merkle/row-tree.ts';
import { previewSeed, samplePositions, sampleRows } from '../src/preview/preview-seed.ts';
import {
  PreviewNotAvailableError,
  samplePreview,
  type VersionPreview,
} from '../src/preview/sample-preview.ts';
import { verifyPreview, type PreviewCheck } from '../src/preview/verify-preview.ts';
import { versionStats } from '../src/preview/version-stats.ts';
import { accessAuthorization } from '../src/server/auth.ts';
import { versionRoutes } from '../src/server/routes/versions.ts';
import type { DataPlane } from '../src/service/data-plane.ts';
import { VersionFollower } from '../src/versions/version-follower.ts';
import {
  ACTIONS,
  DEV_MNEMONIC,
  SUBJECTS,
  contributeRows,
  startVersionsFixture,
  type Contributed,
} from './support/versions-fixture.ts';

/** A distinct English paragraph for every n. */
function paragraph(n: number): string {
  const s = SUBJECTS[n % 10]!;
  const a = ACTIONS[Math.floor(n / 10) % 10]!;
  return `${s} ${a} before the first snow, and people in the village still tell this story, number ${n}, to friends.`;
}

let devnet: DevnetProcess;
let dir: string;
let plane: DataPlane;
let datanetId: bigint;
let owner: Connection;
let curator: Connection;
let follower: VersionFollower;
let app: FastifyInstance;
let base: string;
const contributions: Contributed[] = [];

async function contribute(who: Connection, texts: string[]): Promise<void> {
  const path = join(dir, `upload-${contributions.length}.txt`);
  contributions.push(await contributeRows({ plane, datanetId, who, curator, texts, path }));
}

/** Runs `openledger datanet <args>` in-process; returns stdout, stderr and the exit code it set. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    stderr += `${parts.join(' ')}\n`;
  });
  try {
    const datanet = addVersionCommands(new Command('datanet').exitOverride());
    await datanet.parseAsync(args, { from: 'user' });
    return { stdout, stderr, code: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function checks(result: { failures: { check: PreviewCheck }[] }): PreviewCheck[] {
  return [...new Set(result.failures.map((f) => f.check))];
}

beforeAll(async () => {
  let alice: Connection, bob: Connection, carol: Connection;
  ({
    devnet,
    dir,
    plane,
    datanetId,
    owner,
    curator,
    contributors: [alice, bob, carol],
  } = await startVersionsFixture('openledger-preview-'));
  // Version 1: 12 + 9 rows (bob's last row copies one of alice's); version 2: 30 + 10 rows.
  await contribute(
    alice,
    [...Array(12).keys()].map((i) => paragraph(i)),
  );
  await contribute(bob, [...[...Array(8).keys()].map((i) => paragraph(20 + i)), paragraph(3)]);
  await publishVersion(owner, { datanetId });
  await contribute(
    carol,
    [...Array(30).keys()].map((i) => paragraph(40 + i)),
  );
  await contribute(
    bob,
    [...Array(10).keys()].map((i) => paragraph(70 + i)),
  );
  // The last transaction: no block follows version 2's publish block until the test mines one.
  await publishVersion(owner, { datanetId });
  follower = await VersionFollower.open(plane);
  await follower.poll();

  app = Fastify();
  await versionRoutes(app, plane);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await plane?.close();
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('samplePreview', () => {
  it('samples distinct rows the seed decides, the same every time, each with proofs to the on-chain root', async () => {
    const preview = await samplePreview(plane, datanetId, 1);
    expect(await samplePreview(plane, datanetId, 1)).toEqual(preview);

    // The seed from the block after the publish block, the rows from the seed.
    const [event] = await plane.chain.contracts.datanets.getEvents.VersionPublished(
      { datanetId, version: 1n },
      { fromBlock: 0n },
    );
    expect(preview.publishBlock).toBe(Number(event!.blockNumber));
    const next = await plane.chain.publicClient.getBlock({ blockNumber: event!.blockNumber! + 1n });
    expect(preview.seedBlockHash).toBe(next.hash);
    expect(preview.seed).toBe(previewSeed(next.hash, datanetId, 1n));
    expect(preview.samples.map((s) => s.row)).toEqual(sampleRows(preview.seed, 0, 21, 20));
    expect(new Set(preview.samples.map((s) => s.row)).size).toBe(20);

    const [root] = await plane.chain.contracts.datanets.read.versionInfo([datanetId, 1n]);
    const all = [
      ...(await readRows(plane.blobs, contributions[0]!.record, 0, 12)),
      ...(await readRows(plane.blobs, contributions[1]!.record, 0, 9)),
    ];
    for (const s of preview.samples) {
      expect(s.text).toBe(all[s.row]!.text);
      expect(s.hash).toBe(keccak256(toBytes(s.text)));
      expect(s.row).toBe(s.contribution.rowOffset + s.offset);
      expect(verifyRowProof(s.contribution.dataRoot, s.hash, s.rowProof)).toBe(true);
      const leaf = versionLeaf({
        contributionId: BigInt(s.contributionId),
        dataRoot: s.contribution.dataRoot,
        rowOffset: BigInt(s.contribution.rowOffset),
        rowCount: BigInt(s.contribution.rowCount),
      }) as Hash;
      expect(verifyRowProof(root, leaf, s.contributionProof)).toBe(true);
      expect(await plane.chain.contracts.datanets.read.contributionLeaf([BigInt(s.contributionId)])).toBe(
        leaf,
      );
    }

    const result = await verifyPreview(preview, plane.chain);
    expect(result).toMatchObject({ ok: true, failures: [], checked: { samples: 20, rowProofs: 20 } });

    // Asking for more rows than the version has: every row once.
    const whole = await samplePreview(plane, datanetId, 1, { n: 100 });
    expect(whole.samples.map((s) => s.row).sort((a, b) => a - b)).toEqual([...Array(21).keys()]);
    expect((await verifyPreview(whole, plane.chain)).ok).toBe(true);
  });

  it('the sampling rule is deterministic and rejects repeats', () => {
    const seed = previewSeed(`0x${'ab'.repeat(32)}`, 7n, 3n);
    const a = samplePositions(seed, 1_000, 100);
    expect(samplePositions(seed, 1_000, 100)).toEqual(a);
    expect(new Set(a).size).toBe(100);
    expect(a.every((p) => p >= 0 && p < 1_000)).toBe(true);
    expect(samplePositions(seed, 1_000, 20)).toEqual(a.slice(0, 20));
    expect(samplePositions(seed, 5, 20).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('reports statistics of the version', async () => {
    const stats = await versionStats(plane, datanetId, 1);
    const texts = [
      ...[...Array(12).keys()].map((i) => paragraph(i)),
      ...[...Array(8).keys()].map((i) => paragraph(20 + i)),
      paragraph(3),
    ];
    const words = texts.reduce((sum, t) => sum + t.split(/\s+/).filter(Boolean).length, 0);
    expect(stats).toMatchObject({
      complete: true,
      contributions: 2,
      contributors: 2,
      rows: 21,
      bytes: contributions[0]!.record.byteSize + contributions[1]!.record.byteSize,
      words,
      tokens: Math.round(words * 1.3),
      duplicates: { exact: 1, checked: 21 },
      languages: { eng: 21 },
    });
    expect(stats.quality.histogram.reduce((a, b) => a + b, 0)).toBe(21);
    expect(stats.duplicates.rate).toBeCloseTo((1 + stats.duplicates.near) / 21);
  });
});

describe('verifyPreview', () => {
  let preview: VersionPreview;
  let other: VersionPreview;
  beforeAll(async () => {
    preview = await samplePreview(plane, datanetId, 1);
    await plane.chain.publicClient.request({ method: 'evm_mine' } as never);
    other = await samplePreview(plane, datanetId, 2);
  });

  it('fails a changed text', async () => {
    const tampered = clone(preview);
    tampered.samples[3]!.text += ' (edited)';
    const result = await verifyPreview(tampered, plane.chain);
    expect(result.ok).toBe(false);
    expect(result.failures).toEqual([expect.objectContaining({ check: 'text-hash', sample: 3 })]);

    // With its hash changed to match, the row proof fails instead.
    tampered.samples[3]!.hash = keccak256(toBytes(tampered.samples[3]!.text));
    expect(checks(await verifyPreview(tampered, plane.chain))).toEqual(['row-proof']);
  });

  it('fails a changed index', async () => {
    const tampered = clone(preview);
    const chosen = new Set(preview.samples.map((s) => s.row));
    const unused = [...Array(21).keys()].find((r) => !chosen.has(r))!;
    // A row the seed did not pick, with its own valid proofs.
    const whole = await samplePreview(plane, datanetId, 1, { n: 100 });
    tampered.samples[0] = whole.samples.find((s) => s.row === unused)!;
    const result = await verifyPreview(tampered, plane.chain);
    expect(checks(result)).toEqual(['indices']);
    expect(result.failures[0]).toMatchObject({ sample: 0, row: unused });

    // Only the index moved: its offset and proofs no longer fit either.
    const moved = clone(preview);
    moved.samples[1]!.row = unused;
    expect(checks(await verifyPreview(moved, plane.chain))).toEqual(
      expect.arrayContaining(['indices', 'row-range']),
    );
  });

  it('fails a proof from another version', async () => {
    const tampered = clone(preview);
    // Both versions hold two contributions: the proofs have the same shape, only their hashes differ.
    expect(other.samples[0]!.contributionProof).toHaveLength(1);
    tampered.samples[2]!.contributionProof = other.samples[0]!.contributionProof;
    tampered.samples[5]!.contributionProof = other.samples[1]!.contributionProof;
    const result = await verifyPreview(tampered, plane.chain);
    expect(result.failures.map((f) => [f.check, f.sample])).toEqual([
      ['contribution-proof', 2],
      ['contribution-proof', 5],
    ]);
    // A whole sample of version 2 passed off as version 1's.
    const mixed = clone(preview);
    mixed.samples[4] = other.samples[0]!;
    expect(checks(await verifyPreview(mixed, plane.chain))).toEqual(
      expect.arrayContaining(['indices', 'contribution', 'contribution-proof']),
    );
  });

  it('fails a wrong seed and a malformed preview', async () => {
    const tampered = clone(preview);
    tampered.seed = keccak256(toBytes('chosen'));
    expect(checks(await verifyPreview(tampered, plane.chain))).toEqual(['seed']);
    expect(checks(await verifyPreview({ samples: 'none' }, plane.chain))).toEqual(['format']);
  });
});

describe('preview availability, routes and CLI', () => {
  it('has no preview before the block after the publish block, then serves one that verifies', async () => {
    // Version 3 is the last transaction on the chain: its seed block does not exist yet.
    await contribute(owner, [paragraph(90), paragraph(91), paragraph(92)]);
    await publishVersion(owner, { datanetId });
    await follower.poll();
    const error = await samplePreview(plane, datanetId, 3).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreviewNotAvailableError);
    const refused = await fetch(`${base}/datanets/${datanetId}/versions/3/preview`);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: 'preview-not-available' } });

    await plane.chain.publicClient.request({ method: 'evm_mine' } as never);
    const response = await fetch(`${base}/datanets/${datanetId}/versions/3/preview?n=2`);
    expect(response.status).toBe(200);
    const preview = (await response.json()) as VersionPreview;
    expect(preview.samples).toHaveLength(2);
    expect((await verifyPreview(preview, plane.chain)).ok).toBe(true);
  });

  it('serves versions, stats and (to the owner) the export', async () => {
    const list = (await (await fetch(`${base}/datanets/${datanetId}/versions`)).json()) as {
      versions: { version: number; status: string }[];
    };
    expect(list.versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'complete'],
      [2, 'complete'],
      [3, 'complete'],
    ]);
    const v1 = (await (await fetch(`${base}/datanets/${datanetId}/versions/1`)).json()) as {
      entries: unknown[];
    };
    expect(v1.entries).toHaveLength(2);
    expect((await fetch(`${base}/datanets/${datanetId}/versions/9`)).status).toBe(404);
    expect((await fetch(`${base}/datanets/${datanetId}/versions/1/preview?n=101`)).status).toBe(400);
    const stats = await (await fetch(`${base}/datanets/${datanetId}/versions/1/stats`)).json();
    expect(stats).toEqual(await versionStats(plane, datanetId, 1));

    const url = `${base}/datanets/${datanetId}/versions/2/export`;
    expect((await fetch(url)).status).toBe(401);
    const stranger = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 7 });
    const denied = await fetch(url, {
      headers: { authorization: await accessAuthorization(stranger, datanetId) },
    });
    expect(denied.status).toBe(403);
    const ownerKey = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 0 });
    const allowed = await fetch(url, {
      headers: { authorization: await accessAuthorization(ownerKey, datanetId) },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toContain('application/x-ndjson');
    const chunks: Buffer[] = [];
    await exportVersionJsonl(
      plane,
      datanetId,
      2,
      new Writable({
        write(chunk: Buffer, _e, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    expect(await allowed.text()).toBe(Buffer.concat(chunks).toString('utf8'));

    // A row that fails verification mid-stream aborts the response: the body never completes.
    const bobs = contributions[3]!.record;
    const path = join(
      dir,
      'plane',
      'blobs',
      'objects',
      bobs.pack.slice(2, 4),
      bobs.pack.slice(4, 6),
      bobs.pack.slice(2),
    );
    const original = await readFile(path);
    const corrupted = Buffer.from(original);
    corrupted[original.length - 3] = corrupted[original.length - 3]! ^ 0x20;
    await writeFile(path, corrupted);
    try {
      const aborted = await fetch(url, {
        headers: { authorization: await accessAuthorization(ownerKey, datanetId) },
      });
      expect(aborted.status).toBe(200);
      let body = '';
      const read = (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of aborted.body!)
          body += decoder.decode(chunk as Uint8Array, { stream: true });
      })();
      await expect(read).rejects.toThrow();
      // Carol's 30 rows (verified) at most; none of bob's.
      expect(body.split('\n').filter(Boolean).length).toBeLessThanOrEqual(30);
      expect(body).not.toContain(paragraph(79).slice(0, 40));
    } finally {
      await writeFile(path, original);
    }
  });

  it('the CLI prints a preview, verifies it, and exports a version', async () => {
    const printed = await cli(['preview', datanetId.toString(), '1', '--data-plane', base, '--n', '5']);
    expect(printed.code).toBe(0);
    const preview = JSON.parse(printed.stdout) as VersionPreview;
    expect(preview.samples).toHaveLength(5);
    const file = join(dir, 'preview.json');
    await writeFile(file, printed.stdout);
    const good = await cli(['verify-preview', file, '--rpc', devnet.url]);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ ok: true });

    preview.samples[1]!.text = 'something else entirely, written by someone who was not there';
    await writeFile(file, JSON.stringify(preview));
    const bad = await cli(['verify-preview', file, '--rpc', devnet.url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/FAIL text-hash: sample 1/);

    const out = join(dir, 'v1.jsonl');
    const exported = await cli([
      'export',
      datanetId.toString(),
      '1',
      '--data-plane',
      base,
      '--out',
      out,
      '--dev-account',
      '1',
    ]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toMatchObject({ rows: 21, out });
    const rows = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number });
    expect(rows.map((r) => r.row)).toEqual([...Array(21).keys()]);
  });
});
