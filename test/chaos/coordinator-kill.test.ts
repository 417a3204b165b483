import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RolloutState } from '../../coordinator/rollout/rollout-state.js';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, prng, serviceNames } from '../lib/chaos-fleet.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';

const SERVICES = serviceNames(2);

function exited(child: ReturnType<ChaosFleet['startCoordinator']>): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

// Scenario 5: the coordinator (the CLI) is SIGKILLed in the middle of `apply` and of `rollout`;
// re-running the apply, or `rollout resume`, ends with every host on the new revision.
describe('chaos 5: coordinator killed mid-apply and mid-rollout (real CLI, agents, NATS, Docker)', () => {
  const tally = new ScenarioTally('5-coordinator-kill', 'coordinator SIGKILL mid-apply / mid-rollout');
  let server: NatsServerHandle | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await server?.cleanup();
  });

  it(`${repeatCount()} killed applies and ${repeatCount()} killed rollouts end on the new revision everywhere`, { timeout: 8 * 60_000 }, async (t) => {
    const seed = Number(process.env.HW_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed}`);
    server = await startNatsServer();
    const hostIds = [uniqueName('c1'), uniqueName('c2'), uniqueName('c3')];
    fleet = await ChaosFleet.start({
      natsUrls: server.url,
      natsPort: server.port,
      runId: uniqueName('hwc5'),
      project: uniqueName('coord'),
      hosts: hostIds.map((hostId) => ({ hostId, labels: {} })),
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 1, version: 1 }])),
    });
    await fleet.apply();
    await fleet.waitConverged();

    let rewritten = 0;
    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      // Apply: killed somewhere between its start and its last KV write (~0.3-0.8 s in), then run again.
      const before = await fleet.desiredRevisions();
      fleet.change(SERVICES);
      await fleet.writeFleetFile();
      const child = fleet.startCoordinator(['apply', '-f', fleet.file]);
      const done = exited(child);
      // Kill before its first KV write, or right after it (before the other hosts' writes).
      if (random() < 0.3) await sleep(Math.floor(random() * 500));
      else await waitFor('the apply wrote a first host', async () => [...(await fleet!.desiredRevisions())].some(([hostId, revision]) => revision !== before.get(hostId)), 30_000, 10);
      child.kill('SIGKILL');
      const how = await done;
      tally.fault();
      const atKill = await fleet.desiredRevisions();
      const written = fleet.hostIds.filter((hostId) => atKill.get(hostId) !== before.get(hostId)).length;
      const rerunAt = Date.now();
      await fleet.apply();
      tally.converged(await fleet.waitConverged(90_000, rerunAt));
      const after = await fleet.desiredRevisions();
      // One new revision from whichever apply wrote the host first. The re-run writes the same content
      // once more when its dry-run plan finds the host still applying it (a host that must act gets a
      // new revision); never more than that.
      for (const hostId of fleet.hostIds) {
        const grew = (after.get(hostId) ?? 0) - (before.get(hostId) ?? 0);
        assert.ok(grew === 1 || (grew === 2 && atKill.get(hostId) !== before.get(hostId)), `${hostId}: one new revision (two if the killed apply had written it), however far the killed apply got; got ${grew}`);
        if (grew === 2) rewritten += 1;
      }
      t.diagnostic(`apply round ${round}: ${how === 'SIGKILL' ? 'killed' : `finished (${how}) before the kill`} with ${written}/${hostIds.length} host(s) written`);
      if (how !== 'SIGKILL') tally.note(`apply round ${round}: the apply finished before the kill`);
    }

    if (rewritten > 0) tally.note(`${rewritten} host(s) got the same content a second time from the re-run, which found them still applying it`);

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      const before = await fleet.desiredRevisions();
      fleet.change(SERVICES);
      await fleet.writeFleetFile();
      const child = fleet.startCoordinator(['rollout', '-f', fleet.file, '--canary', '1', '--max-parallel', '1', '--min-healthy', '1s', '--healthy-deadline', '60s']);
      const done = exited(child);
      const id = await waitFor('the rollout printed its id', async () => /^rollout (\S+): \d+ wave\(s\)/m.exec(child.output())?.[1], 30_000, 50);
      // Kill in wave 1 or 2 (of 3), at a random moment.
      const wave = 1 + Math.floor(random() * 2);
      await waitFor(`wave ${wave} began`, async () => {
        const state = JSON.parse((await fleet!.cli(['rollout', 'status', id, '--json'])).stdout) as RolloutState;
        return state.currentWave >= wave - 1 && state.hosts.some((h) => h.state === 'applying') ? true : undefined;
      }, 60_000, 100);
      await sleep(Math.floor(random() * 1_000));
      child.kill('SIGKILL');
      assert.equal(await done, 'SIGKILL', `the rollout was still running at the kill:\n${child.output()}`);
      tally.fault();
      const resumedAt = Date.now();
      const resumed = await fleet.cli(['rollout', 'resume', id]);
      assert.equal(resumed.code, 0, `rollout resume:\n${resumed.stdout}\n${resumed.stderr}`);
      assert.match(resumed.stdout, /rollout succeeded/);
      tally.converged(await fleet.waitConverged(90_000, resumedAt));
      const state = JSON.parse((await fleet.cli(['rollout', 'status', id, '--json'])).stdout) as RolloutState;
      for (const host of state.hosts) assert.equal(host.writtenRevision, (before.get(host.hostId) ?? 0) + 1, `${host.hostId}: written once`);
      t.diagnostic(`rollout round ${round}: killed in wave ${wave}; resume finished in ${Date.now() - resumedAt} ms`);
    }

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents();
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
  });
});
