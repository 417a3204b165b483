import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fromSeed } from '@nats-io/nkeys';
import type { DashboardRole } from '../../shared/dashboard-api.js';
import { InvalidInputError, errorMessage } from '../../shared/errors.js';
import { readCredentials } from '../../shared/nats-connection.js';
import { loadManifest } from '../fleet-host-keys.js';
import type { FleetAuthManifest } from '../nats-auth.js';

/** The token file the dashboard writes when it needs one and none was given (0600, beside the CLI's config). */
export const GENERATED_TOKEN_FILE = 'dashboard.token';
/** A token shorter than this is refused: it guards the fleet's view, and with a deployer credential its actions. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Pure: the role of a NATS user key in the fleet's auth manifest: the coordinator key is the
 * deployer, `fleet add-user` users have theirs, the setup admin key is admin; any other is unknown.
 */
export function roleOfKey(manifest: FleetAuthManifest, publicKey: string): DashboardRole {
  if (manifest.coordinator.publicKey === publicKey) return 'deployer';
  if (manifest.admin?.publicKey === publicKey) return 'admin';
  return manifest.users?.find((user) => user.publicKey === publicKey)?.role ?? 'unknown';
}

/**
 * The role the dashboard's NATS credential has: its key looked up in the fleet's fleet-auth.json
 * (--fleet-auth, else beside the credentials). Unknown without credentials or without a manifest:
 * the dashboard then offers no action (NATS would decide, and the page could not say beforehand).
 */
export async function credentialRole(credsFile: string | undefined, fleetAuth: string | undefined): Promise<DashboardRole> {
  if (credsFile === undefined) return 'unknown';
  const { seed } = await readCredentials(credsFile);
  const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  const dir = fleetAuth === undefined ? dirname(resolve(credsFile)) : fleetAuth.endsWith('.json') ? dirname(resolve(fleetAuth)) : resolve(fleetAuth);
  try {
    return roleOfKey(await loadManifest(dir), publicKey);
  } catch (error) {
    if (fleetAuth !== undefined) throw error;
    // No manifest beside the credentials: the role cannot be told.
    return 'unknown';
  }
}

/** Pure: whether the role may write (pause, resume, abort a rollout). */
export function roleMayAct(role: DashboardRole): boolean {
  return role === 'deployer' || role === 'admin';
}

/**
 * The token of a dashboard listening beyond loopback: read from --token-file, or made at start and
 * written (0600) into `configDir` so that the operator can read it. Returns the token and its file.
 */
export async function dashboardToken(tokenFile: string | undefined, configDir: string): Promise<{ token: string; file: string; generated: boolean }> {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(tokenFile, 'utf8');
    } catch (error) {
      throw new InvalidInputError(`--token-file ${tokenFile}: ${errorMessage(error)}`, { cause: error });
    }
    const token = text.trim();
    if (token.length < MIN_TOKEN_LENGTH || /\s|;|,/.test(token)) throw new InvalidInputError(`--token-file ${tokenFile}: expected one token of at least ${MIN_TOKEN_LENGTH} characters, without spaces, ";" or "," (e.g. \`openssl rand -hex 32 > ${tokenFile}\`)`);
    return { token, file: tokenFile, generated: false };
  }
  const token = randomBytes(32).toString('base64url');
  const file = join(configDir, GENERATED_TOKEN_FILE);
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  // An existing file keeps its mode on write: made private again.
  await chmod(file, 0o600);
  return { token, file, generated: true };
}
