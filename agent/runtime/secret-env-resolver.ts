import { RuntimeError, errorMessage } from '../../shared/errors.js';
import { MAX_ARG_LENGTH } from '../../shared/limits.js';
import { readBounded } from '../../shared/read-bounded.js';
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
      let read: Awaited<ReturnType<typeof readBounded>>;
      try {
        // A value longer than Linux takes for one variable is useless, and a device would never end.
        read = await readBounded(value.secret_file, SECRET_FILE_BYTES);
      } catch (error) {
        throw new RuntimeError(`env ${name}: cannot read secret file ${value.secret_file} on this host (${errorMessage(error)})`, { cause: error });
      }
      const text = 'tooLarge' in read ? undefined : read.text.replace(/\r?\n$/, '');
      if (text === undefined || Buffer.byteLength(text) > MAX_ARG_LENGTH) throw new RuntimeError(`env ${name}: secret file ${value.secret_file} on this host holds more than ${MAX_ARG_LENGTH} bytes, the most an env value may have`);
      resolved[name] = text;
    }
  }
  return resolved;
}

/** The value, plus the line end that `echo` leaves. */
const SECRET_FILE_BYTES = MAX_ARG_LENGTH + 2;

/** The values of an env's secrets (inline, and the files this host can read now), to mask them where output shows them. */
export async function secretEnvValues(env: Readonly<Record<string, EnvValue>>): Promise<string[]> {
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string' || isMaskedSecret(value)) continue;
    // A file this host cannot read now leaves no value to mask by.
    const resolved = await resolveEnv({ [name]: value }).catch(() => ({}) as Record<string, string>);
    const secret = resolved[name];
    if (secret !== undefined) values.push(secret);
  }
  return values;
}
