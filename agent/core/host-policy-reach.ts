import type { ServiceSpec } from '../../shared/fleet-spec.js';
import type { NetworkSpec, VolumeSpec } from '../../shared/project-resources.js';
import type { LongVolume } from '../../shared/volume-mounts.js';

// What each key of the model can reach of the host, and so whether the host policy
// (host-policy.ts) gates it. The generated sweep (test/unit/host-policy-sweep.test.ts) reads the
// zod schemas' shapes and fails on a key missing here; tsc fails on one missing from a type.

/** What a key of the model can reach of the host: nothing beyond its own container, or what the policy gates. */
export type KeyReach = { readonly harmless: string } | { readonly gated: string };

const harmless = (why: string): KeyReach => ({ harmless: why });
const gated = (flags: string): KeyReach => ({ gated: flags });

/**
 * Every key of a service and why it is harmless or which flag permits it: the generated sweep
 * (test/unit/host-policy-sweep.test.ts) fails on a model key missing here.
 */
export const SERVICE_KEY_REACH: { readonly [K in keyof ServiceSpec]-?: KeyReach } = {
  image: harmless('the image runs inside the container\'s own namespaces'),
  command: harmless('runs inside the container'),
  env: gated('--allow-secret-file (secret_file: reads a host file as root)'),
  ports: harmless('publishes container ports; clashes are the port gates\''),
  volumes: gated('--allow-host-path (bind mounts, short and long syntax)'),
  secrets: harmless('files the agent writes on its own tmpfs, mounted read-only into the container'),
  labels: harmless('metadata'),
  restart: harmless('engine restart policy'),
  healthcheck: harmless('runs inside the container'),
  replicas: harmless('instance count'),
  pull_policy: harmless('when the image is pulled'),
  stop_timeout: harmless('stop grace period'),
  stop_grace_period: harmless('another name of stop_timeout'),
  entrypoint: harmless('runs inside the container'),
  working_dir: harmless('a path inside the container'),
  user: harmless('a user inside the container\'s namespaces (root there is the engine\'s unprivileged default)'),
  group_add: harmless('groups inside the container'),
  hostname: harmless('the container\'s own UTS namespace'),
  domainname: harmless('the container\'s own UTS namespace'),
  cpus: harmless('a resource limit'),
  cpu_shares: harmless('a resource weight'),
  mem_limit: harmless('a resource limit'),
  mem_reservation: harmless('a resource limit'),
  memswap_limit: harmless('a resource limit'),
  pids_limit: harmless('a resource limit'),
  ulimits: harmless('rlimits of the container\'s processes'),
  cap_add: gated('--allow-cap'),
  cap_drop: harmless('removes capabilities'),
  security_opt: gated('--allow-security-opt'),
  read_only: harmless('makes the root filesystem read-only'),
  tmpfs: harmless('memory-backed mounts inside the container'),
  init: harmless('an init process inside the container'),
  shm_size: harmless('the container\'s own /dev/shm size'),
  sysctls: gated('--allow-sysctl (outside the namespaced set, or net.* on the host network)'),
  extra_hosts: harmless('the container\'s /etc/hosts'),
  dns: harmless('the container\'s resolv.conf'),
  dns_search: harmless('the container\'s resolv.conf'),
  logging: gated('--allow-log-driver (drivers the engine runs from the host\'s network and sockets)'),
  stop_signal: harmless('the signal a stop sends'),
  expose: harmless('metadata of the image\'s ports'),
  privileged: gated('--allow-privileged'),
  devices: gated('--allow-devices'),
  tty: harmless('a pseudo-terminal inside the container'),
  stdin_open: harmless('keeps the container\'s own stdin open'),
  platform: harmless('which variant of the image the engine runs'),
  networks: harmless('the project\'s networks, whose own keys are NETWORK_KEY_REACH\'s'),
  network_mode: gated('--allow-host-network (host; service:<name> joins the project\'s own container)'),
  depends_on: harmless('start order'),
  update_order: harmless('replacement order'),
  drift: harmless('what the loop repairs'),
  placement: harmless('which hosts get the service'),
};

/** Every key of a project's volume, as SERVICE_KEY_REACH. */
export const VOLUME_KEY_REACH: { readonly [K in keyof VolumeSpec]-?: KeyReach } = {
  driver: gated('--allow-volume-driver (any driver but local)'),
  driver_opts: gated('--allow-host-path (o: bind, a device path), --allow-volume-type (a mount type but tmpfs)'),
  labels: harmless('metadata'),
  external: harmless('uses an existing volume of the engine; creates nothing'),
  name: harmless('the engine name of an external volume'),
};

/** Every key of a project's network, as SERVICE_KEY_REACH. */
export const NETWORK_KEY_REACH: { readonly [K in keyof NetworkSpec]-?: KeyReach } = {
  driver: harmless('only bridge: a network local to the host\'s engine'),
  driver_opts: gated('--allow-network-opt (the bridge\'s host interface, its gateway mode and the host bindings)'),
  internal: harmless('cuts the network off'),
  enable_ipv6: harmless('IPv6 addresses of the project network\'s own subnet'),
  attachable: harmless('lets other containers join'),
  ipam: harmless('the project network\'s own addresses'),
  labels: harmless('metadata'),
  external: harmless('uses an existing network of the engine; creates nothing'),
  name: harmless('the engine name of an external network'),
};

/** Every key of a long-syntax `volumes:` entry, as SERVICE_KEY_REACH. */
export const MOUNT_KEY_REACH: { readonly [K in keyof LongVolume]-?: KeyReach } = {
  type: gated('--allow-host-path (type bind)'),
  source: gated('--allow-host-path (the host path of type bind)'),
  target: harmless('a path inside the container'),
  read_only: harmless('mounts read-only'),
  bind: harmless('options of a bind mount, which is gated by its source'),
  volume: harmless('options of a named volume (subpath stays inside it)'),
  tmpfs: harmless('a memory-backed mount inside the container'),
};
