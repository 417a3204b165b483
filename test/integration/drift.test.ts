import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostStatus } from '../../shared/host-status.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, removeProject } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

function instance(status: HostStatus | undefined, name: string) {
  return status?.projects.flatMap((p) => p.instances).find((i) => i.name === name);
}

// Drift: reported in status and as drift_detected events; the loop's own cycles follow the policy.
describe('drift (real Docker)', () => {
  const projects: string[] = [];
  const harnesses: Awaited<ReturnType<typeof openHarness>>[] = [];
  after(async () => {
    await Promise.all(projects.map(removeProject));
    await Promise.all(harnesses.map((h) => h.close()));
  });

  async function converged(drift: 'repair' | 'report' | undefined, fields: Record<string, unknown> = {}) {
    const project = uniqueName('drift');
    projects.push(project);
    const h = await openHarness('h1');
    harnesses.push(h);
    await h.journal.putDesired(desired(project, { web: service({ ...(drift ? { drift } : {}), ...fields }) }));
    const first = await h.reconciler.runCycle();
    assert.equal(first.failed, false);
    return { h, project, name: `${project}-web-1` };
  }

  it('missing: repaired by default, visibly', async () => {
    const { h, name } = await converged(undefined);
    const oldId = (await docker.getContainer(name).inspect()).Id;
    await docker.getContainer(name).remove({ force: true });
    const report = await h.reconciler.runCycle();
    assert.deepEqual(report.plan.drift.map((d) => [d.kind, d.action]), [['missing', 'repair']]);
    assert.deepEqual(report.results.map((r) => r.action.kind), ['create', 'start']);
    assert.notEqual((await docker.getContainer(name).inspect()).Id, oldId);
    const events = (await h.journal.readEvents()).events.filter((e) => e.correlationID === report.correlationID);
    assert.ok(events.some((e) => e.type === 'drift_detected' && /missing/.test(e.message)));
  });

  it('stopped: repaired by default with a restarted event', async () => {
    const { h, name } = await converged(undefined);
    await docker.getContainer(name).stop({ t: 1 });
    const report = await h.reconciler.runCycle();
    assert.deepEqual(report.plan.drift.map((d) => [d.kind, d.action]), [['stopped', 'repair']]);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, true);
    const events = (await h.journal.readEvents()).events.filter((e) => e.correlationID === report.correlationID);
    assert.ok(events.some((e) => e.type === 'drift_detected'));
    assert.ok(events.some((e) => e.type === 'restarted'));
  });

  it('policy report: stopped and missing are reported, not repaired, until an explicit apply', async () => {
    const { h, name } = await converged('report');
    await docker.getContainer(name).stop({ t: 1 });
    const report = await h.reconciler.runCycle();
    assert.equal(report.results.length, 0);
    assert.deepEqual(instance(report.status, name)?.drift, ['stopped']);
    assert.equal((await docker.getContainer(name).inspect()).State.Running, false);
    // Reported once, not on every cycle.
    const again = await h.reconciler.runCycle();
    const driftEvents = (await h.journal.readEvents()).events.filter((e) => e.type === 'drift_detected');
    assert.equal(driftEvents.length, 1);
    assert.equal(again.results.length, 0);
    const explicit = await h.reconciler.runCycle({ explicit: true });
    assert.deepEqual(explicit.results.map((r) => r.action.kind), ['start']);
    assert.deepEqual(instance(explicit.status, name)?.drift, []);
  });

  it('modified out of band: reported by default, never silently replaced', async () => {
    const { h, name } = await converged(undefined);
    const id = (await docker.getContainer(name).inspect()).Id;
    await docker.getContainer(name).update({ RestartPolicy: { Name: 'no' } });
    h.reconciler.observer.invalidate(id);
    const report = await h.reconciler.runCycle();
    assert.deepEqual(report.plan.drift.map((d) => [d.kind, d.action]), [['modified', 'report']]);
    assert.equal(report.results.length, 0);
    assert.equal((await docker.getContainer(name).inspect()).Id, id);
    assert.deepEqual(instance(report.status, name)?.drift, ['modified']);
    assert.match(report.plan.drift[0]!.message, /restart/);
  });

  it('modified out of band with drift: repair is replaced', async () => {
    const { h, name } = await converged('repair');
    const id = (await docker.getContainer(name).inspect()).Id;
    await docker.getContainer(name).update({ RestartPolicy: { Name: 'no' } });
    h.reconciler.observer.invalidate(id);
    const report = await h.reconciler.runCycle();
    assert.deepEqual(report.results.map((r) => r.action.kind), ['stop', 'remove', 'create', 'start']);
    assert.notEqual((await docker.getContainer(name).inspect()).Id, id);
    assert.deepEqual(instance(report.status, name)?.drift, []);
  });

  it('unhealthy: reported with health_changed and drift_detected, not restarted', async () => {
    const { h, name } = await converged(undefined, { healthcheck: { test: ['CMD', 'false'], interval: '500ms', retries: 1 } });
    const id = (await docker.getContainer(name).inspect()).Id;
    const report = await waitFor('unhealthy status', async () => {
      const cycle = await h.reconciler.runCycle();
      return instance(cycle.status, name)?.health === 'unhealthy' ? cycle : undefined;
    });
    assert.deepEqual(instance(report.status, name)?.drift, ['unhealthy']);
    assert.equal(report.results.length, 0);
    assert.equal((await docker.getContainer(name).inspect()).Id, id);
    const events = (await h.journal.readEvents()).events;
    assert.ok(events.some((e) => e.type === 'health_changed' && /unhealthy/.test(e.message)));
    assert.ok(events.some((e) => e.type === 'drift_detected' && /unhealthy/.test(e.message)));
  });
});
