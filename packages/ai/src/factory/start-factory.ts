import { join } from 'node:path';
import { FsContentStore } from '@openledger/data';
import { connect } from '@openledger/sdk';
import type { Account } from 'viem';
import { describeBaseModel } from './base-models.ts';
import { startFactoryServer } from './factory-server.ts';
import { JobRunner, type BaseModel } from './job-runner.ts';
import { JobStore } from './job-store.ts';

export interface StartFactoryOptions {
  /** Jobs in `<dataDir>/jobs`, published blobs in `<dataDir>/blobs`. */
  readonly dataDir: string;
  readonly rpcUrl: string;
  readonly dataPlaneUrl: string;
  /** Registers trained models (and pays the fee) before handing them to their owners. */
  readonly operator: Account;
  readonly baseModels: readonly { readonly name: string; readonly path: string }[];
  readonly host?: string;
  readonly port?: number;
  readonly concurrency?: number;
  readonly jobMemoryMb?: number;
}

export interface RunningFactory {
  readonly url: string;
  readonly baseModels: ReadonlyMap<string, BaseModel>;
  close(): Promise<void>;
}

/** The ModelFactory service: its job queue, resumed from disk, behind its HTTP API. */
export async function startModelFactory(o: StartFactoryOptions): Promise<RunningFactory> {
  const baseModels = new Map<string, BaseModel>();
  for (const m of o.baseModels) baseModels.set(m.name, await describeBaseModel(m.name, m.path));
  const blobs = await FsContentStore.open(join(o.dataDir, 'blobs'));
  const chain = await connect({ url: o.rpcUrl, account: o.operator });
  const runner = new JobRunner({
    store: await JobStore.open(join(o.dataDir, 'jobs')),
    chain,
    dataPlaneUrl: o.dataPlaneUrl,
    blobs,
    baseModels,
    ...(o.concurrency !== undefined && { concurrency: o.concurrency }),
    ...(o.jobMemoryMb !== undefined && { jobMemoryMb: o.jobMemoryMb }),
  });
  await runner.start();
  const server = await startFactoryServer(runner, blobs, baseModels, { host: o.host, port: o.port });
  return {
    url: server.url,
    baseModels,
    async close() {
      await server.close();
      await runner.stop();
    },
  };
}
