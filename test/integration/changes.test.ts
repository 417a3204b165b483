import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { desired, service, uniqueName } from '../lib/builders.js';
import { openHarness, projectContainers, removeProject } from '../lib/docker-harness.js';

async function idsByName(project: string): Promise<Map<string, string>> {
  return new Map((await projectContainers(project)).map((c) => [c.Names[0]!.slice(1), c.Id]));
}

// A changed spec replaces exactly the affected instances; nothing else is touched.
describe('spec changes (real Docker)', () => {
  const project = uniqueName('chg');
  let h: Awaited<ReturnType<typeof openHarness>>;
  let revision = 1;
  const apply = async (services: Parameters<typeof desired>[1], fields: Parameters<typeof desired>[2] = {}) => {
    revision += 1;
    await h.journal.putDesired(desired(project, services, { revision, ...fields }));
    const report = await h.reconciler.runCycle();
    assert.equal(report.failed, false, report.results.map((r) => r.message).join('; '));
    return report;
  };

  before(async () => {
    h = await openHarness('h1');
    await h.journal.putDesired(desired(project, { web: service({ replicas: 2 }), api: service(), db: service() }));
    assert.equal((await h.reconciler.runCycle()).failed, false);
  });
  after(async () => {
    await removeProject(project);
    await h.close();
  });

  for (const [field, value] of [
    ['env', { VERSION: '2' }],
    ['command', ['sh', '-c', 'trap "exit 0" TERM; sleep 7200 & wait']],
    ['labels', { team: 'api' }],
    ['healthcheck', { test: ['CMD', 'true'], interval: '5s' }],
    ['restart', 'always'],
  ] as const) {
    it(`changing ${field} of one service replaces only its instance`, async () => {
      const before = await idsByName(project);
      const report = await apply({ web: service({ replicas: 2 }), api: service({ [field]: value }), db: service() });
      const after = await idsByName(project);
      assert.notEqual(after.get(`${project}-api-1`), before.get(`${project}-api-1`));
      for (const name of [`${project}-web-1`, `${project}-web-2`, `${project}-db-1`]) assert.equal(after.get(name), before.get(name), `${name} untouched`);
      const replace = report.diff.projects[0]!.entries.find((e) => e.kind === 'replace');
      assert.ok(replace && replace.kind === 'replace' && replace.changedFields.includes(field), `diff names the changed field ${field}`);
      // Keep the change for the following cases.
      revision += 1;
      await h.journal.putDesired(desired(project, { web: service({ replicas: 2 }), api: service(), db: service() }, { revision }));
      await h.reconciler.runCycle();
    });
  }

  it('scaling down removes the highest instances with cleaned events; scaling up adds new ones', async () => {
    const before = await idsByName(project);
    const down = await apply({ web: service({ replicas: 1 }), api: service(), db: service() });
    assert.deepEqual(down.results.filter((r) => r.action.kind === 'remove').map((r) => r.action.kind === 'remove' && r.action.name), [`${project}-web-2`]);
    const after = await idsByName(project);
    assert.equal(after.get(`${project}-web-1`), before.get(`${project}-web-1`));
    assert.equal(after.has(`${project}-web-2`), false);
    const cleaned = (await h.journal.readEvents()).events.filter((e) => e.type === 'cleaned' && e.correlationID === down.correlationID);
    assert.equal(cleaned.length, 1);
    const up = await apply({ web: service({ replicas: 3 }), api: service(), db: service() });
    assert.deepEqual(up.results.filter((r) => r.action.kind === 'create').map((r) => r.action.kind === 'create' && r.action.name).sort(), [`${project}-web-2`, `${project}-web-3`]);
  });

  it('removing a service removes its owned containers and nothing else', async () => {
    const before = await idsByName(project);
    const report = await apply({ web: service({ replicas: 3 }), api: service() });
    assert.equal(report.results.filter((r) => r.action.kind === 'remove').length, 1);
    const after = await idsByName(project);
    assert.equal(after.has(`${project}-db-1`), false);
    for (const [name, id] of after) assert.equal(id, before.get(name), `${name} untouched`);
  });

  it('the plan is deterministic: the same observation gives the same bytes', async () => {
    revision += 1;
    await h.journal.putDesired(desired(project, { web: service({ replicas: 2, env: { X: '1' } }), api: service() }, { revision }));
    const first = await h.reconciler.runCycle({ dryRun: true });
    const second = await h.reconciler.runCycle({ dryRun: true });
    assert.equal(JSON.stringify({ ...second.plan, observedAt: '' }), JSON.stringify({ ...first.plan, observedAt: '' }));
    assert.ok(first.plan.actions.length > 0);
  });
});
