import { createHash } from 'node:crypto';
import { z } from 'zod';
import { boundedString } from './bounded.js';
import { MAX_ARG_LENGTH, MAX_PATH_LENGTH } from './limits.js';
import { isSealed, maskFileSecret, type FileSecret } from './file-secrets.js';

/**
 * Env values that are secrets. In the fleet file:
 *   env: { DB_PASSWORD: { secret: "value" } }            the value travels in the signed document
 *   env: { DB_PASSWORD: { secret_file: /etc/app/pw } }    the agent reads the file at create time;
 *                                                          only the path crosses the wire
 * Everything a person or a log sees (plans, saved plans, rollout state output, events) carries
 * `{ secret_sha256 }` instead of a value: a changed secret still changes the spec hash, because
 * hashes are computed over that masked form (see docs/secrets.md).
 */
export const inlineSecretSchema = z.strictObject({ secret: boundedString(MAX_ARG_LENGTH) });
export const secretFileSchema = z.strictObject({ secret_file: boundedString(MAX_PATH_LENGTH).regex(/^\/[^\0]*$/, 'expected an absolute path on the host') });
/** The masked form of an inline secret; it can be shown and saved, never applied. */
export const maskedSecretSchema = z.strictObject({ secret_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest') });

export const envValueSchema = z.union([z.union([boundedString(MAX_ARG_LENGTH), z.number(), z.boolean()]).transform(String), inlineSecretSchema, secretFileSchema, maskedSecretSchema]);
export type EnvValue = z.infer<typeof envValueSchema>;
export type InlineSecret = z.infer<typeof inlineSecretSchema>;
export type MaskedSecret = z.infer<typeof maskedSecretSchema>;

export function isInlineSecret(value: EnvValue): value is InlineSecret {
  return typeof value === 'object' && 'secret' in value;
}

export function isMaskedSecret(value: EnvValue): value is MaskedSecret {
  return typeof value === 'object' && 'secret_sha256' in value;
}

export function secretDigest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The env with every inline secret replaced by its digest; plain values and file references stay. */
export function maskEnv(env: Readonly<Record<string, EnvValue>>): Record<string, EnvValue> {
  const masked: Record<string, EnvValue> = {};
  for (const [name, value] of Object.entries(env)) masked[name] = isInlineSecret(value) ? { secret_sha256: secretDigest(value.secret) } : value;
  return masked;
}

type ServicesWithSecrets = { services: Record<string, { env: Record<string, EnvValue>; secrets?: FileSecret[] | undefined }> };

/** Masks the env and the secret files of every service of a value shaped like a desired document (services: { env, secrets }). */
export function maskServices<T extends ServicesWithSecrets>(document: T): T {
  const services: ServicesWithSecrets['services'] = {};
  for (const [name, service] of Object.entries(document.services)) services[name] = { ...service, env: maskEnv(service.env), ...(service.secrets === undefined ? {} : { secrets: service.secrets.map(maskFileSecret) }) };
  return { ...document, services };
}

/** Env names whose value is masked (cannot be applied as it is). */
export function maskedNames(env: Readonly<Record<string, EnvValue>>): string[] {
  return Object.entries(env)
    .filter(([, value]) => isMaskedSecret(value))
    .map(([name]) => name)
    .sort();
}

/**
 * Puts secret values back into a masked document (a saved plan) from a document that holds them
 * (the key's current desired state): a digest with no matching value there is returned by name.
 */
export function unmaskServices<T extends ServicesWithSecrets>(masked: T, source: ServicesWithSecrets | undefined): { document: T; missing: string[] } {
  const known = new Map<string, string>();
  // A sealed file secret is taken back by its digest: sealed to this host, it reads as it did.
  const knownFiles = new Map<string, FileSecret['value']>();
  for (const service of Object.values(source?.services ?? {})) {
    for (const value of Object.values(service.env)) if (isInlineSecret(value)) known.set(secretDigest(value.secret), value.secret);
    for (const file of service.secrets ?? []) if (isSealed(file.value)) knownFiles.set(file.value.digest, file.value);
  }
  const missing: string[] = [];
  const services: ServicesWithSecrets['services'] = {};
  for (const [serviceName, service] of Object.entries(masked.services)) {
    const env: Record<string, EnvValue> = {};
    for (const [name, value] of Object.entries(service.env)) {
      const secret = isMaskedSecret(value) ? known.get(value.secret_sha256) : undefined;
      if (isMaskedSecret(value) && secret === undefined) missing.push(`${serviceName}.env.${name}`);
      env[name] = secret === undefined ? value : { secret };
    }
    const files = service.secrets?.map((file) => {
      if (isSealed(file.value) || 'content' in file.value) return file;
      const value = file.value.digest === undefined ? undefined : knownFiles.get(file.value.digest);
      if (value === undefined) missing.push(`${serviceName}.${file.kind}s.${file.name}`);
      return value === undefined ? file : { ...file, value };
    });
    services[serviceName] = { ...service, env, ...(files === undefined ? {} : { secrets: files }) };
  }
  return { document: { ...masked, services }, missing };
}
