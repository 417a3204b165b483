import { createHmac } from 'node:crypto';
import type { KeyPair } from '@nats-io/nkeys';
import { z } from 'zod';
import { boundedString } from './bounded.js';
import { MAX_PATH_LENGTH } from './limits.js';

/**
 * Compose `secrets:` and `configs:` as files in a container (docs/secrets.md). A value takes three
 * forms, by where it is:
 *   { content, digest? }         on the coordinator only, read from the compose project
 *   { sealed, sender, digest }   in a host's desired document: sealed to that host's curve key
 *   { digest }                   masked: what plans, saved plans and displays carry
 * The digest is an HMAC of the content under the fleet's digest key, so a changed value changes
 * the spec hash without a low-entropy value being guessable from it.
 */

/** The most bytes one secret or config may hold (as Swarm's limit). */
export const MAX_FILE_SECRET_BYTES = 500 * 1024;
/** The most secrets and configs one service mounts. */
export const MAX_FILE_SECRETS = 100;

const digestSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex-digit HMAC-SHA256 digest');
export const plainFileSecretSchema = z.strictObject({ content: z.string().max(MAX_FILE_SECRET_BYTES), digest: digestSchema.optional() });
export const sealedFileSecretSchema = z.strictObject({ sealed: z.string().max(MAX_FILE_SECRET_BYTES * 2).regex(/^[A-Za-z0-9+/=]+$/, 'expected base64'), sender: z.string().regex(/^X[A-Z2-7]{55}$/, 'expected a curve public key (X…)'), digest: digestSchema });
export const maskedFileSecretSchema = z.strictObject({ digest: digestSchema.optional() });
export const fileSecretValueSchema = z.union([plainFileSecretSchema, sealedFileSecretSchema, maskedFileSecretSchema]);
export type FileSecretValue = z.infer<typeof fileSecretValueSchema>;

export const fileSecretSchema = z.strictObject({
  /** The name in the compose file's top-level secrets:/configs:. */
  name: boundedString(255).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"'),
  kind: z.enum(['secret', 'config']),
  target: boundedString(MAX_PATH_LENGTH).regex(/^\/[^\0:]*$/, 'expected an absolute path in the container, without ":"'),
  uid: z.string().regex(/^[0-9]{1,10}$/, 'expected a numeric user id').default('0'),
  gid: z.string().regex(/^[0-9]{1,10}$/, 'expected a numeric group id').default('0'),
  mode: z.number().int().min(0).max(0o7777).default(0o444),
  value: fileSecretValueSchema,
});
export type FileSecret = z.infer<typeof fileSecretSchema>;

export function isSealed(value: FileSecretValue): value is z.infer<typeof sealedFileSecretSchema> {
  return 'sealed' in value;
}

export function isPlain(value: FileSecretValue): value is z.infer<typeof plainFileSecretSchema> {
  return 'content' in value;
}

/** The keyed digest of a value: HMAC-SHA256 under the fleet's digest key. Pure. */
export function fileSecretDigest(content: string, digestKey: Uint8Array): string {
  return createHmac('sha256', digestKey).update(content, 'utf8').digest('hex');
}

/** The value as everything but the receiving agent may see it: its digest only. Pure. */
export function maskFileSecret(secret: FileSecret): FileSecret {
  return { ...secret, value: secret.value.digest === undefined ? {} : { digest: secret.value.digest } };
}

/** Opens a sealed value with the host's curve key pair; throws when it was sealed to another key or altered. */
export function openFileSecret(value: FileSecretValue, curve: KeyPair): Uint8Array {
  if (!isSealed(value)) throw new Error(isPlain(value) ? 'holds a plain value, which agents refuse: only a coordinator with the fleet\'s curve keys writes secrets' : 'holds only a digest (a masked value from a plan or a display); apply the compose file itself');
  const opened = curve.open(Buffer.from(value.sealed, 'base64'), value.sender);
  if (opened === null) throw new Error('cannot be opened with this host\'s curve key (sealed to another host, or altered)');
  return opened;
}
