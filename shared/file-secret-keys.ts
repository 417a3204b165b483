import { createCurve, fromCurveSeed, type KeyPair } from '@nats-io/nkeys';
import { isPlain, type FileSecret } from './file-secrets.js';

// Sealing and the curve keys themselves, apart from file-secrets.ts: what reads, masks or opens a
// secret (local mode, plans, an agent's create) loads no key-generation code.

/**
 * The value sealed to a host's curve public key (X…) with a one-time sender key: only that host's
 * curve seed opens it. A value already sealed (from a stored rollout) is kept.
 */
export function sealFileSecret(secret: FileSecret, hostCurveKey: string, sender: KeyPair = createCurve()): FileSecret {
  const { value } = secret;
  if (!isPlain(value)) return secret;
  if (value.digest === undefined) throw new Error(`${secret.kind} ${secret.name} has no digest: key the fleet's secrets before sealing them`);
  const sealed = sender.seal(new TextEncoder().encode(value.content), hostCurveKey);
  return { ...secret, value: { sealed: Buffer.from(sealed).toString('base64'), sender: sender.getPublicKey(), digest: value.digest } };
}

/** A curve key pair from a seed's text (`SX…`), as `fleet init` writes it. */
export function curveKeyOf(seedText: string): KeyPair {
  return fromCurveSeed(new TextEncoder().encode(seedText.trim()));
}
