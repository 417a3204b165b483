import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, serviceNames } from '../lib/chaos-fleet.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const run = promisify(execFile);
const SERVICES = serviceNames(2);

// Scenario 6: the agent's data dir is on a small tmpfs that fills up, and on a read-only mount. The
// agent must not touch a container without persisting its intent, must say why, and must recover
// (and converge) once space returns or the mount is writable again.
describe('chaos 6: agent data dir on a full disk and on a read-only mount (real tmpfs, agent, NATS, Docker)', () => {
  const tally = new ScenarioTally('6-data-dir-disk', 'data dir full / read-only');
  let server: NatsServerHandle | undefined;
  let fleet: ChaosFleet | undefined;
  let mountDir: string | undefined;
  let mounted = false;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await server?.cleanup();
    if (mounted && mountDir) await run('umount', ['-l', mountDir]).catch(() => undefined);
    if (mountDir) await rm(mountDir, { recursive: true, force: true });
  });

  it(`${repeatCount()} full disks and ${repeatCount()} read-only mounts: no change without a persisted intent, a clear message, recovery`, { timeout: 6 * 60_000 }, async (t) => {
    mountDir = await mkdtemp(join(tmpdir(), 'hw-chaos-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountDir]);
    mounted = true;
    const dataDir = join(mountDir, 'agent');
    const filler = join(mountDir, 'filler');
    server = await startNatsServer();
    const hostId = uniqueName('d1');
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc6'),
      project: uniqueName('disk'),
      hosts: [{ hostId, labels: {}, dataDir }],
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 2, version: 1 }])),
    });
    await fleet.apply();
    await fleet.waitConverged();
    const agent = fleet.harness.agent(hostId);
    const containerIds = async () => (await fleet!.harness.containersOf(hostId)).map((c) => c.Id).sort();
    const outputLength = () => agent.output().length;

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      // Full disk: fill the tmpfs, then change every service.
      await run('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M']).catch(() => undefined);
      tally.fault();
      const before = await containerIds();
      const from = outputLength();
      fleet.change(SERVICES);
      await fleet.apply();
      const said = await waitFor('the agent says its journal cannot be written', async () => /journal write failed|cannot open the journal/.exec(agent.output().slice(from))?.[0], 60_000, 250);
      assert.ok(agent.alive(), `the agent keeps running:\n${agent.output().slice(from)}`);
      assert.deepEqual(await containerIds(), before, 'no container changed while no intent could be persisted');
      await rm(filler, { force: true });
      const freedAt = Date.now();
      tally.converged(await fleet.waitConverged(120_000, freedAt));
      t.diagnostic(`full round ${round}: the agent said "${said}"; converged ${Date.now() - freedAt} ms after space returned`);

      // Read-only: the agent is restarted onto a read-only data dir (a mount with files open for writing cannot be remounted read-only).
      assert.equal(await fleet.harness.stop(hostId), 0);
      await run('mount', ['-o', 'remount,ro', mountDir]);
      tally.fault();
      const roBefore = await containerIds();
      fleet.change(SERVICES);
      await fleet.apply();
      const launchedFrom = agent.output().length;
      const restarting = fleet.harness.restart(hostId, 120_000);
      await waitFor('the agent says the data dir is not writable', async () => /cannot open the journal/.test(agent.output().slice(launchedFrom)), 30_000, 250);
      assert.ok(agent.alive(), 'the agent waits instead of exiting');
      assert.deepEqual(await containerIds(), roBefore, 'no container changed while the data dir was read-only');
      await run('mount', ['-o', 'remount,rw', mountDir]);
      const writableAt = Date.now();
      await restarting;
      tally.converged(await fleet.waitConverged(120_000, writableAt));
      const events = await fleet.harness.recordedEvents(hostId);
      assert.ok(events.some((e) => /the journal could not be opened for \d+ s/.test(e.message)), 'an event says the journal was unavailable');
      t.diagnostic(`read-only round ${round}: converged ${Date.now() - writableAt} ms after the mount became writable`);
    }

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents();
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
  });
});
