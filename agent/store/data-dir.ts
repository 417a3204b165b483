import { constants, type Stats } from 'node:fs';
import { access, chmod, lstat, mkdir, readdir, readlink, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DataDirPermissionError, JournalError, UnsafeDataDirError, errorMessage } from '../../shared/errors.js';

/** The journal holds desired documents with their secret env values: nothing in the data dir is for group or others. */
const PRIVATE_DIR_MODE = 0o700;
const GROUP_OTHER_BITS = 0o077;
const GROUP_OTHER_WRITE = 0o022;
const STICKY_BIT = 0o1000;

/**
 * Creates the data dir with mode 0700, or checks the one that is there: refuses (UnsafeDataDirError)
 * a path another user could redirect (below), a dir that group or others can write to, or that
 * another non-root user owns, and tightens one of this user's that others can only read to 0700.
 * A user who may not enter or write it gets DataDirPermissionError. The path is checked before
 * anything is made or changed, and again once the dir exists (what mkdir made, or what raced it).
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid !== undefined) await refuseReplaceablePath(dataDir, uid);
  try {
    await mkdir(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    throw permissionError(error, dataDir, uid) ?? error;
  }
  // No POSIX owners and modes on this platform (Windows): nothing to check.
  if (uid === undefined) return;
  await refuseReplaceablePath(dataDir, uid);
  const info = await stat(dataDir);
  if (info.uid !== uid && info.uid !== 0) {
    throw new UnsafeDataDirError(`data dir ${dataDir} belongs to uid ${info.uid}, not to this user (uid ${uid}): its owner can change what is in it. Use a data dir of your own, or run \`chown -R ${uid} ${dataDir} && chmod 700 ${dataDir}\``);
  }
  if ((info.mode & GROUP_OTHER_WRITE) !== 0) {
    // Tightening it now would not undo what someone else may already have put in it.
    throw new UnsafeDataDirError(`data dir ${dataDir} is writable by ${writers(info.mode)} (mode ${octal(info.mode)}): someone else could have changed its journal or owner secret. Check what is in it, then run \`chmod 700 ${dataDir}\``);
  }
  try {
    // Root's data dir, say, read by another user: one line now rather than an EACCES deep in LevelDB.
    await access(dataDir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    const denied = permissionError(error, dataDir, uid);
    if (denied) throw denied;
  }
  if ((info.mode & 0o777) !== PRIVATE_DIR_MODE && info.uid === uid) await chmod(dataDir, PRIVATE_DIR_MODE);
}

/** A directory entry as the path check sees it (lstat: a symlink is itself, not its target). */
interface PathEntry {
  readonly uid: number;
  readonly mode: number;
  readonly isSymlink: boolean;
}

/**
 * Why another user could replace `entry` (in `parent`) and so choose what the data dir path
 * leads to, or undefined. An entry is theirs unless root or this user owns it; a parent others
 * can write to lets them rename any entry in it, unless it has the sticky bit (as /tmp), where
 * only an entry's owner may. So a symlink planted in /tmp by another user is refused, and a
 * dir this user made in /tmp is not. Pure.
 */
function replaceableEntryReason(path: string, entry: PathEntry, parent: PathEntry, uid: number): string | undefined {
  const what = entry.isSymlink ? `the symlink ${path}` : path;
  if (entry.uid !== 0 && entry.uid !== uid) return `${what} belongs to uid ${entry.uid}, who can point it elsewhere`;
  if ((parent.mode & GROUP_OTHER_WRITE) !== 0 && (parent.mode & STICKY_BIT) === 0) return `${what} is in ${dirname(path)}, which is writable by ${writers(parent.mode)} (mode ${octal(parent.mode)}, no sticky bit): they can replace it`;
  if (parent.uid !== 0 && parent.uid !== uid) return `${what} is in ${dirname(path)}, which belongs to uid ${parent.uid}: they can replace it`;
  return undefined;
}

/** Symlinks followed on the way to the data dir, at most (the kernel's ELOOP bound). */
const MAX_SYMLINKS = 40;

/**
 * Walks the data dir's path from / as the kernel resolves it (symlinks followed, `..` after a
 * symlink taken from its target) and refuses (UnsafeDataDirError) when any entry on the way could
 * be replaced by another user (replaceableEntryReason). A part that does not exist yet ends the
 * walk once the dir it would be made in passes: mkdir makes it as this user.
 */
async function refuseReplaceablePath(dataDir: string, uid: number): Promise<void> {
  const pending = componentsOf(resolve(dataDir));
  let current = '/';
  let currentInfo = await lstatOrDenied('/', dataDir, uid);
  let symlinks = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      current = dirname(current);
      currentInfo = await lstatOrDenied(current, dataDir, uid);
      continue;
    }
    const path = join(current, name);
    const info = await lstatOrDenied(path, dataDir, uid);
    if (currentInfo === undefined) return;
    // The data dir's own owner and mode are checked once it exists, with their own messages; one
    // not there yet is made by this user, so only where it is made counts.
    const isDataDir = info === undefined || (pending.length === 0 && !info.isSymbolicLink());
    const entry = { uid: isDataDir ? uid : info.uid, mode: info?.mode ?? 0, isSymlink: info?.isSymbolicLink() ?? false };
    const reason = replaceableEntryReason(path, entry, { uid: currentInfo.uid, mode: currentInfo.mode, isSymlink: false }, uid);
    if (reason) throw new UnsafeDataDirError(`data dir ${dataDir} is refused: ${reason}; nothing was changed under it. Use a path that only root (or you) can change, e.g. /var/lib/hostwright`);
    if (info === undefined) return;
    if (entry.isSymlink) {
      symlinks += 1;
      if (symlinks > MAX_SYMLINKS) throw new UnsafeDataDirError(`data dir ${dataDir}: more than ${MAX_SYMLINKS} symlinks on its path (a loop?)`);
      const target = await readlink(path);
      pending.unshift(...componentsOf(target));
      if (isAbsolute(target)) {
        current = '/';
        currentInfo = await lstatOrDenied('/', dataDir, uid);
      }
      continue;
    }
    current = path;
    currentInfo = info;
  }
}

function componentsOf(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** lstat, undefined when the entry is not there; EACCES as DataDirPermissionError. */
async function lstatOrDenied(path: string, dataDir: string, uid: number): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    throw permissionError(error, dataDir, uid) ?? error;
  }
}

/** EACCES or EPERM as the one-line refusal; undefined for any other error. */
function permissionError(error: unknown, dataDir: string, uid: number | undefined): DataDirPermissionError | undefined {
  const code = (error as { code?: string }).code;
  if (code !== 'EACCES' && code !== 'EPERM') return undefined;
  return new DataDirPermissionError(`permission denied: this user (uid ${uid ?? '?'}) cannot use the data dir ${dataDir}; it belongs to another user (root's agent?): run the command as that user (sudo), or pass --data-dir with a dir of your own`, { cause: error });
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

function writers(mode: number): string {
  const group = (mode & 0o020) !== 0;
  const others = (mode & 0o002) !== 0;
  return group && others ? 'group and others' : group ? 'its group' : 'others';
}

function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}
