import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describeProblems, parseYamlSource, type YamlSource } from '../fleet-file.js';
import { InvalidInputError } from '../../shared/errors.js';
import { defineEntry, isMapping } from '../service-forms.js';
import { rebased } from './compose-extends.js';
import { mergeComposeFiles } from './compose-merge.js';

// `include:` as the Compose Specification defines it, resolved when a file is read: each included
// file is read as a project of its own (its directory, its own `.env` for interpolation, its own
// includes), then its services, networks, volumes, secrets and configs join the including file's,
// whose own definition of a name merges onto the included one as an override file's does. A name
// two included files define is refused naming both files; an include cycle is refused naming it.

/** The resources an included file brings; a name may come from one file only. */
const INCLUDED_SECTIONS = ['services', 'networks', 'volumes', 'secrets', 'configs'] as const;
/** Includes nest at most this deep. */
const MAX_INCLUDE_DEPTH = 8;

export interface IncludeIo {
  /** Reads a file (an absolute path); throws when it cannot, or may not (outside the project). */
  readonly readFile: (path: string) => string;
  /** Reads `.env`-style text into variables, interpolated as compose does. */
  readonly readDotenv: (name: string, text: string) => Record<string, string>;
  /** Reads a parsed included file as the reader reads any, in its own directory and with its own variables, its own includes resolved (`chain` for them). */
  readonly read: (source: YamlSource, directory: string, variables: Readonly<Record<string, string>>, chain: readonly string[]) => Record<string, unknown>;
  /** Every included file read, for placing later problems at their lines. */
  readonly sources: YamlSource[];
}

/** The file with its `include:` entries read and joined; `chain` holds the absolute paths of the including files. */
export function resolveIncludes(file: Record<string, unknown>, source: YamlSource, directory: string, io: IncludeIo, chain: readonly string[]): Record<string, unknown> {
  if (file.include === undefined) return file;
  const { include, ...own } = file;
  const problem = (at: (string | number)[], message: string): never => {
    throw new InvalidInputError(describeProblems([{ path: ['include', ...at], message }], (path, key) => ({ at: source.at(source.offsetOf(path, key)), order: source.offsetOf(path, key) })));
  };
  if (!Array.isArray(include)) return problem([], 'expected a list of paths, or of {path, project_directory, env_file}');
  /** Which included file each name came from. */
  const origins = new Map<string, string>();
  const joined: Record<string, unknown> = {};
  for (const [index, entry] of include.entries()) {
    const spec = typeof entry === 'string' ? { path: entry } : isMapping(entry) ? entry : undefined;
    if (spec === undefined) return problem([index], 'expected a path, or {path, project_directory, env_file}');
    const paths = typeof spec.path === 'string' ? [spec.path] : Array.isArray(spec.path) && spec.path.every((path) => typeof path === 'string') ? (spec.path as string[]) : undefined;
    if (paths === undefined || paths.length === 0) return problem([index], 'path: expected a file, or a list of files merged in order');
    const files = paths.map((path) => (isAbsolute(path) ? path : resolve(directory, path)));
    const projectDirectory = typeof spec.project_directory === 'string' ? resolve(directory, spec.project_directory) : dirname(files[0] as string);
    const envFiles = spec.env_file === undefined ? [] : typeof spec.env_file === 'string' ? [spec.env_file] : Array.isArray(spec.env_file) ? spec.env_file.filter((path): path is string => typeof path === 'string') : [];
    const variables = readVariables(envFiles.map((path) => resolve(directory, path)), join(projectDirectory, '.env'), io, (message) => problem([index], message));
    let included: Record<string, unknown> = {};
    for (const path of files) {
      if (chain.includes(path)) problem([index], `include forms a cycle: ${[...chain, path].join(' → ')}`);
      if (chain.length >= MAX_INCLUDE_DEPTH) problem([index], `includes nest more than ${MAX_INCLUDE_DEPTH} deep`);
      let text: string;
      try {
        text = io.readFile(path);
      } catch (error) {
        return problem([index], `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const other = parseYamlSource(text, path, 'compose file');
      io.sources.push(other);
      const read = io.read(other, projectDirectory, variables, [...chain, path]);
      // Several paths in one entry merge as several -f do.
      included = mergeComposeFiles(included, rebasedFile(read, projectDirectory));
    }
    for (const section of INCLUDED_SECTIONS) {
      const entries = included[section];
      if (!isMapping(entries)) continue;
      const target: Record<string, unknown> = isMapping(joined[section]) ? { ...joined[section] } : {};
      for (const [name, value] of Object.entries(entries)) {
        const key = `${section}\u0000${name}`;
        const first = origins.get(key);
        if (first !== undefined) problem([index], `${section === 'services' ? 'service' : section.slice(0, -1)} ${name} is defined in both ${first} and ${files.join(', ')}: rename one, or include the file without it (the including file may change it: its own ${name} merges onto the included one)`);
        origins.set(key, files.join(', '));
        defineEntry(target, name, value);
      }
      joined[section] = target;
    }
  }
  // The including file's own definitions merge onto the included ones, as an override file's do (wger's
  // compose.yaml adds shm_size and logging to the db its services/postgres.yaml includes).
  return mergeComposeFiles(joined, own);
}

/** The included project's variables: its env_file entries in order (later wins), else its directory's `.env` when there is one. */
function readVariables(envFiles: readonly string[], defaultDotenv: string, io: IncludeIo, problem: (message: string) => never): Record<string, string> {
  if (envFiles.length === 0) {
    let text: string;
    try {
      text = io.readFile(defaultDotenv);
    } catch {
      return {};
    }
    return io.readDotenv(defaultDotenv, text);
  }
  const variables: Record<string, string> = {};
  for (const path of envFiles) {
    let text: string;
    try {
      text = io.readFile(path);
    } catch (error) {
      return problem(`env_file: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    Object.assign(variables, io.readDotenv(path, text));
  }
  return variables;
}

/** An included file's relative host paths (bind mounts, secret and config files) made absolute in its project directory. */
function rebasedFile(file: Record<string, unknown>, directory: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...file };
  if (isMapping(file.services)) {
    const services: Record<string, unknown> = {};
    for (const [name, service] of Object.entries(file.services)) defineEntry(services, name, rebased(service, directory));
    out.services = services;
  }
  for (const section of ['secrets', 'configs'] as const) {
    const entries = file[section];
    if (!isMapping(entries)) continue;
    const rebasedEntries: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(entries)) defineEntry(rebasedEntries, name, isMapping(entry) && typeof entry.file === 'string' && !isAbsolute(entry.file) ? { ...entry, file: resolve(directory, entry.file) } : entry);
    out[section] = rebasedEntries;
  }
  return out;
}
