/**
 * What a payer's deposit can still pay for, read fresh from the chain for every request: a deposit
 * backs every channel of its payer at every node, so another node's redemption can shrink it at any
 * time.
 */
import type { Connection } from '@openledger/sdk';
import type { Address } from 'viem';

export interface PayerFunds {
  /** InferencePayments `balanceOf(payer)`. */
  balance: bigint;
  /** The amount of a requested withdrawal (0 if none): the payer can take it once its delay passes. */
  pendingWithdrawal: bigint;
  /** Set when the payer is an active AgentRegistry agent, whose owner's rules bound what it can pay. */
  agent: { remainingInPeriod: bigint; modelAllowed: boolean } | undefined;
}

/** The payer's deposit, pending withdrawal and agent rules for `modelId`, read in parallel. */
export async function readPayerFunds(conn: Connection, payer: Address, modelId: bigint): Promise<PayerFunds> {
  const { payments, agents } = conn.contracts;
  const [balance, [pendingWithdrawal], isAgent, remainingInPeriod, modelAllowed] = await Promise.all([
    payments.read.balanceOf([payer]),
    payments.read.pendingWithdrawal([payer]),
    agents.read.isAgent([payer]),
    agents.read.remainingInPeriod([payer]),
    agents.read.isModelAllowed([payer, modelId]),
  ]);
  return { balance, pendingWithdrawal, agent: isAgent ? { remainingInPeriod, modelAllowed } : undefined };
}
