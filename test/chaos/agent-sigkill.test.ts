import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Journal } from '../../agent/store/journal.js';
import { LABELS } from '../../shared/labels.js';
import { uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { ChaosFleet, VERSION_LABEL, killAgent, prng, serviceNames } from '../lib/chaos-fleet.js';
import { ScenarioTally } from '../lib/chaos-results.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const KILLS = Number(process.env.HW_CHAOS_KILLS ?? 20);
const SERVICES = serviceNames(4);

// Scenario 1: the agent process is SIGKILLed at a random point of an apply, then started again on
// the same data dir; each time the fleet must converge to exactly the desired containers.
describe('chaos 1: agent SIGKILL at random points of an apply (real agents, NATS, Docker, LevelDB)', () => {
  const tally = new ScenarioTally('1-agent-sigkill', 'agent SIGKILL mid-apply');
  let server: NatsServerHandle | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await server?.cleanup();
  });

  it(`${KILLS} kills: no duplicate, orphan or missing container or network, the volume and its data kept, every intent resolved, every event in the stream once`, { timeout: 25 * 60_000 }, async (t) => {
    const seed = Number(process.env.HW_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed} (repeat with HW_CHAOS_SEED=${seed})`);
    server = await startNatsServer();
    const hostIds = [uniqueName('k1')];
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc1'),
      project: uniqueName('kill'),
      hosts: hostIds.map((hostId) => ({ hostId, labels: {} })),
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 2, version: 1 }])),
      volumeService: SERVICES[0],
    });
    await fleet.apply();
    await fleet.waitConverged();
    // The project network and a volume holding data: after every kill, each exactly once, the data kept.
    const prefix = fleet.harness.agent(hostIds[0]!).namePrefix;
    const wantedResources = { networks: [`${prefix}${fleet.project}_default`], volumes: [`${prefix}${fleet.project}_data`] };
    const volumeUser = async () => (await fleet!.harness.containersOf(hostIds[0]!)).find((c) => c.Labels[LABELS.service] === SERVICES[0] && c.State === 'running');
    const writer = await volumeUser();
    assert.ok(writer, 'a running container mounts the volume');
    assert.equal((await inside(writer.Id, 'echo kept > /data/marker && cat /data/marker')).output, 'kept');

    let midApply = 0;
    for (let kill = 1; kill <= KILLS; kill += 1) {
      tally.repeat();
      // Each apply replaces the containers of two services (four containers, eight actions).
      const changed = [...SERVICES].sort(() => random() - 0.5).slice(0, 2);
      fleet.change(changed);
      const victim = hostIds[Math.floor(random() * hostIds.length)] ?? hostIds[0]!;
      const newVersion = String(fleet.services.get(changed[0]!)?.version);
      await fleet.apply();
      // Wait for the apply to begin on the victim (a first new container), then kill within the next second.
      await waitFor('the apply started on the victim', async () => (await fleet!.harness.containersOf(victim)).some((c) => c.Labels[VERSION_LABEL] === newVersion), 30_000, 50);
      await sleep(Math.floor(random() * 1_000));
      await killAgent(fleet, victim);
      tally.fault();
      const atKill = await fleet.countContainers();
      if (atKill.missing > 0) midApply += 1;
      const restartedAt = Date.now();
      await fleet.harness.restart(victim, 60_000);
      tally.converged(await fleet.waitConverged(120_000, restartedAt));
      t.diagnostic(`kill ${kill}: ${victim}, ${atKill.missing} instance(s) not yet on the new version at the kill`);
      assert.deepEqual(await fleet.resourcesOf(victim), wantedResources, `kill ${kill}: the project network and volume, each once (none duplicated, none orphaned)`);
      const reader = await volumeUser();
      assert.ok(reader, `kill ${kill}: a running container mounts the volume`);
      assert.equal((await inside(reader.Id, 'cat /data/marker')).output, 'kept', `kill ${kill}: the volume kept its data`);
      if (process.env.HW_CHAOS_VERBOSE) t.diagnostic(fleet.harness.agent(victim).process.output());
    }
    tally.note(`${midApply} of ${KILLS} kills landed before the apply had finished (the rest right after its last step)`);

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents();
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
    assert.ok(midApply >= KILLS / 2, `most kills land mid-apply (${midApply}/${KILLS})`);

    // Every intent has a recorded result: read each journal once its agent has stopped.
    for (const hostId of hostIds) {
      assert.equal(await fleet.harness.stop(hostId), 0);
      const journal = await Journal.open(fleet.harness.agent(hostId).dataDir);
      try {
        assert.deepEqual(await journal.unresolvedIntents(), [], `${hostId}: every intent resolved`);
      } finally {
        await journal.close();
      }
    }
  });
});
