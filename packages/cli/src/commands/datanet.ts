import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isAddressEqual, keccak256, toBytes, type Address, type Hex } from 'viem';
import {
  challengeContribution,
  createDatanet,
  publishVersion,
  rowTree,
  signContribution,
  stakeAsCurator,
  submitContribution,
  voteOnContribution,
  type Connection,
} from '@openledger/sdk';
import { amountOfOpen, integer } from '../options.ts';
import { DEFAULT_DATA_PLANE, dataPlaneUrl, failure } from './data-plane-client.ts';
import { addVersionCommands } from './datanet-versions.ts';
import { bytes32, id, printJson, protocolVerb, signerFrom, uint, type ConnectionFlags } from './protocol.ts';

/** The data plane `openledger devnet` starts. */

interface CreateFlags {
  metadata: string;
  standardUri?: string;
  standardHash?: Hex;
  standardFile?: string;
  dataPlane?: string;
  fee?: bigint;
  bond?: bigint;
  quorum?: number;
}

interface ContributeFlags {
  rowsFile?: string;
  dataRoot?: Hex;
  rows?: bigint;
  bytes?: bigint;
  metadata: string;
  dataPlane: string;
  via: 'relayer' | 'wallet';
  submit: boolean;
}

/**
 * `openledger datanet create|contribute|status|rows|curate|publish|challenge` (and the version verbs
 * of `datanet-versions.ts`: preview, verify-preview, export).
 */
export function datanetCommand(): Command {
  const datanet = new Command('datanet').description(
    'Datanets: community datasets, their curation and versions',
  );

  datanet.addCommand(
    protocolVerb<CreateFlags>(
      new Command('create')
        .description('create a Datanet owned by the signer; prints its id')
        .requiredOption('--metadata <uri>', 'URI of the Datanet description')
        .option('--standard-uri <uri>', 'URI of the validation standard curators apply', '')
        .addOption(
          new Option('--standard-hash <bytes32>', 'hash committing to the validation standard')
            .argParser(bytes32)
            .conflicts('standardFile'),
        )
        .option(
          '--standard-file <path>',
          'a validation standard (JSON): its hash is keccak256 of its canonical form, as the data plane checks it',
        )
        .option(
          '--data-plane <url>',
          'with --standard-file: register the standard on this data plane once the Datanet exists',
          dataPlaneUrl,
        )
        .option('--fee <open>', 'fee every contribution pays the owner (default 0)', amountOfOpen)
        .option(
          '--bond <open>',
          'bond held per contribution (default: datanet.minContributorBond)',
          amountOfOpen,
        )
        .option(
          '--quorum <n>',
          'curator votes that decide a contribution (default: the minimum)',
          integer(1, 100),
        ),
      async ({ conn, flags }) => {
        if (flags.dataPlane && !flags.standardFile)
          throw new Error('--data-plane registers the standard of --standard-file; pass both');
        let standard: unknown;
        let standardHash = flags.standardHash;
        if (flags.standardFile) {
          const text = await readFile(flags.standardFile, 'utf8').catch(() => {
            throw new Error(`no such file: ${flags.standardFile}`);
          });
          const { hashValidationStandard, parseValidationStandard } = await import('@openledger/data');
          try {
            standard = parseValidationStandard(text);
          } catch (error) {
            throw new Error(`${flags.standardFile}: ${(error as Error).message}`, { cause: error });
          }
          standardHash = hashValidationStandard(standard);
        }
        const created = await createDatanet(conn, {
          metadataURI: flags.metadata,
          validationStandardURI: flags.standardUri ?? '',
          ...(standardHash && { validationStandardHash: standardHash }),
          ...(flags.fee !== undefined && { contributionFee: flags.fee }),
          ...(flags.bond !== undefined && { contributorBond: flags.bond }),
          ...(flags.quorum !== undefined && { curatorQuorum: flags.quorum }),
        });
        if (flags.dataPlane) {
          await call(flags.dataPlane, 'PUT', `/datanets/${created.datanetId}/standard`, standard);
          return { ...created, validationStandardHash: standardHash, standardRegistered: flags.dataPlane };
        }
        return standardHash ? { ...created, validationStandardHash: standardHash } : created;
      },
    ),
  );

  datanet.addCommand(
    protocolVerb<ContributeFlags>(
      new Command('contribute')
        .description(
          "submit a contribution, paying the Datanet's fee and bond; the rows stay off-chain, committed by a Merkle root. " +
            'With files: upload them to the data plane (validated, scrubbed, deduplicated, scored), print its report, then sign and submit',
        )
        .argument('<datanetId>', 'the Datanet', id)
        .argument('[files...]', 'files to upload to the data plane (.txt .md .pdf .docx .jsonl .csv)')
        .addOption(
          new Option(
            '--rows-file <path>',
            "one row per line: the data root is the Merkle root of the lines' keccak256 hashes",
          ).conflicts(['dataRoot', 'rows']),
        )
        .addOption(new Option('--data-root <bytes32>', 'the Merkle root of the rows').argParser(bytes32))
        .option('--rows <n>', 'number of rows (with --data-root)', uint)
        .option('--bytes <n>', 'size of the rows in bytes (with --data-root; default 0)', uint)
        .option('--metadata <uri>', 'URI describing the contribution', '')
        .option(
          '--data-plane <url>',
          'the data plane to upload the files to',
          dataPlaneUrl,
          DEFAULT_DATA_PLANE,
        )
        .addOption(
          new Option(
            '--via <path>',
            "with files: 'relayer' signs the contribution for the data plane's relayer to send (it pays fee and bond), 'wallet' sends it from the signer",
          )
            .choices(['relayer', 'wallet'])
            .default('relayer'),
        )
        .option('--no-submit', 'with files: upload and print the report only; submit later'),
      async ({ conn, flags, args }) => {
        const datanetId = args[0] as bigint;
        const files = (args[1] as string[] | undefined) ?? [];
        if (files.length > 0) {
          if (flags.rowsFile || flags.dataRoot)
            throw new Error('pass files to upload, or --rows-file / --data-root, not both');
          return contributeFiles(conn, datanetId, files, flags);
        }
        let dataRoot: Hex;
        let rowCount: bigint;
        let byteSize: bigint;
        if (flags.rowsFile) {
          const content = await readFile(flags.rowsFile);
          const rows = content.toString('utf8').split('\n');
          if (rows.at(-1) === '') rows.pop();
          if (rows.length === 0) throw new Error(`${flags.rowsFile} holds no rows`);
          dataRoot = rowTree(rows.map((row) => keccak256(toBytes(row)))).root as Hex;
          rowCount = BigInt(rows.length);
          byteSize = BigInt(content.length);
        } else if (flags.dataRoot && flags.rows !== undefined) {
          dataRoot = flags.dataRoot;
          rowCount = flags.rows;
          byteSize = flags.bytes ?? 0n;
        } else {
          throw new Error(
            'pass files to upload, --rows-file <path>, or --data-root <bytes32> with --rows <n>',
          );
        }
        const result = await submitContribution(conn, {
          datanetId,
          dataRoot,
          rowCount,
          byteSize,
          metadataURI: flags.metadata,
        });
        return { ...result, dataRoot, rowCount, byteSize };
      },
    ),
  );

  datanet.addCommand(
    new Command('status')
      .description("a contribution's status and report on the data plane (its id there, a UUID)")
      .argument('<contributionId>', 'the id the upload printed', contributionUuid)
      .option('--data-plane <url>', 'the data plane', dataPlaneUrl, DEFAULT_DATA_PLANE)
      .action(async (contributionId: string, flags: { dataPlane: string }) => {
        printJson(await call(flags.dataPlane, 'GET', `/contributions/${contributionId}`));
      }),
  );

  datanet.addCommand(
    new Command('rows')
      .description(
        "a contribution's raw rows (the Datanet's owner, a curator, or a licence holder with --purchase)",
      )
      .argument('<datanetId>', 'the Datanet', id)
      .requiredOption('--contribution <id>', 'the contribution on the data plane (a UUID)', contributionUuid)
      .option('--from <n>', 'first row', integer(0), 0)
      .option('--count <n>', 'rows wanted (at most 1000)', integer(1, 1000), 100)
      .option('--purchase <id>', 'DataMarket purchase id of your licence (licence holders)', id)
      .option('--data-plane <url>', 'the data plane', dataPlaneUrl, DEFAULT_DATA_PLANE)
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
          flags: Omit<ConnectionFlags, 'rpc'> & {
            contribution: string;
            from: number;
            count: number;
            purchase?: bigint;
            dataPlane: string;
          },
        ) => {
          const signer = signerFrom({ ...flags, rpc: '' });
          if (signer.type !== 'local') throw new Error('the access header needs a local key to sign it');
          // Only the access header's module: the rest of the data plane stays unloaded.
          const { accessAuthorization } = await import('@openledger/data');
          const query = new URLSearchParams({
            contribution: flags.contribution,
            from: String(flags.from),
            count: String(flags.count),
            ...(flags.purchase !== undefined && { purchaseId: flags.purchase.toString() }),
          });
          const answer = (await call(
            flags.dataPlane,
            'GET',
            `/datanets/${datanetId}/rows?${query}`,
            undefined,
            {
              authorization: await accessAuthorization(signer, datanetId),
            },
          )) as { rows: { index: number; hash: Hex; text: string }[] };
          // The data plane checks every row against its hash; so does the client.
          for (const row of answer.rows) {
            if (keccak256(toBytes(row.text)) !== row.hash)
              throw new Error(`row ${row.index} does not match its hash ${row.hash}`);
          }
          printJson(answer);
        },
      ),
  );

  const curate = new Command('curate').description(
    'curate a Datanet: stake as a curator, vote on contributions',
  );
  curate.addCommand(
    protocolVerb<{ amount?: bigint }>(
      new Command('stake')
        .description("add to the signer's curator stake on a Datanet")
        .argument('<datanetId>', 'the Datanet', id)
        .option('--amount <open>', 'OPEN to stake (default: datanet.minCuratorStake)', amountOfOpen),
      async ({ conn, flags, args }) =>
        stakeAsCurator(conn, {
          datanetId: args[0] as bigint,
          ...(flags.amount !== undefined && { amount: flags.amount }),
        }),
    ),
  );
  curate.addCommand(
    protocolVerb<{ approve?: boolean; reject?: boolean }>(
      new Command('vote')
        .description('vote as a curator on a pending contribution')
        .argument('<contributionId>', 'the contribution', id)
        .addOption(new Option('--approve', 'approve it').conflicts('reject'))
        .option('--reject', 'reject it (its bond is refunded)'),
      async ({ conn, flags, args }) => {
        if (!flags.approve && !flags.reject) throw new Error('pass --approve or --reject');
        return voteOnContribution(conn, {
          contributionId: args[0] as bigint,
          approve: Boolean(flags.approve),
        });
      },
    ),
  );
  datanet.addCommand(curate);

  datanet.addCommand(
    protocolVerb(
      new Command('publish')
        .description(
          'publish the approved contributions not yet in a version as the next version (owner or curator)',
        )
        .argument('<datanetId>', 'the Datanet', id),
      async ({ conn, args }) => publishVersion(conn, { datanetId: args[0] as bigint }),
    ),
  );

  datanet.addCommand(
    protocolVerb<{ reason: string }>(
      new Command('challenge')
        .description('challenge an approved contribution, posting the datanet.challengeBond')
        .argument('<contributionId>', 'the contribution', id)
        .requiredOption('--reason <uri>', 'URI of the evidence'),
      async ({ conn, flags, args }) =>
        challengeContribution(conn, { contributionId: args[0] as bigint, reasonURI: flags.reason }),
    ),
  );

  return addVersionCommands(datanet);
}

// ---------------------------------------------------------------- the data plane

function contributionUuid(value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
    throw new InvalidArgumentError(`expected the data plane's contribution id (a UUID), got "${value}"`);
  return value.toLowerCase();
}

/** One JSON request to the data plane; throws with its `{ error }` on anything but 2xx. */
async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new Error(`cannot reach the data plane at ${base}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok) throw await failure(response, `${method} ${path}`);
  return response.json();
}

/** What `POST /datanets/:id/contributions` answers (the parts the CLI uses). */
interface UploadAnswer {
  contribution: {
    id: string;
    datanetId: string;
    contributor: Address;
    dataRoot: Hex;
    rowCount: number;
    byteSize: number;
    metadataURI: string;
    status: string;
  };
  report: Report;
  submission: {
    chainId: number;
    verifyingContract: Address;
    relayer: Address | null;
    contribution: { contributor: Address; datanetId: string; nonce: string; deadline: string };
  };
}

interface Report {
  files: { name: string; kind: string; rows: number }[];
  rowsAccepted: number;
  rowsRejected: number;
  issues: { code: string; message: string; file?: string; line?: number; page?: number; record?: number }[];
  issuesOmitted: number;
  scrub: {
    totalFindings: number;
    counts: Record<string, number>;
    findings: { kind: string; preview: string }[];
  };
  duplicates: { exact: number; near: number; policy: string };
  quality: { mean: number; p10: number };
  languages?: Record<string, number>;
}

/**
 * Upload mode of `datanet contribute`: streams the files to the data plane with a progress bar on
 * stderr, prints its report (stderr), then signs the contribution for the relayer or sends it from
 * the signer's wallet, and reports the transaction back. Returns the JSON line for stdout.
 */
async function contributeFiles(
  conn: Connection,
  datanetId: bigint,
  files: string[],
  flags: ContributeFlags & ConnectionFlags,
): Promise<object> {
  const wallet = conn.walletClient!;
  const contributor = wallet.account.address;
  const sizes = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (s) => {
          if (!s.isFile()) throw new Error(`${file} is not a file`);
          return s.size;
        },
        () => {
          throw new Error(`no such file: ${file}`);
        },
      ),
    ),
  );
  const upload = (await uploadFiles(
    `${flags.dataPlane}/datanets/${datanetId}/contributions`,
    { contributor, ...(flags.metadata && { metadataURI: flags.metadata }) },
    files.map((path, i) => ({ path, size: sizes[i]! })),
  )) as UploadAnswer;
  const { contribution, report, submission } = upload;
  printReport(contribution, report);
  const summary = {
    id: contribution.id,
    datanetId: contribution.datanetId,
    dataRoot: contribution.dataRoot,
    rowCount: contribution.rowCount,
    byteSize: contribution.byteSize,
    report,
  };
  if (!flags.submit) return { ...summary, status: contribution.status };

  // What is signed is checked against what was asked for, not taken from the data plane on trust.
  const registry = conn.contracts.datanets.address;
  if (
    contribution.datanetId !== datanetId.toString() ||
    !isAddressEqual(contribution.contributor, contributor) ||
    submission.chainId !== conn.chainId ||
    !isAddressEqual(submission.verifyingContract, registry)
  ) {
    throw new Error(
      'the data plane answered for another Datanet, contributor, chain or contract; not submitting',
    );
  }
  const via = flags.via === 'relayer' && submission.relayer === null ? 'wallet' : flags.via;
  if (via !== flags.via) process.stderr.write('the data plane does not relay: sending from your wallet\n');
  const base = flags.dataPlane;
  let answer: { contribution: { onchainId: string; txHash: Hex } };
  if (via === 'relayer') {
    const nonce = await conn.contracts.datanets.read.nonces([contributor]);
    const deadline = BigInt(submission.contribution.deadline);
    const signature = await signContribution(
      wallet,
      wallet.account,
      {
        datanetId,
        dataRoot: contribution.dataRoot,
        rowCount: BigInt(contribution.rowCount),
        byteSize: BigInt(contribution.byteSize),
        metadataURI: contribution.metadataURI,
        nonce,
        deadline,
      },
      conn.chainId,
      registry,
    );
    answer = (await call(base, 'POST', `/contributions/${contribution.id}/submit`, {
      signature,
      deadline: deadline.toString(),
    })) as typeof answer;
  } else {
    const sent = await submitContribution(conn, {
      datanetId,
      dataRoot: contribution.dataRoot,
      rowCount: BigInt(contribution.rowCount),
      byteSize: BigInt(contribution.byteSize),
      metadataURI: contribution.metadataURI,
    });
    answer = (await call(base, 'POST', `/contributions/${contribution.id}/submitted`, {
      txHash: sent.hash,
    })) as typeof answer;
  }
  return {
    ...summary,
    status: 'submitted',
    via,
    contributionId: answer.contribution.onchainId,
    hash: answer.contribution.txHash,
  };
}

/**
 * POSTs the files as multipart/form-data, streamed from disk (never read whole), with the length
 * known up front; the bar shows bytes handed to the connection, then "processing" until the answer.
 */
async function uploadFiles(
  target: string,
  fields: Record<string, string>,
  files: { path: string; size: number }[],
): Promise<unknown> {
  const boundary = `----openledger${randomBytes(12).toString('hex')}`;
  const head = (disposition: string, type?: string) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`,
    );
  const fieldParts = Object.entries(fields).map(([name, value]) =>
    Buffer.concat([head(`name="${name}"`), Buffer.from(`${value}\r\n`)]),
  );
  const fileHeads = files.map((f) =>
    head(`name="files"; filename="${quoteFileName(basename(f.path))}"`, 'application/octet-stream'),
  );
  const tail = Buffer.from(`--${boundary}--\r\n`);
  const total =
    fieldParts.reduce((n, b) => n + b.length, 0) +
    fileHeads.reduce((n, b, i) => n + b.length + files[i]!.size + 2, 0) +
    tail.length;
  const bar = progressBar(total);
  let sent = 0;
  async function* body(): AsyncGenerator<Buffer> {
    const count = (chunk: Buffer) => {
      sent += chunk.length;
      bar.update(sent);
      return chunk;
    };
    for (const part of fieldParts) yield count(part);
    for (const [i, file] of files.entries()) {
      yield count(fileHeads[i]!);
      for await (const chunk of createReadStream(file.path, { highWaterMark: 256 * 1024 }))
        yield count(chunk as Buffer);
      yield count(Buffer.from('\r\n'));
    }
    yield count(tail);
    bar.processing();
  }
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(total),
      },
      body: Readable.toWeb(Readable.from(body())) as unknown as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  } catch (error) {
    bar.done();
    throw new Error(`cannot upload to ${target}: ${(error as Error).message}`, { cause: error });
  }
  bar.done();
  if (!response.ok) throw await failure(response, 'upload');
  return response.json();
}

/** A file name as browsers put it in a Content-Disposition header. */
function quoteFileName(name: string): string {
  return name.replace(/[\r\n]/g, ' ').replace(/"/g, '%22');
}

/** Upload progress on stderr: a bar redrawn in place on a terminal, a few lines otherwise. */
function progressBar(total: number) {
  const tty = process.stderr.isTTY === true;
  const width = 30;
  let lastDraw = 0;
  let lastQuarter = -1;
  const line = (sent: number) => {
    const ratio = total === 0 ? 1 : Math.min(1, sent / total);
    const filled = Math.round(ratio * width);
    return `uploading [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${formatBytes(sent)} / ${formatBytes(total)}`;
  };
  return {
    update(sent: number) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && sent < total) return;
        lastDraw = now;
        process.stderr.write(`\r${line(sent)}`);
      } else {
        const quarter = Math.floor((sent / Math.max(1, total)) * 4);
        if (quarter !== lastQuarter) {
          lastQuarter = quarter;
          process.stderr.write(`${line(sent)}\n`);
        }
      }
    },
    processing() {
      const text = `uploaded ${formatBytes(total)}; processing (validate, scrub, deduplicate, score)…`;
      process.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The report, readable, on stderr (stdout keeps its one JSON line). */
function printReport(contribution: UploadAnswer['contribution'], report: Report): void {
  const lines = [
    `contribution ${contribution.id} (Datanet ${contribution.datanetId}): ${contribution.rowCount} rows, ${formatBytes(contribution.byteSize)}, stored`,
    ...report.files.map((f) => `  ${f.name}: ${f.kind}, ${f.rows} rows`),
    `rows: ${report.rowsAccepted} accepted, ${report.rowsRejected} rejected`,
    ...report.issues.slice(0, 10).map((i) => {
      const where = [
        i.file,
        i.line && `line ${i.line}`,
        i.page && `page ${i.page}`,
        i.record && `record ${i.record}`,
      ]
        .filter(Boolean)
        .join(' ');
      return `  ${i.code}${where ? ` (${where})` : ''}: ${i.message}`;
    }),
    ...(report.issues.length > 10 || report.issuesOmitted > 0
      ? [`  … ${report.rowsRejected - Math.min(10, report.issues.length)} more`]
      : []),
    `personal data removed: ${
      report.scrub.totalFindings === 0
        ? 'none'
        : Object.entries(report.scrub.counts)
            .filter(([, n]) => n > 0)
            .map(([kind, n]) => `${kind} ${n}`)
            .join(', ')
    }`,
    ...report.scrub.findings.slice(0, 5).map((f) => `  ${f.kind}: ${f.preview}`),
    `duplicates: ${report.duplicates.exact} exact, ${report.duplicates.near} near (${report.duplicates.policy})`,
    `quality: mean ${report.quality.mean.toFixed(2)}, p10 ${report.quality.p10.toFixed(2)}`,
    ...(report.languages && Object.keys(report.languages).length > 0
      ? [
          `languages: ${Object.entries(report.languages)
            .map(([l, n]) => `${l} ${n}`)
            .join(', ')}`,
        ]
      : []),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}
