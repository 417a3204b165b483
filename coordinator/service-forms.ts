import { parse as parseShellWords } from 'shell-quote';
import { MAX_COMMAND_ARGS, MAX_PORTS } from '../shared/limits.js';

// The forms compose users write every day, turned into the model's one form before its schema runs:
// a command string, `ports: [8080]`, `environment: [A=1]`, `replicas: "2"`, `1m30s`. The fleet file
// and the compose reader share them; each rewrite remembers where its value came from, so a schema
// error still points at the line the user wrote.

export type Path = readonly PropertyKey[];

/** A problem met while normalising, at its source path (`key`: the problem is that key of the mapping). */
export interface FormProblem {
  readonly path: Path;
  readonly key?: string;
  readonly message: string;
}

/** Collects problems and the model-path to source-path rewrites of one file. */
export class FormContext {
  readonly problems: FormProblem[] = [];
  readonly #renames: { readonly model: Path; readonly source: Path }[] = [];

  problem(path: Path, message: string, key?: string): void {
    this.problems.push(key === undefined ? { path, message } : { path, key, message });
  }

  /** The value at model path `model` was written at `source`. */
  renamed(model: Path, source: Path): void {
    if (!samePath(model, source)) this.#renames.push({ model, source });
  }

  /** Where the user wrote what is now at the model's `path` (the longest recorded prefix decides). */
  sourcePathOf(path: Path, key?: string): { path: Path; key?: string } {
    // A problem about a key that was a list entry ("B C=2" of environment) is at that entry.
    if (key !== undefined) {
      const entry = this.#renames.find((rename) => samePath(rename.model, [...path, key]));
      if (entry !== undefined) return { path: entry.source };
    }
    let best: { readonly model: Path; readonly source: Path } | undefined;
    for (const rename of this.#renames) {
      if (rename.model.length <= path.length && (best === undefined || rename.model.length > best.model.length) && rename.model.every((segment, i) => String(segment) === String(path[i]))) best = rename;
    }
    if (best === undefined) return key === undefined ? { path } : { path, key };
    const rest = path.slice(best.model.length);
    // A key inside a renamed list entry is not a key of the source's mapping: point at the entry.
    const source = [...best.source, ...rest];
    return key === undefined || best.model.length === path.length + 1 ? { path: source } : { path: source, key };
  }
}

function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && a.every((segment, i) => String(segment) === String(b[i]));
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The fleet file's services with their everyday forms normalised; the rest of the file as it is. */
export function normalizeFleetForms(raw: unknown): { value: unknown; problems: readonly FormProblem[]; sourcePathOf: FormContext['sourcePathOf'] } {
  const context = new FormContext();
  if (!isMapping(raw) || !isMapping(raw.services)) return { value: raw, problems: [], sourcePathOf: (path, key) => context.sourcePathOf(path, key) };
  const services: Record<string, unknown> = {};
  for (const [name, service] of Object.entries(raw.services)) {
    defineEntry(services, name, isMapping(service) ? normalizeServiceForms(service, ['services', name], context) : service);
  }
  const value: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(raw)) defineEntry(value, key, key === 'services' ? services : entry);
  return { value, problems: context.problems, sourcePathOf: (path, key) => context.sourcePathOf(path, key) };
}

/** Sets an own property even for a name an object inherits ("constructor"), as the YAML reader does. */
export function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * One service's everyday forms in the model's form: command and entrypoint strings split as compose
 * splits them, environment/env and labels as mappings, ports and expose as strings, numbers written
 * as strings as numbers, durations in one unit, healthcheck.test as a string run by the shell.
 */
export function normalizeServiceForms(service: Readonly<Record<string, unknown>>, at: Path, context: FormContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(service)) defineEntry(out, key, value);

  for (const key of ['command', 'entrypoint'] as const) {
    if (typeof out[key] === 'string') out[key] = splitCommand(out[key], [...at, key], context);
  }
  if (Object.hasOwn(out, 'environment')) {
    if (Object.hasOwn(out, 'env')) context.problem([...at], 'env and environment name the same setting: keep one', 'environment');
    else {
      out.env = mappingOf(out.environment, [...at, 'environment'], [...at, 'env'], context, 'environment');
      context.renamed([...at, 'env'], [...at, 'environment']);
    }
    delete out.environment;
  } else if (Array.isArray(out.env)) {
    out.env = mappingOf(out.env, [...at, 'env'], [...at, 'env'], context, 'env');
  }
  if (Array.isArray(out.labels)) out.labels = mappingOf(out.labels, [...at, 'labels'], [...at, 'labels'], context, 'labels');
  if (Array.isArray(out.sysctls)) out.sysctls = mappingOf(out.sysctls, [...at, 'sysctls'], [...at, 'sysctls'], context, 'sysctls');
  if (isMapping(out.extra_hosts)) out.extra_hosts = Object.entries(out.extra_hosts).map(([host, ip]) => (Array.isArray(ip) ? ip.map((one) => `${host}:${String(one)}`) : [`${host}:${String(ip)}`])).flat();
  for (const key of ['dns', 'dns_search', 'tmpfs'] as const) if (typeof out[key] === 'string') out[key] = [out[key]];
  if (Array.isArray(out.ports)) out.ports = portsOf(out.ports, [...at, 'ports'], context);
  if (Array.isArray(out.expose)) out.expose = exposeOf(out.expose, [...at, 'expose'], context);
  for (const key of ['replicas', 'cpu_shares', 'pids_limit'] as const) if (Object.hasOwn(out, key)) out[key] = wholeNumberOf(out[key]);
  if (typeof out.cpus === 'string' && /^\d+(\.\d+)?$/.test(out.cpus.trim())) out.cpus = Number(out.cpus);
  for (const key of ['stop_timeout', 'stop_grace_period'] as const) if (Object.hasOwn(out, key)) out[key] = durationOf(out[key], [...at, key], context);
  if (isMapping(out.healthcheck)) out.healthcheck = healthcheckOf(out.healthcheck, [...at, 'healthcheck'], context);
  return out;
}

function wholeNumberOf(value: unknown): unknown {
  return typeof value === 'string' && /^\s*\d{1,9}\s*$/.test(value) ? Number(value) : value;
}

// --- command strings ------------------------------------------------------------------------

/** A private-use character stands in for "$" while splitting: compose splits without expanding variables. */
const DOLLAR = '\u{F0024}';

/**
 * Splits a command string into words as compose does (quotes and backslashes, no variable
 * expansion, no globbing). Shell operators are refused: compose runs the words without a shell.
 */
export function splitCommand(text: string, path: Path, context: FormContext): unknown {
  if (text.includes(DOLLAR)) return text;
  let parsed: ReturnType<typeof parseShellWords>;
  try {
    parsed = parseShellWords(text.replaceAll('$', DOLLAR));
  } catch (error) {
    context.problem(path, `cannot split the command into words: ${error instanceof Error ? error.message : String(error)}`);
    return text;
  }
  const words: string[] = [];
  for (const entry of parsed) {
    if (typeof entry === 'string') words.push(entry.replaceAll(DOLLAR, '$'));
    else if ('pattern' in entry) words.push(entry.pattern.replaceAll(DOLLAR, '$'));
    else if ('comment' in entry) {
      context.problem(path, `"#" starts a shell comment, and the command runs without a shell: write it as a list, or as ["sh", "-c", ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}]`);
      return text;
    } else {
      const op = 'op' in entry ? String(entry.op) : '?';
      context.problem(path, `the shell operator "${op}" needs a shell, and the command runs without one: write ["sh", "-c", ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}]`);
      return text;
    }
    if (words.length > MAX_COMMAND_ARGS) break;
  }
  return words;
}

// --- mappings written as lists --------------------------------------------------------------

/** `[A=1, B]` or `{A: 1}` as a mapping; an entry without "=" has no value (null, as compose reads it). */
export function mappingOf(value: unknown, sourcePath: Path, modelPath: Path, context: FormContext, what: string): unknown {
  if (isMapping(value)) return value;
  if (!Array.isArray(value)) return value;
  const mapping: Record<string, unknown> = {};
  for (const [index, entry] of value.entries()) {
    if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
      context.problem([...sourcePath, index], `expected "NAME=value" (${what} written as a list)`);
      continue;
    }
    const text = String(entry);
    const equals = text.indexOf('=');
    const name = equals < 0 ? text : text.slice(0, equals);
    if (name === '' || name === '__proto__') {
      context.problem([...sourcePath, index], `expected "NAME=value", got ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
      continue;
    }
    if (Object.hasOwn(mapping, name)) {
      context.problem([...sourcePath, index], `${name} is set twice`);
      continue;
    }
    defineEntry(mapping, name, equals < 0 ? null : text.slice(equals + 1));
    context.renamed([...modelPath, name], [...sourcePath, index]);
  }
  return mapping;
}

// --- ports ----------------------------------------------------------------------------------

const RANGE = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** Each `ports:` entry as the model's "[ip:][host:]container[/proto]" strings, ranges written out one port each. */
function portsOf(entries: readonly unknown[], path: Path, context: FormContext): unknown[] {
  // Past the limit already: the schema says so about the list as written.
  if (entries.length > MAX_PORTS) return [...entries];
  const out: unknown[] = [];
  for (const [index, entry] of entries.entries()) {
    const expanded = portEntry(entry, [...path, index], context);
    for (const port of expanded) {
      if (out.length >= MAX_PORTS) {
        context.problem([...path, index], `at most ${MAX_PORTS} ports once ranges are written out`);
        return out;
      }
      context.renamed([...path, out.length], [...path, index]);
      out.push(port);
    }
  }
  return out;
}

function portEntry(entry: unknown, path: Path, context: FormContext): unknown[] {
  if (typeof entry === 'number') return [String(entry)];
  if (isMapping(entry)) return longPort(entry, path, context);
  if (typeof entry !== 'string') return [entry];
  // "[ip:][host[-host]:]container[-container][/proto]"; IPv6 in brackets is not supported by the model.
  // An empty host IP (":443:443", from "${BIND:-}:443:443") is no IP, as compose reads it.
  const match = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(?:([\d-]*):)?([\d-]+)(\/(?:tcp|udp))?$/.exec(entry.trim().replace(/^:(?=[\d-]*:)/, ''));
  if (!match) return [entry];
  const [, ip, host, container = '', proto = ''] = match;
  const containers = RANGE.exec(container);
  const hosts = host === undefined || host === '' ? undefined : RANGE.exec(host);
  if (!containers || hosts === null) return [entry];
  const containerFirst = Number(containers[1]);
  const containerLast = containers[2] === undefined ? containerFirst : Number(containers[2]);
  // A reversed range is no range: the schema describes the entry as written.
  if (containerLast < containerFirst) return [entry];
  if (containerLast - containerFirst >= MAX_PORTS) {
    context.problem(path, `the range ${container} is empty or longer than ${MAX_PORTS} ports`);
    return [];
  }
  const prefix = ip === undefined ? '' : `${ip}:`;
  if (hosts === undefined) return range(containerFirst, containerLast).map((port) => `${prefix}${port}${proto}`);
  const hostFirst = Number(hosts[1]);
  const hostLast = hosts[2] === undefined ? hostFirst : Number(hosts[2]);
  if (hostLast - hostFirst !== containerLast - containerFirst) {
    if (hostFirst === hostLast || hostLast < hostFirst) {
      context.problem(path, `the host port ${host} and the container ports ${container} differ in length: give a host range as long as the container range`);
      return [];
    }
    // compose: a host range for one container port picks one free port of it; a fleet needs it fixed.
    context.problem(path, `a host port range for one container port lets the engine pick a port, which differs per host: give one host port`);
    return [];
  }
  return range(containerFirst, containerLast).map((port, i) => `${prefix}${hostFirst + i}:${port}${proto}`);
}

function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** compose's long syntax: `{target, published?, host_ip?, protocol?, mode?, name?, app_protocol?}`. */
function longPort(entry: Readonly<Record<string, unknown>>, path: Path, context: FormContext): unknown[] {
  const known = new Set(['target', 'published', 'host_ip', 'protocol', 'mode', 'name', 'app_protocol']);
  for (const key of Object.keys(entry)) if (!known.has(key) && !key.startsWith('x-')) context.problem(path, `unknown key ${JSON.stringify(key)} in a long-syntax port (expected target, published, host_ip, protocol, mode, name, app_protocol)`, key);
  const target = wholeNumberOf(entry.target);
  if (typeof target !== 'number') {
    context.problem([...path, 'target'], 'expected the container port, a number');
    return [];
  }
  if (entry.mode !== undefined && entry.mode !== 'ingress' && entry.mode !== 'host') context.problem([...path, 'mode'], 'expected "ingress" or "host"');
  const protocol = entry.protocol === undefined ? '' : entry.protocol === 'tcp' || entry.protocol === 'udp' ? `/${entry.protocol}` : undefined;
  if (protocol === undefined) {
    context.problem([...path, 'protocol'], 'expected "tcp" or "udp"');
    return [];
  }
  if (entry.host_ip !== undefined && typeof entry.host_ip !== 'string') context.problem([...path, 'host_ip'], 'expected an IP address');
  const ip = typeof entry.host_ip === 'string' ? `${entry.host_ip}:` : '';
  const published = entry.published === undefined || entry.published === null ? undefined : String(entry.published);
  if (published === undefined) return [`${ip}${target}${protocol}`];
  return portEntry(`${ip}${published}:${target}${protocol}`, path, context);
}

function exposeOf(entries: readonly unknown[], path: Path, context: FormContext): unknown[] {
  const out: unknown[] = [];
  for (const [index, entry] of entries.entries()) {
    const match = typeof entry === 'string' ? /^(\d{1,5})-(\d{1,5})(\/(?:tcp|udp))?$/.exec(entry.trim()) : null;
    if (!match) {
      context.renamed([...path, out.length], [...path, index]);
      out.push(entry);
      continue;
    }
    const first = Number(match[1]);
    const last = Number(match[2]);
    if (last < first || last - first >= MAX_PORTS || out.length + last - first >= MAX_PORTS) {
      context.problem([...path, index], `the range ${String(entry)} is empty or longer than ${MAX_PORTS} ports`);
      continue;
    }
    for (const port of range(first, last)) {
      context.renamed([...path, out.length], [...path, index]);
      out.push(`${port}${match[3] ?? ''}`);
    }
  }
  return out;
}

// --- durations and health checks ------------------------------------------------------------

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
const PART_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as compose writes it (Go's form: "1m30s", "1h2m", "500ms") in the model's one-unit form
 * ("90s"); a single-unit duration is left as written, anything else for the schema to refuse.
 */
export function durationOf(value: unknown, path: Path, context: FormContext): unknown {
  if (typeof value !== 'string' || value.length > 64) return value;
  const text = value.trim();
  if (/^\d+(\.\d+)?(ms|s|m|h)$/.test(text)) return text;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let parts = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const match = DURATION_PART.exec(text);
    if (!match) return value;
    total += Number(match[1]) * (PART_MS[match[2] as string] ?? 0);
    parts += 1;
  }
  if (parts === 0) return value;
  if (!Number.isFinite(total)) {
    context.problem(path, 'the duration is too long');
    return value;
  }
  return Number.isInteger(total / 1000) ? `${total / 1000}s` : `${Math.round(total)}ms`;
}

function healthcheckOf(check: Readonly<Record<string, unknown>>, path: Path, context: FormContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(check)) defineEntry(out, key, value);
  if (typeof out.test === 'string') out.test = ['CMD-SHELL', out.test];
  else if (Array.isArray(out.test) && out.test.length === 1 && out.test[0] === 'NONE') {
    delete out.test;
    out.disable = true;
  }
  for (const key of ['interval', 'timeout', 'start_period', 'start_interval'] as const) if (Object.hasOwn(out, key)) out[key] = durationOf(out[key], [...path, key], context);
  if (Object.hasOwn(out, 'retries')) out.retries = wholeNumberOf(out.retries);
  return out;
}
