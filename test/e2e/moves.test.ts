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
import { fleetApplyJsonSchema } from '../../shared/fleet-apply-json.js';

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

/** api (with a health check) and two workers, all pinned to `host`; api publishes `port` when given. */
function fleetYaml(project: string, host: string, port: number | undefined): string {
  return `project: ${project}
services:
  api:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
${port === undefined ? '' : `    ports: ["127.0.0.1:${port}:8080"]\n`}    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 1 }
    placement: { hosts: [${host}] }
  worker:
    image: hw/busybox:test
    command: ${QUICK_STOP}
    stop_timeout: 1s
    replicas: 2
    placement: { hosts: [${host}] }
`;
}

/** One look at the engine: per service, the instances running, and those Docker reports healthy. */
interface Sample {
  readonly at: number;
  readonly running: Record<string, number>;
  readonly healthy: Record<string, number>;
  readonly hosts: Record<string, string[]>;
}

/** Samples the project's containers every 100 ms until stopped. */
function startSampler(project: string): { stop: () => Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
      const sample: Sample = { at: Date.now(), running: {}, healthy: {}, hosts: {} };
      for (const c of listed) {
        const service = c.Labels[LABELS.service] ?? '?';
        if (c.State !== 'running') continue;
        sample.running[service] = (sample.running[service] ?? 0) + 1;
        if (c.Status.includes('(healthy)')) sample.healthy[service] = (sample.healthy[service] ?? 0) + 1;
        (sample.hosts[service] ??= []).push(c.Labels[LABELS.host] ?? '?');
      }
      samples.push(sample);
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

/** The largest gap between two samples, in ms (the sampler is only as good as its rate). */
function largestGap(samples: readonly Sample[]): number {
  let gap = 0;
  for (let i = 1; i < samples.length; i += 1) gap = Math.max(gap, (samples[i] as Sample).at - (samples[i - 1] as Sample).at);
  return gap;
}

// Two real agents (CLI child processes) sharing the local Docker engine, one real nats-server; the
// coordinator is the `hostwright` CLI. The quick start's move: api and two workers from h2 to h1.
describe('moves are make-before-break across hosts (real NATS, real agents, real Docker)', () => {
  const runId = uniqueName('hwm');
  const project = uniqueName('move');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  // A free-enough loopback port for this run; both agents share the engine, so h2's api holds it for h1 too.
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;

  const cli = (args: readonly string[], expectCode: number): Promise<CliResult> => fleet.cli(args, expectCode);
  const hostsOf = async (service: string): Promise<string[]> => {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=${service}`] } });
    return listed.filter((c) => c.State === 'running').map((c) => c.Labels[LABELS.host] ?? '?').sort();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-moves-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: {} },
      { hostId: h2, labels: {} },
    ]);
    await writeFile(file, fleetYaml(project, h2, port));
    const first = await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    assert.match(first.stdout, /1 converged\./);
    assert.deepEqual(await hostsOf('worker'), [h2, h2]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan shows the move in two phases: the receiving host first, the giving host once it runs the services healthy', async () => {
    await writeFile(file, fleetYaml(project, h1, port));
    // Exit 3: on the engine the agents share, h2's api holds the port h1 would bind, a gate apply meets too.
    const human = await cli(['plan', '-f', file], 3);
    assert.match(human.stdout, new RegExp(`\\[port-conflict\\].*owned by Hostwright agent ${h2}`));
    assert.match(human.stdout, new RegExp(`Moves: api \\(${h2} -> ${h1}\\), worker \\(${h2} -> ${h1}\\)`));
    assert.match(human.stdout, new RegExp(`phase 1: ${h1} `));
    assert.match(human.stdout, new RegExp(`phase 2: ${h2}, once ${h1} runs the moved services healthy`));
    const json = JSON.parse((await cli(['plan', '-f', file, '--json'], 3)).stdout) as { phases?: { moves: unknown[]; phase1: string[]; phase2: string[] } };
    assert.deepEqual(json.phases, { moves: [{ service: 'api', from: [h2], to: [h1] }, { service: 'worker', from: [h2], to: [h1] }], phase1: [h1], phase2: [h2] });
  });

  it('with the receiving host blocked (h2\'s api holds the port), h2 keeps every instance throughout and apply exits non-zero naming the owning agent', async () => {
    await writeFile(file, fleetYaml(project, h1, port));
    const sampler = startSampler(project);
    const result = await cli(['apply', '-f', file, '--wait', '--timeout', '40s'], 3);
    // A few more samples after the command returned: nothing is written to h2 later either.
    await sleep(1_500);
    const samples = await sampler.stop();
    assert.ok(samples.length >= 10, `${samples.length} samples`);
    assert.ok(largestGap(samples) < 1_000, `samples ${largestGap(samples)} ms apart at most`);
    for (const sample of samples) {
      assert.ok((sample.running.api ?? 0) >= 1, `api ran nowhere at ${new Date(sample.at).toISOString()}`);
      assert.ok((sample.running.worker ?? 0) >= 1, `no worker ran at ${new Date(sample.at).toISOString()}: ${JSON.stringify(sample)}\n${result.stdout}`);
    }
    assert.match(result.stdout, new RegExp(`Phase 1: Wrote desired state for 1 host\\(s\\): ${h1} r1`));
    assert.doesNotMatch(result.stdout, /Phase 2: Wrote/);
    assert.match(result.stdout, new RegExp(`${h1}\\s+blocked .*owned by Hostwright agent ${h2}`));
    assert.match(result.stdout, new RegExp(`Phase 2 not written: ${h2} keeps api, worker running, since ${h1} is blocked`));
    assert.deepEqual(await hostsOf('api'), [h2]);
    assert.deepEqual(await hostsOf('worker'), [h2, h2]);
  });

  it('without --wait a move still waits for phase 1, and --json says which giving host was held', async () => {
    const result = await cli(['apply', '-f', file, '--json', '--timeout', '30s'], 3);
    const json = fleetApplyJsonSchema.parse(JSON.parse(result.stdout));
    assert.deepEqual(json.written.map((w) => w.hostId), [h1]);
    assert.deepEqual(json.hosts.map((host) => [host.hostId, host.state]), [[h1, 'written']], 'held: the hosts written are not waited for');
    assert.deepEqual([json.phases?.phase1, json.phases?.phase2, json.held], [[h1], [h2], [h2]]);
    assert.deepEqual(await hostsOf('api'), [h2]);
  });

  it('with the receiving host healthy the move completes, at least one healthy api at every sample, and ends on h1 only', async () => {
    await writeFile(file, fleetYaml(project, h1, undefined));
    const sampler = startSampler(project);
    const result = await cli(['apply', '-f', file, '--wait', '--timeout', '60s'], 0);
    const samples = await sampler.stop();
    assert.ok(samples.length >= 10, `${samples.length} samples`);
    assert.ok(largestGap(samples) < 1_000, `samples ${largestGap(samples)} ms apart at most`);
    for (const sample of samples) {
      assert.ok((sample.healthy.api ?? 0) >= 1, `no healthy api at ${new Date(sample.at).toISOString()} (sample ${samples.indexOf(sample)} of ${samples.length}): ${JSON.stringify(sample)}\n${samples.map((x) => JSON.stringify(x)).join('\n')}\n${result.stdout}`);
      assert.ok((sample.running.worker ?? 0) >= 1, `no worker ran at ${new Date(sample.at).toISOString()}: ${JSON.stringify(sample)}\n${result.stdout}`);
    }
    // The move happened during the sampling: api was seen on h2 first and on h1 at the end.
    assert.deepEqual((samples[0] as Sample).hosts.api, [h2]);
    assert.ok(samples.some((s) => (s.hosts.api ?? []).length === 2), 'api ran on both hosts for a while (made before the break)');
    assert.match(result.stdout, new RegExp(`Phase 1: Wrote desired state for 1 host\\(s\\): ${h1} r3`));
    assert.match(result.stdout, new RegExp(`${h1}\\s+ready`));
    assert.match(result.stdout, new RegExp(`Phase 2: Wrote desired state for 1 host\\(s\\): ${h2} r2`));
    assert.match(result.stdout, /2 converged\./);
    assert.deepEqual(await hostsOf('api'), [h1]);
    assert.deepEqual(await hostsOf('worker'), [h1, h1]);
  });

  it('a rollout moving them back writes h2 first and h1 only once h2 is healthy, with a healthy api at every sample', async () => {
    await writeFile(file, fleetYaml(project, h2, undefined));
    const sampler = startSampler(project);
    const result = await cli(['rollout', '-f', file, '--canary', '1', '--min-healthy', '1s', '--healthy-deadline', '60s'], 0);
    const samples = await sampler.stop();
    assert.ok(largestGap(samples) < 1_000, `samples ${largestGap(samples)} ms apart at most`);
    for (const sample of samples) assert.ok((sample.healthy.api ?? 0) >= 1, `no healthy api at ${new Date(sample.at).toISOString()}: ${JSON.stringify(sample)}\n${result.stdout}`);
    assert.match(result.stdout, new RegExp(`^rollout \\S+: 2 wave\\(s\\): 1:\\[${h2}\\] 2:\\[${h1}\\]`, 'm'));
    assert.deepEqual(await hostsOf('api'), [h2]);
    assert.deepEqual(await hostsOf('worker'), [h2, h2]);
  });
});
