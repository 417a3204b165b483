import { Help, Option, type Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '../../shared/errors.js';
import type { NatsAccess } from '../../shared/nats-connection.js';
import { withContextOption } from './cli-context.js';
import type { FleetTarget } from '../fleet-session.js';

/** A repeatable option's values, in order (commander's argParser for `--x a --x b`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The help heading of the options that say how to reach the fleet's NATS: one section, the same in every command. */
export const CONNECTION_HEADING = 'Connection options (fleet mode):';
/** The help heading of the options that only local mode reads. */
export const LOCAL_HEADING = 'Local mode options:';

/** Help lists a command's own options first, then the local-mode ones, then the connection ones (commander's groupItems). */
export function sharedGroupsLast<T extends Command | Option>(this: Help, unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
  const rank = (group: string) => (group === CONNECTION_HEADING ? 2 : group === LOCAL_HEADING ? 1 : 0);
  const groups: Map<string, T[]> = Help.prototype.groupItems.call<Help, [T[], T[], (item: T) => string], Map<string, T[]>>(this, unsorted, visible, getGroup);
  return new Map([...groups].sort(([a], [b]) => rank(a) - rank(b)));
}

/** Which of the local-mode options a command reads beyond --local and --data-dir; help lists only those. */
export interface LocalOptionUse {
  /** --host-id: the host's id (and with it the fleet file's placement). */
  readonly hostId?: boolean;
  /** --label: the host's labels, for placement. */
  readonly labels?: boolean;
  /** --registry-auth: the command pulls images. */
  readonly pulls?: boolean;
  /** --image-grace: the command plans or runs image cleanup. */
  readonly imageCleanup?: boolean;
}

const EVERY_LOCAL_OPTION: LocalOptionUse = { hostId: true, labels: true, pulls: true, imageCleanup: true };

/** Options shared by every command that works on one host directly or on the fleet over NATS. */
export function withLocalOptions(command: Command, role: 'coordinator' | 'agent' = 'coordinator', use: LocalOptionUse = EVERY_LOCAL_OPTION): Command {
  const local = (flags: string, description: string, parse?: { fn: (value: string, previous: string[]) => string[]; initial: string[] }): void => {
    // The agent reads these in fleet mode too: they stay with its other options.
    const option = role === 'agent' ? new Option(flags, description) : new Option(flags, description).helpGroup(LOCAL_HEADING);
    command.addOption(parse ? option.argParser(parse.fn).default(parse.initial) : option);
  };
  local('--local', 'manage this machine directly (local Docker engine and data dir, no NATS)');
  local('--data-dir <dir>', 'where the journal lives (default: $HOSTWRIGHT_DATA_DIR or ~/.hostwright/local)');
  if (use.hostId) local('--host-id <id>', 'this host\'s id; when given, the fleet file\'s placement is applied (default: "local", placement ignored)');
  if (use.labels) local('--label <key=value>', 'a label of this host, for placement selectors (repeatable)', { fn: collect, initial: [] });
  if (use.pulls) local('--registry-auth <file>', 'registry credentials for image pulls, in Docker\'s config.json format (mode 0600); local mode default: $DOCKER_CONFIG/config.json or ~/.docker/config.json when present');
  if (use.imageCleanup) local('--image-grace <duration>', 'image cleanup: how long an image Hostwright pulled stays once no revision (current or previous) names it (default: 1h)');
  return withNatsOptions(command, role);
}

/** How to reach the fleet's NATS: shared by every fleet command and `agent`, under one help heading. */
export function withNatsOptions(command: Command, role: 'coordinator' | 'agent' = 'coordinator'): Command {
  const connection = (flags: string, description: string): void => void command.addOption(new Option(flags, description).helpGroup(CONNECTION_HEADING));
  if (role === 'coordinator') connection('--fleet-auth <dir>', 'the fleet\'s auth dir (or its fleet-auth.json), whose host keys verify what hosts report (default: $HOSTWRIGHT_FLEET_AUTH, or fleet-auth.json beside --creds)');
  connection('--nats <url>', 'the fleet\'s NATS (default: $HOSTWRIGHT_NATS)');
  connection('--creds <file>', 'NATS credentials: an nkey seed file from `hostwright fleet init`, or a NATS .creds file (default: $HOSTWRIGHT_CREDS)');
  connection('--tls-ca <file>', 'TLS: trust this CA for the NATS server\'s certificate (default: $HOSTWRIGHT_TLS_CA)');
  connection('--tls-cert <file>', 'TLS: client certificate, when the server verifies clients (default: $HOSTWRIGHT_TLS_CERT)');
  connection('--tls-key <file>', 'TLS: client key (default: $HOSTWRIGHT_TLS_KEY)');
  // The agent and `fleet setup` (admin credentials) take their connection from flags and their own files.
  if (role === 'coordinator') withContextOption(command, connection);
  return command;
}

export interface NatsOptions {
  readonly nats?: string;
  readonly fleetAuth?: string;
  readonly creds?: string;
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

// Defined beside withFleet, which opens it (coordinator/fleet-session.ts).
export type { FleetTarget };

export type Mode = { readonly kind: 'local' } | ({ readonly kind: 'fleet' } & FleetTarget);

/** --local wins; otherwise --nats or $HOSTWRIGHT_NATS selects the fleet. */
export function modeOf(options: { local?: boolean } & NatsOptions, command: string): Mode {
  if (options.local) return { kind: 'local' };
  const natsUrl = options.nats ?? process.env.HOSTWRIGHT_NATS;
  if (natsUrl) return { kind: 'fleet', natsUrl, access: natsAccessOf(options), fleetAuth: options.fleetAuth ?? nonEmpty(process.env.HOSTWRIGHT_FLEET_AUTH) };
  throw new InvalidInputError(`${command}: pass --local to manage this machine, or --nats URL (or set HOSTWRIGHT_NATS, or use a context: hostwright context set NAME --nats URL --use) to manage the fleet`);
}

/** Flags win over the environment; a client certificate needs its key. */
export function natsAccessOf(options: NatsOptions, env: NodeJS.ProcessEnv = process.env): NatsAccess {
  const credsFile = options.creds ?? nonEmpty(env.HOSTWRIGHT_CREDS);
  const caFile = options.tlsCa ?? nonEmpty(env.HOSTWRIGHT_TLS_CA);
  const certFile = options.tlsCert ?? nonEmpty(env.HOSTWRIGHT_TLS_CERT);
  const keyFile = options.tlsKey ?? nonEmpty(env.HOSTWRIGHT_TLS_KEY);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new InvalidInputError('--tls-cert and --tls-key go together (a client certificate needs its key)');
  const tls = (caFile ?? certFile) === undefined ? undefined : { caFile, certFile, keyFile };
  return { credsFile, tls };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Options every local-mode command takes. */
export interface LocalOptions {
  readonly local?: boolean;
  readonly dataDir?: string;
  readonly hostId?: string;
  readonly label?: readonly string[];
  readonly parallel?: string;
  readonly registryAuth?: string;
  readonly imageGrace?: string;
}

export function defaultDataDir(): string {
  return process.env.HOSTWRIGHT_DATA_DIR ?? join(homedir(), '.hostwright', 'local');
}

export function parseLabels(pairs: readonly string[] = []): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new InvalidInputError(`--label ${pair}: expected key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

export function parseParallel(text: string | undefined): number {
  if (text === undefined) return 4;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new InvalidInputError(`--parallel ${text}: expected a whole number from 1 to 64`);
  return value;
}

/**
 * `-f` (repeatable: compose files merge in order) and the flags of reading a compose file. `what`
 * is the option's help text; `required` makes -f mandatory.
 */
export function withWorkloadOptions(command: Command, what: string, required = false): Command {
  const file = '-f, --file <file|dir>';
  const help = `${what}: a fleet file, a compose file (repeat -f to merge compose files in order) or a directory with compose.yaml`;
  return (required ? command.requiredOption(file, help, collect, []) : command.option(file, help, collect, []))
    .option('--project-name <name>', 'compose files: the project name when the file has no name: (default: the directory\'s name)')
    .option('--profile <name>', 'compose files: also run the services of this profile (repeatable)', collect, [])
    .option('--ignore-unsupported <keys>', 'compose files: leave out these keys instead of refusing the file (comma-separated, e.g. build,tty,deploy.labels)')
    .option('--allow-outside-project', 'compose files: let env_file and .env read files outside the project directory (symlinks followed)');
}

/** The options withWorkloadOptions adds, as commander parses them. */
export interface WorkloadOptions {
  readonly file?: readonly string[];
  readonly projectName?: string;
  readonly profile?: readonly string[];
  readonly ignoreUnsupported?: string;
  readonly allowOutsideProject?: boolean;
}

/** -f and its companions as the reader takes them. */
export function workloadSourceOf(options: WorkloadOptions): { files: readonly string[]; projectName: string | undefined; profiles: readonly string[]; ignoreUnsupported: readonly string[]; allowOutsideProject: boolean } {
  return {
    allowOutsideProject: options.allowOutsideProject === true,
    files: options.file ?? [],
    projectName: options.projectName,
    profiles: options.profile ?? [],
    ignoreUnsupported: (options.ignoreUnsupported ?? '').split(',').map((key) => key.trim()).filter((key) => key !== ''),
  };
}

/** Whether -f was given at all. */
export function hasFile(options: WorkloadOptions): boolean {
  return (options.file ?? []).length > 0;
}
