import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../lib/builders.js';
import { runCli, startCli } from '../lib/cli.js';
import { docker, projectContainers, removeProject } from '../lib/docker-harness.js';
import { connectAsNobody, modesIn, privateModes, runAsNobody } from '../lib/file-modes.js';
import { waitFor } from '../lib/wait.js';

function fleetYaml(project: string, replicas: number, version: string, image = 'hw/busybox:test'): string {
  return `project: ${project}
services:
  worker:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    env: { VERSION: "${version}" }
    replicas: ${replicas}
    stop_timeout: 1s
`;
}

interface StatusJson {
  projects: { desiredRevision: number; appliedRevision?: number; converged: boolean; instances: { name: string; state: string; containerId?: string }[]; rejected?: { revision: number; reason: string } }[];
}

// The daemon form of local mode, driven as an operator would: a file, signals, and the CLI beside it.
describe('hostwright agent --local (real Docker)', () => {
  const project = uniqueName('agent');
  let dir: string;
  let file: string;
  let dataDir: string;
  let agent: ReturnType<typeof startCli>;

  const status = async (): Promise<StatusJson> => {
    const result = await runCli(['status', '--local', '--json', '--data-dir', dataDir]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as StatusJson;
  };
  let lastStatus: StatusJson | undefined;
  const convergedAt = (revision: number, count: number) =>
    waitFor(`revision ${revision} converged with ${count} instance(s)`, async () => {
      const current = (lastStatus = await status());
      const p = current.projects[0];
      return p && p.appliedRevision === revision && p.converged && p.instances.length === count && p.instances.every((i) => i.state === 'running') ? current : undefined;
    }, 30_000, 250).catch((error: unknown) => {
      // Say what the agent said and saw: a timeout alone explains nothing.
      throw new Error(`${String(error)}\nlast status: ${JSON.stringify(lastStatus)}\nagent output (tail):\n${agent.output().slice(-3000)}`);
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-agent-'));
    file = join(dir, 'fleet.yaml');
    dataDir = join(dir, 'data');
    await writeFile(file, fleetYaml(project, 2, 'one'));
    // Others may enter dir, so only the data dir's own mode keeps them out; the agent inherits the widest umask.
    await chmod(dir, 0o755);
    const umask = process.umask(0o000);
    agent = startCli(['agent', '--local', '-f', file, '--data-dir', dataDir, '--resync', '2s', '--log-level', 'info']);
    process.umask(umask);
  });
  after(async () => {
    if (agent.exitCode === null) agent.kill('SIGKILL');
    await removeProject(project);
    await rm(dir, { recursive: true, force: true });
  });

  it('converges on start; status is served by the running agent', async () => {
    await convergedAt(1, 2);
    assert.equal((await projectContainers(project)).length, 2);
  });

  it('started under umask 000, its data dir is 0700, every file in it 0600 and its socket 0600: user nobody can reach neither', async () => {
    const modes = await modesIn(dataDir);
    assert.equal(modes['agent.sock'], 'socket 0600');
    assert.deepEqual(modes, privateModes(modes));
    const journalFile = Object.keys(modes).find((path) => path.endsWith('.log') && path.startsWith('journal/'));
    assert.ok(journalFile, 'a journal log file is there');
    assert.match((await runAsNobody(['cat', join(dataDir, journalFile)])).stderr, /Permission denied/);
    assert.equal((await connectAsNobody(join(dataDir, 'agent.sock'))).stdout.trim(), 'EACCES');
  });

  it('a change of the fleet file is picked up and applied', async () => {
    await writeFile(file, fleetYaml(project, 3, 'two'));
    const current = await convergedAt(2, 3);
    assert.equal(current.projects[0]?.instances.length, 3);
  });

  it('a bad edit keeps the last good desired state running', async () => {
    await writeFile(file, 'project: [broken\n');
    await waitFor('the agent logs the rejected file', async () => /fleet file rejected/.test(agent.output()));
    const current = await status();
    assert.equal(current.projects[0]?.desiredRevision, 2);
    assert.equal((await projectContainers(project)).length, 3);
    await writeFile(file, fleetYaml(project, 3, 'two'));
  });

  it('a container removed by hand is recreated (drift repair), visible in events', async () => {
    const victim = `${project}-worker-2`;
    const oldId = (await docker.getContainer(victim).inspect()).Id;
    await docker.getContainer(victim).remove({ force: true });
    await waitFor('the container is recreated', async () => {
      const fresh = await docker.getContainer(victim).inspect().catch(() => undefined);
      return fresh && fresh.Id !== oldId && fresh.State.Running;
    }, 30_000, 250);
    const events = await runCli(['events', '--local', '--json', '--data-dir', dataDir, '--type', 'drift_detected']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /missing/);
  });

  it('events --follow streams new events from the running agent', async () => {
    const follower = startCli(['events', '--local', '--follow', '--json', '--data-dir', dataDir, '--type', 'applied']);
    try {
      const before = follower.output();
      await writeFile(file, fleetYaml(project, 3, 'three'));
      await waitFor('a followed applied event of the new revision', async () => follower.output().length > before.length && /started/.test(follower.output().slice(before.length)), 30_000, 200);
    } finally {
      follower.kill('SIGTERM');
    }
    await convergedAt(3, 3);
  });

  it('a revision that keeps failing is rejected; retry --local lifts the rejection through the running agent', async () => {
    // Nothing listens on the loopback's port 1: the engine's pull is refused at once, on this machine.
    await writeFile(file, fleetYaml(project, 3, 'four', '127.0.0.1:1/hw/does-not-exist:1'));
    const rejected = await waitFor('revision 4 rejected', async () => (await status()).projects[0]?.rejected, 60_000, 500);
    assert.equal(rejected.revision, 4);
    assert.match(rejected.reason, /pull image 127\.0\.0\.1:1\/hw\/does-not-exist:1 failed/);
    assert.equal((await projectContainers(project)).filter((c) => c.State === 'running').length, 3, 'the running revision is left as it is');
    const retried = await runCli(['retry', '--local', '--project', project, '--json', '--data-dir', dataDir]);
    assert.equal(retried.code, 0, retried.stderr);
    const reply = JSON.parse(retried.stdout) as { schema: string; rejected: { revision: number } | null };
    assert.equal(reply.schema, 'hostwright.retry/v1');
    assert.equal(reply.rejected?.revision, 4);
    const events = await runCli(['events', '--local', '--json', '--data-dir', dataDir, '--project', project]);
    assert.match(events.stdout, /retry requested: rejection of revision 4 lifted/);
    await writeFile(file, fleetYaml(project, 3, 'three'));
    await convergedAt(5, 3);
  });

  it('SIGTERM stops the agent cleanly and releases the data dir', async () => {
    agent.kill('SIGTERM');
    const [code] = (await once(agent, 'exit')) as [number | null];
    assert.equal(code, 0, agent.output());
    // The data dir is free again: a direct read works.
    const current = await status();
    assert.equal(current.projects[0]?.appliedRevision, 5);
    assert.match(agent.output(), /"msg":"stopped"/);
  });
});
