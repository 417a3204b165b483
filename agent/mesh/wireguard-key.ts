import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafeDataDirError } from '../../shared/errors.js';

// The host's WireGuard key pair: made here, kept in the data dir (0600), never sent anywhere;
// only the public key leaves, in the agent's signed registration.

export const MESH_DIR = 'mesh';
export const MESH_KEY_FILE = 'wireguard.key';

export interface MeshKey {
  /** The file `wg set ... private-key` reads. */
  readonly privateKeyFile: string;
  readonly publicKey: string;
}

/** The host's key, made on first use; a key file others may read is refused, not used. */
export async function ensureMeshKey(dataDir: string): Promise<MeshKey> {
  const dir = join(dataDir, MESH_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, MESH_KEY_FILE);
  const existing = await readKey(file);
  if (existing !== undefined) return { privateKeyFile: file, publicKey: publicKeyOf(existing) };
  const { privateKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  // Written whole under another name, then renamed: a crash leaves no half key.
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w', 0o600);
  try {
    await handle.writeFile(`${raw.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, file);
  return { privateKeyFile: file, publicKey: publicKeyOf(raw.toString('base64')) };
}

async function readKey(file: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) !== 0) throw new UnsafeDataDirError(`${file} is readable by others (mode ${(mode & 0o777).toString(8)}): it holds the host's WireGuard private key; run chmod 600 on it, or delete it to make a new key (the coordinator then needs the host's new registration)`);
  const text = (await readFile(file, 'utf8')).trim();
  if (Buffer.from(text, 'base64').length !== 32) throw new UnsafeDataDirError(`${file} is not a WireGuard private key (32 bytes of base64); delete it to make a new one`);
  return text;
}

/** The public key `wg pubkey` would print for this private key. */
export function publicKeyOf(privateKeyBase64: string): string {
  const x25519 = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_HEADER, Buffer.from(privateKeyBase64, 'base64')]), format: 'der', type: 'pkcs8' });
  return Buffer.from(createPublicKey(x25519).export({ format: 'jwk' }).x ?? '', 'base64url').toString('base64');
}

/** An X25519 private key in PKCS#8 DER is this fixed header followed by the 32 key bytes. */
const PKCS8_X25519_HEADER = Buffer.from('302e020100300506032b656e04220420', 'hex');
