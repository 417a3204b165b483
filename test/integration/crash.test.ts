import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { proveOwnership, proveResourceOwnership } from '../../agent/core/ownership.js';
import { identityOf, resourceIdentityOf } from '../../agent/observer.js';
import { Journal } from '../../agent/store/journal.js';
import { uniqueName } from '../lib/builders.js';
import { inside } from '../lib/container-exec.js';
import { crashTestDesired, crashTestNetworks } from '../lib/crash-scenario.js';
import { docker, projectContainers, projectResources, removeProject } from '../lib/docker-harness.js';

const CHILD = fileURLToPath(new URL('../lib/crash-child.js', import.meta.url));
const REPLICAS = 20;
const ITERATIONS = Number(process.env.HW_CRASH_ITERATIONS ?? 10);

/** Runs the child; with killAtStep, SIGKILLs it when that progress step is printed (plus a little jitter). */
function runChild(args: string[], killAtStep: number | undefined, jitterMs: number): Promise<{ killed: boolean; steps: number; output: string }> {
  return new Promise((resolve, reject) => {
    // With a kill planned, stdin stays open so the child waits after its cycle for the kill to land;
    // it is closed at once without one, or if the child reports done before the kill was sent.
    const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    if (killAtStep === undefined) child.stdin.end();
    let output = '';
    let steps = 0;
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      steps = (output.match(/^step /gm) ?? []).length;
      if (killAtStep !== undefined && !killed && steps >= killAtStep) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), jitterMs);
      }
      if (!killed && /^done /m.test(output)) child.stdin.end();
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, steps, output });
      else if (code === 0) resolve({ killed: false, steps, output });
      else reject(new Error(`child exited ${code}: ${output}`));
    });
  });
}

/** A small seeded PRNG, so a failing run can be repeated with HW_CRASH_SEED. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('crash safety: SIGKILL at random points of a 20-container apply with its networks and volume (real Docker, real LevelDB)', () => {
  it(`survives ${ITERATIONS} kills with no duplicate or orphaned container or network, no volume lost, every intent resolved and no event lost`, { timeout: 15 * 60_000 }, async (t) => {
    const seed = Number(process.env.HW_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    t.diagnostic(`seed ${seed} (repeat with HW_CRASH_SEED=${seed})`);
    const project = uniqueName('crash');
    const dataDir = await mkdtemp(join(tmpdir(), 'hw-crash-'));
    try {
      let resolvedSoFar = 0;
      for (let iteration = 1; iteration <= ITERATIONS; iteration += 1) {
        // Iteration 1 creates the volume, two networks and 20 containers; every later one replaces
        // all 20 (stop, remove, create, start) and creates or removes the second network.
        const totalSteps = ((iteration === 1 ? 2 : 4) * REPLICAS + (iteration === 1 ? 3 : 1)) * 2;
        // The first three kills land where networks and volumes change: in the setup of iteration 1
        // (volume and two networks, 6 steps), in the teardown of iteration 2 (the second network is
        // removed last, 2 steps) and in the setup of iteration 3 (it is made again, 2 steps).
        const resourceSteps: Record<number, [number, number]> = { 1: [1, 6], 2: [totalSteps - 1, totalSteps], 3: [1, 2] };
        const [from, to] = resourceSteps[iteration] ?? [1, totalSteps];
        const killAt = from + Math.floor(random() * (to - from + 1));
        const jitter = Math.floor(random() * 40);
        const args = [dataDir, project, String(iteration), String(REPLICAS)];
        const killed = await runChild(args, killAt, jitter);
        assert.equal(killed.killed, true, `iteration ${iteration}: the child finished before the kill at step ${killAt}`);
        const recovery = await runChild(args, undefined, 0);
        assert.match(recovery.output, /done failed=false/, `iteration ${iteration}: recovery run failed:\n${recovery.output}`);
        const summary = await checkInvariants(dataDir, project, iteration, resolvedSoFar);
        resolvedSoFar += summary.recovered;
        t.diagnostic(`iteration ${iteration}: killed at step ${killed.steps}/${totalSteps} (+${jitter} ms); recovery resolved ${summary.recovered} interrupted intent(s) (${summary.outcomes})`);
      }
    } finally {
      await removeProject(project);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

async function checkInvariants(dataDir: string, project: string, revision: number, resolvedBefore: number) {
  const expectedHash = specHashOf(crashTestDesired(project, revision, REPLICAS).services.web!);
  const journal = await Journal.open(dataDir);
  try {
    const containers = await projectContainers(project);
    const names = containers.map((c) => c.Names[0]!.slice(1)).sort();
    const wanted = Array.from({ length: REPLICAS }, (_, i) => `${project}-web-${i + 1}`).sort();
    assert.deepEqual(names, wanted, 'exactly the desired containers: no duplicates, no orphans, none missing');
    for (const container of containers) {
      assert.equal(container.State, 'running', `${container.Names[0]} runs`);
      const identity = identityOf({ labels: container.Labels });
      assert.ok(identity, 'carries a complete identity');
      assert.equal(identity.specHash, expectedHash, `${container.Names[0]} runs revision ${revision}`);
      assert.deepEqual(proveOwnership(container.Id, identity, journal.ownerRecord(identity.ownerToken), journal.verifyOwnerToken), { owned: true }, `${container.Names[0]} is provably owned`);
    }
    // Networks and volumes: exactly the wanted ones, each once and provably owned; the volume kept its data.
    const resources = await projectResources(project);
    assert.deepEqual(resources.networks, crashTestNetworks(project, revision), 'exactly the desired networks: none duplicated, none orphaned, none missing');
    for (const name of resources.networks) {
      const network = await docker.getNetwork(name).inspect();
      const identity = resourceIdentityOf('network', { labels: network.Labels ?? {} });
      assert.ok(identity, `${name} carries a complete identity`);
      assert.deepEqual(proveResourceOwnership(network.Id, identity, journal.resourceRecord(identity.ownerToken), journal.verifyResourceToken), { owned: true }, `${name} is provably owned`);
    }
    assert.deepEqual(resources.volumes, [`${project}_data`], 'the project volume exists once');
    const first = containers.find((c) => c.Names[0] === `/${project}-web-1`);
    assert.ok(first);
    if (revision === 1) assert.equal((await inside(first.Id, 'echo kept > /data/marker && cat /data/marker')).output, 'kept');
    else assert.equal((await inside(first.Id, 'cat /data/marker')).output, 'kept', 'the data written at revision 1 is still in the volume');
    assert.deepEqual(await journal.unresolvedIntents(), [], 'every intent has a recorded result');
    const rows = await journal.intentsWithResults(1_000_000);
    assert.ok(rows.every((row) => row.result !== undefined));
    const events = (await journal.readEvents(0, 1_000_000)).events;
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'event ids are unique');
    const resultEvents = events.filter((e) => e.type === 'applied' || e.type === 'failed' || e.type === 'cleaned' || e.type === 'restarted');
    assert.equal(resultEvents.length, rows.length, 'one event per recorded result: none lost, none doubled');
    const recoveredRows = rows.filter((row) => row.result?.outcome === 'recovered' || row.result?.outcome === 'abandoned');
    const fresh = recoveredRows.slice(resolvedBefore);
    const outcomes = fresh.map((row) => `${row.intent.action.kind}:${row.result?.outcome}`).join(', ');
    return { recovered: fresh.length, outcomes };
  } finally {
    await journal.close();
  }
}
