import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fromSeed } from '@nats-io/nkeys';
import type { DashboardRole } from '../../shared/dashboard-api.js';
import { InvalidInputError, errorMessage } from '../../shared/errors.js';
import { readCredentials } from '../../shared/nats-connection.js';
import { FLEET_AUTH_MANIFEST, loadManifest } from '../fleet-host-keys.js';
import type { FleetAuthManifest } from '../nats-auth.js';

/** The token file the dashboard writes when it needs one and none was given (0600, beside the CLI's config). */
export const GENERATED_TOKEN_FILE = 'dashboard.token';
/** A token shorter than this is refused: it guards the fleet's view, and with a deployer credential its actions. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Pure: who a NATS user key is in the fleet's auth manifest, and its role: the coordinator key is
 * the deployer, the setup admin key is admin, `fleet add-user` users have theirs; any other is unknown.
 */
export function userOfKey(manifest: FleetAuthManifest, publicKey: string): { name: string | undefined; role: DashboardRole } {
  if (manifest.coordinator.publicKey === publicKey) return { name: 'coordinator', role: 'deployer' };
  if (manifest.admin?.publicKey === publicKey) return { name: 'admin', role: 'admin' };
  const user = manifest.users?.find((entry) => entry.publicKey === publicKey);
  return user ? { name: user.name, role: user.role } : { name: undefined, role: 'unknown' };
}

/**
 * Who the dashboard's NATS credential is: its key looked up in the fleet's fleet-auth.json
 * (--fleet-auth, else beside the credentials). Unknown without credentials or without a manifest:
 * the dashboard then offers no action (NATS would decide, and the page could not say beforehand).
 */
export async function credentialUser(credsFile: string | undefined, fleetAuth: string | undefined): Promise<{ name: string | undefined; role: DashboardRole }> {
  if (credsFile === undefined) return { name: undefined, role: 'unknown' };
  const { seed } = await readCredentials(credsFile);
  const publicKey = fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  if (fleetAuth !== undefined) return userOfKey(await loadManifest(fleetAuth.endsWith('.json') ? dirname(resolve(fleetAuth)) : resolve(fleetAuth)), publicKey);
  // `fleet init` writes coordinator.nk beside fleet-auth.json, `fleet add-user` users/NAME.nk below it.
  const beside = dirname(resolve(credsFile));
  for (const dir of [beside, dirname(beside)]) {
    if (existsSync(join(dir, FLEET_AUTH_MANIFEST))) return userOfKey(await loadManifest(dir), publicKey);
  }
  // No manifest near the credentials: who it is cannot be told.
  return { name: undefined, role: 'unknown' };
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
