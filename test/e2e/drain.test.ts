import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS } from '../../shared/labels.js';
import { sleep } from '../../shared/sleep.js';
import { uniqueName } from '../lib/builders.js';
import type { CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

/** web (health-checked) on every role=web host; pinned only on `pinnedHost`. */
function fleetYaml(project: string, pinnedHost: string): string {
  return `project: ${project}
services:
  web:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 1 }
    placement: { selector: { role: web } }
  pinned:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
    placement: { hosts: [${pinnedHost}] }
`;
}

interface Sample {
  readonly at: number;
  readonly healthyWeb: number;
  readonly webHosts: string[];
}

/** Samples the project's healthy web instances every 100 ms until stopped. */
function startSampler(project: string): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const listed = await docker.listContainers({ filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=web`] } });
      const healthy = listed.filter((c) => c.State === 'running' && c.Status.includes('(healthy)'));
      samples.push({ at: Date.now(), healthyWeb: healthy.length, webHosts: healthy.map((c) => c.Labels[LABELS.host] ?? '?').sort() });
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

interface DrainJson {
  schema: string;
  hostId: string;
  state: string;
  dryRun?: boolean;
  moves: { project: string; service: string; instances: number; to: Record<string, number> }[];
  left: { project: string; service: string; instances: number; reason: string; action: string }[];
  written: { hostId: string; project: string; revision: number }[];
  remaining: unknown[];
}
interface HostsJson {
  hosts: { hostId: string; cordon: { reason?: string } | null; drain: { state: string } | null }[];
}

// Three real agents (CLI child processes) sharing the local Docker engine, one real nats-server;
// the coordinator is the `hostwright` CLI. h3 is drained while the sampler watches web.
describe('hosts drain: make-before-break off one host of three (real NATS, real agents, real Docker)', () => {
  const runId = uniqueName('hwd');
  const project = uniqueName('drain');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  const h3 = uniqueName('h3');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;

  const cli = (args: readonly string[], expectCode: number): Promise<CliResult> => fleet.cli(args, expectCode);
  /** Running containers of a service: their hosts, sorted. */
  const hostsOf = async (service: string): Promise<string[]> => {
    const listed = await docker.listContainers({ filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=${service}`] } });
    return listed.map((c) => c.Labels[LABELS.host] ?? '?').sort();
  };
  const containerIds = async (): Promise<string[]> => (await docker.listContainers({ filters: { label: [`${LABELS.project}=${project}`] } })).map((c) => c.Id).sort();
  const hostEntry = async (hostId: string) => (JSON.parse((await cli(['hosts', '--json'], 0)).stdout) as HostsJson).hosts.find((host) => host.hostId === hostId);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-drain-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: { role: 'web' } },
      { hostId: h2, labels: { role: 'web' } },
      { hostId: h3, labels: { role: 'web' } },
    ]);
    await writeFile(file, fleetYaml(project, h3));
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await hostsOf('web'), [h1, h2, h3].sort());
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run shows the moves and the pinned service left, and changes nothing', async () => {
    const ids = await containerIds();
    const human = await cli(['hosts', 'drain', h3, '--dry-run'], 0);
    assert.match(human.stdout, new RegExp(`Drain of ${h3}: 1 service\\(s\\) move, 1 can run nowhere else \\(left running\\)`));
    assert.match(human.stdout, new RegExp(`move +${project}/web: 1 instance\\(s\\) -> ${h1} \\(2 replica\\(s\\) after\\)`));
    assert.match(human.stdout, new RegExp(`leave +${project}/pinned: 1 instance\\(s\\): no other host runs it`));
    assert.match(human.stdout, /Dry run: nothing written\./);
    const json = JSON.parse((await cli(['hosts', 'drain', h3, '--dry-run', '--json'], 0)).stdout) as DrainJson;
    assert.deepEqual([json.schema, json.state, json.dryRun, json.moves, json.left.map((entry) => [entry.service, entry.action]), json.written], ['hostwright.drain/v1', 'planned', true, [{ project, service: 'web', instances: 1, to: { [h1]: 2 } }], [['pinned', 'leave']], []]);
    const entry = await hostEntry(h3);
    assert.deepEqual([entry?.cordon, entry?.drain], [null, null], 'a dry run does not cordon');
    await sleep(1_000);
    assert.deepEqual(await containerIds(), ids, 'no container was made or removed');
  });

  it('drain: the replacement runs healthy before h3\'s web stops, never fewer healthy web than before at any sample; the pinned service stays; hosts shows DRAINED', async () => {
    const sampler = startSampler(project);
    const result = await cli(['hosts', 'drain', h3, '--deadline', '90s'], 0);
    await sleep(500);
    const samples = await sampler.stop();
    assert.ok(samples.length >= 10, `${samples.length} samples`);
    for (const sample of samples) assert.ok(sample.healthyWeb >= 3, `${sample.healthyWeb} healthy web at ${new Date(sample.at).toISOString()} (sample ${samples.indexOf(sample)} of ${samples.length})\n${samples.map((s) => JSON.stringify(s)).join('\n')}\n${result.stdout}`);
    assert.ok(samples.some((s) => s.healthyWeb === 4), 'four healthy web for a while: made before the break');
    assert.deepEqual(samples.at(-1)?.webHosts, [h1, h1, h2].sort());
    assert.match(result.stdout, new RegExp(`${h3} cordoned and draining`));
    assert.match(result.stdout, new RegExp(`Moves: web \\(${h3} -> ${h1}\\)`));
    // h2 gives and receives nothing, but its document stops naming h3 as a host of web (its remotes).
    assert.match(result.stdout, new RegExp(`Phase 1: Wrote desired state for 2 host\\(s\\): ${h1} r2, ${h2} r2`));
    assert.match(result.stdout, new RegExp(`${h1}\\s+ready`));
    assert.match(result.stdout, new RegExp(`Phase 2: Wrote desired state for 1 host\\(s\\): ${h3} r2`));
    assert.match(result.stdout, new RegExp(`${h3} drained; left running there: ${project}/pinned`));
    assert.deepEqual(await hostsOf('pinned'), [h3]);
    assert.deepEqual((await hostEntry(h3))?.drain?.state, 'drained');
    assert.equal((await hostEntry(h3))?.cordon?.reason, 'drain');
    assert.match((await cli(['hosts'], 0)).stdout, new RegExp(`${h3}: DRAINED at .*: 1 service\\(s\\) moved; left there: ${project}/pinned`));
  });

  it('a drained host is ineligible for existing placements: apply keeps web off it (plan says so); uncordon lets placement use it again', async () => {
    const plan = await cli(['plan', '-f', file], 0);
    assert.match(plan.stdout, new RegExp(`${h3}: CORDONED \\(drain\\): not placed there: web`));
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await hostsOf('web'), [h1, h2].sort());
    assert.deepEqual(await hostsOf('pinned'), [h3]);
    await cli(['hosts', 'uncordon', h3], 0);
    const entry = await hostEntry(h3);
    assert.deepEqual([entry?.cordon, entry?.drain], [null, null]);
    await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.deepEqual(await hostsOf('web'), [h1, h2, h3].sort());
  });

  it('--detach records the drain and starts the replacement; hosts shows DRAINING; a second run resumes it without raising replicas again; --force stops the pinned service', async () => {
    const detached = JSON.parse((await cli(['hosts', 'drain', h3, '--detach', '--force', '--json'], 0)).stdout) as DrainJson;
    assert.deepEqual([detached.state, detached.moves.map((move) => move.to), detached.left.map((entry) => [entry.service, entry.action])], ['draining', [{ [h1]: 2 }], [['pinned', 'stop']]]);
    assert.ok(detached.written.some((w) => w.hostId === h1), JSON.stringify(detached.written));
    assert.equal((await hostEntry(h3))?.drain?.state, 'draining');
    assert.match((await cli(['hosts'], 0)).stdout, new RegExp(`${h3} .*DRAINING`));
    const resumed = await cli(['hosts', 'drain', h3, '--deadline', '90s'], 0);
    assert.match(resumed.stdout, new RegExp(`Resuming the drain of ${h3}`));
    assert.match(resumed.stdout, new RegExp(`${h3} drained\\.`));
    assert.deepEqual(await hostsOf('web'), [h1, h1, h2].sort(), 'h1 was raised to 2 once, not twice');
    assert.deepEqual(await hostsOf('pinned'), []);
    assert.equal((await hostEntry(h3))?.drain?.state, 'drained');
  });

  it('refuses a host the fleet does not know, and a bad deadline, writing nothing', async () => {
    assert.match((await cli(['hosts', 'drain', uniqueName('nosuch'), '--dry-run'], 1)).stderr, /no such host/);
    assert.match((await cli(['hosts', 'drain', h2, '--deadline', 'soon'], 1)).stderr, /--deadline soon: expected a duration/);
    assert.equal((await hostEntry(h2))?.cordon, null);
  });
});
