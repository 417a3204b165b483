import { createOperator, fromPublic } from '@nats-io/nkeys';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import { signingKeyOf, type DocumentSigningKey } from '../shared/signed-document.js';

/** File names agreed for the coordinator's signing key pair (also written by `fleet init`). */
export const SIGNING_SEED_FILE = 'coordinator-signing.nk';
export const SIGNING_PUBLIC_FILE = 'coordinator-signing.pub';

/** The coordinator's desired-state signing key: an nkeys operator seed, ready to sign. */
export type DesiredSigner = DocumentSigningKey;

/** Reads an nkeys operator seed file (`SO…`), as given by --signing-key or $HOSTWRIGHT_SIGNING_KEY. */
export async function loadSigningKey(path: string): Promise<DesiredSigner> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (error) {
    throw new InvalidInputError(`--signing-key ${path}: cannot read it (${errorMessage(error)})`, { cause: error });
  }
  let signer: DesiredSigner;
  try {
    signer = signingKeyOf(new TextEncoder().encode(text));
  } catch (error) {
    throw new InvalidInputError(`--signing-key ${path}: not an nkeys seed (${errorMessage(error)})`, { cause: error });
  }
  if (!signer.publicKey.startsWith('O')) throw new InvalidInputError(`--signing-key ${path}: expected an operator seed (SO…), got a key of another kind`);
  return signer;
}

/** --coordinator-key: the public key itself (`O…`), or a file that holds it. */
export async function resolveCoordinatorKey(value: string): Promise<string> {
  let key = value.trim();
  if (!isOperatorPublicKey(key)) {
    try {
      key = (await readFile(value, 'utf8')).trim();
    } catch (error) {
      throw new InvalidInputError(`--coordinator-key ${value}: neither an operator public key (O…) nor a readable file (${errorMessage(error)})`, { cause: error });
    }
  }
  if (!isOperatorPublicKey(key)) throw new InvalidInputError(`--coordinator-key ${value}: expected an nkeys operator public key (56 characters starting with "O")`);
  return key;
}

function isOperatorPublicKey(text: string): boolean {
  if (!/^O[A-Z2-7]{55}$/.test(text)) return false;
  try {
    fromPublic(text);
    return true;
  } catch {
    return false;
  }
}

/** Writes a new key pair into dir: the seed with mode 0600 (never overwritten), the public key beside it. */
export async function generateSigningKey(dir: string): Promise<{ seedFile: string; publicFile: string; publicKey: string }> {
  const keys = createOperator();
  const seedFile = join(dir, SIGNING_SEED_FILE);
  const publicFile = join(dir, SIGNING_PUBLIC_FILE);
  await writeNew(seedFile, `${new TextDecoder().decode(keys.getSeed())}\n`, 0o600);
  await writeNew(publicFile, `${keys.getPublicKey()}\n`, 0o644);
  return { seedFile, publicFile, publicKey: keys.getPublicKey() };
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let file;
  try {
    file = await open(path, 'wx', mode);
  } catch (error) {
    if ((error as { code?: string }).code === 'EEXIST') throw new InvalidInputError(`${path} already exists; a signing key is never overwritten (agents pin its public key)`, { cause: error });
    throw error;
  }
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
}
