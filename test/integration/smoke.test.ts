import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desired, service, uniqueName } from '../lib/builders.js';
import { openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

describe('smoke', () => {
  const project = uniqueName('smoke');
  after(() => removeProject(project));
  it('converges two instances and then is a no-op', async () => {
    const h = await openHarness('h1');
    try {
      await h.journal.putDesired(desired(project, { web: service({ replicas: 2 }) }));
      const first = await h.reconciler.runCycle();
      console.log(first.results.map((r) => `${r.action.id} ${r.action.kind} ${r.outcome} ${r.message}`));
      assert.equal(first.failed, false);
      const containers = await projectContainers(project);
      assert.equal(containers.length, 2);
      const second = await h.reconciler.runCycle();
      assert.equal(second.plan.actions.length, 0);
      console.log(JSON.stringify(second.status, null, 1).slice(0, 1500));
      const events = await h.journal.readEvents();
      console.log(events.events.map((e) => `${e.type} ${e.message}`));
    } finally {
      await h.close();
    }
  });
});
