import { isAddressEqual, parseEventLogs, type Address, type Hex } from 'viem';
import { inferencePaymentsAbi } from '../abis.ts';
import type { Connection } from '../connect.ts';
import { signVoucher, verifyVoucher, voucherDigest, type Voucher } from '../vouchers.ts';
import { emitted, sendProtocolTx, signerOf } from './send.ts';

export { signVoucher, verifyVoucher, voucherDigest, type Voucher };

export interface DepositOptions {
  /** Wei to deposit. */
  amount: bigint;
  /** Whose deposit it funds (default: the signer's own). */
  payer?: Address;
}

/** Adds to a payer's InferencePayments deposit; returns the payer's balance after it. */
export async function deposit(conn: Connection, o: DepositOptions) {
  const { payments } = conn.contracts;
  const sent = await sendProtocolTx(conn, o.payer ? 'depositFor' : 'deposit', (account) =>
    o.payer
      ? payments.simulate.depositFor([o.payer], { account, value: o.amount })
      : payments.simulate.deposit({ account, value: o.amount }),
  );
  const logs = parseEventLogs({ abi: inferencePaymentsAbi, logs: sent.receipt.logs, eventName: 'Deposited' });
  const { args } = emitted(logs, payments.address, 'Deposited');
  const balance = await payments.read.balanceOf([args.payer], { blockNumber: sent.receipt.blockNumber });
  return { hash: sent.hash, payer: args.payer, amount: args.amount, balance };
}

export interface IssueVoucherOptions {
  node: Address;
  modelId: bigint;
  /** Everything this channel may have charged in total, in wei (not the increment). */
  cumulativeAmount: bigint;
  /** Unix seconds after which the voucher cannot be redeemed. */
  deadline: bigint;
}

/** Signs a voucher from the connection's account (the payer); sends nothing. */
export async function issueVoucher(conn: Connection, o: IssueVoucherOptions) {
  const { wallet, account } = signerOf(conn);
  const voucher: Voucher = {
    payer: account.address,
    node: o.node,
    modelId: o.modelId,
    cumulativeAmount: o.cumulativeAmount,
    deadline: o.deadline,
  };
  const verifyingContract = conn.contracts.payments.address;
  const signature = await signVoucher(wallet, account, voucher, conn.chainId, verifyingContract);
  return { voucher, signature, digest: voucherDigest(voucher, conn.chainId, verifyingContract) };
}

/** Redeems a payer's signed voucher (anyone may submit it); returns the charge and its split. */
export async function redeemVoucher(conn: Connection, o: { voucher: Voucher; signature: Hex }) {
  const { payments } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'redeem', (account) =>
    payments.simulate.redeem([o.voucher, o.signature], { account }),
  );
  const logs = parseEventLogs({ abi: inferencePaymentsAbi, logs: sent.receipt.logs, eventName: 'Charged' });
  const { args } = emitted(logs, payments.address, 'Charged');
  return {
    hash: sent.hash,
    payer: args.payer,
    node: args.node,
    modelId: args.modelId,
    charge: args.charge,
    contributors: args.contributors,
    modelOwner: args.modelOwner,
    nodeShare: args.nodeShare,
    protocol: args.protocol,
  };
}

/**
 * Redeems several vouchers in one transaction (all or nothing; anyone may submit them); returns each
 * charge and its split, in voucher order, and their total.
 */
export async function redeemVouchers(
  conn: Connection,
  o: { vouchers: readonly { voucher: Voucher; signature: Hex }[] },
) {
  const { payments } = conn.contracts;
  const vouchers = o.vouchers.map((v) => v.voucher);
  const signatures = o.vouchers.map((v) => v.signature);
  const sent = await sendProtocolTx(conn, 'redeemBatch', (account) =>
    payments.simulate.redeemBatch([vouchers, signatures], { account }),
  );
  const charges = parseEventLogs({ abi: inferencePaymentsAbi, logs: sent.receipt.logs, eventName: 'Charged' })
    .filter((log) => isAddressEqual(log.address, payments.address))
    .map(({ args }) => ({
      payer: args.payer,
      node: args.node,
      modelId: args.modelId,
      charge: args.charge,
      contributors: args.contributors,
      modelOwner: args.modelOwner,
      nodeShare: args.nodeShare,
      protocol: args.protocol,
    }));
  const total = charges.reduce((sum, c) => sum + c.charge, 0n);
  return { hash: sent.hash, blockNumber: sent.receipt.blockNumber, charges, total };
}

/**
 * Starts (or replaces) a withdrawal of `amount` from the signer's deposit, payable after the governed
 * `payments.withdrawDelay`; 0 cancels a pending one. Returns when it becomes available.
 */
export async function requestWithdrawal(conn: Connection, o: { amount: bigint }) {
  const { payments } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'requestWithdrawal', (account) =>
    payments.simulate.requestWithdrawal([o.amount], { account }),
  );
  if (o.amount === 0n) return { hash: sent.hash, amount: 0n, availableAt: undefined };
  const logs = parseEventLogs({
    abi: inferencePaymentsAbi,
    logs: sent.receipt.logs,
    eventName: 'WithdrawalRequested',
  });
  const { args } = emitted(logs, payments.address, 'WithdrawalRequested');
  return { hash: sent.hash, amount: args.amount, availableAt: args.availableAt };
}

/** Pays the signer its requested withdrawal (at most its deposit) once the delay has passed. */
export async function withdrawDeposit(conn: Connection) {
  const { payments } = conn.contracts;
  const sent = await sendProtocolTx(conn, 'withdraw', (account) => payments.simulate.withdraw({ account }));
  const logs = parseEventLogs({ abi: inferencePaymentsAbi, logs: sent.receipt.logs, eventName: 'Withdrawn' });
  const { args } = emitted(logs, payments.address, 'Withdrawn');
  return { hash: sent.hash, amount: args.amount };
}
