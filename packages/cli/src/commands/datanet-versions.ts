import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command, Option } from 'commander';
import { connect, shortMessage } from '@openledger/sdk';
import { integer } from '../options.ts';
import { DEFAULT_DATA_PLANE, dataPlaneUrl, failure } from './data-plane-client.ts';
import { DEFAULT_RPC, id, printJson, signerFrom, uint, type ConnectionFlags } from './protocol.ts';

interface DataPlaneFlags {
  dataPlane: string;
}

async function get(target: string, what: string, headers: Record<string, string> = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(target, { headers });
  } catch (error) {
    throw new Error(`${what}: cannot reach ${new URL(target).origin}: ${shortMessage(error)}`, {
      cause: error,
    });
  }
  if (!response.ok) throw await failure(response, what);
  return response;
}

async function readInput(source: string): Promise<string> {
  if (source !== '-') return readFile(source, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Adds `preview`, `verify-preview` and `export` to `openledger datanet`:
 *
 * - `preview <id> <version> [--data-plane <url>] [--n 20]` prints the version's verifiable preview (JSON).
 * - `verify-preview <file|-> --rpc <url>` checks a preview against the chain alone; prints the result
 *   and exits 0 when every check passes, 1 with the failures listed otherwise.
 * - `export <id> <version> [--data-plane <url>] --out <file>` downloads the version's rows as JSONL,
 *   signing the access header (auth.ts) with --private-key / --dev-account / $OPENLEDGER_PRIVATE_KEY;
 *   licence holders add --purchase <id>. The file appears only once every row has arrived.
 */
export function addVersionCommands(datanet: Command): Command {
  datanet.addCommand(
    new Command('preview')
      .description("print a Datanet version's verifiable preview (sampled rows with proofs, statistics)")
      .argument('<datanetId>', 'the Datanet', id)
      .argument('<version>', 'the version', id)
      .option('--data-plane <url>', 'URL of the data plane', dataPlaneUrl, DEFAULT_DATA_PLANE)
      .option('--n <rows>', 'rows to sample (1 to 100)', integer(1, 100), 20)
      .action(async (datanetId: bigint, version: bigint, flags: DataPlaneFlags & { n: number }) => {
        const response = await get(
          `${flags.dataPlane}/datanets/${datanetId}/versions/${version}/preview?n=${flags.n}`,
          `preview of Datanet ${datanetId} version ${version}`,
        );
        printJson(await response.json());
      }),
  );

  datanet.addCommand(
    new Command('verify-preview')
      .description(
        'check a preview against the chain: its seed, sampled indices and every proof; exit 1 listing failures',
      )
      .argument('<file>', 'the preview JSON, or - for stdin')
      .option('--rpc <url>', 'JSON-RPC endpoint of the node', DEFAULT_RPC)
      .action(async (file: string, flags: { rpc: string }) => {
        let preview: unknown;
        try {
          preview = JSON.parse(await readInput(file));
        } catch (error) {
          throw new Error(`${file}: not a preview JSON (${(error as Error).message})`, { cause: error });
        }
        // The data plane's modules load only for the verbs that use them (other verbs start faster).
        const { verifyPreview } = await import('@openledger/data');
        let conn;
        try {
          conn = await connect({ url: flags.rpc });
        } catch (error) {
          throw new Error(`cannot reach the node at ${flags.rpc}: ${shortMessage(error)}`, { cause: error });
        }
        const result = await verifyPreview(preview, conn);
        printJson(result);
        if (!result.ok) {
          for (const f of result.failures) console.error(`FAIL ${f.check}: ${f.message}`);
          process.exitCode = 1;
        }
      }),
  );

  datanet.addCommand(
    new Command('export')
      .description("download a Datanet version's rows as JSONL (owner, curator or licence holder)")
      .argument('<datanetId>', 'the Datanet', id)
      .argument('<version>', 'the version', id)
      .option('--data-plane <url>', 'URL of the data plane', dataPlaneUrl, DEFAULT_DATA_PLANE)
      .requiredOption('--out <file>', 'where to write the JSONL')
      .option('--purchase <id>', 'DataMarket purchase id of your licence (licence holders)', uint)
      .addOption(
        new Option(
          '--private-key <hex>',
          'sign the access header with this key (default: $OPENLEDGER_PRIVATE_KEY)',
        ),
      )
      .option('--dev-account <i>', "sign with the devnet mnemonic's account i", integer(0, 2 ** 31 - 1))
      .action(
        async (
          datanetId: bigint,
          version: bigint,
          flags: DataPlaneFlags & Omit<ConnectionFlags, 'rpc'> & { out: string; purchase?: bigint },
        ) => {
          const { accessAuthorization } = await import('@openledger/data');
          const signer = signerFrom({ ...flags, rpc: '' });
          if (signer.type !== 'local') throw new Error('the access header needs a local key to sign it');
          const authorization = await accessAuthorization(signer, datanetId);
          const query = flags.purchase === undefined ? '' : `?purchaseId=${flags.purchase}`;
          const response = await get(
            `${flags.dataPlane}/datanets/${datanetId}/versions/${version}/export${query}`,
            `export of Datanet ${datanetId} version ${version}`,
            { authorization },
          );
          const expected = Number(response.headers.get('x-row-count') ?? NaN);
          const partial = `${flags.out}.partial`;
          let rows = 0;
          let pending = '';
          const count = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              const text = pending + chunk.toString('latin1');
              const lines = text.split('\n');
              pending = lines.pop()!;
              rows += lines.length;
              done(null, chunk);
            },
          });
          try {
            await pipeline(
              Readable.fromWeb(response.body! as WebReadableStream),
              count,
              createWriteStream(partial),
            );
            if (pending !== '' || (Number.isFinite(expected) && rows !== expected))
              throw new Error(`${rows} of ${Number.isFinite(expected) ? expected : '?'} rows arrived`);
          } catch (error) {
            await rm(partial, { force: true });
            throw new Error(
              `export of Datanet ${datanetId} version ${version} failed: ${shortMessage(error)}`,
              {
                cause: error,
              },
            );
          }
          await rename(partial, flags.out);
          printJson({
            datanetId,
            version,
            rows,
            root: response.headers.get('x-version-root'),
            out: flags.out,
          });
        },
      ),
  );

  return datanet;
}
