import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Compose files as public projects publish them (each in a directory with its .env, a SOURCE naming
// repository, commit and licence, and its convert.golden) are data this repository does not carry:
// they are read from $HW_PUBLISHED_CORPUS, else from `compose-corpus/` in the shared folder beside
// the checkout (../shared), where the team keeps third-party material.

/** The published corpus's directory, or undefined when this machine has none. */
export const PUBLISHED_CORPUS: string | undefined = [process.env.HW_PUBLISHED_CORPUS, fileURLToPath(new URL('../../../../shared/compose-corpus/', import.meta.url))].find(
  (path): path is string => path !== undefined && path !== '' && existsSync(path),
);

/** Why the published-corpus tests do not run here (a skip with its reason), or undefined when they do. */
export const NO_PUBLISHED_CORPUS: string | undefined =
  PUBLISHED_CORPUS === undefined ? 'no published compose corpus on this machine: set HW_PUBLISHED_CORPUS or put it in ../shared/compose-corpus (third-party files are not committed here)' : undefined;

/** Each published file: its directory name and the compose file its project gave (the first *.yml / *.yaml). */
export function publishedFiles(): { name: string; directory: string; file: string }[] {
  if (PUBLISHED_CORPUS === undefined) return [];
  const root = PUBLISHED_CORPUS;
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const directory = join(root, entry.name);
      return { name: entry.name, directory, file: join(directory, readdirSync(directory).find((file) => /\.ya?ml$/.test(file)) ?? 'compose.yaml') };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
