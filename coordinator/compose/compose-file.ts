import { isAbsolute, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { InvalidInputError, OutsideProjectError } from '../../shared/errors.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { describeProblems, describeSchemaIssues, parseYamlSource, validateFleet, type Place, type YamlSource } from '../fleet-file.js';
import { defineEntry, FormContext, isMapping, type FormProblem, type Path } from '../service-forms.js';
import { castTypes } from './cast-types.js';
import { COMPOSE_DEPLOY_KEYS, COMPOSE_SERVICE_KEYS, COMPOSE_TOP_KEYS } from './compose-keys.js';
import { resolveExtends } from './compose-extends.js';
import { resolveIncludes } from './compose-include.js';
import { mappingForms, mergeComposeFiles } from './compose-merge.js';
import { resolveMergeKeys } from './merge-keys.js';
import type { ComposeSchemaCheck } from './compose-schema.js';
import { translateCompose, type LeftOut, type RolloutDefaults } from './compose-translate.js';
import { extractFileSecrets } from './compose-secrets.js';
import { interpolateString, interpolateTree, type Lookup } from './interpolate.js';
import { projectNameOf } from './project-name.js';

/** A `.env` text as compose reads it (loaded with this module, for compose files only). */
export { parseDotenv };

// Reading compose files into the model: parse each file (with the fleet file's bounds), interpolate
// it, check it against the Compose Specification's schema, merge the files in order, read env_file,
// translate into the model and validate that. Every problem names its file, line and path.

export interface ComposeText {
  /** The file's name in messages (its path as given). */
  readonly name: string;
  readonly text: string;
}

export interface ComposeReadOptions {
  /** The directory of the first file: the project's, where `.env` and relative paths are found. */
  readonly directory: string;
  readonly projectName?: string | undefined;
  readonly profiles?: readonly string[];
  readonly ignoreUnsupported?: readonly string[];
  /** The shell's environment (it wins over `.env`, as with compose). */
  readonly environment: Readonly<Record<string, string | undefined>>;
  /** The text of `.env` beside the first file, when there is one. */
  readonly dotenv?: ComposeText | undefined;
  /** Reads an env_file or a file `extends:` names (an absolute path); throws when it cannot, OutsideProjectError when it may not. */
  readonly readEnvFile: (path: string) => string;
  /** Reads a secret's or config's `file:` (an absolute path), bounded as readEnvFile is. */
  readonly readSecretFile?: (path: string) => string;
  readonly schemaCheck: ComposeSchemaCheck;
}

export interface ComposeWorkload {
  readonly fleet: FleetFile;
  readonly rollout: RolloutDefaults;
  /** What the user should hear about without it stopping the read (unset variables, keys left out). */
  readonly warnings: readonly string[];
}

/** COMPOSE_PROFILES: comma-separated, as compose reads it; --profile wins when given. */
function profilesOf(given: readonly string[], lookup: Lookup): readonly string[] {
  if (given.length > 0) return given;
  return (lookup('COMPOSE_PROFILES') ?? '').split(',').map((profile) => profile.trim()).filter((profile) => profile !== '');
}

/** Reads compose files (in merge order) into the model; throws one InvalidInputError listing every problem. */
export function parseComposeFiles(files: readonly ComposeText[], options: ComposeReadOptions): ComposeWorkload {
  const sources = files.map((file) => parseYamlSource(file.text, file.name, 'compose file'));
  for (const source of sources) {
    // compose's !reset and !override change how files merge: read as plain values they would merge wrongly.
    const tags = source.unknownTags.slice(0, 10).map(({ offset, tag }) => `${source.at(offset)}: the YAML tag ${tag} is not supported${tag === '!reset' || tag === '!override' ? ' (compose\'s merge tags): write the merged value out in the last file instead' : ''}`);
    if (tags.length > 0) throw new InvalidInputError(tags.join('\n'));
    if (source.value !== null && source.value !== undefined && !isMapping(source.value)) throw new InvalidInputError(`${source.at(0)}: a compose file is a mapping with services: (and name:, networks:, volumes:)`);
  }
  const dotenvValues = options.dotenv === undefined ? {} : readDotenv(options.dotenv, options.environment);
  const lookup: Lookup = (name) => (Object.hasOwn(options.environment, name) && options.environment[name] !== undefined ? options.environment[name] : Object.hasOwn(dotenvValues, name) ? dotenvValues[name] : undefined);
  const warnings = new Set<string>();

  // Interpolated, checked against the schema and normalised file by file: each problem is in one file.
  const perFile: Record<string, unknown>[] = [];
  const included: YamlSource[] = [];
  for (const source of sources) {
    const file = readSource(source, options, lookup, warnings);
    perFile.push(readWithIncludes(file, source, options.directory, lookup, { options, warnings, included }, [resolve(options.directory, source.name)]));
  }
  // Included files' lines are found after the given files': a problem in an included service is placed in its file.
  sources.push(...included);
  const merged = perFile.reduce((base, next) => mergeComposeFiles(base, next), {});
  if (!isMapping(merged.services)) fail([{ path: [], message: 'services: required (a compose file declares its services)' }], (path, key) => placeIn(sources, path, key));

  // COMPOSE_PROJECT_NAME (the shell's or .env's) stands where --project-name is not given.
  const project = projectNameOf({ fromFile: merged.name, fromFlag: options.projectName ?? lookup('COMPOSE_PROJECT_NAME'), directory: options.directory });
  const context = new FormContext();
  const place = (path: Path, key?: string): Place => {
    const origin = context.sourcePathOf(path, key);
    return placeIn(sources, origin.path, origin.key);
  };
  // Secrets and configs are read here, their values kept out of everything the translation reports.
  const fileSecrets = extractFileSecrets(merged, { directory: options.directory, lookup, readFile: options.readSecretFile ?? options.readEnvFile, ignore: new Set(options.ignoreUnsupported ?? []) });
  const translated = translateCompose(
    fileSecrets.compose,
    { projectName: project.name, directory: options.directory, profiles: profilesOf(options.profiles ?? [], lookup), ignoreUnsupported: new Set(options.ignoreUnsupported ?? []), lookup },
    context,
  );
  fail([...context.problems, ...fileSecrets.problems], place);
  const translatedServices = isMapping(translated.fleet.services) ? translated.fleet.services : {};
  for (const [name, files] of fileSecrets.services) {
    const service = translatedServices[name];
    if (isMapping(service)) service.secrets = files;
  }
  const leftOut = [...fileSecrets.leftOut, ...translated.leftOut];
  for (const left of leftOut) {
    const where = place(left.path.slice(0, -1), String(left.path.at(-1))).at;
    warnings.add(`${where} ${left.path.join('.')}: ${left.option === undefined ? left.why : `left out (--ignore-unsupported ${left.option})`}`);
  }
  const result = validateFleet(translated.fleet);
  if (!result.success) {
    const projectHint = project.from === 'directory' && result.error.issues.some((issue) => issue.path[0] === 'project') ? `\n(the project name comes from the directory ${options.directory}: set name: in the file, or pass --project-name)` : '';
    throw new InvalidInputError(describeSchemaIssues(result.error.issues, translated.fleet, place) + projectHint);
  }
  // Checked last, so that a file's own problems are said first.
  const unused = unusedIgnores(options.ignoreUnsupported ?? [], leftOut);
  if (unused.length > 0) throw new InvalidInputError(unused.map((line) => `${files[0]?.name ?? '(no file)'}: ${line}`).join('\n'));
  return { fleet: result.data, rollout: translated.rollout, warnings: [...warnings] };
}

interface ReadState {
  readonly options: ComposeReadOptions;
  readonly warnings: Set<string>;
  readonly included: YamlSource[];
}

/** A file read (as readSource gives it) with its includes joined and its extends resolved, in its own directory. */
function readWithIncludes(file: Record<string, unknown>, source: YamlSource, directory: string, lookup: Lookup, state: ReadState, chain: readonly string[]): Record<string, unknown> {
  const { options, warnings } = state;
  const withIncludes = resolveIncludes(file, source, directory, {
    readFile: options.readEnvFile,
    readDotenv: (name, text) => readDotenv({ name, text }, options.environment),
    // The including project's variables win; the included file's env_file (or .env) adds the others, as compose v2 reads them.
    read: (other, otherDirectory, variables, otherChain) => {
      const otherLookup: Lookup = (name) => lookup(name) ?? (Object.hasOwn(variables, name) ? variables[name] : undefined);
      return readWithIncludes(readSource(other, { ...options, directory: otherDirectory }, otherLookup, warnings), other, otherDirectory, otherLookup, state, otherChain);
    },
    sources: state.included,
  }, chain);
  const read = (other: YamlSource, otherDirectory: string): Record<string, unknown> => readSource(other, { ...options, directory: otherDirectory }, lookup, warnings);
  return resolveExtends(withIncludes, source, directory, { readFile: options.readEnvFile, read });
}

/** One file parsed, merge keys resolved, interpolated, cast, checked against the schema and in mapping forms. */
function readSource(source: YamlSource, options: ComposeReadOptions, lookup: Lookup, warnings: Set<string>): Record<string, unknown> {
  const merged = resolveMergeKeys(source.value ?? {});
  fail(merged.problems, (path, key) => placeIn([source], path, key));
  const interpolated = interpolateTree(merged.value, lookup);
  fail(interpolated.problems, (path, key) => placeIn([source], path, key));
  for (const name of interpolated.unset) warnings.add(`${source.name}: the variable ${name} is not set; it stands for an empty string`);
  // As compose says it: the key is read and has no effect.
  if (isMapping(source.value) && Object.hasOwn(source.value, 'version')) warnings.add(`${source.name}: version is obsolete and has no effect; remove it`);
  const cast = castTypes(interpolated.value);
  fail(options.schemaCheck(cast), (path, key) => placeIn([source], path, key));
  return withMappingForms(cast as Record<string, unknown>, source, options, lookup);
}

/** Names given to --ignore-unsupported that are no compose key, or that no part of the file left out. */
function unusedIgnores(names: readonly string[], leftOut: readonly LeftOut[]): string[] {
  const used = new Set(leftOut.flatMap((left) => (left.option === undefined ? [] : [left.option])));
  const problems: string[] = [];
  for (const name of names) {
    if (used.has(name)) continue;
    const known = Object.hasOwn(COMPOSE_TOP_KEYS, name) || Object.hasOwn(COMPOSE_SERVICE_KEYS, name) || (name.startsWith('deploy.') && (Object.hasOwn(COMPOSE_DEPLOY_KEYS, name.slice('deploy.'.length)) || /^deploy\.(resources|restart_policy|placement)\./.test(name)));
    problems.push(known ? `--ignore-unsupported ${name}: the files use no ${name} to leave out; remove it from the list` : `--ignore-unsupported ${name}: not a compose key (give keys as a refusal names them: build, secrets, deploy.labels …)`);
  }
  return problems;
}

function fail(problems: readonly FormProblem[], place: (path: Path, key?: string) => Place): void {
  if (problems.length > 0) throw new InvalidInputError(describeProblems(problems, place));
}

/**
 * The place of a path in the files: the last file that has it (an override's line), else the
 * file with the longest part of it (the closest parent that exists).
 */
export function placeIn(sources: readonly YamlSource[], path: Path, key?: string): Place {
  let best: { source: YamlSource; depth: number } | undefined;
  for (const source of sources) {
    let depth = 0;
    while (depth < path.length && source.has(path.slice(0, depth + 1))) depth += 1;
    if (depth === path.length && key !== undefined && source.has([...path, key])) depth += 1;
    if (best === undefined || depth >= best.depth) best = { source, depth };
  }
  const source = best?.source ?? sources[0];
  if (source === undefined) return { at: '(no file)', order: 0 };
  const offset = source.offsetOf(path, key);
  return { at: source.at(offset), order: sources.indexOf(source) * 1e9 + offset };
}

/** `.env` as compose reads it: KEY=VALUE lines, values may use earlier variables and the shell's; a single-quoted value is literal. */
function readDotenv(file: ComposeText, environment: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const parsed = parseDotenv(file.text);
  const literal = singleQuotedNames(file.text);
  const values: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed)) {
    try {
      const value = literal.has(name) ? raw : interpolateString(raw, (variable) => environment[variable] ?? (Object.hasOwn(values, variable) ? values[variable] : undefined));
      defineEntry(values, name, value);
    } catch (error) {
      throw new InvalidInputError(`${file.name}: ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return values;
}

/** A file's services with list-form mappings made mappings and env_file read into environment. */
function withMappingForms(file: Record<string, unknown>, source: YamlSource, options: ComposeReadOptions, lookup: Lookup): Record<string, unknown> {
  if (!isMapping(file.services)) return file;
  const services: Record<string, unknown> = {};
  for (const [name, service] of Object.entries(file.services)) {
    if (!isMapping(service)) {
      defineEntry(services, name, service);
      continue;
    }
    const forms = mappingForms(service);
    if (forms.env_file !== undefined) {
      const fromFiles = readEnvFiles(forms.env_file, ['services', name, 'env_file'], source, options, lookup);
      const environment = isMapping(forms.environment) ? forms.environment : {};
      // environment: wins over env_file, as with compose.
      forms.environment = { ...fromFiles, ...environment };
      delete forms.env_file;
    }
    defineEntry(services, name, forms);
  }
  return { ...file, services };
}

function readEnvFiles(value: unknown, at: Path, source: YamlSource, options: ComposeReadOptions, lookup: Lookup): Record<string, string> {
  const entries: { path: string; required: boolean; index: number | undefined }[] = [];
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  for (const [index, entry] of list.entries()) {
    const listIndex = typeof value === 'string' ? undefined : index;
    if (typeof entry === 'string') entries.push({ path: entry, required: true, index: listIndex });
    else if (isMapping(entry) && typeof entry.path === 'string') entries.push({ path: entry.path, required: entry.required !== false, index: listIndex });
  }
  const values: Record<string, string> = {};
  for (const entry of entries) {
    const path = isAbsolute(entry.path) ? entry.path : resolve(options.directory, entry.path);
    const where = placeIn([source], entry.index === undefined ? at : [...at, entry.index]).at;
    let text: string;
    try {
      text = options.readEnvFile(path);
    } catch (error) {
      // Outside the project: refused even when the file may be missing, or the bound would pass unnoticed.
      if (error instanceof OutsideProjectError) throw new InvalidInputError(`${where} ${at.join('.')}: ${error.message}`, { cause: error });
      if (!entry.required) continue;
      throw new InvalidInputError(`${where} ${at.join('.')}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)} (mark it {path: …, required: false} if it may be missing)`);
    }
    const literal = singleQuotedNames(text);
    for (const [name, raw] of Object.entries(parseDotenv(text))) {
      try {
        defineEntry(values, name, literal.has(name) ? raw : interpolateString(raw, (variable) => (Object.hasOwn(values, variable) ? values[variable] : lookup(variable))));
      } catch (error) {
        throw new InvalidInputError(`${where} ${path}: ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  return values;
}

/** Names whose value is written in single quotes (`LIT='$OTHER'`): compose takes those literally. The last assignment decides. */
function singleQuotedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([\w.-]+)\s*[=:]\s*(['"`]?)/.exec(line);
    if (!match) continue;
    if (match[2] === "'") names.add(match[1] as string);
    else names.delete(match[1] as string);
  }
  return names;
}
