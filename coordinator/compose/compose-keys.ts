import { compareStrings } from '../../shared/compare.js';

// Every key of the Compose Specification, at the top level and in a service, with what Hostwright
// does with it. This one table drives the reader's errors and the table of keys in docs/fleet-file.md.

export type KeyStatus =
  /** Taken as compose means it, under the same name. */
  | 'supported'
  /** Taken, written into the model in another form (`to` says where). */
  | 'mapped'
  /** Without effect in compose itself today (compose warns and ignores it). */
  | 'ignored'
  /** Cannot run on a fleet: an error naming the key and what to do, unless --ignore-unsupported names it. */
  | 'refused';

export interface KeyRule {
  readonly status: KeyStatus;
  /** supported/mapped: where it goes in the model; refused: what to do instead; ignored: why. */
  readonly note: string;
}

const supported = (note = 'same key in the model'): KeyRule => ({ status: 'supported', note });
const mapped = (note: string): KeyRule => ({ status: 'mapped', note });
const refused = (note: string): KeyRule => ({ status: 'refused', note });

/** Top-level keys of a compose file. */
export const COMPOSE_TOP_KEYS: Readonly<Record<string, KeyRule>> = {
  version: { status: 'ignored', note: 'obsolete; compose ignores it too' },
  name: mapped('the project name (before --project-name and the directory name)'),
  include: supported('resolved when the file is read: each included file (path: one or a list, project_directory, env_file) read in its own directory with its own .env; the including file\'s own definition of a name merges onto the included one; a name two included files define, or a cycle, is refused'),
  services: supported(),
  networks: supported('project networks (bridge, per host; enable_ipv6 with an IPv6 subnet in ipam.config); a created network is named <project>_<key>, so its name: is left out (said when read)'),
  volumes: supported('project volumes'),
  secrets: mapped('file:, environment: read on the coordinator; sealed to each host that mounts them (docs/secrets.md)'),
  configs: mapped('file:, environment:, content: read on the coordinator; sealed as secrets are (docs/secrets.md)'),
  models: refused('run the model server as a service of its own'),
};

/** Keys of a service. */
export const COMPOSE_SERVICE_KEYS: Readonly<Record<string, KeyRule>> = {
  annotations: refused('remove it (no engine annotations)'),
  attach: { status: 'ignored', note: 'it only decides whether `compose up` prints the service\'s output; logs are read from the engine' },
  blkio_config: refused('remove it (no block I/O limits yet)'),
  build: refused('build and push the image, then set image: to it (every host pulls the same image); beside image:, the image is used and plan says so'),
  cap_add: supported(),
  cap_drop: supported(),
  cgroup: refused('remove it'),
  cgroup_parent: refused('remove it'),
  command: supported('a string is split into words as compose splits it'),
  configs: mapped('secrets, as files at /<name> or target (short and long syntax)'),
  container_name: mapped('a network alias on each of the service\'s networks (other containers reach it by that name); the container keeps its Hostwright name, which ownership and start-first replacements need; refused with replicas > 1 (one host would run two instances)'),
  cpu_count: refused('use cpus'),
  cpu_percent: refused('use cpus'),
  cpu_period: refused('use cpus'),
  cpu_quota: refused('use cpus'),
  cpu_rt_period: refused('remove it'),
  cpu_rt_runtime: refused('remove it'),
  cpu_shares: supported(),
  cpus: supported(),
  cpuset: refused('remove it (no CPU pinning yet)'),
  credential_spec: refused('remove it (Windows only)'),
  depends_on: supported('list or mapping with condition, restart, required'),
  deploy: mapped('replicas, resources, restart_policy, update_config, placement.constraints (see below)'),
  develop: refused('remove it (compose watch is for development)'),
  device_cgroup_rules: refused('remove it'),
  devices: supported(),
  dns: supported(),
  dns_opt: refused('remove it'),
  dns_search: supported(),
  domainname: supported(),
  entrypoint: supported('a string is split into words as compose splits it'),
  env_file: mapped('read on the coordinator beside the compose file; its values join env'),
  environment: mapped('env (list or mapping)'),
  expose: supported('ranges written out'),
  extends: mapped('resolved when the file is read, from the same file or another (`file:`), merged as compose merges'),
  external_links: refused('remove it (services reach each other by name on the project network)'),
  extra_hosts: supported('list or mapping'),
  gpus: refused('remove it (no GPU devices yet)'),
  group_add: supported(),
  healthcheck: supported('test as a string runs with the shell (CMD-SHELL); {disable: false} alone keeps the image\'s check'),
  hostname: supported(),
  image: supported(),
  init: supported(),
  ipc: refused('remove it'),
  isolation: refused('remove it (Windows only)'),
  label_file: refused('write the labels in labels:'),
  labels: supported('list or mapping; a number or boolean value as written, an absent one empty'),
  links: mapped('"service:alias" makes alias a network alias of that service (seen by the whole project network); the service name resolves already'),
  logging: supported(),
  mac_address: refused('remove it'),
  mem_limit: supported(),
  mem_reservation: supported(),
  mem_swappiness: refused('remove it'),
  memswap_limit: supported(),
  models: refused('remove it'),
  network_mode: supported('host, none, service:<name>'),
  networks: supported(),
  oom_kill_disable: refused('remove it'),
  oom_score_adj: refused('remove it'),
  pid: refused('remove it'),
  pids_limit: supported(),
  platform: supported('passed to the engine at create (a host whose image is for another platform refuses it); "" is none'),
  ports: supported('numbers, ranges and the long syntax'),
  post_start: refused('run the step in the image\'s entrypoint'),
  pre_stop: refused('handle the stop signal in the program'),
  privileged: supported(),
  profiles: mapped('a service with profiles runs only when --profile selects one of them, as with compose'),
  provider: refused('remove it'),
  pull_policy: mapped('missing (if_not_present) or never'),
  pull_refresh_after: refused('remove it'),
  read_only: supported(),
  restart: supported('`no` when not given, as with compose (a one-shot service runs once); `on-failure:<n>` limits the engine\'s retries; x-hostwright.restart sets another default for the file'),
  runtime: refused('remove it'),
  scale: mapped('replicas'),
  secrets: mapped('secrets: files on the agent\'s tmpfs at /run/secrets/<name> or target, with uid, gid, mode'),
  security_opt: supported(),
  shm_size: supported(),
  stdin_open: supported('stdin kept open on the detached container'),
  stop_grace_period: mapped('stop_timeout'),
  stop_signal: supported(),
  storage_opt: refused('remove it'),
  sysctls: supported('list or mapping'),
  tmpfs: supported(),
  tty: supported('a terminal for the main process (Docker keeps it on a detached container)'),
  ulimits: supported(),
  use_api_socket: refused('remove it'),
  user: supported(),
  userns_mode: refused('remove it'),
  uts: refused('remove it'),
  volumes: supported('short and long syntax; flags ro, rw, z, Z, nocopy, cached, delegated, consistent and the propagation modes, combined as "ro,z"; an anonymous volume becomes a project volume <service>_<path>'),
  volumes_from: refused('mount the same named volume in both services'),
  working_dir: supported(),
};

/** Keys of a service's `deploy:`. */
export const COMPOSE_DEPLOY_KEYS: Readonly<Record<string, KeyRule>> = {
  mode: mapped('replicated; global is replicas: 1 on every placed host'),
  replicas: mapped('replicas'),
  resources: mapped('limits.cpus → cpus, limits.memory → mem_limit, limits.pids → pids_limit, reservations.memory → mem_reservation'),
  restart_policy: mapped('condition → restart (none: no, on-failure, any: always); max_attempts → on-failure:<n>'),
  update_config: mapped('order → update_order; parallelism, monitor, failure_action, max_failure_ratio → the defaults of `hostwright rollout`'),
  placement: mapped('constraints node.hostname ==/!= and node.labels.<key> ==/!= → placement'),
  endpoint_mode: refused('remove it (no Swarm routing mesh)'),
  labels: refused('put the labels in the service\'s labels:'),
  rollback_config: refused('use `hostwright rollout --on-failure rollback`'),
};

/** The rule of a service key, for a key the table knows; extension keys (x-…) are always accepted. */
export function serviceKeyRule(key: string): KeyRule | undefined {
  return Object.hasOwn(COMPOSE_SERVICE_KEYS, key) ? COMPOSE_SERVICE_KEYS[key] : undefined;
}

/** The table of keys in docs/fleet-file.md, generated from the tables above. */
export function composeKeysMarkdown(): string {
  const rows = (scope: string, table: Readonly<Record<string, KeyRule>>): string[] =>
    Object.entries(table)
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([key, rule]) => `| ${scope}\`${key}\` | ${rule.status} | ${rule.note.replaceAll('|', '\\|')} |`);
  return ['| key | status | what Hostwright does |', '| --- | --- | --- |', ...rows('', COMPOSE_TOP_KEYS), ...rows('services.*.', COMPOSE_SERVICE_KEYS), ...rows('services.*.deploy.', COMPOSE_DEPLOY_KEYS)].join('\n');
}
