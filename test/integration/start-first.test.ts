import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LABELS } from '../../shared/labels.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';
import { waitFor } from '../lib/wait.js';

const healthy = { test: ['CMD', 'true'], interval: '500ms', retries: 1 };

/** Samples, every 100 ms, how many containers of each instance are running and healthy. */
function sampleServing(project: string) {
  const minimum = new Map<string, number>();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${LABELS.project}=${project}`] } });
      const serving = new Map<string, number>();
      for (const c of containers) {
        const key = `${c.Labels[LABELS.service]}/${c.Labels[LABELS.instance]}`;
        serving.set(key, (serving.get(key) ?? 0) + (c.State === 'running' && c.Status.includes('(healthy)') ? 1 : 0));
      }
      for (const [key, count] of serving) minimum.set(key, Math.min(minimum.get(key) ?? count, count));
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { minimum, samples };
    },
  };
}

describe('start-first replacement (real Docker)', () => {
  const project = uniqueName('sf');
  let h: Awaited<ReturnType<typeof openHarness>>;
  after(async () => {
    await removeProject(project);
    await h?.close();
  });

  const spec = (version: string, check = healthy) => service({ replicas: 2, update_order: 'start-first', healthcheck: check, env: { VERSION: version } });
  const allHealthy = async () => {
    const containers = await projectContainers(project);
    return containers.length === 2 && containers.every((c) => c.Status.includes('(healthy)'));
  };

  it('keeps a healthy instance at every moment while replacing it', async () => {
    h = await openHarness('h1');
    await h.journal.putDesired(desired(project, { web: spec('1') }));
    assert.equal((await h.reconciler.runCycle()).failed, false);
    await waitFor('v1 healthy', allHealthy);

    const sampler = sampleServing(project);
    await h.journal.putDesired(desired(project, { web: spec('2') }, { revision: 2 }));
    const report = await h.reconciler.runCycle();
    const { minimum, samples } = await sampler.stop();
    assert.equal(report.failed, false, report.results.map((r) => r.message).join('; '));
    for (const chain of new Set(report.results.map((r) => r.action.chain))) {
      assert.deepEqual(report.results.filter((r) => r.action.chain === chain).map((r) => r.action.kind), ['rename', 'create', 'start', 'await-healthy', 'stop', 'remove'], chain);
    }
    assert.ok(samples >= 5, `sampled ${samples} times`);
    assert.deepEqual([...minimum.entries()].sort(), [['web/1', 1], ['web/2', 1]], 'never a moment with no healthy copy of an instance');
    const names = (await projectContainers(project)).map((c) => c.Names[0]).sort();
    assert.deepEqual(names, [`/${project}-web-1`, `/${project}-web-2`]);
  });

  it('a successor that never turns healthy leaves the old instance serving, and going back keeps it', async () => {
    await waitFor('v2 healthy', allHealthy);
    const before = new Map((await projectContainers(project)).map((c) => [c.Labels[LABELS.instance], c.Id]));
    await h.journal.putDesired(desired(project, { web: spec('3', { test: ['CMD', 'false'], interval: '500ms', retries: 1 }) }, { revision: 3 }));
    const failed = await h.reconciler.runCycle();
    assert.equal(failed.failed, true);
    assert.match(failed.results.find((r) => r.outcome === 'failed')?.message ?? '', /old instance keeps running/);
    // The loop's next cycles must not remove the only healthy copy.
    await h.reconciler.runCycle();
    const running = await projectContainers(project);
    for (const id of before.values()) assert.ok(running.some((c) => c.Id === id && c.State === 'running' && c.Status.includes('(healthy)')), `old ${id.slice(0, 12)} still serving`);

    await h.journal.putDesired(desired(project, { web: spec('2') }, { revision: 4 }));
    const back = await h.reconciler.runCycle();
    assert.equal(back.failed, false, back.results.map((r) => r.message).join('; '));
    const after = await projectContainers(project);
    assert.deepEqual(after.map((c) => c.Names[0]).sort(), [`/${project}-web-1`, `/${project}-web-2`]);
    for (const c of after) assert.equal(c.Id, before.get(c.Labels[LABELS.instance]), 'the instance that kept serving is the one that stays');
  });
});
