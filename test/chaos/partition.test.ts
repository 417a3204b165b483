import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, VERSION_LABEL, serviceNames } from '../lib/chaos-fleet.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const PARTITION_MS = 15_000;
const SERVICES = serviceNames(2);

// Scenario 3: an agent is cut off from NATS (TCP proxy) just after its apply began, for at least
// 15 s: it converges from its journal, the fleet status shows it stale, and after the heal every
// event it recorded meanwhile reaches the stream exactly once.
describe('chaos 3: agent partitioned from NATS during an apply (real TCP proxy, NATS, Docker)', () => {
  const tally = new ScenarioTally('3-partition', 'agent cut from NATS >= 15 s mid-apply');
  let server: NatsServerHandle | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await server?.cleanup();
  });

  it(`${repeatCount()} partitions: local convergence while cut, stale in status, events exactly once after the heal`, { timeout: 6 * 60_000 }, async (t) => {
    server = await startNatsServer();
    const cutHost = uniqueName('p1');
    const otherHost = uniqueName('p2');
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc3'),
      project: uniqueName('part'),
      hosts: [
        { hostId: cutHost, labels: {}, proxied: true },
        { hostId: otherHost, labels: {} },
      ],
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 2, version: 1 }])),
    });
    await fleet.apply();
    await fleet.waitConverged();
    const proxy = fleet.harness.agent(cutHost).proxy;
    assert.ok(proxy);

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      fleet.change(SERVICES);
      const newVersion = String(fleet.services.get(SERVICES[0]!)?.version);
      await fleet.apply();
      await waitFor('the apply started on the cut host', async () => (await fleet!.harness.containersOf(cutHost)).some((c) => c.Labels[VERSION_LABEL] === newVersion), 30_000, 50);
      await proxy.cut();
      const cutAt = Date.now();
      tally.fault();

      // Cut off, the agent still converges from its journal.
      await waitFor('the cut host converged locally', async () => {
        const listed = await fleet!.harness.containersOf(cutHost);
        return listed.length === SERVICES.length * 2 && listed.every((c) => c.State === 'running' && c.Labels[VERSION_LABEL] === newVersion);
      }, 60_000, 250);
      const localMs = Date.now() - cutAt;
      const status = await waitFor('status shows the cut host stale', async () => {
        const s = await fleet!.status();
        return s.hosts.find((h) => h.hostId === cutHost)?.stale === true ? s : undefined;
      }, 60_000, 1_000);
      assert.equal(status.hosts.find((h) => h.hostId === otherHost)?.stale, false, 'the other host stays fresh');
      const pending = await fleet.countEvents(0);
      assert.ok(pending.lost > 0, 'events recorded during the partition wait in the outbox');
      const remaining = PARTITION_MS - (Date.now() - cutAt);
      if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));

      await proxy.heal();
      const healedAt = Date.now();
      tally.converged(await fleet.waitConverged(60_000, healedAt));
      const events = await fleet.countEvents();
      t.diagnostic(`round ${round}: converged locally ${localMs} ms after the cut; partition ${healedAt - cutAt} ms; ${pending.lost} event(s) held in the outbox; after the heal ${JSON.stringify(events)}`);
      assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
    }
    const containers = await fleet.countContainers();
    tally.containers(containers);
    tally.events(await fleet.countEvents());
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
  });
});
