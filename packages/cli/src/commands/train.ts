import { Command, InvalidArgumentError, Option } from 'commander';
import type { Account } from 'viem';
import { amountOfOpen, integer } from '../options.ts';
import { dataPlaneUrl, failure } from './data-plane-client.ts';
import { DEFAULT_FACTORY_PORT } from './factory.ts';
import { id, printJson, signerFrom, type ConnectionFlags } from './protocol.ts';

export const DEFAULT_FACTORY = `http://127.0.0.1:${DEFAULT_FACTORY_PORT}`;

interface TrainFlags extends ConnectionFlags {
  datanet?: bigint;
  version: number[];
  base: string;
  name?: string;
  price?: bigint;
  rank: number;
  alpha: number;
  targets: string[];
  epochs: number;
  lr: number;
  batch: number;
  maxSeqLen: number;
  evalFraction: number;
  seed: number;
  purchase?: bigint;
  factory: string;
  follow?: string;
  cancel?: string;
}

interface JobView {
  id: string;
  status: string;
  error?: { code: string; message: string };
  result?: Record<string, unknown>;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1))
    throw new InvalidArgumentError(`expected a fraction between 0 and 1, got "${value}"`);
  return n;
}

function versions(value: string): number[] {
  const list = value.split(',').map((v) => v.trim());
  if (list.some((v) => !/^[1-9]\d*$/.test(v))) {
    throw new InvalidArgumentError(`expected version numbers such as 1 or 1,2,3, got "${value}"`);
  }
  return list.map(Number);
}

function targets(value: string): string[] {
  const list = value.split(',').map((v) => v.trim());
  const known = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'];
  const unknown = list.filter((t) => !known.includes(t));
  if (unknown.length > 0)
    throw new InvalidArgumentError(`unknown target ${unknown.join(', ')}: use ${known.join(', ')}`);
  return list;
}

/**
 * `openledger train`: submits a fine-tuning job to the ModelFactory, following its progress on
 * stderr (a bar with tokens/s and ETA) until the model is registered; prints the job as JSON.
 */
export function trainCommand(): Command {
  return new Command('train')
    .description('fine-tune a LoRA adapter on Datanet versions with the ModelFactory and register the model')
    .addOption(new Option('--datanet <id>', 'the Datanet to train on').argParser(id))
    .addOption(new Option('--version <v[,v…]>', 'its published version(s)').argParser(versions))
    .option('--base <model>', 'base model of the factory', 'openledger-base')
    .option('--name <name>', 'model name to register (1 to 64 characters of a-z 0-9 . _ -)')
    .addOption(new Option('--price <open>', 'price per 1,000 tokens').argParser(amountOfOpen))
    .option('--rank <r>', 'LoRA rank', integer(1, 64), 8)
    .option('--alpha <a>', 'LoRA alpha', positiveNumber, 16)
    .option('--targets <list>', 'adapted matrices: q,k,v,o,gate,up,down', targets, ['q', 'v'])
    .option('--epochs <n>', 'passes over the data', integer(1, 100), 3)
    .option('--lr <rate>', 'peak learning rate', positiveNumber, 2e-3)
    .option('--batch <n>', 'rows per step', integer(1, 256), 8)
    .option('--max-seq-len <n>', 'tokens per row at most', integer(8, 4096), 128)
    .option('--eval-fraction <f>', 'rows held out for evaluation', fraction, 0.1)
    .option('--seed <n>', 'seed of the adapter, the split and the data order', integer(0, 2 ** 31 - 1), 0)
    .addOption(
      new Option('--purchase <id>', 'read the rows as holder of this DataMarket licence').argParser(id),
    )
    .option('--factory <url>', 'ModelFactory URL', dataPlaneUrl, DEFAULT_FACTORY)
    .option('--follow <job>', 'follow a job already submitted instead')
    .option('--cancel <job>', 'cancel a job (its owner signs)')
    .addOption(new Option('--private-key <hex>', 'sign with this key (default: $OPENLEDGER_PRIVATE_KEY)'))
    .addOption(
      new Option('--dev-account <i>', "sign with the devnet mnemonic's account i").argParser((v) =>
        integer(0)(v),
      ),
    )
    .action(async (flags: TrainFlags) => {
      if (flags.follow) return printResult(await follow(flags.factory, flags.follow));
      const signer = signerFrom(flags);
      if (flags.cancel) return printJson(await cancel(flags.factory, flags.cancel, signer));
      if (flags.datanet === undefined || flags.version === undefined || !flags.name) {
        throw new Error('train needs --datanet <id>, --version <v> and --name <model name>');
      }
      const { accessAuthorization } = await import('@openledger/data');
      if (signer.type !== 'local') throw new Error('the data-access header needs a local key to sign it');
      const body = {
        datanetId: flags.datanet.toString(),
        versions: flags.version,
        baseModel: flags.base,
        name: flags.name,
        owner: signer.address,
        ...(flags.price !== undefined && { pricePer1kTokens: flags.price.toString() }),
        // The factory exports the rows right away; an hour is plenty for that.
        authorization: await accessAuthorization(signer, flags.datanet, { ttlSeconds: 3600 }),
        ...(flags.purchase !== undefined && { purchaseId: flags.purchase.toString() }),
        hyperParameters: {
          rank: flags.rank,
          alpha: flags.alpha,
          targets: flags.targets,
          epochs: flags.epochs,
          learningRate: flags.lr,
          batchSize: flags.batch,
          maxSeqLen: flags.maxSeqLen,
          evalFraction: flags.evalFraction,
          seed: flags.seed,
        },
      };
      const res = await request(flags.factory, '/training/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw await failure(res, 'the ModelFactory refused the job');
      const { job } = (await res.json()) as { job: JobView };
      process.stderr.write(`job ${job.id} submitted\n`);
      printResult(await follow(flags.factory, job.id));
    });
}

function printResult(job: JobView): void {
  printJson(job);
  if (job.status !== 'succeeded') process.exitCode = 1;
}

async function request(base: string, path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(new URL(path, base), init);
  } catch (error) {
    throw new Error(`cannot reach the ModelFactory at ${base}: ${(error as Error).message}`);
  }
}

/** Reads the job's event stream to its end, drawing progress; returns the job as it ended. */
async function follow(base: string, jobId: string): Promise<JobView> {
  const res = await request(base, `/training/jobs/${jobId}/events`);
  if (!res.ok || !res.body) throw await failure(res, `cannot follow job ${jobId}`);
  const bar = trainingBar();
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    let cut: number;
    while ((cut = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, cut);
      pending = pending.slice(cut + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data) bar.event(JSON.parse(data) as { type: string; data: unknown });
    }
  }
  bar.done();
  const final = await request(base, `/training/jobs/${jobId}`);
  if (!final.ok) throw await failure(final, `cannot read job ${jobId}`);
  return ((await final.json()) as { job: JobView }).job;
}

async function cancel(base: string, jobId: string, signer: Account): Promise<unknown> {
  const { cancelMessage } = await import('@openledger/ai/factory');
  const expiry = Math.floor(Date.now() / 1000) + 600;
  if (!signer.signMessage) throw new Error('the signer cannot sign messages');
  const signature = await signer.signMessage({ message: cancelMessage(jobId, expiry) });
  const res = await request(base, `/training/jobs/${jobId}`, {
    method: 'DELETE',
    headers: { authorization: `OpenLedger ${signer.address}.${expiry}.${signature}` },
  });
  if (!res.ok) throw await failure(res, `cannot cancel job ${jobId}`);
  return res.json();
}

/** Training progress on stderr: redrawn in place on a terminal, a line every 10 % otherwise. */
function trainingBar() {
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  let drawn = false;
  const write = (text: string) => process.stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
  return {
    event(e: { type: string; data: unknown }) {
      if (e.type === 'progress') {
        const p = e.data as {
          step: number;
          totalSteps: number;
          tokensPerSecond: number;
          etaSeconds: number;
          loss: number;
          epoch: number;
        };
        const ratio = p.step / Math.max(1, p.totalSteps);
        const tenth = Math.floor(ratio * 10);
        if (!tty && tenth === lastTenth) return;
        lastTenth = tenth;
        const filled = Math.round(ratio * 30);
        write(
          `training [${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ` +
            `step ${p.step}/${p.totalSteps}  epoch ${p.epoch}  loss ${p.loss.toFixed(3)}  ` +
            `${Math.round(p.tokensPerSecond)} tok/s  ETA ${formatSeconds(p.etaSeconds)}`,
        );
        drawn = true;
      } else if (e.type === 'log' || e.type === 'status') {
        const text = e.type === 'log' ? String(e.data) : `status: ${(e.data as { status: string }).status}`;
        if (drawn && tty) process.stderr.write('\n');
        drawn = false;
        process.stderr.write(`${text}\n`);
      }
    },
    done() {
      if (drawn && tty) process.stderr.write('\n');
    },
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
