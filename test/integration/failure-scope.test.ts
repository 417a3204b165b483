import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AgentLoop } from '../../agent/agent-loop.js';
import { DEFAULT_FAILURE_POLICY } from '../../agent/core/failure-state.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

/** An image no registry serves: the engine's pull is refused at once on the loopback (no traffic leaves the machine). */
const MISSING_IMAGE = '127.0.0.1:1/hw/does-not-exist:1';

// Failure scope on one host (real Docker, real LevelDB): one project's failed pull, its backoff and its
// rejection never stop, hold or reject another project.
describe('failures stay within their project (real Docker)', () => {
  const projects: string[] = [];
  const harnesses: Awaited<ReturnType<typeof openHarness>>[] = [];
  const loops: AgentLoop[] = [];
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    await Promise.all(loops.map((loop) => loop.stop()));
    await Promise.all(projects.map(removeProject));
    await Promise.all(harnesses.map((h) => h.close()));
  });

  async function twoProjects() {
    const broken = uniqueName('broken');
    const healthy = uniqueName('healthy');
    projects.push(broken, healthy);
    const h = await openHarness('h1');
    harnesses.push(h);
    await h.journal.putDesired(desired(broken, { web: service({ image: MISSING_IMAGE }) }));
    await h.journal.putDesired(desired(healthy, { web: service() }));
    return { h, broken, healthy };
  }

  it("a failed pull fails only the projects that need the image: the other project's chains run and its revision is applied", async () => {
    const { h, broken, healthy } = await twoProjects();
    // A backoff long enough that the second cycle below surely falls within it.
    const policy = { ...DEFAULT_FAILURE_POLICY, backoffMinMs: 60_000 };
    const report = await h.reconciler.runCycle({ failures: { state: new Map(), policy } });
    const outcomes = report.results.map((r) => `${r.action.kind}:${r.outcome}`);
    assert.ok(outcomes.includes('pull-image:failed'), outcomes.join(' '));
    assert.equal(report.results.filter((r) => r.action.kind === 'create' && r.action.key.project === broken).length, 0, 'nothing of the failed project ran after its pull');
    assert.deepEqual(
      report.results.filter((r) => r.action.kind !== 'pull-image' && 'key' in r.action && r.action.key.project === healthy).map((r) => `${r.action.kind}:${r.outcome}`),
      ['create:done', 'start:done'],
    );
    const applied = await h.journal.appliedRevisions();
    assert.equal(applied.get(healthy), 1);
    assert.equal(applied.has(broken), false);
    assert.equal(report.failures?.get(broken)?.attempts, 1);
    assert.equal(report.failures?.has(healthy), false);
    const status = new Map(report.status?.projects.map((p) => [p.project, p]));
    assert.equal(status.get(healthy)?.converged, true);
    assert.equal(status.get(broken)?.backoff?.attempts, 1);
    assert.match(status.get(broken)?.backoff?.reason ?? '', /pull image 127\.0\.0\.1:1\/hw\/does-not-exist:1 failed/);

    // While it backs off, a cycle runs nothing of it (and still repairs the other project).
    const [container] = await projectContainers(healthy);
    await docker.getContainer(container!.Id).remove({ force: true });
    const held = await h.reconciler.runCycle({ failures: { state: report.failures!, policy } });
    assert.deepEqual(held.results.map((r) => `${r.action.kind}:${r.outcome}:${'key' in r.action ? r.action.key.project : '-'}`), [`create:done:${healthy}`, `start:done:${healthy}`]);
    assert.equal(held.failures?.get(broken)?.attempts, 1, 'a held project keeps its streak');

    // A new revision of the held project is tried at once (the old revision's backoff does not hold it), and said so.
    await h.journal.putDesired(desired(broken, { web: service({ image: MISSING_IMAGE, env: { V: '2' } }) }, { revision: 2 }));
    const renewed = await h.reconciler.runCycle({ failures: { state: held.failures!, policy } });
    assert.deepEqual(renewed.results.map((r) => `${r.action.kind}:${r.outcome}`), ['pull-image:failed']);
    assert.equal(renewed.failures?.get(broken)?.revision, 2);
    assert.equal(renewed.failures?.get(broken)?.attempts, 1);
    const renewedEvents = (await h.journal.readEvents()).events.filter((e) => e.correlationID === renewed.correlationID);
    assert.ok(renewedEvents.some((e) => e.type === 'planned' && e.project === broken && /revision 2/.test(e.message)), JSON.stringify(renewedEvents.map((e) => e.message)));
    assert.ok(renewedEvents.some((e) => e.type === 'failed' && e.project === broken && /revision 2 failed/.test(e.message)));

    // Its second attempt, once due, fails the same way: recorded in the journal, without an event.
    const due = new Map([...renewed.failures!].map(([project, failure]) => [project, { ...failure, retryAtMs: 0 }]));
    const again = await h.reconciler.runCycle({ failures: { state: due, policy } });
    assert.deepEqual(again.results.map((r) => `${r.action.kind}:${r.outcome}`), ['pull-image:failed']);
    assert.equal(again.failures?.get(broken)?.attempts, 2);
    assert.deepEqual((await h.journal.readEvents()).events.filter((e) => e.correlationID === again.correlationID && (e.project === broken || e.project === '_host')).map((e) => e.message), []);
  });

  it("a failed action stops the rest of its own project only: the next project's chains still run", async () => {
    // One chain at a time, projects in name order: a-… first, so its failure comes before b-…'s chains.
    const first = uniqueName('a-refused');
    const second = uniqueName('b-fine');
    projects.push(first, second);
    const h = await openHarness('h1', { parallelism: 1 });
    harnesses.push(h);
    const dir = await mkdtemp(join(tmpdir(), 'hw-scope-'));
    dirs.push(dir);
    // A directory mounted over a file of the image (/www/index.html): the engine refuses the start.
    await h.journal.putDesired(desired(first, { web: service({ replicas: 2, volumes: [`${dir}:/www/index.html:ro`] }) }));
    await h.journal.putDesired(desired(second, { web: service({ replicas: 2 }) }));
    const report = await h.reconciler.runCycle({ failures: { state: new Map(), policy: DEFAULT_FAILURE_POLICY } });
    const ran = report.results.filter((r) => r.action.kind === 'create' || r.action.kind === 'start').map((r) => `${r.action.kind}:${r.outcome}:${'key' in r.action ? `${r.action.key.project === first ? 'a' : 'b'}${r.action.key.instance}` : ''}`);
    assert.deepEqual(ran, ['create:done:a1', 'start:failed:a1', 'create:done:b1', 'start:done:b1', 'create:done:b2', 'start:done:b2']);
    assert.equal((await h.journal.appliedRevisions()).get(second), 1);
    assert.equal((await h.journal.appliedRevisions()).has(first), false);
    assert.match(report.failures?.get(first)?.reason ?? '', /^start .* failed: /);
  });

  it('the loop rejects the failing revision once, then leaves it alone; a later change of the other project converges, not rejected', async () => {
    const { h, broken, healthy } = await twoProjects();
    const loop = new AgentLoop(h.reconciler, h.journal, { logger: pino({ level: 'silent' }), backoffMinMs: 50, backoffMaxMs: 200, resyncMs: 60_000 });
    loops.push(loop);
    loop.start();
    await waitFor('the broken revision rejected', async () => (await h.journal.rejectedRevisions()).get(broken));
    const rejectedEvents = async () => (await h.journal.readEvents()).events.filter((e) => e.project === broken && /rejected after/.test(e.message));
    assert.equal((await rejectedEvents()).length, 1);
    assert.equal((await h.journal.rejectedRevisions()).has(healthy), false);

    // The other project changes: it converges, with no trace of the first one's failure.
    await h.journal.putDesired(desired(healthy, { web: service({ env: { CHANGED: '1' } }) }, { revision: 2 }));
    loop.trigger('desired');
    await waitFor('the healthy project at revision 2', async () => (await h.journal.appliedRevisions()).get(healthy) === 2);
    assert.equal((await h.journal.rejectedRevisions()).has(healthy), false);

    // Quiet: with the rejected project held, cycles (woken here by hand) add no events about it.
    const before = (await h.journal.readEvents()).events.filter((e) => e.project === broken || e.project === '_host').length;
    for (let i = 0; i < 5; i++) {
      loop.trigger(`poke ${i}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const afterPokes = (await h.journal.readEvents()).events.filter((e) => e.project === broken || e.project === '_host').length;
    assert.equal(afterPokes, before, 'no event about the rejected project');
    assert.equal((await rejectedEvents()).length, 1);

    // retry lifts it: tried again (and, the image still missing, rejected again, with one more event).
    const lifted = await loop.retry(broken);
    assert.equal(lifted.rejected?.revision, 1);
    await waitFor('rejected a second time', async () => (await rejectedEvents()).length === 2);
  });
});
