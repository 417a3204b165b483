import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../shared/labels.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { sleep } from '../../shared/sleep.js';
import { uniqueName } from '../lib/builders.js';
import type { CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

function fleetYaml(project: string): string {
  return `project: ${project}
services:
  web:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
    replicas: 2
    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 1 }
  other:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
`;
}

/** Each container of the project: its host, service, instance, id and the engine's start time. */
interface Started {
  readonly host: string;
  readonly service: string;
  readonly instance: string;
  readonly id: string;
  readonly startedAt: string;
}

// Two real agents (CLI child processes) sharing the local Docker engine, one real nats-server; the
// coordinator is the `hostwright` CLI.
describe('restart: rolling, in place, through desired state (real NATS, real agents, real Docker)', () => {
  const runId = uniqueName('hwr');
  const project = uniqueName('rst');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;

  const cli = (args: readonly string[], expectCode: number): Promise<CliResult> => fleet.cli(args, expectCode);
  const started = async (): Promise<Started[]> => {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
    const rows = await Promise.all(listed.map(async (c) => ({ host: c.Labels[LABELS.host] ?? '?', service: c.Labels[LABELS.service] ?? '?', instance: c.Labels[LABELS.instance] ?? '?', id: c.Id, startedAt: (await docker.getContainer(c.Id).inspect()).State.StartedAt })));
    return rows.sort((a, b) => `${a.host}/${a.service}/${a.instance}`.localeCompare(`${b.host}/${b.service}/${b.instance}`));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-restart-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: {} },
      { hostId: h2, labels: {} },
    ]);
    await writeFile(file, fleetYaml(project));
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('restarts web\'s instances on every host one at a time, in place (same containers, new start times), never both of a host\'s at once; other is untouched; events say restarted', async () => {
    const before = await started();
    assert.equal(before.length, 6, JSON.stringify(before));
    // Sampled every 100 ms: per host, how many web instances run healthy.
    const samples: Record<string, number>[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const listed = await docker.listContainers({ filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=web`] } });
        const healthy: Record<string, number> = { [h1]: 0, [h2]: 0 };
        for (const c of listed) if (c.Status.includes('(healthy)')) healthy[c.Labels[LABELS.host] ?? '?'] = (healthy[c.Labels[LABELS.host] ?? '?'] ?? 0) + 1;
        samples.push(healthy);
        await sleep(100);
      }
    })();
    const result = await cli(['restart', '--project', project, 'web', '--wait', '--timeout', '90s'], 0);
    sampling = false;
    await sampler;
    assert.match(result.stdout, /~ .*web.*restart requested \(generation \d+\)/, 'the plan shows the restart');
    assert.match(result.stdout, new RegExp(`Wrote desired state for 2 host\\(s\\): ${h1} r2, ${h2} r2`));
    assert.match(result.stdout, /Restarted web on 2 host\(s\)\./);
    assert.ok(samples.length >= 10, `${samples.length} samples`);
    for (const sample of samples) for (const host of [h1, h2]) assert.ok((sample[host] ?? 0) >= 1, `no healthy web on ${host}: ${JSON.stringify(sample)}\n${samples.map((s) => JSON.stringify(s)).join('\n')}`);
    assert.ok(samples.some((s) => (s[h1] ?? 0) === 1 || (s[h2] ?? 0) === 1), 'one instance was down for a while: it did restart');

    const after = await started();
    assert.deepEqual(after.map((row) => row.id), before.map((row) => row.id), 'the same containers: restarted in place, not replaced');
    for (const [index, row] of after.entries()) {
      const was = before[index] as Started;
      if (row.service === 'web') assert.ok(Date.parse(row.startedAt) > Date.parse(was.startedAt), `${row.host} web ${row.instance} was started again`);
      else assert.equal(row.startedAt, was.startedAt, `${row.host} ${row.service} was not touched`);
    }
    // One at a time: on each host instance 2 started again only after instance 1 was healthy again.
    for (const host of [h1, h2]) {
      const [first, second] = after.filter((row) => row.host === host && row.service === 'web');
      assert.ok(first && second && Date.parse(second.startedAt) - Date.parse(first.startedAt) >= 400, `${host}: web 2 started ${Date.parse(second?.startedAt ?? '') - Date.parse(first?.startedAt ?? '')} ms after web 1`);
    }
    const events = (await cli(['events', '--json', '--project', project, '--type', 'restarted'], 0)).stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as HostwrightEvent);
    assert.deepEqual(events.map((event) => `${event.hostId}/${event.service}/${event.instance}`).sort(), [`${h1}/web/1`, `${h1}/web/2`, `${h2}/web/1`, `${h2}/web/2`].sort(), JSON.stringify(events));
    assert.ok(events.every((event) => /restart requested \(generation \d+\)/.test(event.message)), JSON.stringify(events));
    // Converged again: a plan of the same file has nothing to do (the generation is carried over).
    await cli(['plan', '-f', file, '--detailed-exitcode'], 0);
  });

  it('--host restarts only there; a service the project does not run is refused naming those it runs, writing nothing', async () => {
    const before = await started();
    const json = JSON.parse((await cli(['restart', '-f', file, 'other', '--host', h2, '--wait', '--timeout', '60s', '--json'], 0)).stdout) as { schema: string; written: { hostId: string }[]; hosts: { hostId: string; state: string }[] };
    assert.deepEqual([json.schema, json.written.map((w) => w.hostId), json.hosts], ['hostwright.restart/v1', [h2], [{ hostId: h2, state: 'converged' }]]);
    const after = await started();
    for (const [index, row] of after.entries()) {
      const moved = row.startedAt !== (before[index] as Started).startedAt;
      assert.equal(moved, row.host === h2 && row.service === 'other', `${row.host} ${row.service} ${row.instance}`);
    }
    assert.match((await cli(['restart', '--project', project, 'wbe'], 1)).stderr, /no instance of it runs in project .*; did you mean "web"\?/);
    await cli(['restart', 'web'], 1);
  });
});
