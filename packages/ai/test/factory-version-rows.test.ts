import { createServer, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { accessAuthorization, keccak256, startDataServer, type RunningDataServer } from '@openledger/data';
import { publishVersion } from '@openledger/sdk';
import { mnemonicToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIONS,
  DEV_MNEMONIC,
  SUBJECTS,
  contributeRows,
  startVersionsFixture,
  waitForVersion,
  type VersionsFixture,
} from '../../data/test/support/versions-fixture.ts';
import { FactoryError } from '../src/factory/factory-error.ts';
import { fetchVerifiedVersion } from '../src/factory/version-rows.ts';

/** A distinct English paragraph for every n. */
function paragraph(n: number): string {
  return `${SUBJECTS[n % 10]!} ${ACTIONS[Math.floor(n / 10) % 10]!} in the year ${1800 + n}, and the whole village remembered it.`;
}

let fx: VersionsFixture;
let server: RunningDataServer;
let tamperer: Server;
let tamperUrl: string;
let tamper: (line: string, index: number) => string | undefined = (line) => line;

/** Fetches the real export and passes each line through `tamper` (undefined drops it): a lying data plane. */
function startTamperingProxy(target: string): Promise<Server> {
  const proxy = createServer((req, res) => {
    void (async () => {
      const upstream = await fetch(new URL(req.url!, target), {
        headers: { authorization: req.headers.authorization ?? '' },
      });
      const text = await upstream.text();
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'text/plain',
      });
      if (!upstream.ok) return res.end(text);
      const lines = text.split('\n').filter((l) => l.length > 0);
      res.end(
        lines
          .map((l, i) => tamper(l, i))
          .filter((l) => l !== undefined)
          .join('\n') + '\n',
      );
    })();
  });
  return new Promise((done) => proxy.listen(0, '127.0.0.1', () => done(proxy)));
}

/** The data-access header of dev account `index` (0 owns the Datanet, 4 has no rights to it). */
const auth = (index: number) =>
  accessAuthorization(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }), fx.datanetId);

beforeAll(async () => {
  fx = await startVersionsFixture('openledger-factory-rows-');
  const [alice, bob] = fx.contributors;
  const path = (name: string) => join(fx.dir, name);
  await contributeRows({ ...fx, who: alice, texts: [0, 1, 2, 3, 4].map(paragraph), path: path('a.txt') });
  await contributeRows({ ...fx, who: bob, texts: [10, 11, 12].map(paragraph), path: path('b.txt') });
  await publishVersion(fx.owner, { datanetId: fx.datanetId });
  server = await startDataServer(fx.plane);
  await waitForVersion(server.url, fx.datanetId, 1);
  tamperer = await startTamperingProxy(server.url);
  tamperUrl = `http://127.0.0.1:${(tamperer.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  tamperer?.close();
  await server?.close();
  await fx?.plane.close();
  await fx?.devnet.stop();
  if (fx?.dir) await rm(fx.dir, { recursive: true, force: true });
});

describe('fetchVerifiedVersion', () => {
  it('returns every row of the version in order, each proven against the chain', async () => {
    const [alice, bob] = fx.contributors;
    const v = await fetchVerifiedVersion({
      chain: fx.owner,
      dataPlaneUrl: server.url,
      datanetId: fx.datanetId,
      version: 1,
      authorization: await auth(0),
    });
    expect(v.rows.map((r) => r.text)).toEqual([0, 1, 2, 3, 4, 10, 11, 12].map(paragraph));
    expect(v.rows.map((r) => r.row)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(v.rows.map((r) => r.contributor)).toEqual([
      ...Array<string>(5).fill(alice.walletClient!.account.address),
      ...Array<string>(3).fill(bob.walletClient!.account.address),
    ]);
    expect(v.rows.every((r) => r.hash === keccak256(r.text))).toBe(true);
    expect(v.slashed.size).toBe(0);
    const [root] = await fx.owner.contracts.datanets.read.versionInfo([fx.datanetId, 1n]);
    expect(v.root).toBe(root);
  });

  const refused = async (options: Partial<Parameters<typeof fetchVerifiedVersion>[0]>) => {
    const error = await fetchVerifiedVersion({
      chain: fx.owner,
      dataPlaneUrl: server.url,
      datanetId: fx.datanetId,
      version: 1,
      authorization: await auth(0),
      ...options,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FactoryError);
    return error as FactoryError;
  };

  it('refuses a caller who may not read the rows, and versions that do not exist', async () => {
    expect((await refused({ authorization: await auth(4) })).code).toBe('no-access');
    expect((await refused({ version: 2 })).code).toBe('version-not-found');
    expect((await refused({ dataPlaneUrl: 'http://127.0.0.1:9' })).code).toBe('data-plane-unavailable');
  });

  it('rejects an export whose rows do not prove to the on-chain roots', async () => {
    const cases: ((line: string, index: number) => string | undefined)[] = [
      // A row rewritten with a matching hash: the contribution's dataRoot no longer rebuilds.
      (line, i) => {
        if (i !== 2) return line;
        const row = JSON.parse(line) as { text: string; hash: string };
        const text = `${row.text} (edited)`;
        return JSON.stringify({ ...row, text, hash: keccak256(text) });
      },
      // A row whose text does not hash to its hash.
      (line, i) => (i === 6 ? line.replace('village', 'hamlet') : line),
      // A missing row.
      (line, i) => (i === 4 ? undefined : line),
      // The first two rows swapped.
      (() => {
        let first = '';
        return (line: string, i: number) => {
          if (i === 0) first = line;
          return i === 0 ? undefined : i === 1 ? `${line}\n${first}` : line;
        };
      })(),
      // A row credited to someone else.
      (line, i) =>
        i === 0
          ? line.replace(/"contributor":"0x[0-9a-fA-F]{40}"/, `"contributor":"0x${'1'.repeat(40)}"`)
          : line,
      // Garbage.
      (line, i) => (i === 1 ? '{not json' : line),
    ];
    for (const change of cases) {
      tamper = change;
      const error = await refused({ dataPlaneUrl: tamperUrl });
      expect(error.code).toBe('verification-failed');
    }
    tamper = (line) => line;
    const honest = await fetchVerifiedVersion({
      chain: fx.owner,
      dataPlaneUrl: tamperUrl,
      datanetId: fx.datanetId,
      version: 1,
      authorization: await auth(0),
    });
    expect(honest.rows).toHaveLength(8);
  });
});
