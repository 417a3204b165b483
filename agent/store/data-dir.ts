import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { JournalError, UnsafeDataDirError, errorMessage } from '../../shared/errors.js';

/** The journal holds desired documents with their secret env values: nothing in the data dir is for group or others. */
const PRIVATE_DIR_MODE = 0o700;
const GROUP_OTHER_BITS = 0o077;
const GROUP_OTHER_WRITE = 0o022;
const STICKY_BIT = 0o1000;

/**
 * Creates the data dir with mode 0700, or checks the one that is there: refuses (UnsafeDataDirError)
 * a dir that group or others can write to, or that another non-root user owns, and tightens one of
 * this user's that others can only read to 0700. Only the dir itself counts, not its parent.
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const uid = process.getuid?.();
  // No POSIX owners and modes on this platform (Windows): nothing to check.
  if (uid === undefined) return;
  const info = await stat(dataDir);
  if (info.uid !== uid && info.uid !== 0) {
    throw new UnsafeDataDirError(`data dir ${dataDir} belongs to uid ${info.uid}, not to this user (uid ${uid}): its owner can change what is in it. Use a data dir of your own, or run \`chown -R ${uid} ${dataDir} && chmod 700 ${dataDir}\``);
  }
  if ((info.mode & GROUP_OTHER_WRITE) !== 0) {
    // Tightening it now would not undo what someone else may already have put in it.
    throw new UnsafeDataDirError(`data dir ${dataDir} is writable by ${writers(info.mode)} (mode ${octal(info.mode)}): someone else could have changed its journal or owner secret. Check what is in it, then run \`chmod 700 ${dataDir}\``);
  }
  if ((info.mode & 0o777) !== PRIVATE_DIR_MODE && info.uid === uid) await chmod(dataDir, PRIVATE_DIR_MODE);
}

/**
 * Takes group's and others' permissions off everything in the data dir: files LevelDB made under a
 * wider umask (it asks for 0666, 0644 for LOCK), or an older Hostwright. Symlinks are left alone.
 */
export async function makeContentsPrivate(dataDir: string): Promise<void> {
  await makePrivateBelow(dataDir, dataDir);
}

async function makePrivateBelow(dataDir: string, dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(dir, entry.name);
    try {
      const info = await lstat(path);
      if ((info.mode & GROUP_OTHER_BITS) !== 0) await chmod(path, info.mode & PRIVATE_DIR_MODE);
    } catch (error) {
      const code = (error as { code?: string }).code;
      // LevelDB may delete an obsolete file meanwhile.
      if (code === 'ENOENT') continue;
      if (code === 'EPERM') throw new UnsafeDataDirError(`${path} in the data dir belongs to another user, so it cannot be made private: run \`chown -R ${process.getuid?.() ?? ''} ${dataDir}\` as root`, { cause: error });
      throw new JournalError(`cannot make ${path} private: ${errorMessage(error)}`, { cause: error });
    }
    if (entry.isDirectory()) await makePrivateBelow(dataDir, path);
  }
}

/**
 * Why the data dir's parent is a risk, or undefined: one that others can write to (without the
 * sticky bit of /tmp) or that another non-root user owns lets them move the data dir away and put
 * their own in its place while an agent runs: the next start refuses that dir, the running agent does not notice.
 */
export async function dataDirParentWarning(dataDir: string): Promise<string | undefined> {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  const parent = dirname(resolve(dataDir));
  let info;
  try {
    info = await stat(parent);
  } catch {
    // Not there yet: prepareDataDir creates it with mode 0700.
    return undefined;
  }
  const writableByOthers = (info.mode & GROUP_OTHER_WRITE) !== 0 && (info.mode & STICKY_BIT) === 0;
  const foreignOwner = info.uid !== uid && info.uid !== 0;
  if (!writableByOthers && !foreignOwner) return undefined;
  const why = writableByOthers ? `writable by ${writers(info.mode)} (mode ${octal(info.mode)}, no sticky bit)` : `owned by uid ${info.uid}`;
  const fix = writableByOthers && !foreignOwner ? `run \`chmod go-w ${parent}\` or use a data dir elsewhere` : 'use a data dir elsewhere';
  return `the data dir's parent ${parent} is ${why}: whoever can write to it can move ${dataDir} away and put a dir of their own in its place while the agent runs; ${fix}`;
}

function writers(mode: number): string {
  const group = (mode & 0o020) !== 0;
  const others = (mode & 0o002) !== 0;
  return group && others ? 'group and others' : group ? 'its group' : 'others';
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
