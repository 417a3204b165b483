import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPolicyFromFlags } from '../../agent/core/host-policy.js';
import { LABELS } from '../../shared/labels.js';
import { QUICK_STOP_COMMAND, desired, service, uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { inside } from '../lib/container-exec.js';
import { docker, openHarness, projectContainers, projectResources, removeProject } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

/**
 * The review's document (issue 24, point 1) as a compose file, with an image, a command and a
 * placement added: a local volume bound to a root-only host directory, and seccomp and AppArmor
 * turned off. Before the host policy covered volumes and security_opt, a strict agent ran it.
 */
const escapeCompose = (project: string, hostId: string, hostDir: string) => `name: ${project}
services:
  escape:
    image: hw/busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    stop_grace_period: 1s
    volumes: ["hostroot:/hostdir"]
    security_opt: ["seccomp=unconfined", "apparmor=unconfined"]
    x-hostwright:
      placement: { hosts: [${hostId}] }
volumes:
  hostroot: { driver_opts: { type: none, o: bind, device: ${hostDir} } }
`;

// Two real agent processes over one real nats-server and the real Docker engine: one with the
// default strict policy, one started with the flags that allow exactly this document.
describe('the host policy over a volume\'s driver_opts and security_opt (real agents, real NATS, real Docker)', { timeout: 300_000 }, () => {
  const runId = uniqueName('hwpol');
  const strictHost = uniqueName('strict');
  const allowingHost = uniqueName('allowing');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let hostDir: string;
  const cli = async (args: readonly string[], expectCode: number) => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  };
  const composeFile = async (project: string, hostId: string) => {
    const file = join(dir, `${project}.yaml`);
    await writeFile(file, escapeCompose(project, hostId, hostDir));
    return file;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-policy-'));
    // A root-owned 0700 directory with a 0600 file: what the container must not reach on a strict host.
    hostDir = join(dir, 'root-only');
    await mkdir(hostDir, { mode: 0o700 });
    await writeFile(join(hostDir, 'secret'), 'host-only\n', { mode: 0o600 });
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: strictHost, labels: {} },
      { hostId: allowingHost, labels: {}, args: ['--allow-host-path', hostDir, '--allow-security-opt', 'seccomp=unconfined', '--allow-security-opt', 'apparmor=unconfined'] },
    ]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a strict agent: plan shows the host-policy gate for the volume and each security_opt, apply is blocked, and no container or volume is created', async () => {
    const project = uniqueName('escape');
    const file = await composeFile(project, strictHost);
    // A gate would block: plan exits 3, as apply does.
    const plan = await cli(['plan', '-f', file], 3);
    assert.match(plan.stdout, /\[host-policy\] .*volume hostroot: driver_opts device .*root-only \(a bind mount of that host path\) is refused by this host's policy \(start its agent with --allow-host-path \S*root-only\)/);
    assert.match(plan.stdout, /\[host-policy\] .*escape: security_opt seccomp=unconfined \(turns off the syscall filter\) is refused by this host's policy \(start its agent with --allow-security-opt seccomp=unconfined\)/);
    assert.match(plan.stdout, /\[host-policy\] .*escape: security_opt apparmor=unconfined .*--allow-security-opt apparmor=unconfined/);

    const applied = await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 3);
    assert.match(applied.stdout, /host-policy/);
    const status = await cli(['status', '--host', strictHost, '--json'], 0);
    assert.match(status.stdout, /"gate": "host-policy",\s*"message": "volume hostroot: driver_opts device/);
    assert.deepEqual(await projectContainers(project), [], 'no container of the blocked project');
    assert.deepEqual((await projectResources(project)).volumes, [], 'no volume of the blocked project');
  });

  it('an agent given the flags for exactly this document converges it: the container reads the root-only directory, without a syscall filter', async () => {
    const project = uniqueName('allowed');
    const file = await composeFile(project, allowingHost);
    const plan = await cli(['plan', '-f', file], 0);
    assert.doesNotMatch(plan.stdout, /host-policy/);
    await cli(['apply', '-f', file, '--wait', '--timeout', '90s'], 0);
    const [container] = await projectContainers(project);
    assert.ok(container, 'the escape container runs on the allowing host');
    assert.equal((await inside(container.Id, 'cat /hostdir/secret')).output, 'host-only');
    assert.match((await inside(container.Id, 'grep Seccomp: /proc/self/status')).output, /Seccomp:\s+0/);
    assert.equal((await projectResources(project)).volumes.length, 1);
  });
});

// A real reconciler over the real engine and a real journal: a symlink a container made below an
// allowed host path does not widen what the policy allows, for a bind mount nor for a volume device.
describe('host paths are resolved with symlinks followed on the host just before each create (real Docker, real LevelDB)', { timeout: 180_000 }, () => {
  let dir: string;
  let allowed: string;
  const projects: string[] = [];
  const project = (name: string) => {
    const made = uniqueName(name);
    projects.push(made);
    return made;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-policy-links-'));
    allowed = join(dir, 'srv-data');
    await mkdir(join(allowed, 'app'), { recursive: true });
    await writeFile(join(allowed, 'app', 'hello'), 'hello\n');
  });
  after(async () => {
    for (const name of projects) await removeProject(name);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a container under --allow-host-path makes symlinks to / and /etc; a later bind mount, volume device or secret file through them fails its create, and nothing is created', async () => {
    const h = await openHarness('links', { policy: hostPolicyFromFlags({ allowHostPath: [allowed], allowSecretFile: [allowed] }) });
    try {
      // The allowed path itself binds: the container in it makes the symlinks as any workload could.
      const maker = project('maker');
      await h.journal.putDesired(desired(maker, { maker: service({ volumes: [`${allowed}/app:/data`], command: ['sh', '-c', 'ln -s / /data/root-link; ln -s /etc /data/etc-link; trap "exit 0" TERM; sleep 3600 & wait'], stop_timeout: '1s' }) }));
      const made = await h.reconciler.runCycle({ explicit: true });
      assert.equal(made.failed, false, made.results.map((r) => r.message).join('\n'));
      await waitFor('the container made its symlinks', async () => (await lstat(join(allowed, 'app', 'etc-link')).catch(() => undefined))?.isSymbolicLink());
      assert.equal(await readlink(join(allowed, 'app', 'root-link')), '/');

      // As text both paths lie under the allowed one: the gate passes them, the create does not.
      const escape = project('escape');
      await h.journal.putDesired(desired(escape, {
        bind: service({ volumes: [`${allowed}/app/root-link/root:/stolen`], command: QUICK_STOP_COMMAND }),
        device: service({ volumes: ['etc:/stolen'], command: QUICK_STOP_COMMAND }),
      }, { volumes: { etc: { driver_opts: { type: 'none', o: 'bind', device: `${allowed}/app/etc-link` } } } }));
      const planned = await h.reconciler.runCycle({ dryRun: true, explicit: true });
      assert.deepEqual(planned.blocks.filter((block) => block.project === escape), [], 'the textual check passes both');
      const report = await h.reconciler.runCycle({ explicit: true });
      const failures = report.results.filter((result) => result.outcome === 'failed').map((result) => result.message).join('\n');
      assert.match(failures, /volume .*etc: host path \S*etc-link of its driver_opts device resolves to \/etc through a symlink, outside what this host allows \(--allow-host-path \S*srv-data\); nothing was created/);
      assert.deepEqual(await projectContainers(escape), [], 'no container of the escaping project');
      assert.deepEqual((await projectResources(escape)).volumes, [], 'no volume of the escaping project');

      // The volume failing first stops the project; alone, the bind mount fails its own create the same way.
      const bindOnly = project('bind');
      await h.journal.putDesired(desired(bindOnly, { bind: service({ volumes: [`${allowed}/app/root-link/root:/stolen`], command: QUICK_STOP_COMMAND }) }));
      const bound = await h.reconciler.runCycle({ explicit: true });
      const bindFailure = bound.results.find((result) => result.outcome === 'failed' && result.action.kind === 'create' && result.action.key.project === bindOnly);
      assert.match(bindFailure?.message ?? '', /host path \S*root-link\/root of its bind mount resolves to \/root through a symlink, outside what this host allows/);
      assert.deepEqual(await projectContainers(bindOnly), []);
      const { events } = await h.journal.readEvents();
      assert.ok(events.some((event) => JSON.stringify(event).includes(bindOnly) && /failed: create .*resolves to \/root through a symlink/.test(JSON.stringify(event))), 'a failed-action event says why');

      // A secret file the agent would read as root: the same resolution, before anything is read.
      const secret = project('secret');
      await h.journal.putDesired(desired(secret, { app: service({ env: { STOLEN: { secret_file: `${allowed}/app/etc-link/hostname` } }, command: QUICK_STOP_COMMAND }) }));
      const read = await h.reconciler.runCycle({ explicit: true });
      assert.match(read.results.find((result) => result.outcome === 'failed' && result.action.kind === 'create' && result.action.key.project === secret)?.message ?? '', /host path \S*etc-link\/hostname of its secret_file resolves to \/etc\/hostname through a symlink, outside what this host allows \(--allow-secret-file /);
      assert.deepEqual(await projectContainers(secret), []);
    } finally {
      await h.close();
    }
  });

  it('an allowed path that is itself a symlink the operator made still allows what lies below it', async () => {
    const link = join(dir, 'data-link');
    await symlink(allowed, link);
    const h = await openHarness('linked', { policy: hostPolicyFromFlags({ allowHostPath: [link] }) });
    try {
      const name = project('linked');
      await h.journal.putDesired(desired(name, { app: service({ volumes: [`${link}/app:/data:ro`], command: QUICK_STOP_COMMAND, stop_timeout: '1s' }) }));
      const report = await h.reconciler.runCycle({ explicit: true });
      assert.equal(report.failed, false, report.results.map((r) => r.message).join('\n'));
      const [container] = await projectContainers(name);
      assert.ok(container);
      assert.equal((await inside(container.Id, 'cat /data/hello')).output, 'hello');
      assert.equal((await docker.getContainer(container.Id).inspect()).Config.Labels?.[LABELS.project], name);
    } finally {
      await h.close();
    }
  });
});
