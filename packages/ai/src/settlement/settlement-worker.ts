import { open, readFile, rename } from 'node:fs/promises';
import type { ContentStore } from '@openledger/data';
import {
  postRewardRoot,
  registerAttributionOperator,
  rewardClaim,
  rewardTree,
  type Connection,
  type RewardClaim,
} from '@openledger/sdk';
import type { Address, Hex } from 'viem';
import type { AttributionLog } from './attribution-log.ts';
import { bundleFromJson, bundleToJson, epochTree, type EpochBundle } from './epoch-bundle.ts';
import { computeEpochRewards } from './epoch-rewards.ts';

/** An epoch's published results, as the worker remembers them. */
export interface PublishedEpoch {
  readonly modelId: string;
  readonly epoch: string;
  /** Content hash of the bundle (`keccak256:<hash>` is the root's resultsURI). */
  readonly bundle: Hex;
  readonly root: Hex;
  readonly total: string;
  readonly leafCount: number;
  /** Whether the root was posted on-chain (an epoch with nothing to pay publishes no root). */
  readonly posted: boolean;
}

export interface SettlementWorkerOptions {
  readonly log: AttributionLog;
  /** The root operator: registers itself with the governed bond when it is not yet an operator. */
  readonly chain: Connection;
  readonly blobs: ContentStore;
  /** Where the published-epoch index is kept (a JSON file, replaced atomically). */
  readonly statePath: string;
  /** Seconds an epoch must have ended for before it is settled (default 30). */
  readonly graceSeconds?: number;
}

/**
 * Settles Proof of Attribution on-chain. For every model with attribution records and every
 * ended epoch not yet published, it reads what AttributionSettlement collected, computes the
 * epoch's rewards (FIFO over the records, see computeEpochRewards), publishes the bundle to the
 * content store and posts the root. Published epochs are remembered on disk; a root cancelled by a
 * fraud proof is recomputed and posted again on the next pass.
 */
export class SettlementWorker {
  private published = new Map<string, PublishedEpoch>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  private constructor(private readonly o: SettlementWorkerOptions) {}

  private get graceSeconds(): bigint {
    return BigInt(this.o.graceSeconds ?? 30);
  }

  static async open(o: SettlementWorkerOptions): Promise<SettlementWorker> {
    const worker = new SettlementWorker(o);
    try {
      const list = JSON.parse(await readFile(o.statePath, 'utf8')) as PublishedEpoch[];
      for (const p of list) worker.published.set(key(BigInt(p.modelId), BigInt(p.epoch)), p);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return worker;
  }

  /** Runs a pass every `intervalMs`; passes never overlap. */
  start(intervalMs = 15_000): void {
    this.timer = setInterval(() => void this.tick().catch(() => undefined), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running.catch(() => undefined);
  }

  /** One pass over every model; returns the epochs published in it. */
  tick(): Promise<PublishedEpoch[]> {
    const pass = this.running.then(() => this.pass());
    this.running = pass.catch(() => undefined);
    return pass;
  }

  epochs(modelId: bigint): PublishedEpoch[] {
    return [...this.published.values()].filter((p) => p.modelId === modelId.toString());
  }

  /** Claims `account` can make now: leaves of posted roots whose challenge window is over, not yet claimed. */
  async claimable(account: Address): Promise<RewardClaim[]> {
    const settlement = this.o.chain.contracts.settlement.read;
    const claims: RewardClaim[] = [];
    for (const p of this.published.values()) {
      if (!p.posted) continue;
      const modelId = BigInt(p.modelId);
      const epoch = BigInt(p.epoch);
      const info = await settlement.rootInfo([modelId, epoch]);
      if (info.status !== FINAL || info.root !== p.root) continue;
      const bundle = await this.bundle(p.bundle);
      const index = bundle.leaves.findIndex((l) => l.account.toLowerCase() === account.toLowerCase());
      if (index < 0 || (await settlement.isClaimed([modelId, epoch, BigInt(index)]))) continue;
      const c = rewardClaim(rewardTree(bundle.leaves), index);
      claims.push({ modelId, epoch, index: c.index, account: c.account, amount: c.amount, proof: c.proof });
    }
    return claims;
  }

  async bundle(hash: Hex): Promise<EpochBundle> {
    return bundleFromJson(JSON.parse(new TextDecoder().decode(await this.o.blobs.get(hash))));
  }

  private async pass(): Promise<PublishedEpoch[]> {
    const settlement = this.o.chain.contracts.settlement.read;
    let current = await settlement.currentEpoch();
    // A record logged just before an epoch ended may still be on its way to the log: the last
    // ended epoch is settled only once the new one is a little older.
    const started = await settlement.epochStart([current]);
    // Chain time, not the wall clock: a devnet mining fast runs ahead of it.
    const now = (await this.o.chain.publicClient.getBlock()).timestamp;
    if (now < started + this.graceSeconds) current -= 1n;
    const done: PublishedEpoch[] = [];
    for (const modelId of this.o.log.models()) {
      const records = this.o.log.forModel(modelId);
      if (records.length === 0) continue;
      const first = records.reduce((m, r) => (r.epoch < m ? r.epoch : m), records[0]!.epoch);
      const collected = new Map<bigint, bigint>();
      for (let e = first; e < current; e++) collected.set(e, await settlement.collected([modelId, e]));
      const rewards = computeEpochRewards(records, collected, current - 1n);
      for (const r of rewards) {
        const known = this.published.get(key(modelId, r.epoch));
        const status = (await settlement.rootInfo([modelId, r.epoch])).status;
        if (known?.posted && status !== CANCELLED) continue;
        const logged = records.filter((x) => x.epoch === r.epoch);
        // An epoch with nothing to pay is published once if records were logged in it (verifiers
        // replay them), and not at all otherwise.
        if (r.leaves.length === 0 && (known || logged.length === 0)) continue;
        const tree = epochTree(r.leaves);
        const bundle: EpochBundle = {
          modelId,
          epoch: r.epoch,
          records: logged,
          collected: r.collected,
          leaves: r.leaves,
          total: tree.total,
          root: tree.root,
        };
        const hash = (await this.o.blobs.put(
          new TextEncoder().encode(JSON.stringify(bundleToJson(bundle))),
        )) as Hex;
        const posted = r.leaves.length > 0;
        if (posted) {
          await this.ensureOperator();
          await postRewardRoot(this.o.chain, {
            modelId,
            epoch: r.epoch,
            root: tree.root,
            total: tree.total,
            leafCount: BigInt(r.leaves.length),
            resultsURI: `keccak256:${hash}`,
          });
        }
        const entry: PublishedEpoch = {
          modelId: modelId.toString(),
          epoch: r.epoch.toString(),
          bundle: hash,
          root: tree.root,
          total: tree.total.toString(),
          leafCount: r.leaves.length,
          posted,
        };
        this.published.set(key(modelId, r.epoch), entry);
        await this.save();
        done.push(entry);
      }
    }
    return done;
  }

  private async ensureOperator(): Promise<void> {
    const address = this.o.chain.walletClient!.account.address;
    const info = await this.o.chain.contracts.settlement.read.operatorInfo([address]);
    if (info.status === 0) await registerAttributionOperator(this.o.chain);
  }

  private async save(): Promise<void> {
    const temp = `${this.o.statePath}.tmp`;
    const file = await open(temp, 'w');
    try {
      await file.write(JSON.stringify([...this.published.values()], null, 2));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, this.o.statePath);
  }
}

/** RootStatus in AttributionSettlement. */
const FINAL = 2;
const CANCELLED = 3;

function key(modelId: bigint, epoch: bigint): string {
  return `${modelId}/${epoch}`;
}
