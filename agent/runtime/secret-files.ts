import { randomUUID } from 'node:crypto';
import { access, chmod, chown, mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyPair } from '@nats-io/nkeys';
import { RuntimeError, errorMessage } from '../../shared/errors.js';
import { openFileSecret, type FileSecret } from '../../shared/file-secrets.js';
import type { SecretMount } from './runtime-adapter.js';

/** statfs types of memory-backed file systems: tmpfs and ramfs. */
const MEMORY_FILE_SYSTEMS = new Set([0x01021994, 0x858458f6]);

/** Where a fleet agent writes secret files when not told otherwise: /dev/shm is a tmpfs on Linux. */
export const DEFAULT_SECRETS_DIR = '/dev/shm/hostwright-secrets';

/**
 * The files of compose secrets and configs (docs/secrets.md): opened with this host's curve key only
 * when a container is created, written into a directory of that container's own on a tmpfs (never
 * the disk, the journal or the engine's config) and bind-mounted read-only at their targets.
 */
export class SecretFileStore {
  constructor(
    readonly root: string,
    readonly curve: KeyPair | undefined,
  ) {}

  /** Writes a container's files; returns its directory and where each file is mounted. */
  async materialize(containerName: string, secrets: readonly FileSecret[]): Promise<{ dir: string; mounts: SecretMount[] }> {
    if (this.curve === undefined) throw new RuntimeError(`create ${containerName}: it mounts secrets or configs, and this agent has no curve key to open them: start it with --curve-key FILE (the hosts/<id>.xk that \`hostwright fleet init\` wrote)`);
    await this.#prepareRoot();
    const dir = join(this.root, `${containerName}-${randomUUID().slice(0, 8)}`);
    await mkdir(dir, { mode: 0o700 });
    try {
      const mounts: SecretMount[] = [];
      for (const [index, secret] of secrets.entries()) {
        let content: Uint8Array;
        try {
          content = openFileSecret(secret.value, this.curve);
        } catch (error) {
          throw new RuntimeError(`create ${containerName}: ${secret.kind} ${secret.name} ${errorMessage(error)}`, { cause: error });
        }
        const file = join(dir, `${index}-${secret.kind}`);
        await writeFile(file, content, { mode: 0o600, flag: 'wx' });
        await chown(file, Number(secret.uid), Number(secret.gid));
        await chmod(file, secret.mode);
        mounts.push({ source: file, target: secret.target });
      }
      return { dir, mounts };
    } catch (error) {
      await this.remove(dir);
      throw error;
    }
  }

  /**
   * Writes again the files of a container's mounts (source on this store, target) that are gone, as a
   * reboot empties the tmpfs: each from the sealed secret mounted at its target, with its mode and owner.
   * The engine reads the sources when it starts the container; one that still exists is left as it is.
   */
  async restore(containerName: string, mounts: readonly SecretMount[], secrets: readonly FileSecret[]): Promise<number> {
    const prefix = `${this.root}/`;
    const missing: { mount: SecretMount; secret: FileSecret }[] = [];
    for (const mount of mounts) {
      if (!mount.source.startsWith(prefix) || (await exists(mount.source))) continue;
      const secret = secrets.find((candidate) => candidate.target === mount.target);
      if (secret !== undefined) missing.push({ mount, secret });
    }
    if (missing.length === 0) return 0;
    if (this.curve === undefined) throw new RuntimeError(`start ${containerName}: its secret files are gone (a reboot empties the tmpfs), and this agent has no curve key to write them again: start it with --curve-key FILE`);
    await this.#prepareRoot();
    for (const { mount, secret } of missing) {
      // Only a file of this store's own layout (<root>/<dir>/<file>) is written, never a path elsewhere.
      const relative = mount.source.slice(prefix.length).split('/');
      if (relative.length !== 2 || relative.some((part) => part === '' || part === '.' || part === '..')) continue;
      await mkdir(join(this.root, relative[0] as string), { recursive: true, mode: 0o700 });
      let content: Uint8Array;
      try {
        content = openFileSecret(secret.value, this.curve);
      } catch (error) {
        throw new RuntimeError(`start ${containerName}: ${secret.kind} ${secret.name} ${errorMessage(error)}`, { cause: error });
      }
      await writeFile(mount.source, content, { mode: 0o600, flag: 'wx' });
      await chown(mount.source, Number(secret.uid), Number(secret.gid));
      await chmod(mount.source, secret.mode);
    }
    return missing.length;
  }

  /** The directories of this store among a container's mount sources. */
  dirsOf(sources: readonly string[]): string[] {
    const prefix = `${this.root}/`;
    return [...new Set(sources.filter((source) => source.startsWith(prefix)).map((source) => join(this.root, source.slice(prefix.length).split('/')[0] ?? '')))];
  }

  async remove(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /** The root exists, is the agent's alone (0700) and is memory-backed, or nothing is written. */
  async #prepareRoot(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await chmod(this.root, 0o700);
    const { type } = await statfs(this.root);
    if (!MEMORY_FILE_SYSTEMS.has(type)) throw new RuntimeError(`secrets dir ${this.root} is not on a tmpfs (file system type 0x${type.toString(16)}): secret files must not reach a disk; give --secrets-dir a directory on a tmpfs (such as /dev/shm or /run)`);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
