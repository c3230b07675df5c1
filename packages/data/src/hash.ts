import createKeccakHash from 'keccak';

export type Hash = `0x${string}`;

/**
 * keccak256, the EVM's hash, so that a row's content address is also its leaf in the Merkle tree
 * committed on-chain. The native addon hashes ~20x faster than a pure-JS keccak, which matters when
 * every row of a 200 MB corpus is hashed.
 */
export function keccak256(data: Uint8Array | string): Hash {
  const hasher = createKeccakHash('keccak256');
  hasher.update(
    typeof data === 'string'
      ? Buffer.from(data, 'utf8')
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
  );
  return `0x${hasher.digest('hex')}`;
}

/** An incremental keccak256 for streams. */
export function keccakStream(): { update(chunk: Uint8Array): void; digest(): Hash } {
  const hasher = createKeccakHash('keccak256');
  return {
    update: (chunk) => void hasher.update(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    digest: () => `0x${hasher.digest('hex')}`,
  };
}

export function isHash(value: string): value is Hash {
  return /^0x[0-9a-f]{64}$/.test(value);
}
