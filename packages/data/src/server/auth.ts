/**
 * Access control for raw rows. Reports and statuses are public (they hold no raw rows); the rows of a
 * Datanet are served only to its owner, its curators (an active stake of at least the minimum, as
 * DatanetRegistry's `isCurator` says) and the holders of a licence to one of its versions
 * (DataMarket's `licence(purchaseId)`: the caller bought it, it is for a version of this Datanet and
 * it is still valid), a licence covering only contributions published in that version or earlier.
 *
 * Callers prove their address with a short-lived signature, no session and no server secret:
 *
 *     Authorization: OpenLedger <address>.<expiry>.<signature>
 *
 * where `signature` is the EIP-191 `personal_sign` of {@link accessMessage} (the Datanet id and the
 * expiry, unix seconds). An expired header, or one valid for more than a day, is refused, so a header
 * that leaks is worth little and is worth nothing for another Datanet.
 */
import { isAddressEqual, recoverMessageAddress, type Address, type Hex } from 'viem';
import type { DataPlane } from '../service/data-plane.ts';
import type { OnchainDatanet } from '../service/standards.ts';
import { HttpError } from './http-error.ts';

export const AUTH_SCHEME = 'OpenLedger';
/** The furthest ahead an authorization may expire. */
export const MAX_AUTH_LIFETIME_SECONDS = 86_400;

/** The text a caller signs (`personal_sign`) to read a Datanet's rows until `expiry` (unix seconds). */
export function accessMessage(datanetId: bigint | number | string, expiry: bigint | number): string {
  return `OpenLedger data access\nDatanet: ${datanetId}\nExpires: ${expiry}`;
}

/** Something that signs EIP-191 messages: a viem local account, or a wallet client bound to one. */
export interface MessageSigner {
  address: Address;
  signMessage(args: { message: string }): Promise<Hex>;
}

/** The `Authorization` header value for a Datanet's rows, signed by `signer`, valid `ttlSeconds` (default 10 min). */
export async function accessAuthorization(
  signer: MessageSigner,
  datanetId: bigint | number | string,
  options: { ttlSeconds?: number; expiry?: number } = {},
): Promise<string> {
  const expiry = options.expiry ?? Math.floor(Date.now() / 1000) + (options.ttlSeconds ?? 600);
  const signature = await signer.signMessage({ message: accessMessage(datanetId, expiry) });
  return `${AUTH_SCHEME} ${signer.address}.${expiry}.${signature}`;
}

const HEADER = /^OpenLedger +(0x[0-9a-fA-F]{40})\.([0-9]{1,15})\.(0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130}))$/i;

function unauthorized(code: string, message: string): HttpError {
  return new HttpError(401, code, message, undefined, {
    'WWW-Authenticate': `${AUTH_SCHEME} realm="OpenLedger data access"`,
  });
}

/**
 * The address that signed the header for this Datanet, or a 401: no header, a malformed one, an
 * expired one, one expiring more than a day ahead, or a signature by someone else.
 */
export async function authenticate(
  header: string | undefined,
  datanetId: bigint,
  now: number = Math.floor(Date.now() / 1000),
): Promise<Address> {
  if (!header) {
    throw unauthorized(
      'auth-required',
      `raw rows need an "Authorization: ${AUTH_SCHEME} <address>.<expiry>.<signature>" header`,
    );
  }
  const match = HEADER.exec(header.trim());
  if (!match) {
    throw unauthorized(
      'bad-authorization',
      `expected "Authorization: ${AUTH_SCHEME} <address>.<expiry unix seconds>.<0x signature>"`,
    );
  }
  const [, address, expiryText, signature] = match as unknown as [string, Address, string, Hex];
  const expiry = Number(expiryText);
  if (expiry <= now) throw unauthorized('auth-expired', `the authorization expired at ${expiry}`);
  if (expiry > now + MAX_AUTH_LIFETIME_SECONDS) {
    throw unauthorized(
      'auth-expiry-too-far',
      `the authorization expires at ${expiry}, more than ${MAX_AUTH_LIFETIME_SECONDS} s from now`,
    );
  }
  let signer: Address;
  try {
    signer = await recoverMessageAddress({ message: accessMessage(datanetId, expiry), signature });
  } catch {
    throw unauthorized('bad-signature', 'the signature does not recover to an address');
  }
  if (!isAddressEqual(signer, address)) {
    throw unauthorized(
      'bad-signature',
      `the signature is not ${address}'s over the access message for Datanet ${datanetId} expiring ${expiry}`,
    );
  }
  return signer;
}

/** Why a caller may read a Datanet's rows. */
export type AccessRight =
  | { kind: 'owner' }
  | { kind: 'curator' }
  /** A DataMarket licence to `version` of the Datanet: contributions published up to that version. */
  | { kind: 'licence'; purchaseId: bigint; version: bigint };

/** DataMarket's `AssetKind.DatanetVersion`. */
const DATANET_VERSION_ASSET = 0;

/** The caller's right to the Datanet's rows, or a 403 when there is none. */
export async function authorizeRows(
  plane: DataPlane,
  datanet: OnchainDatanet,
  caller: Address,
  purchaseId?: bigint,
): Promise<AccessRight> {
  if (isAddressEqual(datanet.owner, caller)) return { kind: 'owner' };
  const { datanets, market } = plane.chain.contracts;
  if (await datanets.read.isCurator([datanet.id, caller])) return { kind: 'curator' };
  if (purchaseId !== undefined) {
    const [buyer, kind, assetId, version, valid] = await market.read.licence([purchaseId]);
    if (isAddressEqual(buyer, caller) && kind === DATANET_VERSION_ASSET && assetId === datanet.id && valid)
      return { kind: 'licence', purchaseId, version };
    throw new HttpError(
      403,
      'no-access',
      `purchase ${purchaseId} is not a valid licence of ${caller} to a version of Datanet ${datanet.id}`,
    );
  }
  throw new HttpError(
    403,
    'no-access',
    `${caller} is neither the owner nor a curator of Datanet ${datanet.id}; licence holders pass purchaseId`,
  );
}
