import { maxUint256, parseEventLogs, type Address } from 'viem';
import { stakingAbi, votingPowerAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { emitted, sendProtocolTx } from './send.ts';

/** Bonds `amount` wei to `validator`; the signer receives GOPEN (voting power) for it. */
export async function stake(conn: Connection, o: { validator: Address; amount: bigint }) {
  const { staking, votingPower } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'stake', (account) =>
    staking.simulate.stake([o.validator], { account, value: o.amount }),
  );
  const logs = parseEventLogs({ abi: stakingAbi, logs: sent.receipt.logs, eventName: 'Staked' });
  const { args } = emitted(logs, staking.address, 'Staked');
  const votingPowerBalance = await votingPower.read.balanceOf([args.delegator], {
    blockNumber: sent.receipt.blockNumber,
  });
  return {
    hash: sent.hash,
    delegator: args.delegator,
    validator: args.validator,
    amount: args.amount,
    shares: args.shares,
    votingPower: votingPowerBalance,
  };
}

/** Starts unbonding `amount` wei ('all': the whole stake) from `validator`. */
export async function unstake(conn: Connection, o: { validator: Address; amount: bigint | 'all' }) {
  const { staking } = conn.contracts;
  const amount = o.amount === 'all' ? maxUint256 : o.amount;
  const sent = await sendProtocolTx(conn, 'unstake', (account) =>
    staking.simulate.unstake([o.validator, amount], { account }),
  );
  const logs = parseEventLogs({ abi: stakingAbi, logs: sent.receipt.logs, eventName: 'Unstaked' });
  const { args } = emitted(logs, staking.address, 'Unstaked');
  return {
    hash: sent.hash,
    validator: args.validator,
    amount: args.amount,
    shares: args.shares,
    maturity: args.maturity,
  };
}

/** Delegates the signer's GOPEN votes to `delegatee` (itself to vote directly). */
export async function delegateVotes(conn: Connection, o: { delegatee: Address }) {
  const { votingPower } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'delegate', (account) =>
    votingPower.simulate.delegate([o.delegatee], { account }),
  );
  const logs = parseEventLogs({ abi: votingPowerAbi, logs: sent.receipt.logs, eventName: 'DelegateChanged' });
  const { args } = emitted(logs, votingPower.address, 'DelegateChanged');
  const votes = await votingPower.read.getVotes([args.toDelegate], { blockNumber: sent.receipt.blockNumber });
  return {
    hash: sent.hash,
    delegator: args.delegator,
    previousDelegate: args.fromDelegate,
    delegatee: args.toDelegate,
    delegateeVotes: votes,
  };
}

export interface RegisterValidatorOptions {
  /** Signs the validator's consensus votes; never used by another validator. */
  consensusSigner: Address;
  commissionBps: number;
  /** Self-bond in wei, at least `staking.minValidatorStake`. */
  amount: bigint;
}

/** Registers the signer as a validator with a self-bond. */
export async function registerValidator(conn: Connection, o: RegisterValidatorOptions) {
  const { staking } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'registerValidator', (account) =>
    staking.simulate.registerValidator([o.consensusSigner, o.commissionBps], { account, value: o.amount }),
  );
  const logs = parseEventLogs({ abi: stakingAbi, logs: sent.receipt.logs, eventName: 'ValidatorRegistered' });
  const { args } = emitted(logs, staking.address, 'ValidatorRegistered');
  return {
    hash: sent.hash,
    validator: args.validator,
    consensusSigner: args.consensusSigner,
    commissionBps: args.commissionBps,
    stake: o.amount,
  };
}
