import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { uniqueName } from '../lib/builders.js';
import { ChaosFleet, prng, serviceNames } from '../lib/chaos-fleet.js';
import { repeatCount, ScenarioTally } from '../lib/chaos-results.js';
import { startNatsCluster, type NatsClusterHandle } from '../lib/nats-cluster.js';
import { waitFor } from '../lib/wait.js';
import { BUCKETS } from '../../shared/subjects.js';

const SERVICES = serviceNames(2);

/** The command's exit code, or 'hung' (and it is killed) when it has not exited within timeoutMs. */
async function exitWithin(child: ReturnType<ChaosFleet['startCoordinator']>, done: Promise<number | null>, timeoutMs: number): Promise<number | null | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), timeoutMs);
  });
  const result = await Promise.race([done, hung]);
  clearTimeout(timer);
  if (result === 'hung') {
    child.kill('SIGKILL');
    await done;
  }
  return result;
}

// Scenario 2: one node of a 3-node JetStream cluster (R3 buckets and stream) is SIGKILLed during
// an apply and during a rollout, then restarted: the operation completes, no desired state is lost.
describe('chaos 2: one node of a 3-node NATS cluster killed during an apply and a rollout (real cluster, agents, Docker)', () => {
  const tally = new ScenarioTally('2-cluster-node-kill', 'NATS node SIGKILL mid-apply / mid-rollout');
  let cluster: NatsClusterHandle | undefined;
  let fleet: ChaosFleet | undefined;
  after(async () => {
    if (fleet?.stalledListings) tally.note(`${fleet.stalledListings} apply run(s) failed on a stalled KV key listing and were run again`);
    await tally.write();
    await fleet?.cleanup();
    await cluster?.cleanup();
  });

  it(`${repeatCount()} node kills during applies and ${repeatCount()} during rollouts: every operation completes, KV keeps every revision`, { timeout: 8 * 60_000 }, async (t) => {
    const seed = Number(process.env.HW_CHAOS_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed}`);
    cluster = await startNatsCluster();
    const nodes = cluster.nodes;
    fleet = await ChaosFleet.start({
      natsUrls: cluster.urls,
      natsPort: nodes[0]!.port,
      runId: uniqueName('hwc2'),
      project: uniqueName('clus'),
      hosts: [uniqueName('n1'), uniqueName('n2')].map((hostId) => ({ hostId, labels: {} })),
      services: Object.fromEntries(SERVICES.map((name) => [name, { replicas: 1, version: 1 }])),
    });
    await fleet.apply();
    await fleet.waitConverged();
    const replicas = (await (await new Kvm(await fleet.connection()).open(BUCKETS.desired)).status()).replicas;
    assert.equal(replicas, 3, 'the desired-state bucket is R3 on a 3-node cluster');
    // A follower's direct get can answer with an old value (it did, here, for a whole rollout
    // wave after a node's restart): on a cluster every bucket is read from its stream leader.
    const jsm = await jetstreamManager(await fleet.connection());
    for (const bucket of Object.values(BUCKETS)) assert.equal((await jsm.streams.info(`KV_${bucket}`)).config.allow_direct, false, `bucket ${bucket} has direct gets off on a cluster`);

    const killOneNode = async () => {
      const node = nodes[Math.floor(random() * nodes.length)] ?? nodes[0]!;
      await node.kill9();
      tally.fault();
      return node;
    };
    const restartAndCheck = async (node: (typeof nodes)[number], expected: ReadonlyMap<string, number | undefined>) => {
      await node.restart();
      await cluster!.waitMetaLeader();
      await cluster!.waitHealthy();
      assert.deepEqual(await fleet!.desiredRevisions(), expected, 'no desired state lost across the node kill');
      await fleet!.waitConverged(60_000);
    };

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      const before: Map<string, number | undefined> = await fleet.desiredRevisions();
      fleet.change(SERVICES);
      await fleet.writeFleetFile();
      const child = fleet.startCoordinator(['apply', '-f', fleet.file]);
      const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const node = await killOneNode();
      const killedAt = Date.now();
      const code = await exitWithin(child, done, 60_000);
      if (code !== 0) {
        // The apply was cut off by the node's death before it could fail over: the operator re-runs it.
        const said = child.output().trim().split('\n').slice(-2).join(' | ');
        tally.note(`apply round ${round}: apply ${code === 'hung' ? 'hung (killed after 60 s)' : `exited ${code}`} as its node died (${said}); re-run`);
        await waitFor('the re-run apply succeeded', async () => (await fleet!.apply().then(() => true)), 120_000, 2_000);
      }
      tally.converged(await fleet.waitConverged(90_000, killedAt));
      const expected: Map<string, number> = new Map([...before].map(([hostId, revision]) => [hostId, (revision ?? 0) + 1]));
      assert.deepEqual(await fleet.desiredRevisions(), expected);
      await restartAndCheck(node, expected);
      t.diagnostic(`apply round ${round}: killed ${node.url}; apply exited ${code}`);
    }

    for (let round = 1; round <= repeatCount(); round += 1) {
      tally.repeat();
      const before: Map<string, number | undefined> = await fleet.desiredRevisions();
      fleet.change(SERVICES);
      await fleet.writeFleetFile();
      const child = fleet.startCoordinator(['rollout', '-f', fleet.file, '--canary', '1', '--max-parallel', '1', '--min-healthy', '1s', '--healthy-deadline', '60s']);
      const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const id = await waitFor('the rollout printed its id', async () => /^rollout (\S+): \d+ wave\(s\)/m.exec(child.output())?.[1], 30_000, 50);
      const node = await killOneNode();
      const killedAt = Date.now();
      const code = await exitWithin(child, done, 180_000);
      if (code !== 0) {
        tally.note(`rollout round ${round}: rollout exited ${code} as its node died; finished with rollout resume`);
        t.diagnostic(`rollout round ${round} output (last lines):\n${child.output().split('\n').slice(-25).join('\n')}`);
        // Right after a node's death a JetStream request can time out: resume until it succeeds.
        let attempts = 0;
        await waitFor('rollout resume succeeded', async () => {
          attempts += 1;
          const resumed = await fleet!.cli(['rollout', 'resume', id]);
          if (resumed.code !== 0) throw new Error(`rollout resume exited ${resumed.code}: ${resumed.stderr.trim()}\n${resumed.stdout.split('\n').slice(-25).join('\n')}`);
          return true;
        }, 120_000, 2_000);
        if (attempts > 1) tally.note(`rollout round ${round}: rollout resume needed ${attempts} attempts`);
      } else {
        assert.match(child.output(), /rollout succeeded/);
      }
      const unanswered = child.output().split('\n').filter((line) => line.startsWith('NATS did not answer')).length;
      if (unanswered > 0) tally.note(`rollout round ${round}: ${unanswered} step(s) NATS did not answer were tried again`);
      tally.converged(await fleet.waitConverged(90_000, killedAt));
      const expected: Map<string, number> = new Map([...before].map(([hostId, revision]) => [hostId, (revision ?? 0) + 1]));
      assert.deepEqual(await fleet.desiredRevisions(), expected);
      await restartAndCheck(node, expected);
      t.diagnostic(`rollout round ${round}: killed ${node.url}; rollout exited ${code}`);
    }

    const containers = await fleet.countContainers();
    tally.containers(containers);
    const events = await fleet.countEvents();
    tally.events(events);
    assert.deepEqual({ missing: containers.missing, duplicate: containers.duplicate, orphan: containers.orphan }, { missing: 0, duplicate: 0, orphan: 0 });
    assert.deepEqual({ lost: events.lost, duplicated: events.duplicated }, { lost: 0, duplicated: 0 });
  });
});
