import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, VERSION_LABEL, serviceNames } from '../lib/chaos-fleet.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { PrivateDockerd } from '../lib/private-dockerd.js';
import { waitFor } from '../lib/wait.js';

const SERVICES = serviceNames(2);

// Scenario 4: the agent's dockerd (a private one, never the machine's main engine) is restarted in
// the middle of an apply: the agent backs off, observes again, converges, and reports what happened.
describe('chaos 4: dockerd restarted during an apply (a private dockerd, real agent and NATS)', () => {
  const tally = new ScenarioTally('4-dockerd-restart', 'dockerd restarted mid-apply');
  let server: NatsServerHandle | undefined;
  let engine: PrivateDockerd | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await engine?.cleanup();
    await server?.cleanup();
  });

  it(`${repeatCount()} engine restarts mid-apply: the agent backs off, converges and records the failure`, { timeout: 8 * 60_000 }, async (t) => {
    engine = await PrivateDockerd.start();
    server = await startNatsServer();
    const hostId = uniqueName('e1');
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc4'),
      project: uniqueName('engine'),
      hosts: [{ hostId, labels: {}, env: { DOCKER_HOST: engine.dockerHost } }],
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 2, version: 1 }])),
      docker: engine.docker,
    });
    await fleet.apply();
    await fleet.waitConverged();

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      fleet.change(SERVICES);
      const newVersion = String(fleet.services.get(SERVICES[0]!)?.version);
      const eventsBefore = (await fleet.harness.recordedEvents(hostId)).length;
      await fleet.apply();
      await waitFor('the apply started on the private engine', async () => (await fleet!.containersOf(hostId)).some((c) => c.Labels[VERSION_LABEL] === newVersion), 30_000, 50);
      await engine.restart();
      tally.fault();
      const restartedAt = Date.now();
      tally.converged(await fleet.waitConverged(120_000, restartedAt));
      const events = (await fleet.harness.recordedEvents(hostId)).slice(eventsBefore);
      const told = events.filter((e) => e.type === 'failed' || e.type === 'restarted' || e.type === 'drift_detected');
      t.diagnostic(`round ${round}: converged ${Date.now() - restartedAt} ms after the engine was back; events: ${told.map((e) => `${e.type}: ${e.message}`).join(' | ')}`);
      assert.ok(told.length > 0, `the agent reported the interruption (failed / drift / restart events): ${JSON.stringify(events.map((e) => e.type))}`);
    }

    // What the engine's restarts made the agent do besides retrying, from its own events.
    const recorded = await fleet.harness.recordedEvents(hostId);
    const count = (pattern: RegExp) => recorded.filter((e) => pattern.test(e.message)).length;
    tally.note(`repairs over all rounds: ${count(/refused to start it \d+ times/)} container(s) replaced after refused starts, ${count(/after releasing a stale network endpoint/)} stale endpoint(s) released, ${count(/reached after all/)} rejected revision(s) found reached later`);

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents();
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
  });
});
