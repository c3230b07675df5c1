import {
  getContract,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
  type Account,
} from 'viem';
import { PREDEPLOYS, type PredeployName } from '@openledger/contracts';
import * as abis from './abis.ts';

/** The ABI of every predeployed protocol contract, by contract name. */
export const PROTOCOL_ABIS = {
  ProtocolParams: abis.protocolParamsAbi,
  EcosystemTreasury: abis.ecosystemTreasuryAbi,
  OpenTimelock: abis.openTimelockAbi,
  VotingPower: abis.votingPowerAbi,
  Staking: abis.stakingAbi,
  OpenGovernor: abis.openGovernorAbi,
  DatanetRegistry: abis.datanetRegistryAbi,
  ModelRegistry: abis.modelRegistryAbi,
  AttributionSettlement: abis.attributionSettlementAbi,
  AgentRegistry: abis.agentRegistryAbi,
  InferencePayments: abis.inferencePaymentsAbi,
  DataMarket: abis.dataMarketAbi,
} as const satisfies Record<PredeployName, unknown>;

export type ProtocolAddresses = Record<PredeployName, Address>;

export interface ProtocolClients<
  TPublic extends PublicClient<Transport, Chain>,
  TWallet extends WalletClient<Transport, Chain, Account> | undefined,
> {
  public: TPublic;
  wallet?: TWallet;
}

/**
 * Typed viem contract instances for every protocol contract: `.read.*`, `.write.*` (with a wallet),
 * `.simulate.*`, `.estimateGas.*`, `.getEvents.*` and `.watchEvent.*`, all typed from the ABIs.
 */
export function protocolContracts<
  TPublic extends PublicClient<Transport, Chain>,
  TWallet extends WalletClient<Transport, Chain, Account> | undefined = undefined,
>(clients: ProtocolClients<TPublic, TWallet>, addresses: ProtocolAddresses = PREDEPLOYS) {
  const client = { public: clients.public, wallet: clients.wallet as TWallet };
  const contract = <N extends PredeployName>(name: N) =>
    getContract({ address: addresses[name], abi: PROTOCOL_ABIS[name], client });
  return {
    params: contract('ProtocolParams'),
    treasury: contract('EcosystemTreasury'),
    timelock: contract('OpenTimelock'),
    votingPower: contract('VotingPower'),
    staking: contract('Staking'),
    governor: contract('OpenGovernor'),
    datanets: contract('DatanetRegistry'),
    models: contract('ModelRegistry'),
    settlement: contract('AttributionSettlement'),
    agents: contract('AgentRegistry'),
    payments: contract('InferencePayments'),
    market: contract('DataMarket'),
  };
}

export type ProtocolContracts = ReturnType<typeof protocolContracts>;
