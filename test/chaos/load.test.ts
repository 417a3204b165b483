import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, prng, serviceNames } from '../lib/chaos-fleet.js';
import { ScenarioTally } from '../lib/chaos-results.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';

const SERVICES = serviceNames(Number(process.env.HW_CHAOS_LOAD_SERVICES ?? 50));
const CHANGES = Number(process.env.HW_CHAOS_LOAD_CHANGES ?? 20);
/** Services each change touches: 20 changes x 2 services replace 40 containers per host, within the suite's budget. */
const PER_CHANGE = 2;

async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// Scenario 7: 50 services on each of 3 hosts, changed 20 times in quick succession (no waiting in
// between): every host ends on the last revision, no two cycles ever overlap, no event is lost.
describe('chaos 7: load, 50 services x 3 hosts changed 20 times in quick succession (real agents, NATS, Docker)', () => {
  const tally = new ScenarioTally('7-load', `${SERVICES.length} services x 3 hosts, ${CHANGES} quick changes`);
  let server: NatsServerHandle | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await server?.cleanup();
  });

  it('every host ends on the last revision, at most one cycle in flight per agent, no event lost or doubled', { timeout: 10 * 60_000 }, async (t) => {
    const seed = Number(process.env.HW_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed}`);
    server = await startNatsServer();
    const hosts = await Promise.all(['l1', 'l2', 'l3'].map(async (prefix) => ({ hostId: uniqueName(prefix), labels: {}, metricsPort: await freePort() })));
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc7'),
      project: uniqueName('load'),
      hosts: hosts.map((host) => ({ hostId: host.hostId, labels: {}, args: ['--metrics-addr', `127.0.0.1:${host.metricsPort}`] })),
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 1, version: 1 }])),
    });
    const firstAt = Date.now();
    await fleet.apply();
    const initialMs = await fleet.waitConverged(300_000, firstAt);
    t.diagnostic(`initial converge of ${SERVICES.length * hosts.length} containers: ${initialMs} ms`);

    tally.repeat();
    const burstAt = Date.now();
    for (let change = 1; change <= CHANGES; change += 1) {
      fleet.change([...SERVICES].sort(() => random() - 0.5).slice(0, PER_CHANGE));
      await fleet.apply();
      tally.fault();
    }
    const burstMs = Date.now() - burstAt;
    const revisions = await fleet.desiredRevisions();
    for (const hostId of fleet.hostIds) assert.equal(revisions.get(hostId), 1 + CHANGES, `${hostId}: every change wrote a revision`);
    const lastAt = Date.now();
    tally.converged(await fleet.waitConverged(300_000, lastAt));
    t.diagnostic(`${CHANGES} applies in ${burstMs} ms; converged on the last revision ${Date.now() - lastAt} ms after the last apply`);

    for (const host of hosts) {
      const url = `http://127.0.0.1:${host.metricsPort}/metrics`;
      const max = await metricValue(url, 'hostwright_cycles_in_flight_max');
      const cycles = await metricValue(url, 'hostwright_cycles_total{result="ok"}');
      t.diagnostic(`${host.hostId}: ${cycles} ok cycles, at most ${max} in flight`);
      assert.equal(max, 1, `${host.hostId}: never two mutating cycles at once`);
    }
    tally.note(`each of the ${CHANGES} changes bumps ${PER_CHANGE} random services; applied back to back in ${(burstMs / 1000).toFixed(1)} s; hostwright_cycles_in_flight_max was 1 on every agent`);

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents(60_000);
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
  });
});
