import { readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidInputError, errorMessage } from '../shared/errors.js';
import type { FleetFile } from '../shared/fleet-spec.js';
import { MAX_FLEET_FILE_BYTES } from '../shared/limits.js';
import { readBounded } from '../shared/read-bounded.js';
import type { ComposeText } from './compose/compose-file.js';
import type { RolloutDefaults } from './compose/compose-translate.js';
import { parseFleetFile } from './fleet-file.js';
import { insideProject } from './project-bound.js';
import { isMap, isScalar, parseDocument } from 'yaml';

// The one entry for `-f`: a native fleet file, or one or more Compose Specification files (or a
// directory holding compose.yaml), told apart by their shape, read into the same model.

/** What `-f` and the flags that go with it say. */
export interface WorkloadSource {
  readonly files: readonly string[];
  readonly projectName?: string | undefined;
  readonly profiles?: readonly string[] | undefined;
  readonly ignoreUnsupported?: readonly string[] | undefined;
  /** Lets env_file and `.env` be read from outside the project directory (coordinator/project-bound.ts). */
  readonly allowOutsideProject?: boolean | undefined;
}

export interface Workload {
  readonly kind: 'fleet' | 'compose';
  readonly fleet: FleetFile;
  /** Rollout defaults the file gives (compose: deploy.update_config and x-hostwright.rollout). */
  readonly rollout: RolloutDefaults;
  readonly warnings: readonly string[];
  /** The files read, in order (a directory resolved to its compose files; `.env` included). */
  readonly files: readonly string[];
}

/** compose's file names in a directory, in its order of preference. */
export const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'] as const;

export async function loadWorkload(source: WorkloadSource, environment: Readonly<Record<string, string | undefined>> = process.env): Promise<Workload> {
  if (source.files.length === 0) throw new InvalidInputError('pass -f with a fleet file, a compose file or a directory holding compose.yaml');
  const paths: string[] = [];
  const composeFile = source.files.length === 1 ? await composeFileVariable(source.files[0] as string, environment, source.allowOutsideProject === true) : undefined;
  if (composeFile !== undefined) paths.push(...composeFile);
  else for (const file of source.files) paths.push(...(await expandDirectory(file)));
  const texts: ComposeText[] = [];
  for (const path of paths) texts.push({ name: path, text: await readText(path) });
  const first = texts[0] as ComposeText;
  const fleetFiles = texts.length > 1 ? texts.filter((file) => looksLikeFleetFile(file.text)) : [];
  if (fleetFiles.length > 0) throw new InvalidInputError(`${fleetFiles.map((file) => file.name).join(', ')}: a fleet file (project:) is given alone; several -f merge compose files`);
  const isCompose = texts.length > 1 || looksLikeCompose(first.text);
  if (!isCompose) {
    if (source.profiles !== undefined && source.profiles.length > 0) throw new InvalidInputError(`--profile is for compose files; ${first.name} is a fleet file`);
    return { kind: 'fleet', fleet: parseFleetFile(first.text, first.name), rollout: {}, warnings: [], files: paths };
  }
  const directory = dirname(resolve(paths[0] as string));
  const dotenvPath = join(directory, '.env');
  const bound = source.allowOutsideProject === true ? undefined : directory;
  const dotenv = await readOptional(dotenvPath, bound);
  // Loaded for compose files only: a fleet file's command does not load ajv and the compose schema.
  const [{ parseComposeFiles }, { composeSchemaCheck }] = await Promise.all([import('./compose/compose-file.js'), import('./compose/compose-schema.js')]);
  const workload = parseComposeFiles(texts, {
    directory,
    projectName: source.projectName,
    profiles: source.profiles ?? [],
    ignoreUnsupported: source.ignoreUnsupported ?? [],
    environment,
    dotenv: dotenv === undefined ? undefined : { name: dotenvPath, text: dotenv },
    readEnvFile: (path) => readEnvFileSync(path, bound),
    readSecretFile: (path) => readEnvFileSync(path, bound, 'secret or config file'),
    schemaCheck: composeSchemaCheck(),
  });
  return { kind: 'compose', ...workload, files: dotenv === undefined ? paths : [...paths, dotenvPath] };
}

/** A fleet file declares `project:`; a compose file has `services:` without it, or `name:` or `x-hostwright`. */
export function looksLikeCompose(text: string): boolean {
  const keys = topLevelKeysOf(text);
  if (keys === undefined || keys.has('project')) return false;
  return keys.has('services') || keys.has('name') || keys.has('x-hostwright');
}

function looksLikeFleetFile(text: string): boolean {
  return topLevelKeysOf(text)?.has('project') === true;
}

/**
 * The document's top-level keys, read from the syntax tree: no value is built, so no number of
 * aliases (Sentry's file has 145) can make a compose file look like something else. A broken file
 * is left for its reader to describe.
 */
function topLevelKeysOf(text: string): Set<string> | undefined {
  try {
    const document = parseDocument(text, { uniqueKeys: false, logLevel: 'silent' });
    if (!isMap(document.contents)) return undefined;
    return new Set(document.contents.items.flatMap((pair) => (isScalar(pair.key) ? [String(pair.key.value)] : [])));
  } catch {
    return undefined;
  }
}

/**
 * COMPOSE_FILE (the shell's, else the directory's `.env`), when -f names a directory: its files,
 * separated by COMPOSE_PATH_SEPARATOR (":" by default), relative to that directory, as compose reads them.
 */
async function composeFileVariable(path: string, environment: Readonly<Record<string, string | undefined>>, allowOutsideProject: boolean): Promise<string[] | undefined> {
  if (!(await isDirectory(path))) return undefined;
  const dotenvText = await readOptional(join(path, '.env'), allowOutsideProject ? undefined : resolve(path));
  // Loaded only when there is a .env: a fleet file's command does not load dotenv.
  const dotenv = dotenvText === undefined ? {} : (await import('./compose/compose-file.js')).parseDotenv(dotenvText);
  const variable = (name: string): string | undefined => environment[name] ?? dotenv[name];
  const value = variable('COMPOSE_FILE');
  if (value === undefined || value.trim() === '') return undefined;
  const separator = variable('COMPOSE_PATH_SEPARATOR') || ':';
  return value.split(separator).filter((file) => file !== '').map((file) => resolve(path, file));
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A directory's compose file (the first of compose's names), with its override file when there is one. */
async function expandDirectory(path: string): Promise<string[]> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch {
    return [path];
  }
  if (!isDirectory) return [path];
  for (const name of COMPOSE_FILE_NAMES) {
    const candidate = join(path, name);
    if (!(await isFile(candidate))) continue;
    const override = join(path, name.replace(/\.(ya?ml)$/, '.override.$1'));
    return (await isFile(override)) ? [candidate, override] : [candidate];
  }
  throw new InvalidInputError(`${path} is a directory without a compose file (looked for ${COMPOSE_FILE_NAMES.join(', ')}); pass the fleet or compose file itself`);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  let read: Awaited<ReturnType<typeof readBounded>>;
  try {
    read = await readBounded(path, MAX_FLEET_FILE_BYTES);
  } catch (cause) {
    const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
    const what = code === 'ENOENT' || code === 'ENOTDIR' ? `fleet file not found: ${path}` : code === 'EACCES' || code === 'EPERM' ? `cannot read ${path}: permission denied` : `cannot read ${path}: ${errorMessage(cause)}`;
    throw new InvalidInputError(what, { cause });
  }
  if ('tooLarge' in read) throw new InvalidInputError(`${path} is too large: a fleet or compose file may hold at most ${MAX_FLEET_FILE_BYTES / (1024 * 1024)} MiB (${MAX_FLEET_FILE_BYTES} bytes)`);
  return read.text;
}

/** A file beside the compose files, when there is one; inside the project directory unless bound is undefined. */
async function readOptional(path: string, bound: string | undefined): Promise<string | undefined> {
  if (!(await isFile(path))) return undefined;
  return readText(bound === undefined ? path : insideProject(path, bound, 'the .env file'));
}

/** env_file is read while the files are translated: bounded like the files themselves, and to the project directory unless bound is undefined. */
function readEnvFileSync(path: string, bound: string | undefined, what = 'env_file'): string {
  const real = bound === undefined ? path : insideProject(path, bound, what);
  const size = statSync(real).size;
  if (size > MAX_FLEET_FILE_BYTES) throw new Error(`larger than ${MAX_FLEET_FILE_BYTES} bytes`);
  return readFileSync(real, 'utf8');
}

/** The names a file watcher should react to for these files (the files and a `.env` beside them). */
export function watchedNames(files: readonly string[]): Set<string> {
  const composeNames = COMPOSE_FILE_NAMES.flatMap((name) => [name, name.replace(/\.(ya?ml)$/, '.override.$1')]);
  return new Set([...files.map((file) => basename(file)), ...composeNames, '.env']);
}
