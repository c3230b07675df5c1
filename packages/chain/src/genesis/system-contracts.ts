import type { GethAllocAccount } from './geth-genesis.ts';

/**
 * The Cancun and Prague system contracts at their canonical addresses, with their canonical
 * runtime bytecode. Chains that name these forks expect them in state: block processing writes
 * into the 4788 and 2935 ring buffers and drains the 7002 and 7251 request queues. Without the code
 * ethereumjs (and our producer) skip those steps, whereas the EIPs make a Prague block invalid when
 * the 7002/7251 code is missing, so a devnet without them could not be replayed by geth.
 *
 * Each runtime is the part after the constructor prefix in the deployment transaction the EIP
 * lists (github.com/ethereum/EIPs, EIPS/eip-<n>.md, "Deployment"). The transcription was checked
 * by rebuilding each deployment transaction from the EIP text: its hash equals the EIP's, the
 * recovered sender equals the EIP's sender, and that sender's first CREATE address equals the
 * address below. The runtimes are also identical to the ones in ethereum/execution-apis
 * tests/genesis.json (which predates the final addresses).
 */
export interface SystemContract {
  eip: number;
  name: string;
  address: `0x${string}`;
  code: `0x${string}`;
}

/** EIP-4788: beacon block roots, a ring buffer of 8191 (timestamp, root) pairs. */
export const BEACON_ROOTS: SystemContract = {
  eip: 4788,
  name: 'beacon roots',
  address: '0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02',
  code: '0x3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff810690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500',
};

/** EIP-2935: the last 8191 block hashes. */
export const HISTORY_STORAGE: SystemContract = {
  eip: 2935,
  name: 'history storage',
  address: '0x0000F90827F1C53a10cb7A02335B175320002935',
  code: '0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500',
};

/** EIP-7002: execution-layer triggerable withdrawal requests. */
export const WITHDRAWAL_REQUESTS: SystemContract = {
  eip: 7002,
  name: 'withdrawal requests',
  address: '0x00000961Ef480Eb55e80D19ad83579A64c007002',
  code: '0x3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff146101f457600182026001905f5b5f82111560685781019083028483029004916001019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f457600154600101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437604c5fa0600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260040181604c02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffffff00000000000000000000000000000000168252906010019060401c908160381c81600701538160301c81600601538160281c81600501538160201c81600401538160181c81600301538160101c81600201538160081c81600101535360010160e1565b910180921461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101e8565b01600290035b5f555f600155604c025ff35b5f5ffd',
};

/** EIP-7251: consolidation requests. */
export const CONSOLIDATION_REQUESTS: SystemContract = {
  eip: 7251,
  name: 'consolidation requests',
  address: '0x0000BBdDc7CE488642fb579F8B00f3a590007251',
  code: '0x3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f82111560685781019083028483029004916001019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a57600154600101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b5f5260605f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b8181146101295782810160040260040181607402815460601b815260140181600101548152602001816002015481526020019060030154905260010160e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff141561017357505f5b6001546001828201116101885750505f61018e565b01600190035b5f555f6001556074025ff35b5f5ffd',
};

export const PRAGUE_SYSTEM_CONTRACTS: readonly SystemContract[] = [
  BEACON_ROOTS,
  HISTORY_STORAGE,
  WITHDRAWAL_REQUESTS,
  CONSOLIDATION_REQUESTS,
];

/**
 * Genesis alloc entries for the system contracts as geth's dev mode writes them: nonce 1 (they
 * count as deployed contracts, exempt from EIP-161 cleanup), no balance and no storage. (The
 * 7002/7251 deployment transactions also set the "excess inhibitor" in slot 0; geth's dev genesis
 * does not, and the first end-of-block system call resets that slot to 0 either way.)
 */
export function systemContractAlloc(): Record<string, GethAllocAccount> {
  return Object.fromEntries(
    PRAGUE_SYSTEM_CONTRACTS.map((c) => [c.address, { balance: '0x0', nonce: '0x1', code: c.code }]),
  );
}
