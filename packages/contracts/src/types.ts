import type { Abi } from 'viem';

export type { Abi };

export type Hex = `0x${string}`;

/** One compiled contract: everything needed to deploy it and talk to it. */
export interface Artifact {
  contractName: string;
  /** Source unit name as solc saw it, e.g. `test/TestToken.sol`. */
  sourceName: string;
  abi: Abi;
  /** Creation code; `0x` for interfaces and abstract contracts. */
  bytecode: Hex;
  /** Runtime code as stored on chain after deployment. */
  deployedBytecode: Hex;
}

/** A compiler message as solc reports it (standard-JSON `errors` entry). */
export interface Diagnostic {
  severity: 'error' | 'warning' | 'info';
  /** e.g. `ParserError`, `TypeError`, `Warning`. */
  type: string;
  message: string;
  /** Human-readable message including file, line and a source excerpt. */
  formattedMessage?: string;
  sourceLocation?: { file: string; start: number; end: number };
}
