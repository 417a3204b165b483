import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createCurve, createOperator, createUser } from '@nats-io/nkeys';
import { InvalidInputError } from '../shared/errors.js';
import { hostIdSchema } from '../shared/fleet-spec.js';
import { FLEET_AUTH_MANIFEST, SECRET_DIGEST_KEY_FILE, exists, loadManifest } from './fleet-host-keys.js';
import { USER_NAME_PATTERN, accountsConfig, serverConfig, withHost, withoutHost, type FleetAuthManifest, type Role, type ServerTls } from './nats-auth.js';

/** The files of a fleet's auth dir, by what they are. */
export function fleetAuthPaths(dir: string) {
  return {
    manifest: join(dir, FLEET_AUTH_MANIFEST),
    accounts: join(dir, 'accounts.conf'),
    server: join(dir, 'nats-server.conf'),
    coordinatorCreds: join(dir, 'coordinator.nk'),
    adminCreds: join(dir, 'admin.nk'),
    signingSeed: join(dir, 'coordinator-signing.nk'),
    signingPublicKey: join(dir, 'coordinator-signing.pub'),
    hostCreds: (hostId: string) => join(dir, 'hosts', `${hostId}.nk`),
    /** A user of a role (`fleet add-user`): reader, deployer or admin. */
    userCreds: (name: string) => join(dir, 'users', `${name}.nk`),
    /** The host's curve seed (SX…): secrets are sealed to its public half; only that host's agent holds it. */
    hostCurveSeed: (hostId: string) => join(dir, 'hosts', `${hostId}.xk`),
    /** The key of the secrets' digests (docs/secrets.md): plans show a digest no one can test guesses against. */
    secretDigestKey: join(dir, SECRET_DIGEST_KEY_FILE),
  };
}

export interface FleetInitOptions {
  readonly dir: string;
  readonly hosts: readonly string[];
  readonly listen: string;
  readonly storeDir: string | undefined;
  readonly tls: ServerTls | undefined;
}

export interface FleetInitResult {
  readonly signingPublicKey: string;
  readonly files: readonly string[];
}

/**
 * Creates the coordinator's NATS user and desired-state signing key, the admin user that sets up
 * the streams and buckets (`fleet setup`), one user per host, the accounts config and a server config. Refuses a dir that already holds a fleet: keys are never
 * silently replaced.
 */
export async function initFleetAuth(options: FleetInitOptions): Promise<FleetInitResult> {
  const dir = resolve(options.dir);
  const paths = fleetAuthPaths(dir);
  if (await exists(paths.manifest)) throw new InvalidInputError(`${paths.manifest} exists: this fleet is initialised; add hosts with \`hostwright fleet add-host ID --dir ${options.dir}\``);
  for (const hostId of options.hosts) checkHostId(hostId);
  await mkdir(join(dir, 'hosts'), { recursive: true, mode: 0o700 });
  const coordinator = createUser();
  const admin = createUser();
  const signing = createOperator();
  const signingPublicKey = signing.getPublicKey();
  let manifest: FleetAuthManifest = { schema: 'hostwright.fleet-auth/v1', coordinator: { publicKey: coordinator.getPublicKey() }, admin: { publicKey: admin.getPublicKey() }, signingPublicKey, hosts: [] };
  const files = [paths.coordinatorCreds, paths.adminCreds, paths.signingSeed, paths.signingPublicKey];
  await writeSecret(paths.coordinatorCreds, seedText(coordinator.getSeed()));
  await writeSecret(paths.adminCreds, seedText(admin.getSeed()));
  await writeSecret(paths.signingSeed, seedText(signing.getSeed()));
  await writeFile(paths.signingPublicKey, `${signingPublicKey}\n`, { mode: 0o644 });
  await writeSecret(paths.secretDigestKey, `${randomBytes(32).toString('hex')}\n`);
  files.push(paths.secretDigestKey);
  for (const hostId of new Set(options.hosts)) {
    const host = createUser();
    await writeSecret(paths.hostCreds(hostId), seedText(host.getSeed()));
    const curve = await writeCurveSeed(paths.hostCurveSeed(hostId));
    manifest = withHost(manifest, hostId, host.getPublicKey(), curve);
    files.push(paths.hostCreds(hostId), paths.hostCurveSeed(hostId));
  }
  const tls = options.tls ? { caFile: resolve(options.tls.caFile), certFile: resolve(options.tls.certFile), keyFile: resolve(options.tls.keyFile) } : undefined;
  await writeFile(paths.server, serverConfig({ listen: options.listen, storeDir: resolve(options.storeDir ?? join(dir, 'jetstream')), accountsFile: 'accounts.conf', tls }), { mode: 0o644 });
  await saveManifest(dir, manifest);
  return { signingPublicKey, files: [...files, paths.manifest, paths.accounts, paths.server] };
}

/** Adds a host (or, with rotate, gives an existing host a new key) and regenerates accounts.conf. */
export async function addFleetHost(dirArg: string, hostId: string, rotate: boolean): Promise<string> {
  const dir = resolve(dirArg);
  checkHostId(hostId);
  const manifest = await loadManifest(dir);
  const known = manifest.hosts.some((host) => host.hostId === hostId);
  if (known && !rotate) throw new InvalidInputError(`host ${hostId} already has credentials; pass --rotate to replace its key`);
  const host = createUser();
  const paths = fleetAuthPaths(dir);
  const credsFile = paths.hostCreds(hostId);
  await mkdir(join(dir, 'hosts'), { recursive: true, mode: 0o700 });
  await writeSecret(credsFile, seedText(host.getSeed()));
  const curve = await writeCurveSeed(paths.hostCurveSeed(hostId));
  // A fleet made before secrets gets its digest key with its first new host.
  if (!(await exists(paths.secretDigestKey))) await writeSecret(paths.secretDigestKey, `${randomBytes(32).toString('hex')}\n`);
  await saveManifest(dir, withHost(manifest, hostId, host.getPublicKey(), curve));
  return credsFile;
}

/**
 * Writes accounts.conf again from the manifest, as this version lays it out; no key changes, except
 * that a fleet made before the admin user gets one (admin.nk). Returns that file when it was written.
 */
export async function regenerateFleetConfig(dirArg: string): Promise<string | undefined> {
  const dir = resolve(dirArg);
  const manifest = await loadManifest(dir);
  if (manifest.admin) {
    await saveManifest(dir, manifest);
    return undefined;
  }
  const admin = createUser();
  const adminCreds = fleetAuthPaths(dir).adminCreds;
  await writeSecret(adminCreds, seedText(admin.getSeed()));
  await saveManifest(dir, { ...manifest, admin: { publicKey: admin.getPublicKey() } });
  return adminCreds;
}

/** Revokes a host: its user leaves accounts.conf and its seed file is deleted. */
export async function removeFleetHost(dirArg: string, hostId: string): Promise<void> {
  const dir = resolve(dirArg);
  const manifest = await loadManifest(dir);
  if (!manifest.hosts.some((host) => host.hostId === hostId)) throw new InvalidInputError(`host ${hostId} has no credentials in ${dir}`);
  await saveManifest(dir, withoutHost(manifest, hostId));
  await rm(fleetAuthPaths(dir).hostCreds(hostId), { force: true });
  await rm(fleetAuthPaths(dir).hostCurveSeed(hostId), { force: true });
}

/**
 * Adds a coordinator user of a role (or, with rotate, gives one a new key or role): users/<name>.nk
 * and accounts.conf. The names coordinator and admin are the fleet's own users.
 */
export async function addFleetUser(dirArg: string, name: string, role: Role, rotate: boolean): Promise<string> {
  const dir = resolve(dirArg);
  if (!USER_NAME_PATTERN.test(name)) throw new InvalidInputError(`user name ${JSON.stringify(name)}: expected letters, digits, "-", "_" or "." (max 63), starting with a letter or digit`);
  if (name === 'coordinator' || name === 'admin') throw new InvalidInputError(`${name} is the fleet's own ${name === 'admin' ? 'admin (admin.nk)' : 'deployer (coordinator.nk)'} user; pick another name`);
  const manifest = await loadManifest(dir);
  const users = manifest.users ?? [];
  if (users.some((user) => user.name === name) && !rotate) throw new InvalidInputError(`user ${name} exists; pass --rotate to give it a new key (and the role given), or remove it with \`hostwright fleet remove-user ${name}\``);
  const user = createUser();
  const credsFile = fleetAuthPaths(dir).userCreds(name);
  await mkdir(join(dir, 'users'), { recursive: true, mode: 0o700 });
  await writeSecret(credsFile, seedText(user.getSeed()));
  await saveManifest(dir, { ...manifest, users: [...users.filter((entry) => entry.name !== name), { name, role, publicKey: user.getPublicKey() }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) });
  return credsFile;
}

/** Revokes a user: it leaves accounts.conf and its seed file is deleted. */
export async function removeFleetUser(dirArg: string, name: string): Promise<void> {
  const dir = resolve(dirArg);
  const manifest = await loadManifest(dir);
  if (!(manifest.users ?? []).some((user) => user.name === name)) throw new InvalidInputError(`user ${name} is not in ${dir} (users: ${(manifest.users ?? []).map((user) => user.name).join(', ') || 'none'})`);
  await saveManifest(dir, { ...manifest, users: (manifest.users ?? []).filter((user) => user.name !== name) });
  await rm(fleetAuthPaths(dir).userCreds(name), { force: true });
}

/** The manifest and the accounts config generated from it, always written together. */
async function saveManifest(dir: string, manifest: FleetAuthManifest): Promise<void> {
  const paths = fleetAuthPaths(dir);
  await writeFile(paths.accounts, accountsConfig(manifest), { mode: 0o644 });
  await writeFile(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644 });
}

function checkHostId(hostId: string): void {
  const parsed = hostIdSchema.safeParse(hostId);
  if (!parsed.success) throw new InvalidInputError(`host id ${JSON.stringify(hostId)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
}

/** A new curve key pair: its seed written 0600, its public key (X…) returned for the manifest. */
async function writeCurveSeed(file: string): Promise<string> {
  const curve = createCurve();
  await writeSecret(file, seedText(curve.getSeed()));
  return curve.getPublicKey();
}

function seedText(seed: Uint8Array): string {
  return `${new TextDecoder().decode(seed)}\n`;
}

/** Mode 0600 even when the file existed with a wider mode (writeFile's mode applies only on create). */
async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
}
