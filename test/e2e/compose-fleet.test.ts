import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RolloutState } from '../../coordinator/rollout/rollout-state.js';
import { compareStrings } from '../../shared/compare.js';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { runCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

// Placement in both of compose's forms: Swarm's deploy.placement.constraints and Hostwright's
// x-hostwright extension; deploy.update_config gives the rollout its defaults (parallelism 2 where
// `hostwright rollout` alone takes 1, so the waves show which one was used). db waits for the
// one-shot migrate, which exits 0 and stays exited: a rollout counts it as done, not as unhealthy.
const COMPOSE_FILE = `name: \${PROJECT}
x-hostwright:
  rollout: { canary: 1 }
x-quick-stop: &quick-stop ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
services:
  web:
    image: hw/busybox:test
    command: *quick-stop
    environment: { VERSION: "\${VERSION}" }
    stop_grace_period: 1s
    deploy:
      placement:
        constraints: [node.labels.role == web]
      update_config: { parallelism: 2, monitor: 1s, failure_action: rollback }
  worker:
    image: hw/busybox:test
    command: *quick-stop
    environment: { VERSION: "\${VERSION}" }
    stop_grace_period: 1s
    deploy:
      placement:
        constraints:
          - node.labels.zone == a
          - node.hostname != \${H3}
  migrate:
    image: hw/busybox:test
    command: ["sh", "-c", "echo migrated to $$VERSION"]
    environment: { VERSION: "\${VERSION}" }
    restart: "no"
    x-hostwright:
      placement: { hosts: ["\${H3}"] }
  db:
    image: hw/busybox:test
    command: *quick-stop
    environment: { VERSION: "\${VERSION}" }
    stop_grace_period: 1s
    depends_on:
      migrate: { condition: service_completed_successfully }
    x-hostwright:
      placement: { hosts: ["\${H3}"] }
`;

interface FleetStatusJson {
  hosts: { hostId: string; stale: boolean; status: { projects: { project: string; converged: boolean; instances: { service: string; name: string; state: string }[] }[] } | null }[];
}

// Three real agents over one real nats-server, sharing the local Docker engine; the coordinator is the
// CLI given the compose file with -f, as a compose user would.
describe('a compose file across a fleet over real NATS: placement constraints and update_config (real Docker)', () => {
  const runId = uniqueName('hwcf');
  const project = uniqueName('cfleet');
  // The prefixes fix the host order, and so the rollout's waves.
  const [h1, h2, h3] = ['h1', 'h2', 'h3'].map((prefix) => uniqueName(prefix)) as [string, string, string];
  const hostIds = [h1, h2, h3];
  // web: role web (h1, h2); worker: zone a but not h3 (h1); db: x-hostwright hosts [h3] (and the
  // one-shot migrate, which has exited once db runs).
  const expected = new Map([
    [h1, ['web', 'worker']],
    [h2, ['web']],
    [h3, ['db']],
  ]);
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;

  const cli = async (args: readonly string[], version: string): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url], { ...fleet.cliEnv, PROJECT: project, H3: h3, VERSION: version });
    assert.equal(result.code, 0, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLogs()}`);
    return result;
  };
  const agentLogs = () => fleet.agents.map((a) => `--- ${a.hostId} (alive: ${a.alive()})\n${a.output().split('\n').slice(-8).join('\n')}`).join('\n');
  /** Each host's running services of the project as the engine has them, with their VERSION. */
  const onEngine = async (hostId: string): Promise<{ service: string; version: string | undefined }[]> => {
    const listed = (await fleet.containersOf(hostId)).filter((c) => c.Labels[LABELS.project] === project && c.State === 'running');
    const found = await Promise.all(
      listed.map(async (c) => {
        const inspected = await docker.getContainer(c.Id).inspect();
        return { service: c.Labels[LABELS.service] ?? '', version: inspected.Config.Env.find((e) => e.startsWith('VERSION='))?.slice('VERSION='.length) };
      }),
    );
    return found.sort((a, b) => compareStrings(a.service, b.service));
  };
  /** Waits until every host runs exactly its expected services at `version`. */
  const landed = async (version: string): Promise<void> => {
    let last = '';
    await waitFor(
      `every host runs its services at VERSION=${version}`,
      async () => {
        const seen = new Map(await Promise.all(hostIds.map(async (hostId) => [hostId, await onEngine(hostId)] as const)));
        last = JSON.stringify([...seen]);
        return hostIds.every((hostId) => JSON.stringify(seen.get(hostId)) === JSON.stringify((expected.get(hostId) ?? []).map((service) => ({ service, version })))) || undefined;
      },
      60_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last: ${last}\n${agentLogs()}`);
    });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-compose-fleet-'));
    file = join(dir, 'compose.yaml');
    await writeFile(file, COMPOSE_FILE);
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: { role: 'web', zone: 'a' } },
      { hostId: h2, labels: { role: 'web', zone: 'b' } },
      { hostId: h3, labels: { role: 'db', zone: 'a' } },
    ]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('apply -f compose.yaml places each service on the agents its constraints and x-hostwright name', { timeout: 120_000 }, async () => {
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], '1');
    await landed('1');
    const status = JSON.parse((await cli(['status', '--json'], '1')).stdout) as FleetStatusJson;
    for (const hostId of hostIds) {
      const host = status.hosts.find((h) => h.hostId === hostId);
      const ours = host?.status?.projects.find((p) => p.project === project);
      assert.ok(ours, `${hostId} reports ${project}`);
      assert.equal(ours.converged, true, hostId);
      const services = ours.instances.filter((i) => i.state === 'running').map((i) => i.service).sort(compareStrings);
      assert.deepEqual(services, expected.get(hostId), `${hostId}: ${JSON.stringify(ours.instances)}`);
      const completed = ours.instances.filter((i) => i.state !== 'running').map((i) => `${i.service} ${i.state}`);
      assert.deepEqual(completed, hostId === h3 ? ['migrate exited'] : [], hostId);
    }
  });

  it('rollout -f compose.yaml takes its waves and gates from deploy.update_config', { timeout: 120_000 }, async () => {
    const result = await cli(['rollout', '-f', file, '--healthy-deadline', '60s'], '2');
    const id = /^rollout (\S+): \d+ wave\(s\)/m.exec(result.stdout)?.[1];
    assert.ok(id, `rollout printed no "rollout <id>: N wave(s)" line:\n${result.stdout}`);
    const state = JSON.parse((await cli(['rollout', 'status', id, '--json'], '2')).stdout) as RolloutState;
    assert.equal(state.status, 'succeeded', result.stdout);
    // parallelism 2 → --max-parallel 2; monitor 1s → --min-healthy 1s; failure_action → --on-failure.
    assert.deepEqual([state.options.canary, state.options.maxParallel, state.options.minHealthyMs, state.options.onFailure], [1, 2, 1_000, 'rollback']);
    assert.deepEqual(state.waves, [[h1], [h2, h3]]);
    for (const host of state.hosts) {
      assert.equal(host.state, 'healthy', `${host.hostId}: ${host.message ?? ''}`);
      const started = Date.parse(host.startedAt ?? '');
      const healthyFor = Date.parse(host.finishedAt ?? '') - Date.parse(host.healthySince ?? '');
      assert.ok(Number.isFinite(started) && healthyFor >= 1_000, `${host.hostId} held its health for monitor: 1s (${healthyFor} ms)`);
    }
    const canaryDone = Date.parse(state.hosts.find((h) => h.hostId === h1)?.finishedAt ?? '');
    for (const later of [h2, h3]) assert.ok(canaryDone < Date.parse(state.hosts.find((h) => h.hostId === later)?.startedAt ?? ''), `${later} started after the canary passed`);
    await landed('2');
  });
});
