import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostwrightEvent } from '../../shared/events.js';
import type { InstanceCondition } from '../../shared/instance-condition.js';
import { uniqueName } from '../lib/builders.js';
import { runCli, startCli, type CliResult } from '../lib/cli.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const SECRET = 'hunter2-crash-secret';
// What a service that lacks its configuration does: says why on stderr and exits 3, at once, forever.
const CRASH = `["sh", "-c", "echo \\"starting with key $API_KEY\\"; echo 'FATAL: API_TOKEN is not set' >&2; exit 3"]`;
// Doubles a string until the memory limit kills it.
const GREEDY = `["sh", "-c", "x=a; while true; do x=$x$x; done"]`;

interface InstanceJson {
  name: string;
  state: string;
  condition?: InstanceCondition;
}

interface FleetStatusJson {
  hosts: { hostId: string; status: { projects: { project: string; converged: boolean; instances: InstanceJson[] }[] } | null }[];
}

// Three real agents with `fleet init` credentials against one real nats-server and the local Docker
// engine; the coordinator is the CLI. Each test applies or rolls out its own project.
describe('crash loops, failed runs and OOM kills are failures: apply --wait, status, events and rollouts (real NATS, real Docker)', () => {
  const runId = uniqueName('hwc');
  const hostIds = [uniqueName('ca'), uniqueName('cb'), uniqueName('cc')];
  const [h1, h2] = hostIds as [string, string, string];
  let dir: string;
  let nats: NatsServerHandle;
  let fleet: FleetHarness;

  const cli = async (args: readonly string[], expectCode: number): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', nats.url, '--creds', join(dir, 'coordinator.nk')], { HOSTWRIGHT_SIGNING_KEY: join(dir, 'coordinator-signing.nk') });
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
    return result;
  };
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-10).join('\n')}`).join('\n');
  const fleetFile = async (project: string, body: string): Promise<string> => {
    const file = join(dir, `${project}.yaml`);
    await writeFile(file, `project: ${project}\nservices:\n${body}`);
    return file;
  };
  const instanceOn = async (hostId: string, project: string): Promise<InstanceJson | undefined> => {
    const status = JSON.parse((await cli(['status', '--json'], 0)).stdout) as FleetStatusJson;
    return status.hosts.find((host) => host.hostId === hostId)?.status?.projects.find((p) => p.project === project)?.instances[0];
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-crashloop-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, ...hostIds.flatMap((hostId) => ['--host', hostId])]);
    assert.equal(init.code, 0, init.stderr);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    fleet = FleetHarness.create(nats, runId, { cliArgs: ['--creds', join(dir, 'coordinator.nk')] });
    await fleet.startAgents(hostIds.map((hostId) => ({ hostId, labels: {}, args: ['--creds', join(dir, 'hosts', `${hostId}.nk`), '--coordinator-key', join(dir, 'coordinator-signing.pub')] })));
  });

  after(async () => {
    await fleet?.cleanup();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('apply --wait fails a crash-looping service naming the instance, exit code 3 and the FATAL line; status and events show it, the secret masked', async () => {
    const project = uniqueName('crash');
    const file = await fleetFile(project, `  api:\n    image: hw/busybox:test\n    command: ${CRASH}\n    env: { API_KEY: { secret: "${SECRET}" } }\n    placement: { hosts: [${h1}] }\n`);
    const apply = await cli(['apply', '-f', file, '--wait', '--timeout', '30s'], 1);
    const name = `${fleet.agent(h1).namePrefix}${project}-api-1`;
    assert.match(apply.stdout, new RegExp(`${h1} +failed +${name} crashloop \\(exit 3\\): .*"FATAL: API_TOKEN is not set"`), apply.stdout);
    assert.doesNotMatch(apply.stdout, /converged/, 'never shown as converged, not even for a moment');

    const watch = startCli(['status', '--watch', '--host', h1, '--nats', nats.url, '--creds', join(dir, 'coordinator.nk')]);
    try {
      await waitFor('status --watch showing the crash loop', async () => watch.output().includes(`${name}: crashloop (exit 3)`), 15_000, 200);
    } finally {
      // SIGKILL: a SIGTERM that lands before the watch has set up its KV watchers is not acted on.
      watch.kill('SIGKILL');
    }

    const human = (await cli(['status'], 0)).stdout;
    const row = human.split('\n').find((line) => line.includes(project));
    assert.match(row ?? '', new RegExp(`${name}: crashloop \\(exit 3\\)`), human);
    assert.match(row ?? '', / no /, `CONVERGED says no:\n${human}`);
    assert.match(human, /last output: .*FATAL: API_TOKEN is not set/);

    const instance = await instanceOn(h1, project);
    const condition = instance?.condition;
    assert.ok(condition, `no condition in status --json: ${JSON.stringify(instance)}`);
    assert.equal(condition.kind, 'crashloop');
    assert.equal(condition.exitCode, 3);
    assert.equal(condition.oomKilled, false);
    assert.ok(condition.lastLines.includes('FATAL: API_TOKEN is not set'), JSON.stringify(condition.lastLines));
    assert.ok(condition.lastLines.includes('starting with key ***'), `the secret is masked: ${JSON.stringify(condition.lastLines)}`);

    const events = (await cli(['events', '--json', '--host', h1, '--type', 'failed'], 0)).stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as HostwrightEvent)
      .filter((event) => event.project === project);
    const failed = events.find((event) => event.message.includes('is crash-looping'));
    assert.ok(failed, `no failed event for the crash loop: ${JSON.stringify(events)}`);
    assert.match(failed.message, /\(exit code 3, restart count \d+\); last output:\n(.*\n)*FATAL: API_TOKEN is not set/);
    assert.ok(!JSON.stringify(events).includes(SECRET) && !human.includes(SECRET) && !apply.stdout.includes(SECRET), 'the secret value appears nowhere');
  });

  it('a one-shot (restart "no") that exits non-zero fails apply --wait; one that exits 0 has done its work', async () => {
    const project = uniqueName('once');
    const oneShot = (command: string) => `    image: hw/busybox:test\n    command: ["sh", "-c", "${command}"]\n    restart: "no"\n    placement: { hosts: [${h2}] }\n`;
    const file = await fleetFile(project, `  migrate:\n${oneShot("echo 'migration 7 failed: relation exists' >&2; exit 1")}  seed:\n${oneShot('echo seeded')}`);
    const apply = await cli(['apply', '-f', file, '--wait', '--timeout', '30s'], 1);
    assert.match(apply.stdout, /migrate-1 failed \(exit 1\): "migration 7 failed: relation exists"/, apply.stdout);
    assert.doesNotMatch(apply.stdout, /seed-1/, 'the one-shot that exited 0 is not a failure');
  });

  it('an OOM-killed container shows OOMKilled and exit 137', async () => {
    const project = uniqueName('oom');
    const file = await fleetFile(project, `  greedy:\n    image: hw/busybox:test\n    command: ${GREEDY}\n    mem_limit: 8m\n    placement: { hosts: [${h2}] }\n`);
    await cli(['apply', '-f', file], 0);
    // How long the doubling takes to reach the limit varies: status says so once the kernel has killed it.
    const condition = await waitFor('the OOM kill and its exit code in status', async () => {
      const seen = (await instanceOn(h2, project))?.condition;
      return seen?.oomKilled === true && seen.exitCode !== undefined ? seen : undefined;
    }, 30_000, 500);
    assert.equal(condition.oomKilled, true, JSON.stringify(condition));
    assert.equal(condition.exitCode, 137);
    assert.match((await cli(['status'], 0)).stdout, /greedy-1: crashloop \(exit 137, OOMKilled\)/);
  });

  it("a rollout's canary fails with the crash loop as its reason within --min-healthy and a few seconds, not at its deadline", async () => {
    const project = uniqueName('roll');
    const file = await fleetFile(project, `  api:\n    image: hw/busybox:test\n    command: ${CRASH}\n`);
    const started = Date.now();
    const rollout = await cli(['rollout', '-f', file, '--canary', '1', '--max-parallel', '2', '--min-healthy', '2s', '--healthy-deadline', '60s'], 1);
    const elapsedMs = Date.now() - started;
    assert.ok(elapsedMs < 15_000, `the rollout took ${elapsedMs} ms (deadline 60 s):\n${rollout.stdout}`);
    assert.match(rollout.stdout, /crashloop \(exit 3\): .*"FATAL: API_TOKEN is not set"/, rollout.stdout);
    assert.doesNotMatch(rollout.stdout, /not converged and healthy within/);
    // The later waves were never written: their hosts run nothing of the project.
    const others = await waitFor('status of the later waves', async () => {
      const status = JSON.parse((await cli(['status', '--json'], 0)).stdout) as FleetStatusJson;
      return status.hosts.filter((host) => hostIds.includes(host.hostId) && host.status?.projects.some((p) => p.project === project));
    });
    assert.equal(others.length, 1, `only the canary has the project: ${others.map((host) => host.hostId).join(', ')}\n${rollout.stdout}`);
  });
});
