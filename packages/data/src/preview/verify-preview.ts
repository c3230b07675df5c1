import { datanetRegistryAbi, revertOf, versionLeaf, type Connection } from '@openledger/sdk';
import { keccak256 as keccakHex, toBytes, type Hex } from 'viem';
import { z } from 'zod';
import type { Hash } from '../hash.ts';
import { verifyRowProof } from '../merkle/row-tree.ts';
import { MAX_PREVIEW_ROWS, previewSeed, sampleRows } from './preview-seed.ts';
import type { VersionPreview } from './sample-preview.ts';

/** What `verifyPreview` checks; each failure names one. */
export type PreviewCheck =
  /** The preview is not shaped like one. */
  | 'format'
  /** The version is unknown on-chain, or the preview's root, rows or first row differ from the chain's. */
  | 'version'
  /** No VersionPublished event for the version in the block the preview names. */
  | 'publish-block'
  /** The seed block or seed differs from the one re-derived from the chain. */
  | 'seed'
  /** The sample does not hold min(n, rows) rows. */
  | 'size'
  /** A sampled row index is not the one the seed gives at that position. */
  | 'indices'
  /** A row's text does not hash to its hash. */
  | 'text-hash'
  /** The row is not where its contribution's row range says (offset / range). */
  | 'row-range'
  /** The row proof does not lead from the row hash to the contribution's data root. */
  | 'row-proof'
  /** The contribution's fields differ from what DatanetRegistry stores for it. */
  | 'contribution'
  /** The contribution proof does not lead from the contribution's leaf to the on-chain version root. */
  | 'contribution-proof'
  /** The statistics' row count differs from the version's. */
  | 'stats';

export interface PreviewFailure {
  check: PreviewCheck;
  /** Position of the sample in the preview, for per-row checks. */
  sample?: number;
  row?: number;
  message: string;
}

export interface PreviewVerification {
  ok: boolean;
  failures: PreviewFailure[];
  /** What was re-derived from the chain. */
  chain?: {
    root: Hash;
    rowCount: number;
    firstRow: number;
    seedBlockHash?: Hash;
    seed?: Hash;
    rows?: number[];
  };
  checked: { samples: number; rowProofs: number; contributionProofs: number };
}

const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/) as unknown as z.ZodType<Hash>;
const count = z.number().int().nonnegative();
const PreviewShape = z.object({
  datanetId: z.string().regex(/^[1-9]\d*$/),
  version: z.number().int().positive(),
  root: hash,
  rowCount: count,
  firstRow: count,
  contributions: count,
  publishBlock: count,
  seedBlock: count,
  seedBlockHash: hash,
  seed: hash,
  n: z.number().int().min(1).max(MAX_PREVIEW_ROWS),
  samples: z.array(
    z.object({
      row: count,
      text: z.string(),
      hash,
      contributor: z.string(),
      contributionId: z.string().regex(/^[1-9]\d*$/),
      offset: count,
      contribution: z.object({ dataRoot: hash, rowOffset: count, rowCount: count }),
      rowProof: z.array(hash),
      contributionProof: z.array(hash),
    }),
  ),
  stats: z.object({ rows: count }).loose(),
});

/**
 * Checks a preview against the chain alone (nothing from the data plane is trusted): the version's
 * root, rows and first row (`versionInfo`, `versionContributions`, `contribution`), the
 * VersionPublished event in the named publish block, the seed from the hash of the block after it,
 * the sampled indices from the seed (PREVIEW_SEED_RULE), and for every row: its text's hash, its place
 * in its contribution's range, the row proof to the contribution's data root, the contribution's
 * fields on-chain (data root, row range, contributor, version) and the contribution proof to the
 * on-chain version root. Returns every failure found (ok when there is none).
 *
 * Note: OpenZeppelin's trees hash pairs commutatively, so a proof shows a leaf is in the tree, not at
 * which position. Proof lengths are checked against the position's depth, the contribution's position
 * is fixed by its leaf (which holds its row range), and the row index by the seed.
 */
export async function verifyPreview(
  preview: unknown,
  chain: Pick<Connection, 'publicClient' | 'contracts'>,
): Promise<PreviewVerification> {
  const failures: PreviewFailure[] = [];
  const checked = { samples: 0, rowProofs: 0, contributionProofs: 0 };
  const parsed = PreviewShape.safeParse(preview);
  if (!parsed.success) {
    for (const issue of parsed.error.issues.slice(0, 20))
      failures.push({ check: 'format', message: `${issue.path.join('.') || 'preview'}: ${issue.message}` });
    return { ok: false, failures, checked };
  }
  const p = parsed.data as unknown as VersionPreview;
  const registry = chain.contracts.datanets;
  const datanetId = BigInt(p.datanetId);
  const version = BigInt(p.version);

  let info: readonly [Hex, bigint, bigint, bigint];
  let ids: readonly bigint[];
  try {
    info = await registry.read.versionInfo([datanetId, version]);
    ids = await registry.read.versionContributions([datanetId, version]);
  } catch (error) {
    // Only the chain saying so fails the preview; a node that cannot answer is an error.
    const revert = revertOf(error);
    if (!revert) throw error;
    failures.push({
      check: 'version',
      message: `Datanet ${p.datanetId} version ${p.version} is not on the chain (${revert.errorName})`,
    });
    return { ok: false, failures, checked };
  }
  const root = info[0].toLowerCase() as Hash;
  const rowCount = Number(info[1]);
  const first = ids[0] === undefined ? undefined : await registry.read.contribution([ids[0]]);
  const firstRow = Number(first?.rowOffset ?? 0n);
  const result: PreviewVerification['chain'] = { root, rowCount, firstRow };
  if (p.root.toLowerCase() !== root)
    failures.push({ check: 'version', message: `root ${p.root} is not the on-chain version root ${root}` });
  if (p.rowCount !== rowCount)
    failures.push({ check: 'version', message: `${p.rowCount} rows claimed, the chain says ${rowCount}` });
  if (p.firstRow !== firstRow)
    failures.push({
      check: 'version',
      message: `first row ${p.firstRow} claimed, the chain says ${firstRow}`,
    });
  if (p.contributions !== ids.length)
    failures.push({
      check: 'version',
      message: `${p.contributions} contributions claimed, the chain says ${ids.length}`,
    });

  // The publish block: the VersionPublished event of this version must be in it.
  const head = await chain.publicClient.getBlockNumber();
  const events =
    BigInt(p.publishBlock) > head
      ? []
      : await chain.publicClient.getContractEvents({
          address: registry.address,
          abi: datanetRegistryAbi,
          eventName: 'VersionPublished',
          args: { datanetId, version },
          fromBlock: BigInt(p.publishBlock),
          toBlock: BigInt(p.publishBlock),
          strict: true,
        });
  const published = events.find((e) => e.args.datanetId === datanetId && e.args.version === version);
  if (!published) {
    failures.push({
      check: 'publish-block',
      message: `block ${p.publishBlock} holds no VersionPublished event of Datanet ${p.datanetId} version ${p.version}`,
    });
  } else {
    const seedBlock = Number(published.blockNumber) + 1;
    if (p.seedBlock !== seedBlock)
      failures.push({
        check: 'seed',
        message: `seed block ${p.seedBlock} claimed; it is block ${seedBlock}`,
      });
    const block =
      BigInt(seedBlock) > head
        ? undefined
        : await chain.publicClient.getBlock({ blockNumber: BigInt(seedBlock) });
    if (!block) {
      failures.push({
        check: 'seed',
        message: `block ${seedBlock} does not exist yet: no preview can exist`,
      });
    } else {
      const seedBlockHash = block.hash as Hash;
      const seed = previewSeed(seedBlockHash, datanetId, version);
      result.seedBlockHash = seedBlockHash;
      result.seed = seed;
      if (p.seedBlockHash.toLowerCase() !== seedBlockHash)
        failures.push({
          check: 'seed',
          message: `seed block hash ${p.seedBlockHash} is not block ${seedBlock}'s hash ${seedBlockHash}`,
        });
      if (p.seed.toLowerCase() !== seed)
        failures.push({ check: 'seed', message: `seed ${p.seed} is not the re-derived seed ${seed}` });
      const expected = sampleRows(seed, firstRow, rowCount, p.n);
      result.rows = expected;
      if (p.samples.length !== expected.length)
        failures.push({
          check: 'size',
          message: `${p.samples.length} rows sampled; n = ${p.n} over ${rowCount} rows gives ${expected.length}`,
        });
      p.samples.forEach((s, i) => {
        if (i < expected.length && s.row !== expected[i])
          failures.push({
            check: 'indices',
            sample: i,
            row: s.row,
            message: `sample ${i} is row ${s.row}; the seed gives row ${expected[i]}`,
          });
      });
    }
  }

  const contributions = new Map<string, Awaited<ReturnType<typeof registry.read.contribution>> | null>();
  for (const [i, s] of p.samples.entries()) {
    checked.samples++;
    const fail = (check: PreviewCheck, message: string) =>
      failures.push({ check, sample: i, row: s.row, message: `sample ${i} (row ${s.row}): ${message}` });
    const c = s.contribution;
    if (keccakHex(toBytes(s.text)) !== s.hash.toLowerCase())
      fail('text-hash', 'its text does not hash to its hash');
    if (s.offset >= c.rowCount || s.row !== c.rowOffset + s.offset)
      fail('row-range', `offset ${s.offset} in a contribution of rows ${c.rowOffset}+${c.rowCount}`);

    checked.rowProofs++;
    const rowDepth = s.offset < c.rowCount ? proofDepth(c.rowCount, s.offset) : -1;
    if (s.rowProof.length !== rowDepth || !verifyRowProof(c.dataRoot, s.hash, s.rowProof))
      fail('row-proof', `the row proof does not lead from ${s.hash} to data root ${c.dataRoot}`);

    if (!contributions.has(s.contributionId)) {
      contributions.set(
        s.contributionId,
        await registry.read.contribution([BigInt(s.contributionId)]).catch(() => null),
      );
    }
    const onchain = contributions.get(s.contributionId);
    if (!onchain) {
      fail('contribution', `contribution ${s.contributionId} does not exist`);
    } else {
      const problems: string[] = [];
      if (onchain.datanetId !== datanetId || onchain.version !== version)
        problems.push(`it is in Datanet ${onchain.datanetId} version ${onchain.version}`);
      if (onchain.dataRoot.toLowerCase() !== c.dataRoot.toLowerCase()) problems.push('its data root differs');
      if (Number(onchain.rowOffset) !== c.rowOffset || Number(onchain.rowCount) !== c.rowCount)
        problems.push(`its rows are ${onchain.rowOffset}+${onchain.rowCount}`);
      if (onchain.contributor.toLowerCase() !== s.contributor.toLowerCase())
        problems.push(`its contributor is ${onchain.contributor}`);
      if (problems.length > 0)
        fail('contribution', `contribution ${s.contributionId}: ${problems.join('; ')}`);
    }

    checked.contributionProofs++;
    const index = ids.findIndex((id) => id.toString() === s.contributionId);
    const leaf = versionLeaf({
      contributionId: BigInt(s.contributionId),
      dataRoot: c.dataRoot,
      rowOffset: BigInt(c.rowOffset),
      rowCount: BigInt(c.rowCount),
    }) as Hash;
    const depth = index < 0 ? -1 : proofDepth(ids.length, index);
    if (s.contributionProof.length !== depth || !verifyRowProof(root, leaf, s.contributionProof))
      fail('contribution-proof', `the contribution proof does not lead to the on-chain version root ${root}`);
  }

  if (p.stats.rows !== rowCount)
    failures.push({
      check: 'stats',
      message: `statistics count ${p.stats.rows} rows, the version ${rowCount}`,
    });
  return { ok: failures.length === 0, failures, chain: result, checked };
}

/** Length of the proof of leaf `index` in OpenZeppelin's layout of `leaves` leaves (node 2n-2-i). */
export function proofDepth(leaves: number, index: number): number {
  return (2 * leaves - 2 - index + 1).toString(2).length - 1;
}
