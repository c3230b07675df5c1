import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mnemonicToAccount } from 'viem/accounts';
import { connect, createDatanet } from '@openledger/sdk';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { hashValidationStandard, type ContributionRecord } from '../src/index.ts';

/**
 * kill -9 of the devnet process (node and data plane together) while it ingests a large upload:
 * after the restart the contribution is either absent or whole, with every row readable and
 * hashing to its data root, and no temporary file is left.
 */

const MNEMONIC = 'test test test test test test test test test test test junk';
const owner = mnemonicToAccount(MNEMONIC, { addressIndex: 1 });
const standard = { kind: 'text', granularity: 'paragraph', minLength: 20, maxLength: 5_000 } as const;
let node: DevnetProcess | undefined;

afterAll(async () => {
  await node?.stop();
});

function dataPlaneUrl(devnet: DevnetProcess): string {
  const match = /Data plane\s+(http:\/\/\S+)/.exec(devnet.output());
  if (!match) throw new Error(`no data plane in the banner:\n${devnet.output()}`);
  return match[1]!;
}

const ROWS = 30_000;

/** ~8 MB of distinct paragraphs (random words from a large vocabulary), so processing takes seconds. */
function corpus(): string {
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const syllables = [
    'ka',
    'lo',
    'mi',
    'ne',
    'ru',
    'sa',
    'te',
    'vo',
    'ba',
    'di',
    'fe',
    'go',
    'hu',
    'ja',
    'ki',
    'le',
  ];
  const vocabulary = Array.from({ length: 3_000 }, () =>
    Array.from({ length: 2 + (next() % 3) }, () => syllables[next() % syllables.length]).join(''),
  );
  const parts: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const words = Array.from({ length: 40 }, () => vocabulary[next() % vocabulary.length]);
    parts.push(`Paragraph ${i}: ${words.join(' ')}.`);
  }
  return parts.join('\n\n');
}

describe('data plane crash safety', () => {
  it('leaves a contribution absent or whole after kill -9 during ingestion', async () => {
    node = await startDevnetProcess({ keepData: true });
    const { dataDir } = node;
    const ol = await connect({ url: node.url, account: owner });
    const { datanetId } = await createDatanet(ol, {
      metadataURI: 'ipfs://crash',
      validationStandardHash: hashValidationStandard(standard),
    });
    let data = dataPlaneUrl(node);
    const put = await fetch(`${data}/datanets/${datanetId}/standard`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(standard),
    });
    expect(put.status).toBe(201);

    const form = new FormData();
    form.set('contributor', owner.address);
    form.append('files', new Blob([corpus()]), 'corpus.txt');
    const upload = fetch(`${data}/datanets/${datanetId}/contributions`, { method: 'POST', body: form }).catch(
      (error: unknown) => error,
    );
    // Kill while the upload is being processed (ingesting 30,000 rows takes several seconds).
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await node.kill();
    expect(await upload).toBeInstanceOf(Error);

    node = await startDevnetProcess({ dataDir, keepData: true });
    data = dataPlaneUrl(node);
    const listed = (await (await fetch(`${data}/datanets/${datanetId}/contributions`)).json()) as {
      contributions: ContributionRecord[];
    };
    for (const record of listed.contributions) {
      // Whatever survived is whole: all its rows, and a record that reads back.
      expect(record.rowCount).toBe(ROWS);
      expect((await fetch(`${data}/contributions/${record.id}`)).status).toBe(200);
    }
    expect(await readdir(join(dataDir, 'data', 'blobs', 'tmp'))).toEqual([]);

    // The same upload goes through after the restart.
    const again = new FormData();
    again.set('contributor', owner.address);
    again.append('files', new Blob([corpus()]), 'corpus.txt');
    const response = await fetch(`${data}/datanets/${datanetId}/contributions`, {
      method: 'POST',
      body: again,
    });
    const body = (await response.json()) as { contribution?: ContributionRecord; error?: { code: string } };
    if (listed.contributions.length === 0) {
      expect(response.status, JSON.stringify(body)).toBe(201);
      expect(body.contribution?.rowCount).toBe(ROWS);
    } else {
      expect(body.error?.code).toBe('all-duplicates');
    }
  }, 180_000);
});
