import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostwrightError } from '../../shared/errors.js';

/** The page's files as the build writes them into dist/dashboard/, and their types. */
export const ASSETS = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
} as const;

/** The page is not built (or not where this module looks): the command says so and exits 2. */
export class DashboardAssetsMissingError extends HostwrightError {
  override readonly name = 'DashboardAssetsMissingError';
}

/**
 * The directory of the page's files: $HOSTWRIGHT_DASHBOARD_ASSETS when set, else the first
 * `dashboard/` holding index.html walking up from this module (dist/cli/ for the bundle,
 * dist/coordinator/dashboard/ for tsc's output: both find dist/dashboard/).
 */
export function findAssets(moduleUrl: string = import.meta.url, env: NodeJS.ProcessEnv = process.env): string {
  const given = env.HOSTWRIGHT_DASHBOARD_ASSETS;
  if (given !== undefined && given !== '') {
    if (!existsSync(join(given, 'index.html'))) throw new DashboardAssetsMissingError(`HOSTWRIGHT_DASHBOARD_ASSETS=${given} holds no index.html: point it at the dashboard's built files (dist/dashboard/ after \`npm run build\`), or unset it`);
    return given;
  }
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    const candidate = join(dir, 'dashboard');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dir === parse(dir).root) break;
    dir = dirname(dir);
  }
  throw new DashboardAssetsMissingError(`the dashboard's page is not built: no dashboard/index.html above ${dirname(fileURLToPath(moduleUrl))}; run \`npm run build\` (it writes dist/dashboard/), or set HOSTWRIGHT_DASHBOARD_ASSETS to a directory holding the built page`);
}

/** One of the page's files; undefined when the build left it out. */
export async function readAsset(dir: string, path: keyof typeof ASSETS): Promise<Buffer | undefined> {
  return readFile(join(dir, ASSETS[path].file)).catch(() => undefined);
}
