import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import type { HostKeys } from '../shared/host-report.js';
import { fleetAuthManifestSchema, type FleetAuthManifest } from './nats-auth.js';

/** The public half of a fleet's auth dir: which key is whose (no seed). */
export const FLEET_AUTH_MANIFEST = 'fleet-auth.json';
/** Written by `fleet init` beside it (coordinator/fleet-auth-files.ts). */
export const SECRET_DIGEST_KEY_FILE = 'secret-digest.key';

/**
 * The host keys a coordinator verifies reports with: from `location` (an auth dir or its
 * fleet-auth.json) when given, which must then be readable; otherwise from a fleet-auth.json
 * beside the credentials file, if there is one (`fleet init` writes both into one dir).
 */
export async function findHostKeys(location: string | undefined, credsFile: string | undefined): Promise<HostKeys | undefined> {
  let dir: string;
  if (location !== undefined) {
    dir = location.endsWith('.json') ? dirname(resolve(location)) : resolve(location);
  } else {
    if (credsFile === undefined) return undefined;
    dir = dirname(resolve(credsFile));
    if (!(await exists(join(dir, FLEET_AUTH_MANIFEST)))) return undefined;
  }
  const manifest = await loadManifest(dir);
  const keys = new Map(manifest.hosts.map((host) => [host.hostId, host.publicKey]));
  const curveKeys = new Map(manifest.hosts.flatMap((host) => (host.curveKey === undefined ? [] : [[host.hostId, host.curveKey] as const])));
  const secretDigestKey = await readDigestKey(join(dir, SECRET_DIGEST_KEY_FILE));
  return { keyOf: (hostId) => keys.get(hostId), curveKeyOf: (hostId) => curveKeys.get(hostId), ...(secretDigestKey === undefined ? {} : { secretDigestKey }) };
}

/** The digest key's bytes; undefined when the file is absent (a fleet made before secrets) or unreadable to this user. */
async function readDigestKey(file: string): Promise<Uint8Array | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return /^[0-9a-f]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined;
  } catch {
    return undefined;
  }
}

export async function loadManifest(dir: string): Promise<FleetAuthManifest> {
  const file = join(dir, FLEET_AUTH_MANIFEST);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read ${file} (${errorMessage(error)}); run \`hostwright fleet init --dir ${dir}\` first`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file} is not JSON (${errorMessage(error)}): it is written by \`hostwright fleet init\``, { cause: error });
  }
  const parsed = fleetAuthManifestSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError(`${file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}

export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
