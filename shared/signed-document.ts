import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Codec } from '@nats-io/nkeys/lib/codec.js';
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

/** An nkeys seed made ready to sign: its public key, and the private key parsed once. */
export interface DocumentSigningKey {
  readonly seed: Uint8Array;
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/** Throws when the seed is not a valid nkeys seed. */
export function signingKeyOf(seed: Uint8Array): DocumentSigningKey {
  const { prefix, buf } = Codec.decodeSeed(seed);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_HEADER, buf]), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x ?? '', 'base64url');
  return { seed, publicKey: new TextDecoder().decode(Codec.encode(prefix, raw)), privateKey };
}

/**
 * Signs already encoded document bytes; returns the encoded envelope. The keys and signatures are
 * nkeys' (ed25519), computed by Node's native crypto: the pure-JS ed25519 of the nkeys package
 * takes milliseconds per signature, which a fleet of a thousand hosts pays twice per change (the
 * coordinator signs, every agent verifies).
 */
export function signDocument(documentBytes: Uint8Array, key: DocumentSigningKey): Uint8Array {
  const envelope: SignedDocument = { document: documentBytes, signature: new Uint8Array(sign(null, documentBytes, key.privateKey)), signer: key.publicKey };
  return encode(envelope);
}

/** An ed25519 private key in PKCS#8 DER is this fixed header followed by the 32-byte seed. */
const PKCS8_ED25519_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * The ed25519 key an nkeys public key encodes (the checksum is verified); throws when malformed.
 * Parsed keys are kept: an agent checks every document against the same pinned key, and parsing
 * it cost about as much as the signature check itself.
 */
function publicKeyObject(nkey: string): KeyObject {
  const known = parsedPublicKeys.get(nkey);
  if (known !== undefined) return known;
  const raw = Codec._decode(new TextEncoder().encode(nkey)).subarray(1);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  // Signers come off the wire: keep a few, not every key an attacker makes up.
  if (parsedPublicKeys.size >= PARSED_KEYS_KEPT) parsedPublicKeys.clear();
  parsedPublicKeys.set(nkey, key);
  return key;
}

const PARSED_KEYS_KEPT = 8;
const parsedPublicKeys = new Map<string, KeyObject>();

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
    return verify(null, envelope.document, publicKeyObject(envelope.signer), envelope.signature);
  } catch {
    // A malformed public key or signature proves nothing.
    return false;
  }
}

function abbreviate(key: string): string {
  return key.length > 12 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}
