import type { Address } from '@ethereumjs/util';
import type { Logger } from 'pino';
import type { BlockPlan, Chain, CommittedBlock } from '../chain.ts';
import type { Mempool } from '../mempool/mempool.ts';
import type { DevClock } from './clock.ts';

/**
 * The devnet's block producer. With a block time of 0 it mines as soon as transactions are
 * executable: one block per transaction when they arrive one at a time, and a block holding all
 * of them (up to the gas limit) when they arrive faster than blocks are sealed. Otherwise it seals
 * a block every `blockTime` seconds, empty or not, like anvil's interval mining.
 */
export class DevMiner {
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly chain: Chain,
    private readonly mempool: Mempool,
    private readonly clock: DevClock,
    private readonly coinbase: Address,
    private readonly blockTimeSeconds: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.blockTimeSeconds > 0) {
      this.timer = setInterval(
        () => void this.mine().catch((err) => this.log.error({ err }, 'mining failed')),
        this.blockTimeSeconds * 1000,
      );
    } else {
      this.mempool.events.on('added', this.schedule);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.mempool.events.off('added', this.schedule);
    await this.running;
  }

  /** Seals one block now with whatever is executable (evm_mine); resolves once it is durable. */
  mine(timestamp?: bigint): Promise<CommittedBlock> {
    if (timestamp !== undefined) this.clock.setNext(timestamp);
    return this.chain.produceBlock(this.plan);
  }

  private readonly plan: BlockPlan = (parent) => ({
    selection: this.mempool.selection(parent.header.calcNextBaseFee(), (ptx, reason) =>
      this.log.warn({ tx: ptx.hash, reason }, 'dropped invalid transaction'),
    ),
    template: { timestamp: this.clock.nextTimestamp(parent.header.timestamp), coinbase: this.coinbase },
  });

  private readonly schedule = (): void => {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.running = this.running.then(() => this.mineWhileExecutable());
  };

  /** Executes blocks back to back while transactions are executable, each syncing behind the next. */
  private async mineWhileExecutable(): Promise<void> {
    this.scheduled = false;
    let lastDurable: Promise<unknown> = Promise.resolve();
    while (!this.stopped && this.mempool.hasExecutable(this.chain.tip.header.calcNextBaseFee())) {
      try {
        const { committed, durable } = await this.chain.executeBlock(this.plan);
        lastDurable = durable.catch((err: unknown) => this.log.error({ err }, 'writing a block failed'));
        if (committed.block.transactions.length === 0) break;
      } catch (err) {
        this.log.error({ err }, 'mining failed');
        break;
      }
    }
    await lastDurable;
  }
}
