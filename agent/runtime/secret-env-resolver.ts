import { readFile } from 'node:fs/promises';
import { RuntimeError, errorMessage } from '../../shared/errors.js';
import { isInlineSecret, isMaskedSecret, type EnvValue } from '../../shared/secret-env.js';

/**
 * The env a container is created with: inline secrets by value, secret files read from this host
 * right now (one trailing newline dropped, as `echo` leaves one). Errors name the variable and the
 * path, never a value.
 */
export async function resolveEnv(env: Readonly<Record<string, EnvValue>>): Promise<Record<string, string>> {
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') resolved[name] = value;
    else if (isInlineSecret(value)) resolved[name] = value.secret;
    else if (isMaskedSecret(value)) throw new RuntimeError(`env ${name} holds a masked secret (a digest from a plan or a display), not a value; apply the fleet file itself`);
    else {
      try {
        resolved[name] = (await readFile(value.secret_file, 'utf8')).replace(/\r?\n$/, '');
      } catch (error) {
        throw new RuntimeError(`env ${name}: cannot read secret file ${value.secret_file} on this host (${errorMessage(error)})`, { cause: error });
      }
    }
  }
  return resolved;
}
