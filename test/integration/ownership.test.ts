import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Reconciler } from '../../agent/reconciler.js';
import { DockerRuntime } from '../../agent/runtime/docker-runtime.js';
import { Journal } from '../../agent/store/journal.js';
import { OWNER_SECRET_FILE } from '../../agent/store/owner-secret.js';
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
      Labels: { [LABELS.project]: project, [LABELS.service]: 'extra', [LABELS.instance]: '1', [LABELS.host]: h.hostId, [LABELS.specHash]: 'deadbeef', [LABELS.ownerToken]: 'not-a-token-we-issued' },
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
      await other.journal.putDesired(desired(project, { web: service() }, { hostId: other.hostId }));
      assert.equal((await other.reconciler.runCycle({ explicit: true })).failed, false);
      const mine = await h.reconciler.runCycle({ explicit: true });
      assert.equal(mine.results.length, 0);
      assert.ok(!mine.status?.projects[0]?.unowned.some((u) => u.name.startsWith('h2-')));
    } finally {
      await other.close();
    }
  });
});

// The owner token is an HMAC with a per-host secret: copied labels, and even a journal entry
// without the secret that signed its token, prove nothing.
describe('owner tokens with a per-host secret (real Docker, real LevelDB)', () => {
  const project = uniqueName('owntok');
  let h: Awaited<ReturnType<typeof openHarness>>;

  before(async () => {
    h = await openHarness('h1');
  });
  after(async () => {
    await removeProject(project);
    await h.close();
  });

  it('the secret is created on first start in the data dir, mode 0600, and kept across restarts', async () => {
    const info = await stat(join(h.dataDir, OWNER_SECRET_FILE));
    assert.equal(info.size, 32);
    assert.equal(info.mode & 0o777, 0o600);
    const token = h.journal.newOwnerToken({ hostId: h.hostId, project, service: 'web', instance: 1, specHash: 'x' });
    assert.equal(h.journal.verifyOwnerToken({ hostId: h.hostId, project, service: 'web', instance: 1, specHash: 'x', ownerToken: token }), true);
    assert.equal(h.journal.verifyOwnerToken({ hostId: h.hostId, project, service: 'web', instance: 2, specHash: 'x', ownerToken: token }), false);
  });

  it('a forged container with copied labels survives several applies, including one that replaces the real container, and stays listed as unowned', async () => {
    await h.journal.putDesired(desired(project, { web: service({ env: { V: '1' } }) }));
    assert.equal((await h.reconciler.runCycle({ explicit: true })).failed, false);
    const real = await docker.getContainer(`${project}-web-1`).inspect();
    const forged = await docker.createContainer({ name: `${project}-web-copy`, Image: 'hw/busybox:test', Cmd: ['sleep', '600'], Labels: { ...real.Config.Labels } });
    await forged.start();
    const applies: [string, ReturnType<typeof desired>][] = [
      ['the same revision again', desired(project, { web: service({ env: { V: '1' } }) })],
      ['an env change that replaces the real container', desired(project, { web: service({ env: { V: '2' } }) }, { revision: 2 })],
      ['a scale-up', desired(project, { web: service({ env: { V: '2' }, replicas: 2 }) }, { revision: 3 })],
      ['removing the service', desired(project, { other: service() }, { revision: 4 })],
    ];
    let replaced = false;
    for (const [what, document] of applies) {
      await h.journal.putDesired(document);
      const report = await h.reconciler.runCycle({ explicit: true });
      assert.equal(report.failed, false, what);
      assert.ok(!report.results.some((r) => r.containerId === forged.id), `${what}: no action touched the forged container`);
      const inspected = await forged.inspect();
      assert.equal(inspected.State.Running, true, `${what}: the forged container still runs`);
      const unowned = report.status?.projects.find((p) => p.project === project)?.unowned ?? [];
      assert.deepEqual(unowned.map((u) => u.containerId), [forged.id], `${what}: listed as unowned in status`);
      if (report.results.some((r) => r.action.kind === 'remove' && r.containerId === real.Id)) replaced = true;
    }
    assert.ok(replaced, 'the real container was replaced (removed) while its copy stayed');
    const status = await h.reconciler.observeStatus();
    assert.deepEqual(status.projects.find((p) => p.project === project)?.unowned.map((u) => u.containerId), [forged.id]);
    await forged.remove({ force: true });
  });

  it('with another owner secret, the journal\'s own containers are unowned and never removed', async () => {
    const runtime = new DockerRuntime({ docker });
    await h.journal.putDesired(desired(project, { other: service() }, { revision: 5 }));
    assert.equal((await h.reconciler.runCycle({ explicit: true })).failed, false);
    const mine = (await projectContainers(project)).map((c) => c.Id);
    assert.equal(mine.length, 1);
    await h.journal.close();
    // A journal copied to another host (or a data dir put together by hand) does not bring the secret.
    await writeFile(join(h.dataDir, OWNER_SECRET_FILE), randomBytes(32));
    const journal = await Journal.open(h.dataDir);
    try {
      const reconciler = new Reconciler({ runtime, journal, hostId: h.hostId, logger: pino({ level: 'silent' }) });
      await journal.putDesired(desired(project, {}, { revision: 6, allowEmpty: true }));
      const report = await reconciler.runCycle({ explicit: true });
      assert.equal(report.failed, false);
      assert.deepEqual(report.results, [], 'nothing is removed');
      const unowned = report.status?.projects.find((p) => p.project === project)?.unowned ?? [];
      assert.deepEqual(unowned.map((u) => u.containerId), mine);
      assert.match(unowned[0]?.reason ?? '', /HMAC/);
      assert.deepEqual((await projectContainers(project)).map((c) => c.Id), mine);
    } finally {
      await journal.close();
    }
  });
});
