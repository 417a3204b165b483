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

/** web on h1 waits for api on h2 to be healthy; api's check passes only ~4 s after it starts. */
function fleetYaml(project: string, h1: string, h2: string): string {
  return `project: ${project}
services:
  api:
    image: hw/busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; (sleep 4; touch /tmp/ready) & sleep 3600 & wait"]
    stop_timeout: 1s
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 500ms, retries: 1, start_period: 20s }
    placement: { hosts: [${h2}] }
  web:
    image: hw/busybox:test
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    stop_timeout: 1s
    depends_on: { api: { condition: service_healthy } }
    placement: { hosts: [${h1}] }
`;
}

interface Sample {
  readonly at: number;
  readonly webRunning: boolean;
  readonly apiHealthy: boolean;
}

// Two real agents (CLI child processes) on the shared engine, one real nats-server, the `hostwright`
// CLI as coordinator: a depends_on whose dependency runs on the other host waits through the endpoint registry.
describe('depends_on across hosts waits through the endpoint registry (real NATS, real agents, real Docker)', () => {
  const runId = uniqueName('hwrd');
  const project = uniqueName('rdep');
  const h1 = uniqueName('h1');
  const h2 = uniqueName('h2');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let file: string;

  const cli = (args: readonly string[], expectCode: number): Promise<CliResult> => fleet.cli(args, expectCode);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-remote-deps-test-'));
    file = join(dir, 'fleet.yaml');
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([
      { hostId: h1, labels: {} },
      { hostId: h2, labels: {} },
    ]);
    await writeFile(file, fleetYaml(project, h1, h2));
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan shows the remote wait and the wiring, with no gate', async () => {
    const human = await cli(['plan', '-f', file], 0);
    assert.match(human.stdout, new RegExp(`waits for api on ${h2} \\(healthy, up to 60s\\)`));
    assert.match(human.stdout, new RegExp(`Wiring \\(depends_on\\):\\n  web \\(${h1}\\) -> api \\(${h2}\\): depends_on service_healthy, across hosts \\(endpoint registry\\)`));
    assert.doesNotMatch(human.stdout, /service-not-here/);
    const json = JSON.parse((await cli(['plan', '-f', file, '--json'], 0)).stdout) as { wiring?: unknown[] };
    assert.deepEqual(json.wiring, [{ project, from: 'web', fromHosts: [h1], to: 'api', toHosts: [h2], via: 'depends_on', condition: 'service_healthy', required: true, reach: 'across-hosts' }]);
  });

  it('web on h1 starts only once api is healthy on h2', async () => {
    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const listed = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
        const of = (service: string) => listed.filter((c) => c.Labels[LABELS.service] === service && c.State === 'running');
        samples.push({ at: Date.now(), webRunning: of('web').length > 0, apiHealthy: of('api').some((c) => c.Status.includes('(healthy)')) });
        await sleep(100);
      }
    })();
    const result = await cli(['apply', '-f', file, '--wait', '--timeout', '90s'], 0);
    sampling = false;
    await sampler;
    assert.match(result.stdout, /2 converged\./);
    const [web] = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`, `${LABELS.service}=web`] } });
    assert.ok(web, 'web was created');
    const webStartedAt = Date.parse((await docker.getContainer(web.Id).inspect()).State.StartedAt);
    // The last look at which api was not healthy yet came before web started.
    const lastUnhealthy = samples.findLast((sample) => !sample.apiHealthy);
    assert.ok(lastUnhealthy, `api was seen before it was healthy (${samples.length} samples)`);
    assert.ok(lastUnhealthy.at < webStartedAt, `web started at ${new Date(webStartedAt).toISOString()}, before api was healthy (still not at ${new Date(lastUnhealthy.at).toISOString()})\n${fleet.agentTails(15)}`);
    for (const sample of samples) assert.ok(!sample.webRunning || sample.apiHealthy, `web ran while api was not healthy at ${new Date(sample.at).toISOString()}`);
    assert.equal(web.Labels[LABELS.host], h1);
  });

  it('status shows the wiring across hosts', async () => {
    const human = await cli(['status'], 0);
    assert.match(human.stdout, new RegExp(`Wiring \\(depends_on across hosts\\):\\n  web \\(${h1}\\) -> api \\(${h2}\\): depends_on service_healthy, across hosts`));
    const json = JSON.parse((await cli(['status', '--json'], 0)).stdout) as { wiring: { project: string; from: string; reach: string }[] };
    assert.deepEqual(json.wiring.filter((edge) => edge.project === project).map((edge) => [edge.from, edge.reach]), [['web', 'across-hosts']]);
  });
});
