import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { bytesToHex, privateToAddress } from '@ethereumjs/util';

/** The mnemonic Hardhat and anvil use, so tools that already know these keys work unchanged. */
export const DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';

export interface DevAccount {
  address: `0x${string}`;
  privateKey: Uint8Array;
}

export function deriveDevAccounts(mnemonic: string, count: number): DevAccount[] {
  if (!validateMnemonic(mnemonic, wordlist)) throw new Error('invalid BIP-39 mnemonic');
  const root = HDKey.fromMasterSeed(mnemonicToSeedSync(mnemonic));
  return Array.from({ length: count }, (_, i) => {
    const privateKey = root.derive(`m/44'/60'/0'/0/${i}`).privateKey;
    if (!privateKey) throw new Error(`cannot derive account ${i}`);
    return { address: bytesToHex(privateToAddress(privateKey)) as `0x${string}`, privateKey };
  });
}
