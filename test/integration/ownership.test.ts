import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LABELS } from '../../shared/labels.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

// A container without ownership proof is reported and never stopped or deleted, even with our labels.
describe('ownership (real Docker)', () => {
  const project = uniqueName('own');
  let h: Awaited<ReturnType<typeof openHarness>>;

  before(async () => {
    h = await openHarness('h1');
    await h.journal.putDesired(desired(project, { web: service({ replicas: 2 }), extra: service() }));
    assert.equal((await h.reconciler.runCycle({ explicit: true })).failed, false);
  });
  after(async () => {
    await removeProject(project);
    await h.close();
  });

  it('a forged container with labels copied from a real one is reported as unowned and survives every apply', async () => {
    const real = await docker.getContainer(`${project}-web-1`).inspect();
    const forged = await docker.createContainer({ name: `${project}-forged`, Image: 'hw/busybox:test', Cmd: ['sleep', '600'], Labels: { ...real.Config.Labels } });
    await forged.start();
    // Remove the service the forged labels claim, and scale everything down: any owned match would be cleaned.
    await h.journal.putDesired(desired(project, { extra: service() }, { revision: 2 }));
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.failed, false);
    const touched = report.results.map((r) => r.containerId);
    assert.ok(!touched.includes(forged.id), 'no action targeted the forged container');
    assert.equal((await forged.inspect()).State.Running, true);
    const unowned = report.status?.projects[0]?.unowned ?? [];
    assert.deepEqual(unowned.map((u) => u.containerId), [forged.id]);
    assert.match(unowned[0]!.reason, /copied/);
    const events = await h.journal.readEvents();
    assert.ok(events.events.some((e) => e.type === 'drift_detected' && e.runtimeRef === forged.id && /not owned/.test(e.message)));
    // The real web containers were cleaned (they were owned); the forged one stays.
    const names = (await projectContainers(project)).map((c) => c.Names[0]).sort();
    assert.deepEqual(names, [`/${project}-extra-1`, `/${project}-forged`]);
    assert.ok(events.events.filter((e) => e.type === 'cleaned').length >= 2);
  });

  it('a container with Hostwright labels but a token this agent never issued is unowned', async () => {
    const stranger = await docker.createContainer({
      name: `${project}-stranger`,
      Image: 'hw/busybox:test',
      Cmd: ['sleep', '600'],
      Labels: { [LABELS.project]: project, [LABELS.service]: 'extra', [LABELS.instance]: '1', [LABELS.host]: 'h1', [LABELS.specHash]: 'deadbeef', [LABELS.ownerToken]: 'not-a-token-we-issued' },
    });
    await h.journal.putDesired(desired(project, { extra: service({ replicas: 0 }) }, { revision: 3, allowEmpty: true }));
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.failed, false);
    assert.ok((await stranger.inspect()).Id, 'stranger still exists');
    const unowned = report.status?.projects[0]?.unowned.map((u) => u.containerId) ?? [];
    assert.ok(unowned.includes(stranger.id));
    // The owned extra-1 was removed (allowEmpty), the stranger that claims to be extra-1 was not.
    const remaining = (await projectContainers(project)).map((c) => c.Id).sort();
    assert.ok(remaining.includes(stranger.id));
    assert.equal(remaining.length, 2, 'forged + stranger only');
  });

  it('containers of another host on the same engine are neither reported nor touched', async () => {
    const other = await openHarness('h2', { namePrefix: 'h2-' });
    try {
      await other.journal.putDesired(desired(project, { web: service() }, { hostId: 'h2' }));
      assert.equal((await other.reconciler.runCycle({ explicit: true })).failed, false);
      const mine = await h.reconciler.runCycle({ explicit: true });
      assert.equal(mine.results.length, 0);
      assert.ok(!mine.status?.projects[0]?.unowned.some((u) => u.name.startsWith('h2-')));
    } finally {
      await other.close();
    }
  });
});
