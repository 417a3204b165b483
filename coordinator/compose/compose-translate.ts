import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { didYouMean } from '../../shared/did-you-mean.js';
import { parseDurationMs } from '../../shared/duration.js';
import { restartPolicySchema } from '../../shared/fleet-spec.js';
import { RESTART_POLICY_FORMS } from '../../shared/restart-policy.js';
import { COMPOSE_DEPLOY_KEYS, COMPOSE_TOP_KEYS, serviceKeyRule, type KeyRule } from './compose-keys.js';
import { defineEntry, durationOf, isMapping, normalizeServiceForms, type FormContext, type Path } from '../service-forms.js';
import type { Lookup } from './interpolate.js';

// A merged, interpolated compose file in the model's terms: each key as the table in
// compose-keys.ts says, `deploy:` and `x-hostwright:` folded into the service, and every key
// that cannot run on a fleet reported with what to do (unless --ignore-unsupported names it).

/** The defaults `hostwright rollout` takes from the file when its flags are not given. */
export interface RolloutDefaults {
  canary?: number;
  max_parallel?: number;
  min_healthy?: string;
  healthy_deadline?: string;
  max_failures?: string;
  on_failure?: 'pause' | 'rollback';
  order?: 'stop-first' | 'start-first';
}

export interface TranslateOptions {
  readonly projectName: string;
  /** The directory relative host paths are resolved against (the first file's). */
  readonly directory: string;
  readonly profiles: readonly string[];
  /** Keys (e.g. `build`, `deploy.labels`, `tty`) to drop instead of refusing. */
  readonly ignoreUnsupported: ReadonlySet<string>;
  /** Values of `environment` entries written without one (`- FOO`), as compose takes them from the shell. */
  readonly lookup: Lookup;
}

export interface Translated {
  /** The fleet file's raw form, for the model's schema. */
  readonly fleet: Record<string, unknown>;
  readonly rollout: RolloutDefaults;
  /** Keys left out: by --ignore-unsupported (`option` names it), or because they have no effect here (`why`). */
  readonly leftOut: readonly LeftOut[];
}

/** A key of the file that the model does not carry, at its path (the key is the last segment). */
export interface LeftOut {
  readonly path: Path;
  /** The --ignore-unsupported name that left it out, or undefined when the reader left it out itself. */
  readonly option?: string;
  readonly why: string;
}

const X_HOSTWRIGHT_TOP = new Set(['placement', 'drift', 'update_order', 'rollout', 'restart']);
const X_HOSTWRIGHT_SERVICE = new Set(['placement', 'drift', 'update_order']);
const ROLLOUT_KEYS = new Set(['canary', 'max_parallel', 'min_healthy', 'healthy_deadline', 'max_failures', 'on_failure', 'order']);

export function translateCompose(compose: Readonly<Record<string, unknown>>, options: TranslateOptions, context: FormContext): Translated {
  const leftOut: LeftOut[] = [];
  const refuse = (path: Path, key: string, scope: string, rule: KeyRule | undefined): void => {
    if (options.ignoreUnsupported.has(`${scope}${key}`)) {
      leftOut.push({ path: [...path, key], option: `${scope}${key}`, why: 'left out by --ignore-unsupported' });
      return;
    }
    const note = rule?.note ?? 'not a key Hostwright knows';
    context.problem([...path, key], `${rule === undefined ? 'unknown to Hostwright' : 'cannot run on a fleet'}: ${note} (or pass --ignore-unsupported ${scope}${key} to leave it out)`);
  };
  for (const key of Object.keys(compose)) {
    if (key.startsWith('x-')) continue;
    const rule = Object.hasOwn(COMPOSE_TOP_KEYS, key) ? COMPOSE_TOP_KEYS[key] : undefined;
    if (rule === undefined || rule.status === 'refused') refuse([], key, '', rule);
  }

  const top = xHostwright(compose['x-hostwright'], ['x-hostwright'], X_HOSTWRIGHT_TOP, context);
  if (top.restart !== undefined && !restartPolicySchema.safeParse(top.restart).success) context.problem(['x-hostwright', 'restart'], `expected one of ${RESTART_POLICY_FORMS.join(', ')}`);
  const rollout: RolloutDefaults = {};
  if (top.rollout !== undefined) readRolloutDefaults(top.rollout, ['x-hostwright', 'rollout'], rollout, context);

  const selected = (service: Readonly<Record<string, unknown>>): boolean => {
    const profiles = service.profiles;
    return !Array.isArray(profiles) || profiles.length === 0 || profiles.some((profile) => options.profiles.includes(String(profile)));
  };
  const services: Record<string, unknown> = {};
  const composeServices = isMapping(compose.services) ? compose.services : {};
  const rolloutFromServices: { value: RolloutDefaults; from: string }[] = [];
  for (const [name, service] of Object.entries(composeServices)) {
    const at: Path = ['services', name];
    if (!isMapping(service)) {
      defineEntry(services, name, service);
      continue;
    }
    if (!selected(service)) continue;
    const translated = translateService(name, service, at, options, context, refuse, leftOut);
    // compose's default is `no`: a one-shot service runs once. x-hostwright.restart sets another default.
    if (translated.service.restart === undefined) {
      translated.service.restart = top.restart ?? 'no';
      if (top.restart !== undefined) context.renamed([...at, 'restart'], ['x-hostwright', 'restart']);
    }
    for (const key of ['placement', 'drift', 'update_order'] as const) {
      if (top[key] !== undefined && translated.service[key] === undefined) {
        translated.service[key] = top[key];
        context.renamed([...at, key], ['x-hostwright', key]);
      }
    }
    if (translated.rollout !== undefined) rolloutFromServices.push({ value: translated.rollout, from: name });
    defineEntry(services, name, normalizeServiceForms(translated.service, at, context));
  }
  // A rollout moves hosts, not services: the services' update_config must agree (x-hostwright.rollout wins).
  for (const key of ['max_parallel', 'min_healthy', 'max_failures', 'on_failure'] as const) {
    const values = new Map(rolloutFromServices.flatMap(({ value, from }) => (value[key] === undefined ? [] : [[String(value[key]), from]])));
    if (rollout[key] !== undefined || values.size === 0) continue;
    if (values.size > 1) {
      context.problem(['services', [...values.values()][1] as string, 'deploy', 'update_config'], `the services' update_config differ (${[...values.keys()].join(' and ')} for ${key}); a rollout moves whole hosts: give one value in x-hostwright.rollout.${key}`);
      continue;
    }
    (rollout as Record<string, unknown>)[key] = parseRolloutValue(key, [...values.keys()][0] as string);
  }
  dependencyProblems(services, composeServices, context);
  linkAliases(services, composeServices, context);
  containerNameClashes(composeServices, services, context);
  const volumes: Record<string, unknown> = isMapping(compose.volumes) ? { ...compose.volumes } : {};
  anonymousVolumes(services, volumes, context);

  const fleet: Record<string, unknown> = { project: options.projectName };
  if (top.drift !== undefined) {
    fleet.drift = top.drift;
    context.renamed(['drift'], ['x-hostwright', 'drift']);
  }
  fleet.services = services;
  context.renamed(['project'], Object.hasOwn(compose, 'name') ? ['name'] : []);
  if (compose.networks !== undefined && compose.networks !== null) fleet.networks = networksOf(compose.networks, leftOut);
  if (Object.keys(volumes).length > 0) fleet.volumes = volumes;
  else if (compose.volumes !== undefined && compose.volumes !== null) fleet.volumes = compose.volumes;
  return { fleet, rollout, leftOut };
}

/** A network Hostwright creates is named <project>_<key>, so that projects on one engine do not collide: its `name:` is left out, and said. */
function networksOf(networks: unknown, leftOut: LeftOut[]): unknown {
  if (!isMapping(networks)) return networks;
  const out: Record<string, unknown> = {};
  for (const [key, network] of Object.entries(networks)) {
    if (isMapping(network) && network.external !== true && network.name !== undefined) {
      const { name, ...rest } = network;
      leftOut.push({ path: ['networks', key, 'name'], why: `the network is created as <project>_${key} (${JSON.stringify(name)} is not used: a name of its own is for external: true networks)` });
      defineEntry(out, key, rest);
    } else defineEntry(out, key, network);
  }
  return out;
}

function parseRolloutValue(key: string, text: string): unknown {
  return key === 'max_parallel' ? Number(text) : text;
}

function translateService(
  name: string,
  service: Readonly<Record<string, unknown>>,
  at: Path,
  options: TranslateOptions,
  context: FormContext,
  refuse: (path: Path, key: string, scope: string, rule: KeyRule | undefined) => void,
  leftOut: LeftOut[],
): { service: Record<string, unknown>; rollout: RolloutDefaults | undefined } {
  const out: Record<string, unknown> = {};
  let rollout: RolloutDefaults | undefined;
  const own = xHostwright(service['x-hostwright'], [...at, 'x-hostwright'], X_HOSTWRIGHT_SERVICE, context);
  for (const [key, value] of Object.entries(service)) {
    if (key.startsWith('x-')) continue;
    const rule = serviceKeyRule(key);
    // build beside image: every host pulls the image, as `docker compose up` does when it is there.
    if (key === 'build' && typeof service.image === 'string' && !options.ignoreUnsupported.has('build')) {
      leftOut.push({ path: [...at, key], why: `the image ${service.image} is used (build: is for building it, which hosts do not do)` });
      continue;
    }
    if (rule === undefined || rule.status === 'refused') {
      refuse(at, key, '', rule);
      continue;
    }
    if (options.ignoreUnsupported.has(key)) {
      leftOut.push({ path: [...at, key], option: key, why: 'left out by --ignore-unsupported' });
      continue;
    }
    if (rule.status === 'ignored') continue;
    switch (key) {
      case 'profiles':
        continue;
      case 'deploy':
        if (isMapping(value)) rollout = translateDeploy(value, [...at, 'deploy'], out, context, refuse);
        else context.problem([...at, 'deploy'], 'expected a mapping');
        continue;
      case 'scale':
        out.replicas = value;
        context.renamed([...at, 'replicas'], [...at, 'scale']);
        continue;
      case 'pull_policy':
        if (value === 'missing' || value === 'if_not_present' || value === 'never') out.pull_policy = value === 'if_not_present' ? 'missing' : value;
        else context.problem([...at, 'pull_policy'], `${JSON.stringify(value)} cannot run on a fleet: a host pulls an image when it lacks it (missing) or never; give each release its own tag (or a digest), so that a new image is a new image: reference (or pass --ignore-unsupported pull_policy)`);
        continue;
      case 'container_name':
      case 'links':
        continue;
      case 'platform':
        // compose's `platform: ""` (an unset variable) is no platform.
        if (value !== '') defineEntry(out, key, value);
        continue;
      case 'labels':
        defineEntry(out, key, labelsOf(value));
        continue;
      case 'logging':
        // The engine's log options are text; compose takes a number (wger's `max-file: 3`) and writes it as text.
        defineEntry(out, key, isMapping(value) && isMapping(value.options) ? { ...value, options: Object.fromEntries(Object.entries(value.options).map(([name, option]) => [name, typeof option === 'number' ? String(option) : option])) } : value);
        continue;
      case 'healthcheck':
        // {disable: false} with no test keeps the image's own check, as compose does.
        if (isMapping(value) && value.disable === false) {
          const { disable: _disable, ...rest } = value;
          if (Object.keys(rest).length > 0) defineEntry(out, key, rest);
        } else defineEntry(out, key, value);
        continue;
      case 'environment':
        defineEntry(out, 'environment', environmentOf(value, options.lookup));
        continue;
      case 'volumes':
        out.volumes = Array.isArray(value) ? value.map((entry) => volumeEntry(entry, options.directory)) : value;
        continue;
      default:
        defineEntry(out, key, value);
    }
  }
  for (const key of ['placement', 'drift', 'update_order'] as const) {
    if (own[key] === undefined) continue;
    if (out[key] !== undefined) context.problem([...at, 'x-hostwright'], `${key} is given twice (x-hostwright.${key} and deploy): keep one`, key);
    out[key] = own[key];
    context.renamed([...at, key], [...at, 'x-hostwright', key]);
  }
  if (service.container_name !== undefined && !options.ignoreUnsupported.has('container_name')) containerNameAlias(name, service.container_name, out, at, context);
  return { service: out, rollout };
}

/** Label values as the engine takes them: text; a number or boolean as written, an absent value empty. */
function labelsOf(value: unknown): unknown {
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) defineEntry(out, key, entry === null || entry === undefined ? '' : typeof entry === 'number' || typeof entry === 'boolean' ? String(entry) : entry);
  return out;
}

/** `- FOO` / `FOO:` without a value takes the shell's value, and is left out when the shell has none. */
function environmentOf(value: unknown, lookup: Lookup): unknown {
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (entry !== null) defineEntry(out, name, entry);
    else {
      const fromShell = lookup(name);
      if (fromShell !== undefined) defineEntry(out, name, fromShell);
    }
  }
  return out;
}

/**
 * container_name: the name the other containers reach it by, as a network alias on each of its
 * networks. The container keeps Hostwright's name (ownership, a start-first replacement beside the
 * old one, two projects on one engine): each host runs its own instance, so one per host is enough.
 */
function containerNameAlias(name: string, containerName: unknown, out: Record<string, unknown>, at: Path, context: FormContext): void {
  const replicas = Number(out.replicas ?? 1);
  if (replicas > 1) {
    context.problem([...at, 'container_name'], `service ${name} has ${replicas} replicas on each host it runs on, and a container name is one container's: remove container_name (services reach each other by service name), or give replicas: 1 (or pass --ignore-unsupported container_name)`);
    return;
  }
  if (typeof containerName !== 'string') return;
  if (addAlias(out, containerName)) context.renamed([...at, 'networks'], [...at, 'container_name']);
}

/** Adds an alias on each network the service joins (its default network when it names none); false under a network_mode. */
function addAlias(out: Record<string, unknown>, alias: string): boolean {
  if (out.network_mode !== undefined) return false;
  const networks = out.networks ?? ['default'];
  const entries: Record<string, unknown> = Array.isArray(networks) ? Object.fromEntries(networks.map((key) => [String(key), {}])) : isMapping(networks) ? { ...networks } : {};
  for (const [key, attachment] of Object.entries(entries)) {
    const current = isMapping(attachment) ? attachment : {};
    const aliases = Array.isArray(current.aliases) ? current.aliases : [];
    entries[key] = { ...current, aliases: aliases.includes(alias) ? aliases : [...aliases, alias] };
  }
  out.networks = entries;
  return true;
}

/** Two services with one container_name would be two containers of one name on a host, as compose refuses too. */
function containerNameClashes(all: Readonly<Record<string, unknown>>, services: Readonly<Record<string, unknown>>, context: FormContext): void {
  const owners = new Map<string, string>();
  for (const [name, service] of Object.entries(all)) {
    if (!Object.hasOwn(services, name) || !isMapping(service) || typeof service.container_name !== 'string') continue;
    const first = owners.get(service.container_name);
    if (first !== undefined) context.problem(['services', name, 'container_name'], `${service.container_name} is already the container_name of service ${first}: give each service its own`);
    else owners.set(service.container_name, name);
  }
}

/**
 * links: "db" or "db:database". The service name already resolves on the project network; an alias
 * becomes a network alias of the linked service (on Docker's user-defined networks every member sees it).
 */
function linkAliases(services: Record<string, unknown>, all: Readonly<Record<string, unknown>>, context: FormContext): void {
  for (const [name, service] of Object.entries(all)) {
    if (!Object.hasOwn(services, name) || !isMapping(service) || !Array.isArray(service.links)) continue;
    for (const [index, link] of service.links.entries()) {
      const [target = '', alias] = String(link).split(':');
      const linked = Object.hasOwn(services, target) ? services[target] : undefined;
      if (!isMapping(linked)) {
        context.problem(['services', name, 'links', index], Object.hasOwn(all, target) ? `links to ${target}, which is left out by its profiles (select one with --profile)` : `there is no service ${target}`);
        continue;
      }
      if (alias !== undefined && alias !== '' && alias !== target && !addAlias(linked, alias)) context.problem(['services', name, 'links', index], `${target} uses network_mode, so it has no network alias: reach it as ${target}`);
    }
  }
}

/**
 * An anonymous volume ("/data") becomes a project volume of its own (<service>_<path>), declared for
 * the project: like compose's, which a re-created container takes over, its data outlives the container.
 */
function anonymousVolumes(services: Record<string, unknown>, declared: Record<string, unknown>, context: FormContext): void {
  for (const [name, service] of Object.entries(services)) {
    if (!isMapping(service) || !Array.isArray(service.volumes)) continue;
    service.volumes = service.volumes.map((entry: unknown, index: number) => {
      const target = typeof entry === 'string' && !entry.includes(':') ? entry : isMapping(entry) && entry.type === 'volume' && (entry.source === undefined || entry.source === '') && typeof entry.target === 'string' ? entry.target : undefined;
      if (target === undefined || !target.startsWith('/')) return entry;
      if (Number(service.replicas ?? 1) > 1) {
        context.problem(['services', name, 'volumes', index], `an anonymous volume is each container's own, and service ${name} has several replicas on a host: name it ("data:${target}" with \`data:\` in the top-level volumes:) to share it, or give replicas: 1`);
        return entry;
      }
      const key = anonymousVolumeKey(name, target, declared);
      defineEntry(declared, key, {});
      return typeof entry === 'string' ? `${key}:${target}` : { ...(entry as Record<string, unknown>), source: key };
    });
  }
}

function anonymousVolumeKey(service: string, target: string, declared: Readonly<Record<string, unknown>>): string {
  const readable = `${service}_${target.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '')}`;
  const key = readable.length <= 63 && /^[A-Za-z0-9]/.test(readable) ? readable : `${service.slice(0, 40)}_${createHash('sha256').update(target).digest('hex').slice(0, 12)}`;
  // A volume the file declares under that key is the user's: the anonymous one takes another.
  return Object.hasOwn(declared, key) ? `${key.slice(0, 58)}_anon` : key;
}

/** A short or long `volumes:` entry with a relative host path made absolute, as compose resolves it. */
function volumeEntry(entry: unknown, directory: string): unknown {
  const absolute = (source: string): string => (source === '~' || source.startsWith('~/') ? resolve(homedir(), source.slice(2)) : isAbsolute(source) ? source : resolve(directory, source));
  const isHostPath = (source: string): boolean => source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
  if (typeof entry === 'string') {
    const parts = entry.split(':');
    if (parts.length === 1) return entry;
    const [source = '', ...rest] = parts;
    return isHostPath(source) ? [absolute(source), ...rest].join(':') : entry;
  }
  if (!isMapping(entry)) return entry;
  const out: Record<string, unknown> = { ...entry };
  if (entry.type === 'bind' && typeof entry.source === 'string') out.source = absolute(entry.source);
  return out;
}

function xHostwright(value: unknown, path: Path, allowed: ReadonlySet<string>, context: FormContext): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) {
    context.problem(path, 'expected a mapping');
    return {};
  }
  for (const key of Object.keys(value)) if (!allowed.has(key)) context.problem(path, `unknown key ${JSON.stringify(key)} (expected ${[...allowed].join(', ')}${didYouMean(key, allowed)})`, key);
  return value;
}

function readRolloutDefaults(value: unknown, path: Path, into: RolloutDefaults, context: FormContext): void {
  if (!isMapping(value)) {
    context.problem(path, 'expected a mapping');
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    if (!ROLLOUT_KEYS.has(key)) {
      context.problem(path, `unknown key ${JSON.stringify(key)} (expected ${[...ROLLOUT_KEYS].join(', ')}${didYouMean(key, ROLLOUT_KEYS)})`, key);
      continue;
    }
    const checked = checkRolloutValue(key, entry);
    if (typeof checked === 'string' && checked.startsWith('!')) context.problem([...path, key], checked.slice(1));
    else (into as Record<string, unknown>)[key] = checked;
  }
}

/** The value, or "!message" when it is wrong. */
function checkRolloutValue(key: string, value: unknown): unknown {
  switch (key) {
    case 'canary':
    case 'max_parallel': {
      const number = typeof value === 'string' ? Number(value) : value;
      return typeof number === 'number' && Number.isInteger(number) && number >= (key === 'canary' ? 0 : 1) ? number : `!expected a whole number >= ${key === 'canary' ? 0 : 1}`;
    }
    case 'min_healthy':
    case 'healthy_deadline':
      return typeof value === 'string' && /^\d+(\.\d+)?(ms|s|m|h)$/.test(value) ? value : '!expected a duration such as "10s" or "2m"';
    case 'max_failures':
      return (typeof value === 'number' || typeof value === 'string') && /^(\d+|0?\.\d+)$/.test(String(value)) ? String(value) : '!expected a count (2) or a ratio (0.25)';
    case 'on_failure':
      return value === 'pause' || value === 'rollback' ? value : '!expected pause or rollback';
    default:
      return value === 'stop-first' || value === 'start-first' ? value : '!expected stop-first or start-first';
  }
}

/** `deploy:` folded into the service; returns the rollout defaults its update_config gives. */
function translateDeploy(
  deploy: Readonly<Record<string, unknown>>,
  at: Path,
  out: Record<string, unknown>,
  context: FormContext,
  refuse: (path: Path, key: string, scope: string, rule: KeyRule | undefined) => void,
): RolloutDefaults | undefined {
  const set = (key: string, value: unknown, from: Path): void => {
    if (value === undefined || value === null) return;
    if (out[key] !== undefined && String(out[key]) !== String(value)) {
      context.problem(from, `${key} is given twice with different values (${String(out[key])} and ${String(value)}): keep one`);
      return;
    }
    out[key] = value;
    context.renamed([...at.slice(0, -1), key], from);
  };
  let rollout: RolloutDefaults | undefined;
  for (const [key, value] of Object.entries(deploy)) {
    if (key.startsWith('x-')) continue;
    const rule = Object.hasOwn(COMPOSE_DEPLOY_KEYS, key) ? COMPOSE_DEPLOY_KEYS[key] : undefined;
    if (rule === undefined || rule.status === 'refused') {
      refuse(at, key, 'deploy.', rule);
      continue;
    }
    switch (key) {
      case 'mode':
        if (value === 'global') set('replicas', 1, [...at, 'mode']);
        else if (value !== 'replicated') context.problem([...at, 'mode'], 'expected replicated or global (replicated-job and global-job run to completion, which a fleet service does not)');
        break;
      case 'replicas':
        set('replicas', value, [...at, 'replicas']);
        break;
      case 'resources':
        translateResources(value, [...at, 'resources'], set, context, refuse);
        break;
      case 'restart_policy':
        translateRestartPolicy(value, [...at, 'restart_policy'], set, context, refuse);
        break;
      case 'update_config':
        rollout = translateUpdateConfig(value, [...at, 'update_config'], set, context);
        break;
      case 'placement':
        translatePlacement(value, [...at, 'placement'], set, context, refuse);
        break;
    }
  }
  return rollout;
}

function translateResources(value: unknown, at: Path, set: (key: string, value: unknown, from: Path) => void, context: FormContext, refuse: (path: Path, key: string, scope: string, rule: KeyRule | undefined) => void): void {
  if (!isMapping(value)) return;
  const sections: Record<string, Record<string, string | undefined>> = {
    limits: { cpus: 'cpus', memory: 'mem_limit', pids: 'pids_limit' },
    reservations: { memory: 'mem_reservation', cpus: undefined, devices: undefined, generic_resources: undefined },
  };
  for (const [section, entries] of Object.entries(value)) {
    const mapping = sections[section];
    if (mapping === undefined || !isMapping(entries)) continue;
    for (const [key, amount] of Object.entries(entries)) {
      const target = mapping[key];
      if (target === undefined) {
        refuse([...at, section], key, `deploy.resources.${section}.`, { status: 'refused', note: key === 'cpus' ? 'the engine reserves no CPU; use limits.cpus or cpu_shares' : 'no devices or generic resources yet; remove it' });
        continue;
      }
      set(target, target === 'cpus' && typeof amount === 'string' && /^\d+(\.\d+)?$/.test(amount) ? Number(amount) : amount, [...at, section, key]);
    }
  }
  void context;
}

function translateRestartPolicy(value: unknown, at: Path, set: (key: string, value: unknown, from: Path) => void, context: FormContext, refuse: (path: Path, key: string, scope: string, rule: KeyRule | undefined) => void): void {
  if (!isMapping(value)) return;
  let restart: string | undefined;
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'condition') {
      restart = entry === 'none' ? 'no' : entry === 'any' ? 'always' : entry === 'on-failure' ? 'on-failure' : undefined;
      if (restart === undefined) context.problem([...at, 'condition'], 'expected none, on-failure or any');
    } else if (key !== 'max_attempts') {
      refuse(at, key, 'deploy.restart_policy.', { status: 'refused', note: 'the engine\'s restart policy has a condition and a retry limit only; remove it' });
    }
  }
  // The engine counts retries under on-failure only: max_attempts becomes on-failure:<n>.
  if (Object.hasOwn(value, 'max_attempts')) {
    const attempts = value.max_attempts;
    if (restart !== 'on-failure') context.problem([...at, 'max_attempts'], 'the engine limits restarts under condition: on-failure only (restart: on-failure:<n>); set condition: on-failure or remove max_attempts');
    else if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0 || attempts > 9999) context.problem([...at, 'max_attempts'], 'expected a whole number of attempts (0 to 9999)');
    else if (attempts > 0) return set('restart', `on-failure:${attempts}`, [...at, 'max_attempts']);
  }
  if (restart !== undefined) set('restart', restart, [...at, 'condition']);
}

function translateUpdateConfig(value: unknown, at: Path, set: (key: string, value: unknown, from: Path) => void, context: FormContext): RolloutDefaults | undefined {
  if (!isMapping(value)) return undefined;
  const rollout: RolloutDefaults = {};
  let waitMs = 0;
  for (const [key, entry] of Object.entries(value)) {
    switch (key) {
      case 'order':
        if (entry === 'stop-first' || entry === 'start-first') set('update_order', entry, [...at, 'order']);
        else context.problem([...at, 'order'], 'expected stop-first or start-first');
        break;
      case 'parallelism': {
        const number = Number(entry);
        // Swarm's 0 is "all at once"; a rollout's waves need a size.
        if (Number.isInteger(number) && number >= 1) rollout.max_parallel = number;
        else context.problem([...at, key], 'expected a whole number >= 1 (hosts per wave)');
        break;
      }
      case 'delay':
      case 'monitor': {
        const duration = durationOf(entry, [...at, key], context);
        if (typeof duration === 'string' && /^\d+(\.\d+)?(ms|s|m|h)$/.test(duration)) waitMs += parseDurationMs(duration);
        else context.problem([...at, key], 'expected a duration such as "10s" or "1m30s"');
        break;
      }
      case 'failure_action':
        if (entry === 'pause' || entry === 'rollback') rollout.on_failure = entry;
        else context.problem([...at, key], 'expected pause or rollback (continue: tolerate failures with max_failure_ratio)');
        break;
      case 'max_failure_ratio':
        if ((typeof entry === 'number' || typeof entry === 'string') && /^(0|1|0?\.\d+)$/.test(String(entry))) rollout.max_failures = String(entry);
        else context.problem([...at, key], 'expected a ratio from 0 to 1');
        break;
      default:
        if (!key.startsWith('x-')) context.problem(at, `unknown key ${JSON.stringify(key)}`, key);
    }
  }
  // Swarm watches each batch for `monitor`, then waits `delay`: a host must stay healthy that long.
  if (waitMs > 0) rollout.min_healthy = waitMs % 1000 === 0 ? `${waitMs / 1000}s` : `${waitMs}ms`;
  return rollout;
}

const CONSTRAINT = /^\s*(node\.hostname|node\.labels\.([^\s=!]+))\s*(==|!=)\s*(\S+)\s*$/;

/** Swarm's constraints (`node.hostname == h1`, `node.labels.role != db`) as a placement. */
function translatePlacement(value: unknown, at: Path, set: (key: string, value: unknown, from: Path) => void, context: FormContext, refuse: (path: Path, key: string, scope: string, rule: KeyRule | undefined) => void): void {
  if (!isMapping(value)) return;
  for (const key of Object.keys(value)) {
    if (key !== 'constraints') refuse(at, key, 'deploy.placement.', { status: 'refused', note: 'Hostwright places by constraints (node.hostname, node.labels.<key>); remove it' });
  }
  const constraints = value.constraints;
  if (!Array.isArray(constraints)) return;
  const hosts: string[] = [];
  const selector: Record<string, string> = {};
  const excludeHosts: string[] = [];
  const excludeLabels: Record<string, string> = {};
  for (const [index, constraint] of constraints.entries()) {
    const match = typeof constraint === 'string' ? CONSTRAINT.exec(constraint) : null;
    if (!match) {
      context.problem([...at, 'constraints', index], 'expected "node.hostname == <host id>" or "node.labels.<key> == <value>" (or !=): Hostwright places by host id and host labels only');
      continue;
    }
    const [, subject, label, operator, target = ''] = match;
    if (subject === 'node.hostname') (operator === '==' ? hosts : excludeHosts).push(target);
    else defineEntry(operator === '==' ? selector : excludeLabels, label as string, target);
  }
  if (hosts.length > 1) context.problem([...at, 'constraints'], 'two node.hostname == constraints never hold together: give one (or x-hostwright.placement.hosts for several)');
  if (hosts.length === 1 && (Object.keys(selector).length > 0 || excludeHosts.length > 0 || Object.keys(excludeLabels).length > 0)) {
    context.problem([...at, 'constraints'], 'node.hostname == names the host already: remove the other constraints');
    return;
  }
  const exclude = { ...(excludeHosts.length > 0 ? { hosts: excludeHosts } : {}), ...(Object.keys(excludeLabels).length > 0 ? { labels: excludeLabels } : {}) };
  if (hosts.length >= 1) set('placement', { hosts: hosts.slice(0, 1) }, [...at, 'constraints']);
  else if (constraints.length > 0) set('placement', { selector, ...(Object.keys(exclude).length > 0 ? { exclude } : {}) }, [...at, 'constraints']);
}

/** depends_on naming a service that is not there (or left out by its profiles) is compose's error too. */
function dependencyProblems(services: Readonly<Record<string, unknown>>, all: Readonly<Record<string, unknown>>, context: FormContext): void {
  for (const [name, service] of Object.entries(services)) {
    if (!isMapping(service) || service.depends_on === undefined) continue;
    const dependsOn = service.depends_on;
    const entries: [string, unknown][] = Array.isArray(dependsOn) ? dependsOn.map((target) => [String(target), {}]) : isMapping(dependsOn) ? Object.entries(dependsOn) : [];
    for (const [target, spec] of entries) {
      if (Object.hasOwn(services, target)) continue;
      const required = !isMapping(spec) || spec.required !== false;
      const why = Object.hasOwn(all, target) ? `${target} is left out by its profiles (select one with --profile)` : `there is no service ${target}`;
      if (required) context.problem(['services', name, 'depends_on'], `depends on ${target}, but ${why}`, target);
      else if (isMapping(dependsOn)) delete (dependsOn as Record<string, unknown>)[target];
    }
  }
}
