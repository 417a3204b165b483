import { createHmac, timingSafeEqual } from 'node:crypto';
import type { LabelledIdentity, ResourceIdentity } from './snapshot.js';

/** The label fields an owner token vouches for. */
export type TokenIdentity = Omit<LabelledIdentity, 'ownerToken'>;

/** Checks the token on a container's labels against the identity the same labels claim. */
export type OwnerTokenVerifier = (identity: LabelledIdentity) => boolean;

/**
 * `<nonce>.<HMAC-SHA256(secret, identity fields + nonce)>`: without the host's secret nobody can
 * mint a token, and a token copied onto labels that claim another identity does not verify.
 * Pure: the secret and the nonce come in as arguments.
 */
export function issueOwnerToken(secret: Uint8Array, identity: TokenIdentity, nonce: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new RangeError('an owner token nonce is base64url or hex text');
  return `${nonce}.${tokenMac(secret, identity, nonce)}`;
}

export function ownerTokenValid(secret: Uint8Array, identity: LabelledIdentity): boolean {
  const [nonce, mac, extra] = identity.ownerToken.split('.');
  if (!nonce || !mac || extra !== undefined) return false;
  const expected = Buffer.from(tokenMac(secret, identity, nonce));
  const given = Buffer.from(mac);
  // Constant time: a timing difference must not reveal how much of a guess was right.
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function ownerTokenVerifier(secret: Uint8Array): OwnerTokenVerifier {
  return (identity) => ownerTokenValid(secret, identity);
}

function tokenMac(secret: Uint8Array, identity: TokenIdentity, nonce: string): string {
  // A JSON array keeps the fields apart: no two identities give the same input.
  const input = JSON.stringify([identity.hostId, identity.project, identity.service, identity.instance, identity.specHash, nonce]);
  return createHmac('sha256', secret).update(input).digest('base64url');
}

/** The label fields a network's or volume's owner token vouches for. */
export type ResourceTokenIdentity = Omit<ResourceIdentity, 'ownerToken'>;

/** Checks the token on a network's or volume's labels against the identity the same labels claim. */
export type ResourceTokenVerifier = (identity: ResourceIdentity) => boolean;

/**
 * The same `<nonce>.<HMAC>` form over a network's or volume's identity. Its MAC input has the
 * kind first and a string where a container's has its instance number, so a container's token
 * never verifies as a network's or the other way round.
 */
export function issueResourceToken(secret: Uint8Array, identity: ResourceTokenIdentity, nonce: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(nonce)) throw new RangeError('an owner token nonce is base64url or hex text');
  return `${nonce}.${resourceMac(secret, identity, nonce)}`;
}

export function resourceTokenVerifier(secret: Uint8Array): ResourceTokenVerifier {
  return (identity) => {
    const [nonce, mac, extra] = identity.ownerToken.split('.');
    if (!nonce || !mac || extra !== undefined) return false;
    const expected = Buffer.from(resourceMac(secret, identity, nonce));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given);
  };
}

function resourceMac(secret: Uint8Array, identity: ResourceTokenIdentity, nonce: string): string {
  const input = JSON.stringify([identity.kind, identity.hostId, identity.project, identity.resource, identity.specHash, nonce]);
  return createHmac('sha256', secret).update(input).digest('base64url');
}
