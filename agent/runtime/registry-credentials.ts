import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { InvalidInputError, errorMessage } from '../../shared/errors.js';
import { dockerConfigFileSchema, type DockerConfigFile, type RegistryAuthConfig, type RegistryAuthEntry } from '../../shared/registry-credentials.js';
import { DOCKER_HUB, registryHostOf, registryHostOfAuthKey } from '../core/images.js';

// Registry credentials on the host, in Docker's config.json format. The file is read again for
// every pull, so a rotated password takes effect without a restart; its values leave this module
// only as the AuthConfig a pull hands the engine, never in a message, a log line or the journal.

/** How long a credential helper may take to answer. */
const HELPER_TIMEOUT_MS = 15_000;
const GROUP_OTHER_BITS = 0o077;

/** The credentials a pull of one image uses, and where they came from (safe to show: no secret in it). */
export interface RegistryAuthLookup {
  readonly registry: string;
  readonly auth: RegistryAuthConfig | undefined;
  /** e.g. `/etc/hostwright/registry-auth.json (auths."127.0.0.1:5000")`, or why there is none. */
  readonly source: string;
}

/** Where pulls get their credentials; the runtime asks once per pull. */
export interface RegistryAuthSource {
  lookup(image: string): Promise<RegistryAuthLookup>;
}

/** The credentials file an agent was configured with (`--registry-auth FILE`). */
export class RegistryCredentialsFile implements RegistryAuthSource {
  private constructor(readonly file: string) {}

  /**
   * Reads and checks the file once at start (a missing or malformed file is refused at once, with
   * its path); `warning` says when group or others may read it (it should be mode 0600).
   */
  static async open(file: string): Promise<{ credentials: RegistryCredentialsFile; warning: string | undefined }> {
    const credentials = new RegistryCredentialsFile(file);
    await credentials.#read();
    const info = await stat(file);
    const loose = process.getuid?.() !== undefined && (info.mode & GROUP_OTHER_BITS) !== 0;
    const warning = loose ? `registry credentials file ${file} is readable by others than its owner (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); run \`chmod 600 ${file}\`` : undefined;
    return { credentials, warning };
  }

  async lookup(image: string): Promise<RegistryAuthLookup> {
    const registry = registryHostOf(image);
    const config = await this.#read();
    const helper = config.credHelpers ? Object.entries(config.credHelpers).find(([key]) => registryHostOfAuthKey(key) === registry)?.[1] : undefined;
    if (helper !== undefined) return this.#fromHelper(registry, helper, `credHelpers."${registry}"`);
    const entry = Object.entries(config.auths ?? {}).find(([key]) => registryHostOfAuthKey(key) === registry);
    if (entry) {
      const [key, value] = entry;
      const source = `${this.file} (auths."${key}")`;
      const auth = authFromEntry(registry, value, source);
      // An entry without a secret (Docker writes `{}` when a credsStore holds it): the store answers.
      if (auth) return { registry, auth, source };
    }
    if (config.credsStore !== undefined) return this.#fromHelper(registry, config.credsStore, 'credsStore');
    return { registry, auth: undefined, source: `no entry for ${registry} in ${this.file}` };
  }

  async #fromHelper(registry: string, helper: string, key: string): Promise<RegistryAuthLookup> {
    const source = `${this.file} (${key}: docker-credential-${helper})`;
    const answer = await runCredentialHelper(helper, serverUrlOf(registry));
    if (!answer) return { registry, auth: undefined, source: `${source} has no credentials for ${registry}` };
    // A helper returns an identity token with the user name "<token>" (Docker's convention).
    const auth: RegistryAuthConfig = answer.username === '<token>' ? { serveraddress: registry, identitytoken: answer.secret } : { serveraddress: registry, username: answer.username, password: answer.secret };
    return { registry, auth, source };
  }

  async #read(): Promise<DockerConfigFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      throw new InvalidInputError(`registry credentials file ${this.file}: ${errorMessage(error)}`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      // JSON.parse's message quotes the text around the fault, which may be a password: say only where.
      const position = /position (\d+)/.exec(errorMessage(error))?.[1];
      throw new InvalidInputError(`registry credentials file ${this.file}: not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
    }
    const parsed = dockerConfigFileSchema.safeParse(json);
    if (!parsed.success) throw new InvalidInputError(`registry credentials file ${this.file}: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    return parsed.data;
  }
}

/** The AuthConfig an `auths` entry gives, or undefined when it holds no secret. */
function authFromEntry(registry: string, entry: RegistryAuthEntry, source: string): RegistryAuthConfig | undefined {
  if (entry.identitytoken) return { serveraddress: registry, identitytoken: entry.identitytoken };
  if (entry.registrytoken) return { serveraddress: registry, registrytoken: entry.registrytoken };
  if (entry.username !== undefined && entry.password !== undefined) return { serveraddress: registry, username: entry.username, password: entry.password };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new InvalidInputError(`${source}: "auth" is not base64 of "user:password"`);
    return { serveraddress: registry, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** What a credential helper is asked for: Docker Hub by its historical URL, any other registry by its host. */
function serverUrlOf(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin (the credential helper
 * protocol); undefined when it has none for that server. Its output never goes into an error.
 */
function runCredentialHelper(helper: string, serverUrl: string): Promise<{ username: string; secret: string } | undefined> {
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    const stdout: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.resume();
    child.on('error', (error) => reject(new InvalidInputError(`credential helper ${program}: ${errorMessage(error)}`, { cause: error })));
    child.on('close', (code) => {
      const output = Buffer.concat(stdout).toString('utf8');
      if (code !== 0) {
        // The protocol's answer for an unknown server, on stdout.
        if (/credentials not found/i.test(output)) resolve(undefined);
        else reject(new InvalidInputError(`credential helper ${program} get failed (exit code ${String(code)})`));
        return;
      }
      try {
        const answer = JSON.parse(output) as { Username?: unknown; Secret?: unknown };
        if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string') throw new Error('no Username and Secret');
        resolve({ username: answer.Username, secret: answer.Secret });
      } catch {
        reject(new InvalidInputError(`credential helper ${program} get answered something other than {"Username", "Secret"}`));
      }
    });
    child.stdin.end(serverUrl);
  });
}
