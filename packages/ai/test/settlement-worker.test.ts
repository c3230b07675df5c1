import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsContentStore } from '@openledger/data';
import {
  claimRewards,
  deposit,
  issueVoucher,
  paramKey,
  redeemVoucher,
  registerModel,
  type Connection,
} from '@openledger/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnetProcess, type DevnetProcess } from '../../chain/test/support/devnet-process.ts';
import { account } from '../../data/test/support/versions-fixture.ts';
import { AttributionLog } from '../src/settlement/attribution-log.ts';
import { recomputeEpoch } from '../src/settlement/epoch-bundle.ts';
import { SettlementWorker } from '../src/settlement/settlement-worker.ts';

let devnet: DevnetProcess;
let dir: string;
let operator: Connection;
let payer: Connection;
let node: Connection;
let alice: Connection;
let bob: Connection;

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return operator.publicClient.request({ method, params } as never);
}

/** Moves chain time past the end of the current attribution epoch (and its grace), mining a block. */
async function endEpoch(): Promise<void> {
  const length = await operator.contracts.params.read.get([paramKey('attribution.epochLength')]);
  await rpc('evm_increaseTime', [Number(length) + 120]);
  await rpc('evm_mine');
}

beforeAll(async () => {
  devnet = await startDevnetProcess();
  dir = await mkdtemp(join(tmpdir(), 'openledger-settlement-'));
  operator = await account(devnet.url, 5);
  payer = await account(devnet.url, 6);
  node = await account(devnet.url, 7);
  alice = await account(devnet.url, 2);
  bob = await account(devnet.url, 3);
}, 120_000);

afterAll(async () => {
  await devnet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SettlementWorker', () => {
  it('posts each epoch’s root from the attribution records, and contributors claim with proofs', async () => {
    const { modelId } = await registerModel(node, { name: 'settled-model', pricePer1kTokens: 10n ** 15n });
    const settlement = operator.contracts.settlement.read;
    // A real paid query: a deposit, a voucher, its redemption funds the contributors' share.
    await deposit(payer, { amount: 10n ** 18n });
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 10 * 86_400);
    const signed = await issueVoucher(payer, {
      node: node.walletClient!.account.address,
      modelId,
      cumulativeAmount: 10n ** 16n,
      deadline,
    });
    const charged = await redeemVoucher(node, signed);
    const epoch = await settlement.currentEpoch();
    const collected = await settlement.collected([modelId, epoch]);
    expect(collected).toBe(charged.contributors);

    const log = await AttributionLog.open(join(dir, 'attribution.jsonl'));
    const share = collected;
    const [a, b] = [alice.walletClient!.account.address, bob.walletClient!.account.address];
    // Two queries: 60 % / 20 % / 20 % unattributed, then all to bob.
    const half = share / 2n;
    await log.append({
      id: 'q1',
      modelId,
      epoch,
      servedAt: 1,
      payer: payer.walletClient!.account.address,
      charge: half * 2n,
      contributorsShare: half,
      allocations: [
        { contributor: a, amount: (half * 6n) / 10n },
        { contributor: b, amount: (half * 2n) / 10n },
      ],
      unattributed: half - (half * 6n) / 10n - (half * 2n) / 10n,
      method: 'span',
    });
    await log.append({
      id: 'q2',
      modelId,
      epoch,
      servedAt: 2,
      payer: payer.walletClient!.account.address,
      charge: (share - half) * 2n,
      contributorsShare: share - half,
      allocations: [{ contributor: b, amount: share - half }],
      unattributed: 0n,
      method: 'span',
    });
    const blobs = await FsContentStore.open(join(dir, 'blobs'));
    const worker = await SettlementWorker.open({
      log,
      chain: operator,
      blobs,
      statePath: join(dir, 'settled.json'),
    });

    // Nothing is posted while the epoch runs.
    expect(await worker.tick()).toEqual([]);
    await endEpoch();
    const [published] = await worker.tick();
    expect(published).toMatchObject({
      modelId: modelId.toString(),
      epoch: epoch.toString(),
      posted: true,
      leafCount: 2,
    });
    const info = await settlement.rootInfo([modelId, epoch]);
    expect(info.root).toBe(published!.root);
    expect(info.total).toBe((half * 6n) / 10n + (half * 2n) / 10n + (share - half));
    // A second pass posts nothing again.
    expect(await worker.tick()).toEqual([]);

    // Anyone can recompute the root from the published bundle and the on-chain collection.
    const bundle = await worker.bundle(published!.bundle);
    expect(
      recomputeEpoch(bundle.records, new Map([[epoch, await settlement.collected([modelId, epoch])]]), epoch)
        .root,
    ).toBe(info.root);

    // Not claimable until the challenge window is over; then both claim, once.
    expect(await worker.claimable(a)).toEqual([]);
    const window = await operator.contracts.params.read.get([paramKey('attribution.challengeWindow')]);
    await rpc('evm_increaseTime', [Number(window) + 1]);
    await rpc('evm_mine');
    const claims = await worker.claimable(a);
    expect(claims).toHaveLength(1);
    const before = await operator.publicClient.getBalance({ address: a });
    const claimed = await claimRewards(alice, claims);
    expect(claimed.claimed[0]!.amount).toBe((half * 6n) / 10n);
    const receipt = await operator.publicClient.getTransactionReceipt({ hash: claimed.hash });
    expect(await operator.publicClient.getBalance({ address: a })).toBe(
      before + (half * 6n) / 10n - receipt.gasUsed * receipt.effectiveGasPrice,
    );
    expect(await worker.claimable(a)).toEqual([]);
    expect(await worker.claimable(b)).toHaveLength(1);

    // The worker remembers what it published across a restart.
    await log.close();
    const reopened = await SettlementWorker.open({
      log: await AttributionLog.open(join(dir, 'attribution.jsonl')),
      chain: operator,
      blobs,
      statePath: join(dir, 'settled.json'),
    });
    expect(reopened.epochs(modelId)).toEqual([published]);
    expect(await reopened.tick()).toEqual([]);
  });
});
