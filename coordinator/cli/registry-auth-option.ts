import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RegistryCredentialsFile } from '../../agent/runtime/registry-credentials.js';

/**
 * The registry credentials a host pulls with: `--registry-auth FILE`; in local mode, without the
 * flag, Docker's own file ($DOCKER_CONFIG/config.json or ~/.docker/config.json) when there is one.
 * A file others may read is used, with a warning.
 */
export async function registryAuthOf(file: string | undefined, mode: 'fleet' | 'local', logger: Logger): Promise<RegistryCredentialsFile | undefined> {
  const path = file ?? (mode === 'local' ? await dockerConfigFile() : undefined);
  if (path === undefined) return undefined;
  const { credentials, warning } = await RegistryCredentialsFile.open(path);
  if (warning) logger.warn({ registryAuth: path }, warning);
  return credentials;
}

async function dockerConfigFile(): Promise<string | undefined> {
  const path = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  return access(path).then(
    () => path,
    () => undefined,
  );
}
