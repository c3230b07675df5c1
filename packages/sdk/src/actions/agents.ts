import { parseEventLogs, type Address } from 'viem';
import { agentRegistryAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { emitted, sendProtocolTx } from './send.ts';

export interface RegisterAgentOptions {
  agent: Address;
  /** Wei the agent may spend per window. */
  limitPerPeriod: bigint;
  /** Window length in seconds. */
  period: bigint;
  /** Models it may pay for (empty: any). */
  allowedModels?: readonly bigint[];
}

/** Registers `agent` as the signer's agent under spending rules. */
export async function registerAgent(conn: Connection, o: RegisterAgentOptions) {
  const { agents } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'registerAgent', (account) =>
    agents.simulate.registerAgent([o.agent, o.limitPerPeriod, o.period, [...(o.allowedModels ?? [])]], {
      account,
    }),
  );
  const logs = parseEventLogs({
    abi: agentRegistryAbi,
    logs: sent.receipt.logs,
    eventName: 'AgentRegistered',
  });
  const { args } = emitted(logs, agents.address, 'AgentRegistered');
  return {
    hash: sent.hash,
    agent: args.agent,
    owner: args.owner,
    limitPerPeriod: args.limitPerPeriod,
    period: args.period,
    allowedModels: args.allowedModels,
  };
}
