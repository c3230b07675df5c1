// The gas of each genesis deployment: the constructor run as a transaction from the genesis deployer,
// simulated on the devnet with its target address (and, for Staking, VotingPower's balances) emptied
// so every write starts from the same empty state as in genesis.
import { encodeDeployData, parseEther, toHex, type Abi, type Address, type Hex } from 'viem';
import {
  GENESIS_DEPLOYER,
  PREDEPLOYS,
  loadArtifact,
  predeploySteps,
  type PredeployName,
} from '@openledger/contracts';
import type { CallFrame } from './attribution.ts';
import type { GasRunner } from './runner.ts';

export interface DeploymentCost {
  contract: PredeployName;
  address: Address;
  /** Bytes of runtime code. */
  codeSize: number;
  /** OPEN sent with the deployment at genesis, in wei. */
  value: bigint;
  /** gasUsed of the deployment transaction (debug_traceCall with callTracer). */
  gasUsed: bigint;
  /** What eth_estimateGas asks for (a binary search, so up to 1.5% above the least limit that works). */
  estimate: bigint;
}

export async function measureDeployments(r: GasRunner, validator: Address): Promise<DeploymentCost[]> {
  // The devnet's genesis: one validator with 10,000 OPEN staked, 1,000,000 OPEN in the treasury.
  const steps = predeploySteps({
    validators: [{ address: validator, stake: parseEther('10000') }],
    treasuryBalance: parseEther('1000000'),
  });
  const costs: DeploymentCost[] = [];
  for (const [nonce, step] of steps.entries()) {
    const artifact = await loadArtifact(step.name);
    const data = encodeDeployData({
      abi: artifact.abi as Abi,
      bytecode: artifact.bytecode as Hex,
      args: step.args,
    });
    // The deployer's nonce makes CREATE land on the predeploy's address, which is emptied first;
    // Staking's constructor mints GOPEN, so VotingPower starts empty as it did in genesis.
    const overrides: Record<string, object> = {
      [GENESIS_DEPLOYER]: { nonce: toHex(nonce), balance: toHex(step.value + parseEther('1')) },
      [step.address]: { nonce: '0x0', balance: '0x0', code: '0x', state: {} },
      ...(step.name === 'Staking' && { [PREDEPLOYS.VotingPower]: { state: {} } }),
    };
    const request = { from: GENESIS_DEPLOYER, data, value: toHex(step.value) };
    const trace = await r.rpc<CallFrame>('debug_traceCall', [
      request,
      'latest',
      { tracer: 'callTracer', stateOverrides: overrides },
    ]);
    if (trace.error || trace.to?.toLowerCase() !== step.address.toLowerCase()) {
      throw new Error(`deploying ${step.name} failed: ${trace.error ?? `created at ${trace.to}`}`);
    }
    const estimate = await r.rpc<Hex>('eth_estimateGas', [request, 'latest', overrides]);
    costs.push({
      contract: step.name,
      address: step.address,
      codeSize: (artifact.deployedBytecode.length - 2) / 2,
      value: step.value,
      gasUsed: BigInt(trace.gasUsed),
      estimate: BigInt(estimate),
    });
  }
  return costs;
}
