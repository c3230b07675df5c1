// Minimal Hardhat 2 config for the reference node of the chain throughput benchmark
// (packages/chain/bench/throughput.ts spawns `hardhat node --config <this file>`).
/* global module, process */
// It must be CommonJS: the repository is an ESM package and Hardhat 2 only loads CJS configs.

const MNEMONIC = 'test test test test test test test test test test test junk';

module.exports = {
  // No Solidity sources are compiled here; keep Hardhat's folders inside a cache dir that is git-ignored.
  paths: {
    sources: './.cache/contracts',
    cache: './.cache/cache',
    artifacts: './.cache/artifacts',
  },
  networks: {
    hardhat: {
      chainId: 31337,
      blockGasLimit: 30_000_000,
      // Default automine: every accepted transaction is mined immediately in its own block.
      mining: { auto: true },
      // `hardhat node` logs every request by default; the harness can turn it off (see --hardhat-logging).
      loggingEnabled: process.env.OL_BENCH_HARDHAT_LOGGING !== '0',
      accounts: {
        mnemonic: MNEMONIC,
        path: "m/44'/60'/0'/0",
        initialIndex: 0,
        count: 20,
        // 1,000,000 ETH per account.
        accountsBalance: '1000000000000000000000000',
      },
    },
  },
};
