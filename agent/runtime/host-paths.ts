import { realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { RuntimeError, errorMessage } from '../../shared/errors.js';
import { withinAny } from '../core/host-policy.js';

// The host policy compares paths as text (agent/core/host-policy.ts); the engine follows symlinks
// when it mounts or the agent reads. So each path is resolved on this host right before its create.

/** A host path that resolves, through a symlink, outside the paths this host allows. */
export class HostPathEscapeError extends RuntimeError {
  override name = 'HostPathEscapeError';
}

/** One host path a create is about to use, what uses it, and the flag that allows its kind. */
export interface HostPathUse {
  readonly path: string;
  /** "bind mount", "volume device", "secret_file of env API_KEY". */
  readonly what: string;
  readonly allowed: readonly string[];
  readonly flag: string;
}

/**
 * The path with every symlink followed: its longest existing prefix resolved, the rest appended
 * (the engine creates a missing bind source as a directory there).
 */
export async function resolvedHostPath(path: string): Promise<string> {
  const absolute = resolve('/', path);
  let existing = absolute;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || existing === '/') throw error;
      rest.unshift(existing.slice(dirname(existing).length).replace(/^\//, ''));
      existing = dirname(existing);
    }
  }
}

/**
 * Throws HostPathEscapeError when a path resolves outside the allowed bases (themselves resolved:
 * an allowed path may be a symlink the operator made). A base of "/" allows everything: no lookup.
 */
export async function checkHostPaths(subject: string, uses: readonly HostPathUse[]): Promise<void> {
  for (const use of uses) {
    if (use.allowed.some((base) => resolve('/', base) === '/')) continue;
    let resolved: string;
    let bases: string[];
    try {
      resolved = await resolvedHostPath(use.path);
      bases = await Promise.all(use.allowed.map((base) => resolvedHostPath(base)));
    } catch (error) {
      throw new HostPathEscapeError(`${subject}: cannot resolve host path ${use.path} of its ${use.what} on this host (${errorMessage(error)}); nothing was created`, { cause: error });
    }
    if (!withinAny(resolved, bases)) {
      throw new HostPathEscapeError(`${subject}: host path ${use.path} of its ${use.what} resolves to ${resolved} through a symlink, outside what this host allows (${use.flag} ${use.allowed.join(', ') || '(none)'}); nothing was created`);
    }
  }
}
