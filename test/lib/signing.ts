import { createOperator } from '@nats-io/nkeys';
import { encode } from '../../shared/codec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { signDocument, signingKeyOf } from '../../shared/signed-document.js';
import type { DesiredSigner } from '../../coordinator/signing-key.js';

/** A fresh coordinator signing key pair (nkeys operator), in memory. */
export function testSigner(): DesiredSigner {
  return signingKeyOf(createOperator().getSeed());
}

/**
 * The KV value the coordinator would write for this document: signed at signedAt (default now,
 * as FleetClient#writeDesired does) unless the document has its own signing time; null signs it
 * without one, as a coordinator before desired-state schema 3 did.
 */
export function signedValue(document: HostDesired, signer: DesiredSigner, signedAt: Date | null = new Date()): Uint8Array {
  const stamped = document.signedAt !== undefined || signedAt === null ? document : { ...document, signedAt: signedAt.toISOString() };
  return signDocument(encode(stamped), signer);
}
