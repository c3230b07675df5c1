/**
 * API keys bound to a deposit, so that an unchanged OpenAI client (`Authorization: Bearer <key>`) can
 * pay. The payer makes a random key, keeps it, and signs (EIP-191 `personal_sign`) a grant that binds
 * only the key's hash to one node, one chain, a credit limit, an optional model allow-list and an
 * expiry. The node stores the grant under the hash and never sees the key until a request carries it.
 *
 * Grant text (lines joined by "\n"):
 *
 *     OpenLedger API key
 *     Payer: <checksummed address>
 *     Node: <checksummed address>
 *     Chain: <chain id>
 *     Key hash: <0x keccak256 of the key's UTF-8 bytes>
 *     Credit limit: <wei> wei
 *     Models: <comma-separated ids, ascending> | any
 *     Expires: <unix seconds>
 *
 * Revocation text: the first line `OpenLedger API key revocation`, then Payer, Node, Chain and Key hash.
 */
import { randomBytes } from 'node:crypto';
import { getAddress, keccak256, stringToBytes, type Address, type Hex } from 'viem';

/** Every key starts with this, so that leaked keys are recognisable (secret scanners). */
export const API_KEY_PREFIX = 'olk_';
const API_KEY_PATTERN = /^olk_[A-Za-z0-9_-]{43}$/;

/** What a payer grants a key. */
export interface ApiKeyGrant {
  payer: Address;
  node: Address;
  chainId: number;
  /** keccak256 of the key's UTF-8 bytes ({@link apiKeyHash}). */
  keyHash: Hex;
  /** Wei that may be served on credit, beyond what the payer's vouchers cover. */
  creditLimit: bigint;
  /** The models the key may pay for; empty: any. */
  models: readonly bigint[];
  /** Unix seconds after which the key is refused. */
  expiresAt: bigint;
}

/** A grant with the payer's signature of {@link apiKeyGrantMessage}. */
export interface SignedApiKeyGrant {
  grant: ApiKeyGrant;
  signature: Hex;
}

/** A payer's revocation of one of its keys. */
export interface ApiKeyRevocation {
  payer: Address;
  node: Address;
  chainId: number;
  keyHash: Hex;
}

/** A revocation with the payer's signature of {@link apiKeyRevocationMessage}. */
export interface SignedApiKeyRevocation {
  revocation: ApiKeyRevocation;
  signature: Hex;
}

/** Signs EIP-191 messages: a viem local account or a wallet client bound to one. */
export interface MessageSigner {
  signMessage(args: { message: string }): Promise<Hex>;
}

/** A fresh random key (32 bytes of entropy) and its hash. The key is shown to its owner once. */
export function generateApiKey(): { apiKey: string; keyHash: Hex } {
  const apiKey = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { apiKey, keyHash: apiKeyHash(apiKey) };
}

/** True if `value` looks like a key this module makes. */
export function isApiKeyFormat(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/** The hash under which a key is granted and stored. */
export function apiKeyHash(apiKey: string): Hex {
  return keccak256(stringToBytes(apiKey));
}

/** The text a payer signs to grant a key. */
export function apiKeyGrantMessage(g: ApiKeyGrant): string {
  const models = [...g.models].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    'OpenLedger API key',
    `Payer: ${getAddress(g.payer)}`,
    `Node: ${getAddress(g.node)}`,
    `Chain: ${g.chainId}`,
    `Key hash: ${g.keyHash.toLowerCase()}`,
    `Credit limit: ${g.creditLimit} wei`,
    `Models: ${models.length === 0 ? 'any' : models.join(', ')}`,
    `Expires: ${g.expiresAt}`,
  ].join('\n');
}

/** The text a payer signs to revoke a key. */
export function apiKeyRevocationMessage(r: ApiKeyRevocation): string {
  return [
    'OpenLedger API key revocation',
    `Payer: ${getAddress(r.payer)}`,
    `Node: ${getAddress(r.node)}`,
    `Chain: ${r.chainId}`,
    `Key hash: ${r.keyHash.toLowerCase()}`,
  ].join('\n');
}

/** The payer's signed grant for `grant`. */
export async function signApiKeyGrant(signer: MessageSigner, grant: ApiKeyGrant): Promise<SignedApiKeyGrant> {
  return { grant, signature: await signer.signMessage({ message: apiKeyGrantMessage(grant) }) };
}

/** The payer's signed revocation for `revocation`. */
export async function signApiKeyRevocation(
  signer: MessageSigner,
  revocation: ApiKeyRevocation,
): Promise<SignedApiKeyRevocation> {
  return {
    revocation,
    signature: await signer.signMessage({ message: apiKeyRevocationMessage(revocation) }),
  };
}
