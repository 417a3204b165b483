import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import type { CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

/** One service placed by a label selector, or on hosts by id. */
function fleetYaml(project: string, placement: string): string {
  return `project: ${project}
services:
  web:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
    ports: ["8080"]
    placement: ${placement}
`;
}

interface HostsJson {
  hosts: { hostId: string; labels: Record<string, string>; coordinatorLabels: Record<string, string>; effectiveLabels: Record<string, string>; cordon: { reason?: string; at: string } | null }[];
}
interface PsJson {
  schema: string;
  instances: { hostId: string; project: string; service: string; instance: number; state: string; health: string; image: string | null; ports: string[]; containerId: string | null; startedAt: string | null; uptimeSeconds: number | null }[];
}
interface StatusJson {
  hosts: { hostId: string; status: { projects: { project: string }[] } | null }[];
}

// Two real agents (CLI child processes) on the local Docker engine, one real nats-server; the
// coordinator is the `hostwright` CLI. Day-to-day commands: labels, cordon, ps, down.
describe('fleet operations: host labels, cordon, ps and down (real NATS, real agents, real Docker)', () => {
  const runId = uniqueName('hwo');
  const project = uniqueName('ops');
  const other = uniqueName('opx');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;
  let otherFile: string;

  const cli = (args: readonly string[], expectCode: number): Promise<CliResult> => fleet.cli(args, expectCode);
  const running = async (name: string): Promise<string[]> => {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${name}`] } });
    return listed.filter((c) => c.State === 'running').map((c) => c.Labels[LABELS.host] ?? '?').sort();
  };
  const hostsJson = async (): Promise<HostsJson> => JSON.parse((await cli(['hosts', '--json'], 0)).stdout) as HostsJson;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-ops-test-'));
    file = join(dir, 'fleet.yaml');
    otherFile = join(dir, 'other.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: { role: 'web' } },
      { hostId: h2, labels: { role: 'db' } },
    ]);
    await writeFile(file, fleetYaml(project, '{ selector: { role: web } }'));
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await running(project), [h1]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('hosts label: placement reads the coordinator\'s labels over the agent\'s, without a restart; plan shows the move and apply makes exactly it', async () => {
    const pids = fleet.agents.map((agent) => agent.process.pid);
    await cli(['hosts', 'label', h2, 'role=web'], 0);
    await cli(['hosts', 'label', h1, 'role=db', 'zone=a'], 0);
    const listed = await hostsJson();
    const one = listed.hosts.find((host) => host.hostId === h1);
    assert.deepEqual([one?.labels, one?.coordinatorLabels, one?.effectiveLabels], [{ role: 'web' }, { role: 'db', zone: 'a' }, { role: 'db', zone: 'a' }]);
    assert.match((await cli(['hosts'], 0)).stdout, /role=db\*,zone=a\*/);
    const plan = await cli(['plan', '-f', file], 0);
    assert.match(plan.stdout, new RegExp(`Moves: web \\(${h1} -> ${h2}\\)`));
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await running(project), [h2]);
    assert.deepEqual(fleet.agents.map((agent) => agent.process.pid), pids, 'no agent was restarted');
    // Removing a label the coordinator set falls back to the agent's own.
    await cli(['hosts', 'label', h1, 'zone-'], 0);
    assert.deepEqual((await hostsJson()).hosts.find((host) => host.hostId === h1)?.coordinatorLabels, { role: 'db' });
    await cli(['hosts', 'label', h1, 'role'], 1);
    await cli(['hosts', 'label', uniqueName('nosuch'), 'role=web'], 1);
  });

  it('hosts cordon: what runs there stays, a selector skips the host (plan says so), a placement naming it is refused; uncordon lets placement use it again', async () => {
    const cordon = await cli(['hosts', 'cordon', h2, '--reason', 'disk swap'], 0);
    assert.match(cordon.stdout, /cordoned \(disk swap\)/);
    assert.deepEqual((await hostsJson()).hosts.find((host) => host.hostId === h2)?.cordon?.reason, 'disk swap');
    assert.match((await cli(['hosts'], 0)).stdout, new RegExp(`${h2}: CORDONED since .*: disk swap`));
    // The project already on h2 stays and is unchanged.
    const again = await cli(['plan', '-f', file, '--detailed-exitcode'], 0);
    assert.doesNotMatch(again.stdout, /CORDONED/);
    assert.deepEqual(await running(project), [h2]);
    // A new project by selector: h2 is skipped and plan names it.
    await writeFile(otherFile, fleetYaml(other, '{ selector: { role: web } }'));
    const skipped = await cli(['plan', '-f', otherFile], 0);
    assert.match(skipped.stdout, new RegExp(`${h2}: CORDONED \\(disk swap\\): not placed there: web`));
    const skippedJson = JSON.parse((await cli(['plan', '-f', otherFile, '--json'], 0)).stdout) as { cordoned?: unknown; hosts: unknown[] };
    assert.deepEqual([skippedJson.cordoned, skippedJson.hosts], [[{ hostId: h2, reason: 'disk swap', services: ['web'] }], []]);
    // By id: refused, nothing written.
    await writeFile(otherFile, fleetYaml(other, `{ hosts: [${h2}] }`));
    const refused = await cli(['apply', '-f', otherFile], 1);
    assert.match(refused.stderr, new RegExp(`places web on host ${h2} by name, but ${h2} is cordoned \\(disk swap\\).*hostwright hosts uncordon ${h2}`, 's'));
    assert.deepEqual(await running(other), []);
    await cli(['hosts', 'uncordon', h2], 0);
    assert.equal((await hostsJson()).hosts.find((host) => host.hostId === h2)?.cordon, null);
    await cli(['apply', '-f', otherFile, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await running(other), [h2]);
  });

  it('ps lists the instances across the fleet with host, state, image and ports; filters by project and host', async () => {
    const all = JSON.parse((await cli(['ps', '--json'], 0)).stdout) as PsJson;
    assert.equal(all.schema, 'hostwright.ps/v1');
    const mine = all.instances.filter((row) => row.project === project || row.project === other);
    assert.deepEqual(mine.map((row) => [row.hostId, row.project, row.service, row.instance, row.state, row.image, row.ports]).sort(), [
      [h2, project, 'web', 1, 'running', 'hw/busybox:test', ['8080']],
      [h2, other, 'web', 1, 'running', 'hw/busybox:test', ['8080']],
    ].sort());
    for (const row of mine) {
      const inspected = await docker.getContainer(row.containerId ?? '').inspect();
      assert.equal(row.startedAt, inspected.State.StartedAt, 'the start time is the engine\'s');
      assert.ok(row.uptimeSeconds !== null && row.uptimeSeconds >= 0 && row.uptimeSeconds < 600, `uptime ${row.uptimeSeconds}`);
    }
    const byFile = JSON.parse((await cli(['ps', '-f', file, '--json'], 0)).stdout) as PsJson;
    assert.deepEqual(byFile.instances.map((row) => row.project), [project]);
    assert.deepEqual((JSON.parse((await cli(['ps', '--project', project, '--host', h1, '--json'], 0)).stdout) as PsJson).instances, []);
    const table = await cli(['ps', '--project', project], 0);
    assert.match(table.stdout, /HOST +PROJECT +SERVICE +INSTANCE +STATE +HEALTH +UP +IMAGE +PORTS/);
    assert.match(table.stdout, new RegExp(`${h2} +${project} +web +1 +running +none +\\d+[smhd] +hw/busybox:test +8080`));
    assert.match((await cli(['ps', '--host', `${h1}x`], 1)).stderr, new RegExp(`no such host; did you mean ${h1}\\?`));
    assert.match((await cli(['ps', '-f', file, '--project', project], 1)).stderr, /not both/);
  });

  it('down removes the project everywhere; once every host removed it, it is gone from status and ps (no 0/0 row)', async () => {
    assert.match((await cli(['down'], 1)).stderr, /name the project: -f FILE \(its project\) or --project NAME/);
    const down = await cli(['down', '--project', other, '--wait', '--timeout', '60s'], 0);
    assert.match(down.stdout, new RegExp(`${h2}: desired r\\d+: remove project ${other}`));
    assert.match(down.stdout, /removed from 1 host\(s\)/);
    assert.deepEqual(await running(other), []);
    const status = JSON.parse((await cli(['status', '--json'], 0)).stdout) as StatusJson;
    const projects = status.hosts.flatMap((host) => (host.status?.projects ?? []).map((entry) => entry.project));
    assert.ok(!projects.includes(other), `status still lists ${other}: ${JSON.stringify(projects)}`);
    assert.ok(projects.includes(project), 'the other project is still there');
    assert.doesNotMatch((await cli(['status'], 0)).stdout, new RegExp(other));
    assert.deepEqual((JSON.parse((await cli(['ps', '--project', other, '--json'], 0)).stdout) as PsJson).instances, []);
    // Again: nothing new to write, and it says so.
    const twice = JSON.parse((await cli(['down', '--project', other, '--json'], 0)).stdout) as { written: unknown[] };
    assert.deepEqual(twice.written, []);
    await cli(['down', '--project', uniqueName('never'), '--wait'], 1);
    // By file, the project that is left: gone too.
    await cli(['down', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await running(project), []);
  });
});
