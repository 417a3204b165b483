import { fromPublic, fromSeed } from '@nats-io/nkeys';
import { unpack } from 'msgpackr';
import { z } from 'zod';
import { encode } from './codec.js';
import { SignatureError } from './errors.js';

/**
 * The value of a desired-state key: the exact document bytes, an ed25519 signature over them and
 * the signer's nkeys public key. The agent verifies the bytes before it decodes them.
 */
const bytesSchema = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes');
export const signedDocumentSchema = z.strictObject({
  document: bytesSchema,
  signature: bytesSchema,
  signer: z.string(),
});
export type SignedDocument = z.infer<typeof signedDocumentSchema>;

/** Signs already encoded document bytes with an nkeys seed; returns the encoded envelope. */
export function signDocument(documentBytes: Uint8Array, seed: Uint8Array): Uint8Array {
  const keys = fromSeed(seed);
  const envelope: SignedDocument = { document: documentBytes, signature: keys.sign(documentBytes), signer: keys.getPublicKey() };
  return encode(envelope);
}

/** The public key of an nkeys seed. */
export function publicKeyOf(seed: Uint8Array): string {
  return fromSeed(seed).getPublicKey();
}

/** The envelope, unverified; a value that is not one is "unsigned". */
export function openSignedDocument(bytes: Uint8Array): SignedDocument {
  let raw: unknown;
  try {
    raw = unpack(bytes);
  } catch (cause) {
    throw new SignatureError('unsigned', 'not a signed document (not valid MessagePack)', { cause });
  }
  const parsed = signedDocumentSchema.safeParse(raw);
  if (!parsed.success) throw new SignatureError('unsigned', 'not a signed document (no signature envelope)');
  return parsed.data;
}

/**
 * Verifies an envelope against the pinned public key and returns the document bytes it vouches
 * for. Pure: the key comes in as an argument. Throws SignatureError when unsigned, signed by
 * another key, or changed after signing.
 */
export function verifySignedDocument(bytes: Uint8Array, trustedKey: string): Uint8Array {
  const envelope = openSignedDocument(bytes);
  if (envelope.signer !== trustedKey) throw new SignatureError('wrong-key', `signed by ${abbreviate(envelope.signer)}, not by the pinned coordinator key ${abbreviate(trustedKey)}`);
  if (!signatureHolds(envelope)) throw new SignatureError('tampered', 'the signature does not match the document bytes (changed after signing)');
  return envelope.document;
}

/** Whether the envelope's signature holds for its own signer (integrity only, no trust). */
export function signatureHolds(envelope: SignedDocument): boolean {
  try {
    return fromPublic(envelope.signer).verify(envelope.document, envelope.signature);
  } catch {
    // A malformed public key or signature proves nothing.
    return false;
  }
}

function abbreviate(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}
