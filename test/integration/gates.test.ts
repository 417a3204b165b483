import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desired, service, uniqueName } from '../lib/builders.js';
import { openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';
import { freePort } from '../lib/nats-server.js';
import { projectOfAction } from '../../shared/actions.js';

// Safety gates block a project's actions and say why; nothing of a blocked project runs.
describe('safety gates (real Docker)', () => {
  const projects: string[] = [];
  const harnesses: Awaited<ReturnType<typeof openHarness>>[] = [];
  after(async () => {
    await Promise.all(projects.map(removeProject));
    await Promise.all(harnesses.map((h) => h.close()));
  });

  async function setup(services: Parameters<typeof desired>[1]) {
    const project = uniqueName('gate');
    projects.push(project);
    const h = await openHarness('h1');
    harnesses.push(h);
    await h.journal.putDesired(desired(project, services));
    assert.equal((await h.reconciler.runCycle()).failed, false);
    return { h, project };
  }

  it('refuses a plan that removes every running instance of a project unless allowed', async () => {
    const { h, project } = await setup({ web: service({ replicas: 2 }) });
    await h.journal.putDesired(desired(project, {}, { revision: 2 }));
    const blocked = await h.reconciler.runCycle();
    assert.deepEqual(blocked.blocks.map((b) => b.gate), ['empty-project']);
    assert.match(blocked.blocks[0]!.message, /allow-empty/);
    assert.equal(blocked.results.length, 0);
    assert.equal((await projectContainers(project)).length, 2);
    const events = (await h.journal.readEvents()).events;
    assert.ok(events.some((e) => e.type === 'failed' && /empty-project/.test(e.message)));

    await h.journal.putDesired(desired(project, {}, { revision: 3, allowEmpty: true }));
    const allowed = await h.reconciler.runCycle();
    assert.equal(allowed.blocks.length, 0);
    assert.equal((await projectContainers(project)).length, 0);
  });

  it('refuses when the image is absent and may not be pulled (pull_policy: never)', async () => {
    const { h, project } = await setup({ web: service() });
    const before = (await projectContainers(project)).map((c) => c.Id);
    await h.journal.putDesired(desired(project, { web: service({ image: 'hw/absent:never', pull_policy: 'never' }) }, { revision: 2 }));
    const report = await h.reconciler.runCycle();
    assert.deepEqual(report.blocks.map((b) => b.gate), ['image-unavailable']);
    assert.equal(report.results.length, 0);
    assert.deepEqual((await projectContainers(project)).map((c) => c.Id), before, 'the running instance was not stopped');
  });

  it('an image that cannot be pulled fails the plan before any container is touched, with a clear error', async () => {
    const { h, project } = await setup({ web: service() });
    const before = (await projectContainers(project)).map((c) => c.Id);
    // A registry on a closed loopback port: the pull fails fast and no traffic leaves the machine.
    await h.journal.putDesired(desired(project, { web: service({ image: '127.0.0.1:9/hw/none:test' }) }, { revision: 2 }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, true);
    assert.deepEqual(report.results.map((r) => [r.action.kind, r.outcome]), [['pull-image', 'failed']]);
    assert.match(report.results[0]!.message, /127\.0\.0\.1:9\/hw\/none:test is not present locally and could not be pulled/);
    assert.deepEqual((await projectContainers(project)).map((c) => c.Id), before);
    const applied = (await h.journal.appliedRevisions()).get(project);
    assert.equal(applied, 1, 'the failed revision is not marked applied');
  });

  it('a plan shows what would block without changing anything', async () => {
    const { h, project } = await setup({ web: service() });
    await h.journal.putDesired(desired(project, {}, { revision: 2 }));
    const eventsBefore = (await h.journal.readEvents()).events.length;
    const plan = await h.reconciler.runCycle({ dryRun: true });
    assert.deepEqual(plan.blocks.map((b) => b.gate), ['empty-project']);
    assert.equal((await h.journal.readEvents()).events.length, eventsBefore, 'a dry run records nothing');
    assert.equal((await projectContainers(project)).length, 1);
  });

  it("a dry run of a candidate is gated among the host's other projects: a host port another project publishes blocks it as the cycle that applies it does", async () => {
    const port = await freePort();
    const published = service({ ports: [`127.0.0.1:${port}:80`] });
    const { h, project: running } = await setup({ web: published });
    const newcomer = uniqueName('gate');
    projects.push(newcomer);
    const candidate = desired(newcomer, { api: published });
    const planned = await h.reconciler.runCycle({ dryRun: true, candidate: [candidate] });
    assert.deepEqual(planned.blocks.map((b) => [b.project, b.gate]), [[newcomer, 'port-conflict']]);
    // Sides in project order: the names are random.
    for (const side of [`${running}/web ("127.0.0.1:${port}:80")`, `${newcomer}/api ("127.0.0.1:${port}:80")`]) assert.ok(planned.blocks[0]!.message.includes(side), planned.blocks[0]!.message);
    // The reply is the candidate's part: the running project counted in the gates, not in the actions.
    assert.deepEqual([...new Set(planned.plan.actions.flatMap((action) => projectOfAction(action) ?? []))], [newcomer]);
    assert.deepEqual(planned.plan.projects.map((revision) => revision.project), [newcomer]);

    await h.journal.putDesired(candidate);
    const applied = await h.reconciler.runCycle();
    assert.deepEqual(applied.blocks.filter((block) => block.project === newcomer), planned.blocks);
    assert.equal((await projectContainers(newcomer)).length, 0, 'nothing of the blocked project ran');
    assert.equal((await projectContainers(running)).length, 1);
  });
});
