import { z } from 'zod';
import { encode } from './codec.js';
import { hostIdSchema } from './fleet-spec.js';
import { signDocument, type DocumentSigningKey } from './signed-document.js';

/**
 * How long a signed retry or pull request may be used: long enough for a request in flight, short
 * enough that an agent remembers every nonce it saw within it.
 */
export const REQUEST_VALIDITY_MS = 60_000;

/** How far the coordinator's clock may be off the host's before a fresh request looks expired or too far ahead. */
export const REQUEST_CLOCK_SKEW_MS = 30_000;

/**
 * What makes a signed request single-use and bound to one host: the host it is for, a random
 * nonce the agent remembers while the request is valid, and when it stops being valid.
 */
export const requestSealSchema = z.strictObject({
  hostId: hostIdSchema,
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex digits'),
  expiresAt: z.string().datetime(),
});
export type RequestSeal = z.infer<typeof requestSealSchema>;

/**
 * A retry or pull request signed like a desired document: the body with its seal, in the signed
 * envelope of shared/signed-document.ts. `now` and `nonce` come in, so the bytes depend on them only.
 */
export function signRequest(body: object, hostId: string, signer: DocumentSigningKey, now: number, nonce: string): Uint8Array {
  const seal: RequestSeal = { hostId, nonce, expiresAt: new Date(now + REQUEST_VALIDITY_MS).toISOString() };
  return signDocument(encode({ ...body, seal }), signer);
}

/**
 * Why a sealed request must be refused on host `hostId` at `now`, or undefined when it may run:
 * for another host, expired, valid for longer than any request the coordinator signs, or a nonce
 * already used (`seen`). Pure.
 */
export function sealRefusal(seal: RequestSeal, hostId: string, now: number, seen: (nonce: string) => boolean): string | undefined {
  if (seal.hostId !== hostId) return `the request is for host ${seal.hostId}, not ${hostId}`;
  const expiresAt = Date.parse(seal.expiresAt);
  if (now > expiresAt + REQUEST_CLOCK_SKEW_MS) return `expired at ${seal.expiresAt} (this host's clock says ${new Date(now).toISOString()})`;
  if (expiresAt > now + REQUEST_VALIDITY_MS + REQUEST_CLOCK_SKEW_MS) return `valid until ${seal.expiresAt}, longer than a request may be (is the coordinator's clock ahead?)`;
  if (seen(seal.nonce)) return `replayed: nonce ${seal.nonce} was used already`;
  return undefined;
}
