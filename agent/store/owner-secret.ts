import { randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalError, errorMessage } from '../../shared/errors.js';

export const OWNER_SECRET_FILE = 'owner-secret';
const SECRET_BYTES = 32;

/**
 * The per-host key of the owner-token HMAC, in the data dir: created on first start (mode 0600,
 * fsync'd with its directory entry), read on every later one. Losing it disowns every container.
 */
export async function loadOwnerSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, OWNER_SECRET_FILE);
  try {
    const secret = await readFile(path);
    if (secret.length !== SECRET_BYTES) throw new JournalError(`${path} holds ${secret.length} bytes, not ${SECRET_BYTES}: not a Hostwright owner secret`);
    return new Uint8Array(secret);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error instanceof JournalError ? error : new JournalError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
  const secret = randomBytes(SECRET_BYTES);
  try {
    // 'wx': two processes racing on a fresh dir cannot both write one.
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(secret);
      await file.sync();
    } finally {
      await file.close();
    }
    const dir = await open(dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') return loadOwnerSecret(dataDir);
    throw new JournalError(`cannot create ${path}: ${errorMessage(error)}`, { cause: error });
  }
  return new Uint8Array(secret);
}
