import { z } from 'zod';

/**
 * Docker's credentials file (`~/.docker/config.json`), the parts Hostwright reads: per registry
 * `auths` entries (`auth` = base64 "user:password", or username/password, or an identity token),
 * and credential helpers (`credsStore` for every registry, `credHelpers` per registry) run as
 * `docker-credential-<name> get`. Other keys of the file are left alone.
 */
export const registryAuthEntrySchema = z.looseObject({
  auth: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  identitytoken: z.string().optional(),
  registrytoken: z.string().optional(),
});
export type RegistryAuthEntry = z.infer<typeof registryAuthEntrySchema>;

export const dockerConfigFileSchema = z.looseObject({
  auths: z.record(z.string(), registryAuthEntrySchema).optional(),
  credsStore: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a helper name (docker-credential-<name>)').optional(),
  credHelpers: z.record(z.string(), z.string().regex(/^[A-Za-z0-9._-]+$/, 'a helper name (docker-credential-<name>)')).optional(),
});
export type DockerConfigFile = z.infer<typeof dockerConfigFileSchema>;

/** What a pull sends the engine as X-Registry-Auth (the Engine API's AuthConfig). */
export interface RegistryAuthConfig {
  readonly serveraddress: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  readonly registrytoken?: string;
}
