import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { startDevnetProcess } from './support/devnet-process.ts';
import type { DevnetProcess } from './support/devnet-process.ts';

let devnet: DevnetProcess;

beforeAll(async () => {
  devnet = await startDevnetProcess();
});

afterAll(async () => {
  await devnet?.stop();
});

async function rpc(method: string, params: unknown[]) {
  const response = await fetch(devnet.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as { result?: string; error?: { code: number; message: string } };
}

// The zero polynomial: its commitment and every opening proof are the point at infinity.
const infinity = `c0${'00'.repeat(47)}`;
const versionedHash = `01${createHash('sha256').update(Buffer.from(infinity, 'hex')).digest('hex').slice(2)}`;
const zero = '00'.repeat(32);

describe('EIP-4844 point evaluation precompile (0x0a)', () => {
  it('verifies a valid KZG opening and returns the blob constants', async () => {
    const input = `0x${versionedHash}${zero}${zero}${infinity}${infinity}`;
    const answer = await rpc('eth_call', [
      { to: '0x000000000000000000000000000000000000000a', data: input, gas: '0x1e8480' },
      'latest',
    ]);
    expect(answer.error).toBeUndefined();
    // FIELD_ELEMENTS_PER_BLOB (4096) and BLS_MODULUS.
    expect(answer.result).toBe(
      `0x${(4096).toString(16).padStart(64, '0')}73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001`,
    );
  });

  it('fails the call for a wrong claimed value', async () => {
    const wrongY = `${'00'.repeat(31)}01`;
    const input = `0x${versionedHash}${zero}${wrongY}${infinity}${infinity}`;
    const answer = await rpc('eth_call', [
      { to: '0x000000000000000000000000000000000000000a', data: input, gas: '0x1e8480' },
      'latest',
    ]);
    expect(answer.result).toBeUndefined();
    expect(answer.error?.code).toBeTypeOf('number');
  });
});
