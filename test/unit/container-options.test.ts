import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetFileError } from '../lib/fleet-file-error.js';
import { parseFleetFile } from '../../coordinator/fleet-file.js';
import { parseByteSize } from '../../shared/byte-size.js';
import { toDockerCreateOptions } from '../../agent/runtime/docker-container.js';
import { runtimeConfigOf, serviceSpecSchema } from '../../shared/fleet-spec.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { STRICT_HOST_POLICY, policyRefusals } from '../../agent/core/host-policy.js';

const fleet = (serviceYaml: string) => `project: opts\nservices:\n  api:\n    image: hw/busybox:test\n${serviceYaml}`;


describe('container options in a fleet file (pure)', () => {
  it('accepts every option in compose\'s form', () => {
    const file = parseFleetFile(
      fleet(`    entrypoint: ["/bin/sh", "-c"]
    working_dir: /srv
    user: "1000:1000"
    group_add: [audio, 44]
    hostname: api
    domainname: corp.test
    cpus: 1.5
    cpu_shares: 512
    mem_limit: 512m
    mem_reservation: 1gb
    memswap_limit: -1
    pids_limit: 100
    ulimits: { nofile: { soft: 1024, hard: 4096 }, nproc: 512 }
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true"]
    read_only: true
    tmpfs: ["/run:size=64m"]
    init: true
    shm_size: 64m
    sysctls: { net.core.somaxconn: 1024 }
    extra_hosts: ["db:10.0.0.5", "gw:host-gateway"]
    dns: [10.0.0.53]
    dns_search: [corp.test]
    logging: { driver: local, options: { max-size: 10m } }
    stop_signal: SIGQUIT
    stop_grace_period: 1m30s
    healthcheck: { test: [CMD, "true"], start_interval: 1s }
    expose: [9000, "53/udp"]
`.replace('1m30s', '90s')),
      'fleet.yaml',
    );
    const api = file.services.api;
    assert.equal(api?.stop_timeout, '90s', 'stop_grace_period is stop_timeout');
    assert.equal(api?.mem_reservation, '1gb');
    assert.deepEqual(api?.cap_add, ['NET_ADMIN']);
  });

  it('points at the offending path and line for a wrong type, an unknown capability, a bad unit, negative cpus, an unknown ulimit', () => {
    const cases: [string, RegExp][] = [
      ['    read_only: "yes"\n', /fleet\.yaml:5:\d+ services\.api\.read_only: .*boolean/],
      ['    cap_add: [NET_ADMIN, CAP_FLY]\n', /fleet\.yaml:5:\d+ services\.api\.cap_add\[1\]: unknown capability "CAP_FLY"/],
      ['    mem_limit: 512mib\n', /fleet\.yaml:5:\d+ services\.api\.mem_limit: expected a size such as "512m"/],
      ['    cpus: -1\n', /fleet\.yaml:5:\d+ services\.api\.cpus: cpus must be more than 0/],
      ['    ulimits: { nofiles: 10 }\n', /services\.api\.ulimits.*unknown ulimit "nofiles"/],
      ['    ulimits: { nofile: { soft: 10, hard: 5 } }\n', /services\.api\.ulimits\.nofile: .*soft must not exceed hard/],
      ['    stop_timeout: 5s\n    stop_grace_period: 5s\n', /services\.api\.stop_grace_period: stop_grace_period and stop_timeout name the same setting/],
      ['    extra_hosts: ["db"]\n', /services\.api\.extra_hosts\[0\]: expected "name:ip"/],
      ['    working_dir: srv\n', /services\.api\.working_dir: expected an absolute path/],
      ['    healthcheck: { disable: true, test: [CMD, "true"] }\n', /services\.api\.healthcheck\.disable: disable: true takes no test/],
    ];
    for (const [yaml, expected] of cases) assert.match(fleetFileError(fleet(yaml)), expected, yaml);
  });

  it('byte sizes as compose writes them', () => {
    assert.equal(parseByteSize('512m'), 512 * 2 ** 20);
    assert.equal(parseByteSize('1GB'), 2 ** 30);
    assert.equal(parseByteSize('2048k'), 2 * 2 ** 20);
    assert.equal(parseByteSize(1234), 1234);
    assert.throws(() => parseByteSize('12 parsecs'), RangeError);
  });

  it('a service that sets no option hashes as before they existed; one that sets an option hashes differently', () => {
    const plain = serviceSpecSchema.parse({ image: 'hw/busybox:test' });
    assert.deepEqual(Object.keys(runtimeConfigOf(plain)).sort(), ['command', 'env', 'healthcheck', 'image', 'labels', 'ports', 'restart', 'stop_timeout', 'volumes']);
    assert.notEqual(specHashOf(serviceSpecSchema.parse({ image: 'hw/busybox:test', init: true })), specHashOf(plain));
    // The hash the versions before the options computed for this service: an upgrade replaces no container.
    const before = serviceSpecSchema.parse({ image: 'hw/busybox:test', command: ['sh', '-c', 'x'], env: { A: '1' }, ports: ['8080:80'], healthcheck: { test: ['CMD', 'true'], interval: '5s' } });
    assert.equal(specHashOf(before), 'a594810174b582f3e20974bc8553928f');
  });
});

describe('host policy (pure): what a host lets desired state ask for', () => {
  const spec = (fields: Record<string, unknown>) => serviceSpecSchema.parse({ image: 'hw/busybox:test', ...fields });
  it('a strict host refuses privileged, devices, capabilities beyond Docker\'s defaults and host paths; the default capabilities and named volumes pass', () => {
    assert.equal(policyRefusals('a', spec({ privileged: true }), STRICT_HOST_POLICY).length, 1);
    assert.equal(policyRefusals('a', spec({ devices: ['/dev/fuse'] }), STRICT_HOST_POLICY).length, 1);
    assert.match(policyRefusals('a', spec({ cap_add: ['CAP_SYS_ADMIN', 'chown'] }), STRICT_HOST_POLICY).join(), /cap_add SYS_ADMIN is refused/);
    assert.deepEqual(policyRefusals('a', spec({ cap_add: ['CHOWN', 'NET_BIND_SERVICE'], volumes: ['data:/data'] }), STRICT_HOST_POLICY), []);
    assert.match(policyRefusals('a', spec({ volumes: ['/srv/app:/app'] }), STRICT_HOST_POLICY).join(), /host path \/srv\/app is refused/);
  });
  it('an allowing host lets each through, and an allowed path does not cover a sibling or an escape with ".."', () => {
    const policy = { ...STRICT_HOST_POLICY, allowPrivileged: true, allowDevices: true, allowCaps: ['NET_ADMIN'], allowHostPaths: ['/srv/app'] };
    assert.deepEqual(policyRefusals('a', spec({ privileged: true, devices: ['/dev/fuse'], cap_add: ['NET_ADMIN'], volumes: ['/srv/app/static:/static:ro'] }), policy), []);
    assert.equal(policyRefusals('a', spec({ volumes: ['/srv/application:/x'] }), policy).length, 1);
    assert.equal(policyRefusals('a', spec({ volumes: ['/srv/app/../../etc:/x'] }), policy).length, 1);
    assert.deepEqual(policyRefusals('a', spec({ cap_add: ['SYS_PTRACE'] }), { ...policy, allowCaps: ['ALL'] }), []);
  });
});

describe('container options in Docker\'s create shape (pure)', () => {
  it('maps privileged, devices, capabilities, resources and the rest onto the create options', () => {
    const config = runtimeConfigOf(serviceSpecSchema.parse({ image: 'hw/busybox:test', privileged: true, devices: ['/dev/fuse', '/dev/null:/dev/n:r'], cap_add: ['cap_net_admin'], cpus: 1.5, mem_limit: '1g', memswap_limit: -1, ulimits: { nofile: 10 }, tmpfs: ['/run:size=1m'], extra_hosts: ['db=10.0.0.1'], healthcheck: { disable: true }, expose: [80] }));
    const options = toDockerCreateOptions({ name: 'x', config, env: {}, identityLabels: {} });
    assert.equal(options.HostConfig?.Privileged, true);
    assert.deepEqual(options.HostConfig?.Devices, [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }, { PathOnHost: '/dev/null', PathInContainer: '/dev/n', CgroupPermissions: 'r' }]);
    assert.deepEqual(options.HostConfig?.CapAdd, ['NET_ADMIN']);
    assert.equal(options.HostConfig?.NanoCpus, 1_500_000_000);
    assert.equal(options.HostConfig?.Memory, 2 ** 30);
    assert.equal(options.HostConfig?.MemorySwap, -1);
    assert.deepEqual(options.HostConfig?.Ulimits, [{ Name: 'nofile', Soft: 10, Hard: 10 }]);
    assert.deepEqual(options.HostConfig?.Tmpfs, { '/run': 'size=1m' });
    assert.deepEqual(options.HostConfig?.ExtraHosts, ['db:10.0.0.1']);
    assert.deepEqual(options.Healthcheck, { Test: ['NONE'] });
    assert.ok('80/tcp' in (options.ExposedPorts ?? {}));
  });
});
