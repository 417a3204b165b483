import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STRICT_HOST_POLICY, hostPolicyFromFlags, networkRefusals, policyRefusals, volumeRefusals, type HostPolicyFlags } from '../../agent/core/host-policy.js';
import { MOUNT_KEY_REACH, NETWORK_KEY_REACH, SERVICE_KEY_REACH, VOLUME_KEY_REACH, type KeyReach } from '../../agent/core/host-policy-reach.js';
import { serviceSpecSchema, type ServiceSpec } from '../../shared/fleet-spec.js';
import { networkSpecSchema, volumeSpecSchema, type NetworkSpec, type VolumeSpec } from '../../shared/project-resources.js';
import { longVolumeSchema } from '../../shared/volume-mounts.js';

// The generated sweep: every key of the container, volume and network models (read from the zod schemas'
// shapes) is classified harmless or gated; each gated key, given generated values that reach the
// host, is refused by the strict policy with a message naming the flag, and that flag permits it.

const SERVICE_SHAPE_KEYS = Object.keys(serviceSpecSchema.out.shape).sort();
const VOLUME_SHAPE_KEYS = Object.keys(volumeSpecSchema.shape).sort();
const MOUNT_SHAPE_KEYS = Object.keys(longVolumeSchema.shape).sort();
const NETWORK_SHAPE_KEYS = Object.keys(networkSpecSchema.shape).sort();

const isGated = (reach: KeyReach): boolean => 'gated' in reach;
const gatedKeys = (table: Readonly<Record<string, KeyReach>>) => Object.keys(table).filter((key) => isGated(table[key] as KeyReach)).sort();
const harmlessKeys = (table: Readonly<Record<string, KeyReach>>) => Object.keys(table).filter((key) => !isGated(table[key] as KeyReach)).sort();

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,8}$/);
/** An absolute host path, never under /allowed-elsewhere (the test's one allowed base). */
const hostPath = fc.array(segment, { minLength: 0, maxLength: 4 }).map((parts) => `/${parts.join('/')}`).filter((path) => !path.startsWith('/allowed-elsewhere'));
const hostDir = fc.constantFrom('/', '/etc', '/root', '/var/run/docker.sock', '/proc', '/sys', '/dev', '/var/lib/hostwright', '/home').chain((base) => hostPath.map((rest) => (rest === '/' ? base : `${base === '/' ? '' : base}${rest}`)));
const separator = fc.constantFrom('=', ':');
const flagsOf = (options: readonly string[]) => fc.shuffledSubarray([...options]).map((chosen) => chosen.join(','));

/** Values of each gated service key that reach the host; every one must be a valid model value. */
const HOSTILE_SERVICE: { readonly [K in keyof ServiceSpec]?: fc.Arbitrary<Partial<Record<keyof ServiceSpec, unknown>>> } = {
  privileged: fc.constant({ privileged: true }),
  devices: fc.constantFrom('/dev/sda', '/dev/mem', '/dev/kmsg', '/dev/fuse:/dev/fuse:rwm').map((device) => ({ devices: [device] })),
  cap_add: fc.constantFrom('SYS_ADMIN', 'CAP_SYS_MODULE', 'sys_ptrace', 'NET_ADMIN', 'DAC_READ_SEARCH', 'ALL', 'BPF').map((cap) => ({ cap_add: [cap] })),
  network_mode: fc.constant({ network_mode: 'host' }),
  volumes: fc.oneof(
    fc.tuple(hostDir, fc.constantFrom('', ':ro', ':rw')).map(([path, mode]) => ({ volumes: [`${path}:/mnt${mode}`] })),
    fc.tuple(hostDir, fc.boolean()).map(([source, create]) => ({ volumes: [{ type: 'bind', source, target: '/mnt', bind: { create_host_path: create } }] })),
  ),
  security_opt: fc.oneof(
    fc.tuple(fc.constantFrom('seccomp', 'apparmor'), separator).map(([key, sep]) => `${key}${sep}unconfined`),
    separator.map((sep) => `seccomp${sep}{"defaultAction":"SCMP_ACT_ALLOW"}`),
    fc.tuple(separator, segment).map(([sep, profile]) => `apparmor${sep}custom-${profile}`),
    fc.tuple(separator, fc.constantFrom('disable', 'type:spc_t', 'user:system_u', 'level:s0:c1')).map(([sep, value]) => `label${sep}${value}`),
    separator.map((sep) => `no-new-privileges${sep}false`),
    separator.map((sep) => `systempaths${sep}unconfined`),
    separator.map((sep) => `writable-cgroups${sep}true`),
  ).map((option) => ({ security_opt: ['no-new-privileges:true', option] })),
  sysctls: fc.oneof(
    fc.constantFrom('kernel.panic', 'kernel.core_pattern', 'vm.overcommit_memory', 'kernel.modprobe', 'kernel.hostname', 'fs.protected_symlinks', 'vm.swappiness').map((name) => ({ sysctls: { [name]: '1' } })),
    fc.constantFrom('net.ipv4.ip_forward', 'net.core.somaxconn').map((name) => ({ network_mode: 'host', sysctls: { [name]: '1' } })),
  ),
  logging: fc.constantFrom('syslog', 'gelf', 'fluentd', 'splunk', 'awslogs', 'some-plugin').map((driver) => ({ logging: { driver, options: { tag: 'x' } } })),
  env: hostDir.map((path) => ({ env: { PLAIN: 'x', STOLEN: { secret_file: path === '/' ? '/etc/shadow' : path } } })),
};

/** A valid value of each harmless service key: the strict policy lets it through. */
const HARMLESS_SERVICE: { readonly [K in keyof ServiceSpec]?: Partial<Record<keyof ServiceSpec, unknown>> } = {
  image: { image: 'registry.example/app:1' },
  command: { command: ['sh', '-c', 'cat /etc/shadow'] },
  ports: { ports: ['127.0.0.1:8080:80', '53:53/udp'] },
  labels: { labels: { team: 'a' } },
  secrets: { secrets: [{ name: 'pw', kind: 'secret', target: '/run/secrets/pw', uid: '0', gid: '0', mode: 0o400, value: { digest: 'a'.repeat(64) } }] },
  restart: { restart: 'always' },
  healthcheck: { healthcheck: { test: ['CMD', 'true'] } },
  replicas: { replicas: 3 },
  pull_policy: { pull_policy: 'always' },
  stop_timeout: { stop_timeout: '30s' },
  stop_grace_period: { stop_grace_period: '30s' },
  entrypoint: { entrypoint: ['/bin/sh'] },
  working_dir: { working_dir: '/srv' },
  user: { user: 'root' },
  group_add: { group_add: ['0', 'docker'] },
  hostname: { hostname: 'host' },
  domainname: { domainname: 'example.org' },
  cpus: { cpus: 64 },
  cpu_shares: { cpu_shares: 262_144 },
  mem_limit: { mem_limit: '512g' },
  mem_reservation: { mem_reservation: '1g' },
  memswap_limit: { memswap_limit: -1 },
  pids_limit: { pids_limit: -1 },
  ulimits: { ulimits: { nofile: { soft: 1_048_576, hard: 1_048_576 }, memlock: -1 } },
  cap_drop: { cap_drop: ['ALL'] },
  read_only: { read_only: true },
  tmpfs: { tmpfs: ['/run:size=64m,mode=1777'] },
  init: { init: true },
  tty: { tty: true },
  stdin_open: { stdin_open: true },
  platform: { platform: 'linux/amd64' },
  shm_size: { shm_size: '1g' },
  extra_hosts: { extra_hosts: ['host.docker.internal:host-gateway'] },
  dns: { dns: ['10.0.0.1'] },
  dns_search: { dns_search: ['example.org'] },
  stop_signal: { stop_signal: 'SIGKILL' },
  expose: { expose: [22] },
  networks: { networks: ['default'] },
  depends_on: { depends_on: ['db'], replicas: 1 },
  update_order: { update_order: 'start-first' },
  drift: { drift: 'report' },
  placement: { placement: { hosts: ['h1'] } },
};

/** The gated keys' harmless values: the strict policy lets these through too. */
const HARMLESS_VALUES_OF_GATED: readonly Partial<Record<keyof ServiceSpec, unknown>>[] = [
  { privileged: false },
  { cap_add: ['CHOWN', 'NET_BIND_SERVICE', 'cap_kill'] },
  { network_mode: 'none' },
  { volumes: ['data:/data', { type: 'volume', source: 'data', target: '/d', volume: { subpath: 'sub' } }, { type: 'tmpfs', target: '/t' }] },
  { security_opt: ['no-new-privileges', 'no-new-privileges:true', 'no-new-privileges=true', 'apparmor=docker-default', 'apparmor:docker-default', 'writable-cgroups=false'] },
  { sysctls: { 'net.core.somaxconn': 1024, 'net.ipv4.ip_unprivileged_port_start': 0, 'kernel.shmmax': 1, 'kernel.msgmax': 1, 'kernel.sem': '250 32000 100 128', 'fs.mqueue.msg_max': 10 } },
  { logging: { driver: 'json-file', options: { 'max-size': '10m' } } },
  { logging: { driver: 'local' } },
  { env: { A: 'x', B: { secret: 'inline' } } },
];

/** Values of each gated volume key that reach the host. */
const HOSTILE_VOLUME: { readonly [K in keyof VolumeSpec]?: fc.Arbitrary<Record<string, unknown>> } = {
  driver: fc.constantFrom('rclone', 'sshfs', 'local-persist', 'convoy').map((driver) => ({ driver, driver_opts: { mountpoint: '/' } })),
  driver_opts: fc.oneof(
    // The document: local driver, o: bind, device a host path (with o's other flags in any order).
    fc.tuple(hostDir, flagsOf(['ro', 'nosuid', 'noexec']), fc.constantFrom('bind', 'rbind'), fc.constantFrom(undefined, 'none', '', 'tmpfs', 'ext4')).map(([device, flags, bind, type]) => ({ driver_opts: { ...(type === undefined ? {} : { type }), o: flags === '' ? bind : `${flags},${bind}`, device } })),
    fc.tuple(fc.constantFrom('ext4', 'xfs', 'btrfs', 'vfat'), fc.constantFrom('/dev/sda1', '/dev/nvme0n1p1', '/dev/mapper/root')).map(([type, device]) => ({ driver_opts: { type, device } })),
    fc.constantFrom('proc', 'sysfs', 'cgroup2', 'devtmpfs', 'overlay', 'debugfs', 'nfs', 'cifs').map((type) => ({ driver_opts: { type, o: 'rw', device: type === 'nfs' ? ':/export' : type } })),
    hostDir.map((device) => ({ driver: 'local', driver_opts: { type: 'none', device } })),
  ),
};

const HARMLESS_VOLUMES: readonly Record<string, unknown>[] = [
  {},
  { driver: 'local' },
  { driver_opts: { type: 'tmpfs', device: 'tmpfs', o: 'size=100m,uid=1000' } },
  { labels: { backup: 'daily' } },
  { external: true, name: 'someone-elses' },
];

/** Values of each gated network key that reach the host's interfaces, routes or bindings. */
const HOSTILE_NETWORK: { readonly [K in keyof NetworkSpec]?: fc.Arbitrary<Record<string, unknown>> } = {
  driver_opts: fc.oneof(
    fc.constantFrom('eth0', 'br0', 'docker0', 'wg0').map((name) => ({ 'com.docker.network.bridge.name': name })),
    fc.constantFrom('routed', 'nat-unprotected').map((mode) => ({ 'com.docker.network.bridge.gateway_mode_ipv4': mode })),
    fc.constant({ 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0' }),
    fc.constant({ 'com.docker.network.bridge.trusted_host_interfaces': 'eth0' }),
    segment.map((name) => ({ [`com.example.${name}`]: 'x' })),
  ).map((opts) => ({ driver: 'bridge', driver_opts: { 'com.docker.network.driver.mtu': 1400, ...opts } })),
};

const HARMLESS_NETWORKS: readonly Record<string, unknown>[] = [
  {},
  { driver: 'bridge', internal: true, attachable: true, labels: { a: 'b' }, ipam: { config: [{ subnet: '172.28.0.0/16' }] } },
  { driver_opts: { 'com.docker.network.driver.mtu': 1400, 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.container_iface_prefix': 'eth' } },
  { external: true, name: 'someone-elses' },
];

/** The policy the flags named in refusal messages give: "start its agent with --allow-x V --allow-y W". */
function policyFromMessages(messages: readonly string[]) {
  const flags: Record<string, unknown> = {};
  for (const message of messages) {
    const named = /start its agent with ((?:--allow-[a-z-]+(?: [^\s)-][^\s)]*)?\s*)+)/.exec(message)?.[1];
    assert.ok(named, `names the flag that permits it: ${message}`);
    for (const [, flag, value] of named.matchAll(/--allow-([a-z-]+)(?: ([^\s)-][^\s)]*))?/g)) {
      const key = `allow${(flag as string).split('-').map((word) => (word[0] as string).toUpperCase() + word.slice(1)).join('')}`;
      // "--allow-host-path /srv, or use a named volume": the comma ends the sentence, not the value.
      if (value === undefined) flags[key] = true;
      else flags[key] = [...((flags[key] as string[] | undefined) ?? []), value.replace(/,$/, '')];
    }
  }
  return hostPolicyFromFlags(flags as HostPolicyFlags);
}

const parseService = (fields: Partial<Record<keyof ServiceSpec, unknown>>): ServiceSpec => {
  const parsed = serviceSpecSchema.safeParse({ image: 'hw/busybox:test', ...fields });
  assert.ok(parsed.success, `a valid model value: ${JSON.stringify(fields)} ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
  return parsed.data;
};
const parseVolume = (fields: Record<string, unknown>): VolumeSpec => {
  const parsed = volumeSpecSchema.safeParse(fields);
  assert.ok(parsed.success, `a valid volume: ${JSON.stringify(fields)}`);
  return parsed.data;
};

describe('host policy sweep (generated): every key of the container and volume models is harmless or gated', () => {
  it('classifies every key of the service, volume and long-syntax mount schemas, and nothing else', () => {
    assert.deepEqual(Object.keys(SERVICE_KEY_REACH).sort(), SERVICE_SHAPE_KEYS, 'agent/core/host-policy.ts SERVICE_KEY_REACH names each service key');
    assert.deepEqual(Object.keys(VOLUME_KEY_REACH).sort(), VOLUME_SHAPE_KEYS, 'VOLUME_KEY_REACH names each volume key');
    assert.deepEqual(Object.keys(MOUNT_KEY_REACH).sort(), MOUNT_SHAPE_KEYS, 'MOUNT_KEY_REACH names each long-syntax mount key');
    assert.deepEqual(Object.keys(NETWORK_KEY_REACH).sort(), NETWORK_SHAPE_KEYS, 'NETWORK_KEY_REACH names each network key');
    assert.deepEqual(Object.keys(HOSTILE_NETWORK).sort(), gatedKeys(NETWORK_KEY_REACH), 'each gated network key has hostile values here');
    assert.deepEqual(Object.keys(HOSTILE_SERVICE).sort(), gatedKeys(SERVICE_KEY_REACH), 'each gated service key has hostile values here');
    assert.deepEqual(Object.keys(HARMLESS_SERVICE).sort(), harmlessKeys(SERVICE_KEY_REACH), 'each harmless service key has a value here');
    assert.deepEqual(Object.keys(HOSTILE_VOLUME).sort(), gatedKeys(VOLUME_KEY_REACH), 'each gated volume key has hostile values here');
  });

  for (const key of gatedKeys(SERVICE_KEY_REACH) as (keyof ServiceSpec)[]) {
    it(`service key ${key}: every generated value that reaches the host is refused by the strict policy, naming the flag that permits it`, () => {
      fc.assert(
        fc.property(HOSTILE_SERVICE[key] as fc.Arbitrary<Partial<Record<keyof ServiceSpec, unknown>>>, (fields) => {
          const service = parseService(fields);
          const refusals = policyRefusals('svc', service, STRICT_HOST_POLICY);
          assert.ok(refusals.length > 0, `refused: ${JSON.stringify(fields)}`);
          for (const message of refusals) assert.match(message, /^svc: .* is refused by this host's policy \(start its agent with --allow-/);
          assert.deepEqual(policyRefusals('svc', service, policyFromMessages(refusals)), [], `the named flags permit it: ${refusals.join(' | ')}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('every harmless service key, and the harmless values of gated keys, pass the strict policy', () => {
    for (const [key, fields] of Object.entries(HARMLESS_SERVICE)) assert.deepEqual(policyRefusals('svc', parseService(fields), STRICT_HOST_POLICY), [], key);
    for (const fields of HARMLESS_VALUES_OF_GATED) assert.deepEqual(policyRefusals('svc', parseService(fields), STRICT_HOST_POLICY), [], JSON.stringify(fields));
  });

  for (const key of gatedKeys(VOLUME_KEY_REACH) as (keyof VolumeSpec)[]) {
    it(`volume key ${key}: every generated value that reaches the host is refused by the strict policy, naming the flag that permits it`, () => {
      fc.assert(
        fc.property(HOSTILE_VOLUME[key] as fc.Arbitrary<Record<string, unknown>>, (fields) => {
          const volume = parseVolume(fields);
          const refusals = volumeRefusals('data', volume, STRICT_HOST_POLICY);
          assert.ok(refusals.length > 0, `refused: ${JSON.stringify(fields)}`);
          for (const message of refusals) assert.match(message, /^volume data: .* is refused by this host's policy \(start its agent with --allow-/);
          assert.deepEqual(volumeRefusals('data', volume, policyFromMessages(refusals)), [], `the named flags permit it: ${refusals.join(' | ')}`);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('harmless volumes (local, tmpfs, labelled, external) pass the strict policy', () => {
    for (const fields of HARMLESS_VOLUMES) assert.deepEqual(volumeRefusals('data', parseVolume(fields), STRICT_HOST_POLICY), [], JSON.stringify(fields));
  });

  for (const key of gatedKeys(NETWORK_KEY_REACH) as (keyof NetworkSpec)[]) {
    it(`network key ${key}: every generated value that reaches the host is refused by the strict policy, naming the flag that permits it`, () => {
      fc.assert(
        fc.property(HOSTILE_NETWORK[key] as fc.Arbitrary<Record<string, unknown>>, (fields) => {
          const parsed = networkSpecSchema.safeParse(fields);
          assert.ok(parsed.success, `a valid network: ${JSON.stringify(fields)}`);
          const refusals = networkRefusals('front', parsed.data, STRICT_HOST_POLICY);
          assert.ok(refusals.length > 0, `refused: ${JSON.stringify(fields)}`);
          for (const message of refusals) assert.match(message, /^network front: .* is refused by this host's policy \(start its agent with --allow-/);
          assert.deepEqual(networkRefusals('front', parsed.data, policyFromMessages(refusals)), [], `the named flags permit it: ${refusals.join(' | ')}`);
        }),
        { numRuns: 40 },
      );
    });
  }

  it('harmless networks (bridge, internal, own subnet, mtu and the like, external) pass the strict policy', () => {
    for (const fields of HARMLESS_NETWORKS) {
      const parsed = networkSpecSchema.safeParse(fields);
      assert.ok(parsed.success, JSON.stringify(fields));
      assert.deepEqual(networkRefusals('front', parsed.data, STRICT_HOST_POLICY), [], JSON.stringify(fields));
    }
  });

  it('long-syntax mounts: type bind with any source is refused, type volume and tmpfs pass', () => {
    assert.deepEqual(gatedKeys(MOUNT_KEY_REACH), ['source', 'type']);
    fc.assert(
      fc.property(hostDir, fc.boolean(), fc.constantFrom(undefined, 'rshared', 'rslave'), (source, readOnly, propagation) => {
        const entry = { type: 'bind', source, target: '/mnt', read_only: readOnly, ...(propagation ? { bind: { propagation } } : {}) };
        assert.ok(longVolumeSchema.safeParse(entry).success);
        assert.equal(policyRefusals('svc', parseService({ volumes: [entry] }), STRICT_HOST_POLICY).length, 1);
      }),
      { numRuns: 60 },
    );
  });

  it('an allowed host path covers what is below it, never a sibling, a prefix of a name or an escape with ".."', () => {
    const policy = hostPolicyFromFlags({ allowHostPath: ['/allowed-elsewhere/data'], allowSecretFile: ['/etc/hostwright/secrets'] });
    assert.deepEqual(policyRefusals('svc', parseService({ volumes: ['/allowed-elsewhere/data/app:/app'], env: { K: { secret_file: '/etc/hostwright/secrets/k' } } }), policy), []);
    assert.deepEqual(volumeRefusals('data', parseVolume({ driver_opts: { type: 'none', o: 'bind', device: '/allowed-elsewhere/data/v' } }), policy), []);
    for (const path of ['/allowed-elsewhere/database', '/allowed-elsewhere/data/../../etc', '/allowed-elsewhere']) {
      assert.equal(policyRefusals('svc', parseService({ volumes: [`${path}:/x`] }), policy).length, 1, path);
      assert.equal(volumeRefusals('data', parseVolume({ driver_opts: { o: 'bind', device: path } }), policy).length, 1, path);
    }
    assert.equal(policyRefusals('svc', parseService({ env: { K: { secret_file: '/etc/hostwright/secrets/../../shadow' } } }), policy).length, 1);
  });
});
