import { isAbsolute, resolve } from 'node:path';
import { OutsideProjectError, errorMessage } from '../../shared/errors.js';
import { MAX_FILE_SECRET_BYTES, type FileSecret } from '../../shared/file-secrets.js';
import { isMapping, type FormProblem, type Path } from '../service-forms.js';
import type { Lookup } from './interpolate.js';
import type { LeftOut } from './compose-translate.js';

// Compose's `secrets:` and `configs:` as compose defines them: the top-level definitions (file:,
// environment:, and for configs content:) read on the coordinator, and each service's references
// (short: the name; long: source, target, uid, gid, mode) made the model's secret files.

export interface FileSecretSources {
  /** The project directory: relative `file:` paths start there. */
  readonly directory: string;
  readonly lookup: Lookup;
  /** Reads a `file:` (an absolute path); throws when it cannot, OutsideProjectError when it may not. */
  readonly readFile: (path: string) => string;
  /** --ignore-unsupported: `secrets` or `configs` named there are left out, unread. */
  readonly ignore?: ReadonlySet<string>;
}

export interface ExtractedFileSecrets {
  /** The compose model without secrets:/configs: (top level and services), for the translation. */
  readonly compose: Record<string, unknown>;
  /** Each service's secret files, in the order it lists them (secrets, then configs). */
  readonly services: ReadonlyMap<string, FileSecret[]>;
  readonly problems: readonly FormProblem[];
  /** What --ignore-unsupported secrets / configs left out, each at its path. */
  readonly leftOut: readonly LeftOut[];
}

type Kind = FileSecret['kind'];
const TOP_KEY: Record<Kind, 'secrets' | 'configs'> = { secret: 'secrets', config: 'configs' };

/** Takes secrets and configs out of a merged compose model, their values read. */
export function extractFileSecrets(compose: Readonly<Record<string, unknown>>, sources: FileSecretSources): ExtractedFileSecrets {
  const problems: FormProblem[] = [];
  const leftOut: LeftOut[] = [];
  const contents = new Map<string, string>();
  const contentOf = (kind: Kind, name: string): string | undefined => {
    const key = `${kind}\u0000${name}`;
    if (!contents.has(key)) {
      const content = readDefinition(kind, name, compose, sources, problems);
      if (content !== undefined) contents.set(key, content);
    }
    return contents.get(key);
  };
  const services = new Map<string, FileSecret[]>();
  const servicesOut: Record<string, unknown> = {};
  for (const [serviceName, service] of Object.entries(isMapping(compose.services) ? compose.services : {})) {
    if (!isMapping(service)) {
      servicesOut[serviceName] = service;
      continue;
    }
    const { secrets, configs, ...rest } = service;
    servicesOut[serviceName] = rest;
    const files: FileSecret[] = [];
    for (const [kind, list] of [['secret', secrets], ['config', configs]] as const) {
      if (list === undefined) continue;
      const at: Path = ['services', serviceName, TOP_KEY[kind]];
      if (sources.ignore?.has(TOP_KEY[kind])) {
        leftOut.push({ path: at, option: TOP_KEY[kind], why: 'left out' });
        continue;
      }
      if (!Array.isArray(list)) {
        problems.push({ path: at, message: 'expected a list of names or of {source, target, uid, gid, mode}' });
        continue;
      }
      for (const [index, entry] of list.entries()) {
        const reference = referenceOf(kind, entry, [...at, index], problems);
        if (reference === undefined) continue;
        const content = contentOf(kind, reference.source);
        if (content === undefined) continue;
        files.push({ name: reference.source, kind, target: reference.target, uid: reference.uid, gid: reference.gid, mode: reference.mode, value: { content } });
      }
    }
    const targets = new Set<string>();
    for (const file of files) {
      if (targets.has(file.target)) problems.push({ path: ['services', serviceName, TOP_KEY[file.kind]], message: `two secrets or configs are mounted at ${file.target}: give each its own target` });
      targets.add(file.target);
    }
    if (files.length > 0) services.set(serviceName, files);
  }
  for (const key of ['secrets', 'configs'] as const) if (compose[key] !== undefined && sources.ignore?.has(key)) leftOut.push({ path: [key], option: key, why: 'left out' });
  const { secrets: _secrets, configs: _configs, ...top } = compose;
  return { compose: { ...top, ...(compose.services === undefined ? {} : { services: servicesOut }) }, services, problems, leftOut };
}

interface Reference {
  readonly source: string;
  readonly target: string;
  readonly uid: string;
  readonly gid: string;
  readonly mode: number;
}

function referenceOf(kind: Kind, entry: unknown, at: Path, problems: FormProblem[]): Reference | undefined {
  const defaultTarget = (source: string): string => (kind === 'secret' ? `/run/secrets/${source}` : `/${source}`);
  if (typeof entry === 'string') return { source: entry, target: defaultTarget(entry), uid: '0', gid: '0', mode: 0o444 };
  if (!isMapping(entry) || typeof entry.source !== 'string') {
    problems.push({ path: at, message: 'expected a name, or a mapping with source: (and target, uid, gid, mode)' });
    return undefined;
  }
  const { source } = entry;
  let target = typeof entry.target === 'string' ? entry.target : defaultTarget(source);
  // compose: a secret's relative target is below /run/secrets.
  if (kind === 'secret' && !target.startsWith('/')) target = `/run/secrets/${target}`;
  const id = (key: 'uid' | 'gid'): string | undefined => {
    const value = entry[key];
    if (value === undefined) return '0';
    const text = String(value);
    if (/^[0-9]{1,10}$/.test(text)) return text;
    problems.push({ path: at, key, message: `expected a numeric ${key === 'uid' ? 'user' : 'group'} id, got ${JSON.stringify(value)}` });
    return undefined;
  };
  const uid = id('uid');
  const gid = id('gid');
  const mode = modeOf(entry.mode);
  if (mode === undefined) problems.push({ path: at, key: 'mode', message: `expected a file mode (a number such as 0440, or "0440"), got ${JSON.stringify(entry.mode)}` });
  if (!target.startsWith('/') || target.includes(':')) problems.push({ path: at, key: 'target', message: 'expected an absolute path in the container, without ":"' });
  if (uid === undefined || gid === undefined || mode === undefined) return undefined;
  return { source, target, uid, gid, mode };
}

/** YAML 1.2 reads 0440 as decimal 440; compose means octal (as 0o440 and "0440" are). */
function modeOf(value: unknown): number | undefined {
  if (value === undefined) return 0o444;
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : typeof value === 'string' ? value.replace(/^0o/, '') : undefined;
  if (text === undefined || !/^[0-7]{1,4}$/.test(text)) return undefined;
  return Number.parseInt(text, 8);
}

function readDefinition(kind: Kind, name: string, compose: Readonly<Record<string, unknown>>, sources: FileSecretSources, problems: FormProblem[]): string | undefined {
  const topKey = TOP_KEY[kind];
  const definitions = isMapping(compose[topKey]) ? compose[topKey] : {};
  const definition = Object.hasOwn(definitions, name) ? definitions[name] : undefined;
  const at: Path = [topKey, name];
  if (!isMapping(definition)) {
    problems.push({ path: [topKey], message: `${kind} ${name} is used by a service but not defined under the top-level ${topKey}:` });
    return undefined;
  }
  const given = (['file', 'environment', 'content', 'external'] as const).filter((key) => definition[key] !== undefined);
  if (given.includes('external')) {
    problems.push({ path: at, key: 'external', message: `an external ${kind} lives in Swarm, which Hostwright does not read: give it with file: or environment:` });
    return undefined;
  }
  if (given.length !== 1 || (given[0] === 'content' && kind === 'secret')) {
    problems.push({ path: at, message: `expected one of file:, environment:${kind === 'config' ? ' or content:' : ''}` });
    return undefined;
  }
  let content: string;
  if (given[0] === 'file') {
    const file = String(definition.file);
    const path = isAbsolute(file) ? file : resolve(sources.directory, file);
    try {
      content = sources.readFile(path);
    } catch (error) {
      problems.push({ path: at, key: 'file', message: error instanceof OutsideProjectError ? error.message : `cannot read ${path}: ${errorMessage(error)}` });
      return undefined;
    }
  } else if (given[0] === 'environment') {
    const variable = String(definition.environment);
    const value = sources.lookup(variable);
    if (value === undefined) {
      problems.push({ path: at, key: 'environment', message: `the variable ${variable} is not set (in the environment or .env)` });
      return undefined;
    }
    content = value;
  } else {
    content = String(definition.content);
  }
  if (Buffer.byteLength(content) > MAX_FILE_SECRET_BYTES) {
    problems.push({ path: at, message: `holds more than ${MAX_FILE_SECRET_BYTES} bytes, the most a ${kind} may hold` });
    return undefined;
  }
  return content;
}
