/** TestToken (OpenZeppelin ERC20) setup for the ERC-20 workload: load, deploy, distribute. */
import { encodeDeployData, encodeFunctionData, keccak256, type Abi, type Address, type Hex } from 'viem';
import { estimateGas, generousFees, pendingNonces, waitForSuccess, type ChainContext } from './chain.ts';

export interface ContractArtifact {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

/** The package other code uses for compiled contracts: `loadArtifact(name) -> { abi, bytecode }`. */
const CONTRACTS_PACKAGE = '@openledger/contracts';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Loads TestToken through `loadArtifact('TestToken')` of @openledger/contracts. Imported lazily so
 * that a missing or broken contracts package fails only the ERC-20 workload, with its reason.
 */
export async function loadTestToken(): Promise<ContractArtifact> {
  let mod: unknown;
  try {
    mod = await import(CONTRACTS_PACKAGE);
  } catch (error) {
    throw new Error(
      `cannot import ${CONTRACTS_PACKAGE}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isRecord(mod) || typeof mod.loadArtifact !== 'function') {
    throw new Error(`${CONTRACTS_PACKAGE} does not export loadArtifact()`);
  }
  const artifact: unknown = await (mod.loadArtifact as (name: string) => unknown)('TestToken');
  if (!isRecord(artifact) || !Array.isArray(artifact.abi) || typeof artifact.bytecode !== 'string') {
    throw new Error(`loadArtifact('TestToken') did not return { abi, bytecode }`);
  }
  const hex = artifact.bytecode.startsWith('0x') ? artifact.bytecode.slice(2) : artifact.bytecode;
  if (hex.length === 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`loadArtifact('TestToken') returned no deployable bytecode`);
  }
  return { abi: artifact.abi as Abi, bytecode: `0x${hex}` };
}

export const TOKEN_DECIMALS_UNIT = 10n ** 18n;
/** Minted to sender 0: 1e9 whole tokens. */
export const TOKEN_SUPPLY = 1_000_000_000n * TOKEN_DECIMALS_UNIT;

export function transferData(artifact: ContractArtifact, to: Address, amount: bigint): Hex {
  return encodeFunctionData({ abi: artifact.abi, functionName: 'transfer', args: [to, amount] });
}

async function sendSigned(ctx: ChainContext, raw: Hex): Promise<Hex> {
  const expected = keccak256(raw);
  const hash = await ctx.rpc.callString('eth_sendRawTransaction', [raw]);
  if (hash.toLowerCase() !== expected) throw new Error(`node returned hash ${hash}, expected ${expected}`);
  return expected;
}

/**
 * Deploys TestToken from sender 0, then gives every other sender 1/20 of the supply; waits until
 * all of it is mined. Returns the token address.
 */
export async function deployAndDistribute(ctx: ChainContext, artifact: ContractArtifact): Promise<Address> {
  const owner = ctx.senders[0];
  if (!owner?.signTransaction) throw new Error('sender 0 cannot sign');
  const fees = await generousFees(ctx.rpc);
  const [nonce] = await pendingNonces(ctx.rpc, [owner]);
  if (nonce === undefined) throw new Error('no nonce for sender 0');

  const deployData = encodeDeployData({
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    args: ['OpenLedger Bench Token', 'OLBT', TOKEN_SUPPLY],
  });
  const deployGas = ((await estimateGas(ctx.rpc, { from: owner.address, data: deployData })) * 12n) / 10n;
  const deployRaw = await owner.signTransaction({
    type: 'eip1559',
    chainId: ctx.chainId,
    nonce,
    gas: deployGas,
    data: deployData,
    ...fees,
  });
  const deployReceipt = await waitForSuccess(
    ctx.rpc,
    await sendSigned(ctx, deployRaw),
    'TestToken deployment',
  );
  const token = deployReceipt.contractAddress;
  if (!token) throw new Error('TestToken deployment receipt has no contractAddress');

  const share = TOKEN_SUPPLY / 20n;
  const transferGas =
    ((await estimateGas(ctx.rpc, {
      from: owner.address,
      to: token,
      data: transferData(artifact, ctx.senders[1]?.address ?? owner.address, share),
    })) *
      15n) /
    10n;
  // Sent one after another (each reply before the next send) so that nonces arrive in order.
  const hashes: Hex[] = [];
  for (const [i, recipient] of ctx.senders.slice(1).entries()) {
    const raw = await owner.signTransaction({
      type: 'eip1559',
      chainId: ctx.chainId,
      nonce: nonce + 1 + i,
      to: token,
      gas: transferGas,
      data: transferData(artifact, recipient.address, share),
      ...fees,
    });
    hashes.push(await sendSigned(ctx, raw));
  }
  for (const hash of hashes) await waitForSuccess(ctx.rpc, hash, 'token distribution');
  return token;
}
