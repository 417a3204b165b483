import { realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { OutsideProjectError } from '../shared/errors.js';

/**
 * The real path of a file a compose file makes the coordinator read (env_file, `.env`), when it
 * lies inside the project directory, both with symlinks followed: a compose file from elsewhere
 * (a cloned repository, a symlink in it) must not put the coordinator's own files, its keys or
 * /proc/self/environ, into a container's environment. Throws OutsideProjectError otherwise, and
 * the file system's error (ENOENT, …) when the file cannot be resolved.
 */
export function insideProject(path: string, directory: string, what: string): string {
  const real = realpathSync(path);
  const root = realpathSync(directory);
  const below = relative(root, real);
  if (below !== '' && !below.startsWith('..') && !isAbsolute(below)) return real;
  const resolved = real === path ? '' : ` (it resolves to ${real})`;
  throw new OutsideProjectError(`${what} ${path}${resolved} is outside the project directory ${root}: a compose file may make the coordinator read only files inside its project. Move the file into ${root}, or pass --allow-outside-project to read it anyway`);
}
