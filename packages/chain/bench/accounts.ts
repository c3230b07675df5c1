import { getAddress, keccak256, stringToHex, type Address } from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';

/** Hardhat's default mnemonic; both Hardhat's node and the OpenLedger devnet prefund its first accounts. */
export const BENCH_MNEMONIC = 'test test test test test test test test test test test junk';
export const SENDER_COUNT = 10;
export const RECIPIENT_COUNT = 1000;

/** Accounts m/44'/60'/0'/0/0 .. m/44'/60'/0'/0/(count-1) of the bench mnemonic. */
export function deriveSenders(count: number = SENDER_COUNT): HDAccount[] {
  return Array.from({ length: count }, (_, i) => mnemonicToAccount(BENCH_MNEMONIC, { addressIndex: i }));
}

/**
 * A fixed set of recipients, identical on every node and every run: address i is the last 20
 * bytes of keccak256("openledger-bench-recipient-<i>"). Nobody holds their keys; they only receive.
 */
export function deriveRecipients(count: number = RECIPIENT_COUNT): Address[] {
  return Array.from({ length: count }, (_, i) =>
    getAddress(`0x${keccak256(stringToHex(`openledger-bench-recipient-${i}`)).slice(-40)}`),
  );
}
