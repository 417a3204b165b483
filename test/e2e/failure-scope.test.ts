import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostwrightEvent } from '../../shared/events.js';
import { uniqueName } from '../lib/builders.js';
import { runCli, type CliResult } from '../lib/cli.js';
import { docker } from '../lib/docker-harness.js';
import { FleetHarness } from '../lib/fleet-harness.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

/** How long the test watches a rejected project for events and registry requests (a 5-minute run is a manual soak). */
const QUIET_WINDOW_MS = Number(process.env.HW_QUIET_WINDOW_MS ?? 30_000);

interface ProjectJson {
  project: string;
  desiredRevision: number;
  appliedRevision?: number;
  converged: boolean;
  instances: { name: string; state: string; containerId?: string }[];
  rejected?: { revision: number; reason: string; lift?: string };
  backoff?: { attempts: number; reason: string };
}
interface FleetStatusJson {
  hosts: { hostId: string; status: { projects: ProjectJson[] } | null }[];
}

/**
 * A "registry" on the loopback that counts the connections the engine makes to it and drops each
 * at once: pulls from it fail quickly, on this machine, and every pull attempt is counted.
 */
async function countingRegistry(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => connections };
}

const QUICK_STOP = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
function fleetYaml(project: string, image: string, version: string): string {
  return `project: ${project}\nservices:\n  web:\n    image: ${image}\n    command: ${QUICK_STOP}\n    env: { VERSION: "${version}" }\n    replicas: 2\n    stop_timeout: 1s\n`;
}

// One real agent over real NATS with two projects: one needs an image no registry has, the other
// keeps converging and repairing; the first is rejected once, stays quiet, and recovers both ways.
describe('failure scope over NATS: one broken project, one healthy, on one host (real Docker)', { timeout: 600_000 }, () => {
  const runId = uniqueName('hwfs');
  const hostId = uniqueName('fs');
  const broken = uniqueName('broken');
  const healthy = uniqueName('healthy');
  let server: NatsServerHandle;
  let fleet: FleetHarness;
  let dir: string;
  let registry: Awaited<ReturnType<typeof countingRegistry>>;
  let missingImage = '';
  const taggedImages: string[] = [];

  const cli = async (args: readonly string[], expectCode = 0): Promise<CliResult> => {
    const result = await runCli([...args, '--nats', server.url], fleet.cliEnv);
    assert.equal(result.code, expectCode, `hostwright ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${agentLog()}`);
    return result;
  };
  const agentLog = () => (fleet ? fleet.agent(hostId).output().split('\n').slice(-20).join('\n') : '');
  const apply = async (project: string, image: string, version: string, wait: boolean) => {
    const file = join(dir, `${project}.yaml`);
    await writeFile(file, fleetYaml(project, image, version));
    return cli(['apply', '-f', file, ...(wait ? ['--wait', '--timeout', '90s'] : [])]);
  };
  const projectStatus = async (project: string): Promise<ProjectJson | undefined> => {
    const status = JSON.parse((await cli(['status', '--json'])).stdout) as FleetStatusJson;
    return status.hosts.find((host) => host.hostId === hostId)?.status?.projects.find((p) => p.project === project);
  };
  const eventsOf = async (project: string): Promise<HostwrightEvent[]> => (await fleet.recordedEvents(hostId)).filter((event) => event.project === project || (event.project === '_host' && event.message.includes(missingImage)));
  const rejections = async (): Promise<HostwrightEvent[]> => (await eventsOf(broken)).filter((event) => /rejected after \d+ failed attempts/.test(event.message));
  const healthyContainers = async () => (await fleet.containersOf(hostId)).filter((c) => c.Labels['io.hostwright.project'] === healthy);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-failure-scope-'));
    registry = await countingRegistry();
    missingImage = `127.0.0.1:${registry.port}/hw/does-not-exist:1`;
    server = await startNatsServer();
    fleet = FleetHarness.create(server, runId);
    await fleet.startAgents([{ hostId, labels: {}, args: ['--resync', '5s'] }]);
  });
  after(async () => {
    await fleet?.cleanup();
    await server?.cleanup();
    await Promise.all(taggedImages.map((image) => docker.getImage(image).remove().catch(() => undefined)));
    await new Promise<void>((resolve) => (registry ? registry.server.close(() => resolve()) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the broken project is rejected once with its own reason; the healthy one converges, changes and is repaired meanwhile', async () => {
    await apply(broken, missingImage, '1', false);
    await apply(healthy, 'hw/busybox:test', '1', true);
    const rejected = await waitFor('the broken revision rejected', async () => (await projectStatus(broken))?.rejected, 90_000, 500);
    assert.equal(rejected.revision, 1);
    assert.match(rejected.reason, new RegExp(`pull image ${missingImage.replace(/[.:/]/g, '\\$&')} failed`));
    assert.match(rejected.lift ?? '', new RegExp(`hostwright retry --host ${hostId} --project ${broken}`));
    assert.equal((await rejections()).length, 1);
    assert.ok(registry.connections() > 0, 'the engine did try the registry');

    // A change of the healthy project after the rejection: applied, with no trace of the other's failure.
    await apply(healthy, 'hw/busybox:test', '2', true);
    const after = await projectStatus(healthy);
    assert.equal(after?.appliedRevision, 2);
    assert.equal(after?.rejected, undefined);
    assert.equal(after?.converged, true);
    const healthyEvents = (await fleet.recordedEvents(hostId)).filter((event) => event.project === healthy);
    assert.ok(healthyEvents.some((event) => event.type === 'applied'));
    assert.ok(!healthyEvents.some((event) => event.message.includes(missingImage) || event.type === 'failed'), 'an event of the healthy project names the broken one\'s failure');

    // One of its containers removed by hand: repaired, while the broken project stays rejected.
    const [victim] = await healthyContainers();
    assert.ok(victim);
    await docker.getContainer(victim.Id).remove({ force: true });
    await waitFor('the removed container repaired', async () => {
      const containers = await healthyContainers();
      return containers.length === 2 && containers.every((c) => c.State === 'running' && c.Id !== victim.Id);
    }, 60_000, 500);
    assert.equal((await projectStatus(broken))?.rejected?.revision, 1);
  });

  it(`the rejected project stays quiet: no event and no registry request over ${QUIET_WINDOW_MS / 1000} s of cycles`, async (t) => {
    const eventsBefore = (await eventsOf(broken)).length;
    const requestsBefore = registry.connections();
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const events = (await eventsOf(broken)).slice(eventsBefore);
    const requests = registry.connections() - requestsBefore;
    t.diagnostic(`over ${Math.round((Date.now() - started) / 1000)} s: ${events.length} events about the rejected project, ${requests} registry connections`);
    assert.deepEqual(events.map((event) => event.message), []);
    assert.equal(requests, 0);
    assert.equal((await rejections()).length, 1, 'rejected once');
  });

  it('recovers on a new revision, and via retry once the image is there', async () => {
    // A new revision: tried afresh (here it works: another image).
    await apply(broken, 'hw/busybox:test', '2', true);
    const fixed = await projectStatus(broken);
    assert.equal(fixed?.appliedRevision, 2);
    assert.equal(fixed?.rejected, undefined);

    // Broken again (r3), rejected again; the image appears on the host; `retry` lifts the rejection.
    await apply(broken, missingImage, '3', false);
    await waitFor('revision 3 rejected', async () => (await projectStatus(broken))?.rejected?.revision === 3, 90_000, 500);
    await docker.getImage('hw/busybox:test').tag({ repo: missingImage.slice(0, missingImage.lastIndexOf(':')), tag: '1' });
    taggedImages.push(missingImage);
    const retried = await cli(['retry', '--host', hostId, '--project', broken]);
    assert.match(retried.stdout, /rejection of revision 3 lifted/);
    await waitFor('revision 3 applied after the retry', async () => {
      const status = await projectStatus(broken);
      return status?.appliedRevision === 3 && status.converged && status.rejected === undefined;
    }, 60_000, 500);
    assert.ok((await eventsOf(broken)).some((event) => event.type === 'planned' && /retry requested: rejection of revision 3 lifted/.test(event.message)));

    // A retry of a project the host does not have is refused with a clear error.
    const unknown = await cli(['retry', '--host', hostId, '--project', 'no-such-project'], 1);
    assert.match(unknown.stderr, /project no-such-project has no desired state on host/);
  });
});
