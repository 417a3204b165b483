import { createOperator } from '@nats-io/nkeys';
import { encode } from '../../shared/codec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { signDocument, signingKeyOf } from '../../shared/signed-document.js';
import type { DesiredSigner } from '../../coordinator/signing-key.js';

/** A fresh coordinator signing key pair (nkeys operator), in memory. */
export function testSigner(): DesiredSigner {
  return signingKeyOf(createOperator().getSeed());
}

/** The KV value the coordinator would write for this document. */
export function signedValue(document: HostDesired, signer: DesiredSigner): Uint8Array {
  return signDocument(encode(document), signer);
}
