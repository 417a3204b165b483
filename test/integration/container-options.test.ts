import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import type { ServiceSpec } from '../../shared/fleet-spec.js';
import { STRICT_HOST_POLICY } from '../../agent/core/host-policy.js';
import { QUICK_STOP_COMMAND, desired, service, uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

/** The first of several cgroup files that exists (cgroup v2 or v1 layouts). */
const cgroup = (...paths: string[]) => paths.map((path) => `cat ${path} 2>/dev/null`).join(' || ');

/** The engine's API version, as a number (1.41, 1.47). */
let engineApi = 0;

interface OptionCase {
  readonly service: Partial<Record<keyof ServiceSpec, unknown>>;
  /** What `docker inspect` must show. */
  readonly inspect: (info: Docker.ContainerInspectInfo) => void;
  /** A command inside the container and what it must print (or how it must fail). */
  readonly effect?: { readonly script: string; readonly expect: RegExp; readonly failing?: boolean };
}

const CASES: Record<string, OptionCase> = {
  entrypoint: {
    service: { entrypoint: ['/bin/sh', '-c'], command: ['trap "exit 0" TERM; echo started > /tmp/ep; sleep 3600 & wait'] },
    inspect: (info) => assert.deepEqual(info.Config.Entrypoint, ['/bin/sh', '-c']),
    effect: { script: 'cat /tmp/ep', expect: /^started$/ },
  },
  'working-dir': { service: { working_dir: '/tmp' }, inspect: (info) => assert.equal(info.Config.WorkingDir, '/tmp'), effect: { script: 'pwd', expect: /^\/tmp$/ } },
  user: { service: { user: '65534:65534', group_add: ['1234'] }, inspect: (info) => assert.equal(info.Config.User, '65534:65534'), effect: { script: 'id -u; id -G', expect: /^65534\n.*\b1234\b/ } },
  hostname: { service: { hostname: 'api-1', domainname: 'corp.test' }, inspect: (info) => assert.deepEqual([info.Config.Hostname, info.Config.Domainname], ['api-1', 'corp.test']), effect: { script: 'hostname', expect: /^api-1$/ } },
  cpus: { service: { cpus: 0.5, cpu_shares: 512 }, inspect: (info) => assert.deepEqual([info.HostConfig.NanoCpus, info.HostConfig.CpuShares], [500_000_000, 512]), effect: { script: cgroup('/sys/fs/cgroup/cpu.max', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), expect: /^(50000 100000|50000)$/ } },
  memory: {
    service: { mem_limit: '64m', mem_reservation: '32m', memswap_limit: '128m' },
    inspect: (info) => assert.deepEqual([info.HostConfig.Memory, info.HostConfig.MemoryReservation, info.HostConfig.MemorySwap], [64 * 2 ** 20, 32 * 2 ** 20, 128 * 2 ** 20]),
    effect: { script: cgroup('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'), expect: /^67108864$/ },
  },
  pids: { service: { pids_limit: 64 }, inspect: (info) => assert.equal(info.HostConfig.PidsLimit, 64), effect: { script: cgroup('/sys/fs/cgroup/pids.max', '/sys/fs/cgroup/pids/pids.max'), expect: /^64$/ } },
  // The container's own process (PID 1): an exec'd shell gets the soft limit raised to the hard one on some engines (20.10).
  ulimits: { service: { ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 512 } }, inspect: (info) => assert.deepEqual(info.HostConfig.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'nproc', Soft: 512, Hard: 512 }]), effect: { script: 'grep -E "^Max (open files|processes)" /proc/1/limits', expect: /^Max processes\s+512\s+512\s.*\nMax open files\s+1024\s+2048\s/ } },
  capabilities: {
    // Everything dropped but CHOWN (bit 0): the effective set is exactly 0x1.
    service: { cap_drop: ['ALL'], cap_add: ['CAP_CHOWN'] },
    inspect: (info) => assert.deepEqual([info.HostConfig.CapDrop, info.HostConfig.CapAdd], [['ALL'], ['CHOWN']]),
    effect: { script: 'grep CapEff /proc/self/status', expect: /CapEff:\s+0+1$/ },
  },
  'security-opt': { service: { security_opt: ['no-new-privileges:true'] }, inspect: (info) => assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges:true']), effect: { script: 'grep NoNewPrivs /proc/self/status', expect: /NoNewPrivs:\s+1/ } },
  'read-only': { service: { read_only: true, tmpfs: ['/tmp'] }, inspect: (info) => assert.equal(info.HostConfig.ReadonlyRootfs, true), effect: { script: 'touch /written-here', expect: /Read-only file system/, failing: true } },
  tmpfs: { service: { tmpfs: ['/scratch:size=1m'] }, inspect: (info) => assert.deepEqual(info.HostConfig.Tmpfs, { '/scratch': 'size=1m' }), effect: { script: 'df -k /scratch | tail -1', expect: /^tmpfs\s+1024\s/ } },
  init: { service: { init: true }, inspect: (info) => assert.equal(info.HostConfig.Init, true), effect: { script: 'cat /proc/1/comm', expect: /^docker-init$/ } },
  'shm-size': { service: { shm_size: '16m' }, inspect: (info) => assert.equal(info.HostConfig.ShmSize, 16 * 2 ** 20), effect: { script: 'df -k /dev/shm | tail -1', expect: /^shm\s+16384\s/ } },
  sysctls: { service: { sysctls: { 'net.core.somaxconn': 1024 } }, inspect: (info) => assert.deepEqual(info.HostConfig.Sysctls, { 'net.core.somaxconn': '1024' }), effect: { script: 'cat /proc/sys/net/core/somaxconn', expect: /^1024$/ } },
  'extra-hosts': { service: { extra_hosts: ['db.internal:10.1.2.3'] }, inspect: (info) => assert.deepEqual(info.HostConfig.ExtraHosts, ['db.internal:10.1.2.3']), effect: { script: 'grep db.internal /etc/hosts', expect: /^10\.1\.2\.3\s+db\.internal$/ } },
  // On its project network the container asks the engine's embedded DNS (127.0.0.11), which
  // answers service names and forwards the rest to the `dns` servers; the search list is its own.
  dns: { service: { dns: ['10.1.2.53'], dns_search: ['corp.test'] }, inspect: (info) => assert.deepEqual([info.HostConfig.Dns, info.HostConfig.DnsSearch], [['10.1.2.53'], ['corp.test']]), effect: { script: 'cat /etc/resolv.conf', expect: /search corp\.test[\s\S]*nameserver 127\.0\.0\.11|nameserver 127\.0\.0\.11[\s\S]*search corp\.test/ } },
  logging: { service: { logging: { driver: 'local', options: { 'max-size': '1m' } } }, inspect: (info) => assert.deepEqual(info.HostConfig.LogConfig, { Type: 'local', Config: { 'max-size': '1m' } }) },
  'stop-signal': { service: { stop_signal: 'SIGQUIT', stop_grace_period: '3s', stop_timeout: undefined }, inspect: (info) => assert.deepEqual([(info.Config as { StopSignal?: string }).StopSignal, (info.Config as { StopTimeout?: number }).StopTimeout], ['SIGQUIT', 3]) },
  healthcheck: {
    service: { healthcheck: { test: ['CMD', 'true'], interval: '30s', start_period: '10s', start_interval: '1s' } },
    // Engines before API 1.44 (Docker 25) have no start interval and drop it; Debian bookworm's docker.io is one.
    inspect: (info) => assert.equal((info.Config.Healthcheck as { StartInterval?: number }).StartInterval ?? 0, engineApi >= 1.44 ? 1_000_000_000 : 0),
  },
  'healthcheck-disabled': { service: { healthcheck: { disable: true } }, inspect: (info) => assert.deepEqual(info.Config.Healthcheck?.Test, ['NONE']) },
  expose: { service: { expose: ['9000', 9001, '53/udp'] }, inspect: (info) => assert.deepEqual(Object.keys(info.Config.ExposedPorts ?? {}).sort(), ['53/udp', '9000/tcp', '9001/tcp']) },
  // The harness's host policy is local mode's: this needs a fleet agent's --allow-devices. (A privileged
  // container cannot start on this machine's engine at all, which lacks the capabilities: its mapping is a unit test.)
  devices: { service: { devices: ['/dev/null:/dev/hw-null:rw'] }, inspect: (info) => assert.deepEqual(info.HostConfig.Devices, [{ PathOnHost: '/dev/null', PathInContainer: '/dev/hw-null', CgroupPermissions: 'rw' }]), effect: { script: 'echo x > /dev/hw-null && ls -l /dev/hw-null', expect: /^c.* \/dev\/hw-null$/ } },
};

/**
 * Every container option a production service uses, on the real engine: Docker's inspect shows
 * it, the process inside feels it, changing it replaces exactly that service, and a hand edit of
 * it is reported as the instance modified.
 */
describe('container options (real Docker)', { timeout: 300_000 }, () => {
  const project = uniqueName('opts');
  let h: Awaited<ReturnType<typeof openHarness>>;
  const services = Object.fromEntries(Object.entries(CASES).map(([name, option]) => [name, service({ command: QUICK_STOP_COMMAND, ...option.service })]));
  const containerOf = async (name: string) => {
    const found = (await projectContainers(project)).find((c) => c.Names[0] === `/${project}-${name}-1`);
    assert.ok(found, `no container for ${name}`);
    return found;
  };

  before(async () => {
    engineApi = Number((await docker.version()).ApiVersion);
    h = await openHarness('opts');
    await h.journal.putDesired(desired(project, services));
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.failed, false, report.results.filter((r) => r.outcome === 'failed').map((r) => r.message).join('; '));
  });
  after(async () => {
    await removeProject(project);
    await h?.close();
  });

  for (const [name, option] of Object.entries(CASES)) {
    it(`${name}: ${Object.keys(option.service).join(', ')} in docker inspect${option.effect ? ' and inside the container' : ''}`, async () => {
      const container = await containerOf(name);
      option.inspect(await docker.getContainer(container.Id).inspect());
      if (option.effect) {
        const { output, code } = await inside(container.Id, option.effect.script);
        assert.match(output, option.effect.expect, `inside ${name}: ${option.effect.script}`);
        if (option.effect.failing) assert.notEqual(code, 0);
        else assert.equal(code, 0, output);
      }
    });
  }

  it('changing one option of one service shows ~ for exactly that service, and replaces only it', async () => {
    const before = new Map((await projectContainers(project)).map((c) => [c.Names[0], c.Id]));
    const changed = { ...services, pids: service({ command: QUICK_STOP_COMMAND, pids_limit: 128 }) };
    await h.journal.putDesired(desired(project, changed, { revision: 2 }));
    const plan = await h.reconciler.runCycle({ dryRun: true, explicit: true });
    const touched = plan.diff.projects.flatMap((project_) => project_.entries).filter((entry) => entry.kind !== 'in-sync');
    assert.deepEqual(touched.map((entry) => `${entry.kind} ${'key' in entry ? entry.key.service : ''}`), ['replace pids']);
    assert.deepEqual(touched[0]?.kind === 'replace' ? touched[0].changedFields : [], ['pids_limit']);
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.failed, false);
    const after = new Map((await projectContainers(project)).map((c) => [c.Names[0], c.Id]));
    for (const [name, id] of before) {
      if (name === `/${project}-pids-1`) assert.notEqual(after.get(name), id, 'pids replaced');
      else assert.equal(after.get(name), id, `${name} untouched`);
    }
    assert.equal((await docker.getContainer(after.get(`/${project}-pids-1`) as string).inspect()).HostConfig.PidsLimit, 128);
  });

  it('a fleet agent\'s strict policy refuses privileged, devices, extra capabilities and host paths in plan, with the reason, and runs nothing of the project', async () => {
    const strict = await openHarness('strict', { policy: STRICT_HOST_POLICY });
    const refused = uniqueName('refused');
    try {
      await strict.journal.putDesired(desired(refused, {
        root: service({ privileged: true }),
        dev: service({ devices: ['/dev/null'] }),
        caps: service({ cap_add: ['NET_ADMIN', 'CHOWN'] }),
        bind: service({ volumes: ['/etc:/host-etc:ro'] }),
        fine: service(),
      }));
      const report = await strict.reconciler.runCycle({ explicit: true });
      const reasons = report.blocks.filter((block) => block.gate === 'host-policy').map((block) => block.message).sort();
      assert.deepEqual(reasons.map((reason) => reason.split(':')[0]), ['bind', 'caps', 'dev', 'root']);
      assert.match(reasons.join('\n'), /caps: cap_add NET_ADMIN is refused by this host's policy \(start its agent with --allow-cap NET_ADMIN\)/);
      assert.match(reasons.join('\n'), /bind: the bind mount of host path \/etc is refused/);
      assert.deepEqual(await projectContainers(refused), [], 'nothing of a refused project runs');
    } finally {
      await removeProject(refused);
      await strict.close();
    }
  });

  it('a hand edit of an option (docker update) is reported as the instance modified, naming the field', async () => {
    const container = await containerOf('memory');
    await docker.getContainer(container.Id).update({ Memory: 96 * 2 ** 20, MemorySwap: 192 * 2 ** 20 });
    h.reconciler.observer.invalidate(container.Id);
    const status = await h.reconciler.observeStatus();
    const instance = status.projects.find((p) => p.project === project)?.instances.find((i) => i.service === 'memory');
    assert.deepEqual(instance?.drift, ['modified']);
    const plan = await h.reconciler.runCycle({ dryRun: true, explicit: true });
    const entry = plan.diff.projects.flatMap((d) => d.entries).find((e) => e.kind === 'modified');
    assert.ok(entry && 'container' in entry && entry.container.modifiedFields.includes('mem_limit'), JSON.stringify(entry && 'container' in entry ? entry.container.modifiedFields : entry));
  });
});
