import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { actionHandlers, type ExecutionContext } from '../../agent/executor.js';
import type { ActionOf } from '../../shared/actions.js';
import { NameConflictError } from '../../shared/errors.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { docker, openHarness, projectContainers, removeContainerNamed, removeProject } from '../lib/docker-harness.js';

// Each idempotency rule of the spec, on a real Docker engine with a real journal.
describe('idempotency rules (real Docker)', () => {
  const project = uniqueName('idem');
  let h: Awaited<ReturnType<typeof openHarness>>;
  let context: (overrides?: Partial<ExecutionContext>) => ExecutionContext;

  before(async () => {
    h = await openHarness('h1');
    await h.journal.putDesired(desired(project, { web: service({ replicas: 1 }) }));
    const first = await h.reconciler.runCycle({ explicit: true });
    assert.equal(first.failed, false);
    context = (overrides = {}) => ({ runtime: h.runtime, owners: h.journal, hostId: h.hostId, ownerToken: undefined, chainContainerId: undefined, signal: new AbortController().signal, ...overrides });
  });
  after(async () => {
    await removeProject(project);
    await h.close();
  });

  it('applying a converged state is a no-op', async () => {
    const before = await projectContainers(project);
    const report = await h.reconciler.runCycle({ explicit: true });
    assert.equal(report.plan.actions.length, 0);
    assert.equal(report.results.length, 0);
    const afterIds = (await projectContainers(project)).map((c) => c.Id).sort();
    assert.deepEqual(afterIds, before.map((c) => c.Id).sort());
  });

  it('creating an already-correct container is reported as already converged (adopted, not duplicated)', async () => {
    const create = (await planOf('create'))!;
    const outcome = await actionHandlers.create(create, context({ ownerToken: h.journal.newOwnerToken({ hostId: h.reconciler.hostId, ...create.key, specHash: create.specHash }) }));
    assert.equal(outcome.outcome, 'already');
    assert.match(outcome.message, /already converged/);
    assert.equal((await projectContainers(project)).length, 1);
  });

  it('starting a running container is not an error', async () => {
    const [container] = await projectContainers(project);
    const start: ActionOf<'start'> = { id: 'a1', kind: 'start', phase: 'instances', chain: 'x', reason: 'test', key: { project, service: 'web', instance: 1 }, name: `${project}-web-1`, containerId: container!.Id, repair: false };
    const outcome = await actionHandlers.start(start, context());
    assert.equal(outcome.outcome, 'already');
    assert.equal((await docker.getContainer(container!.Id).inspect()).State.Running, true);
  });

  it('stopping a stopped container is safe', async () => {
    const [container] = await projectContainers(project);
    const stop: ActionOf<'stop'> = { id: 'a1', kind: 'stop', phase: 'instances', chain: 'x', reason: 'test', key: { project, service: 'web', instance: 1 }, name: `${project}-web-1`, containerId: container!.Id, timeoutSeconds: 1 };
    assert.equal((await actionHandlers.stop(stop, context())).outcome, 'done');
    const again = await actionHandlers.stop(stop, context());
    assert.equal(again.outcome, 'already');
    assert.match(again.message, /already stopped/);
  });

  it('deleting a missing Hostwright-owned container is safe', async () => {
    const [container] = await projectContainers(project);
    const remove: ActionOf<'remove'> = { id: 'a1', kind: 'remove', phase: 'cleanup', chain: 'x', reason: 'test', key: { project, service: 'web', instance: 1 }, name: `${project}-web-1`, containerId: container!.Id, cleanup: true };
    assert.equal((await actionHandlers.remove(remove, context())).outcome, 'done');
    const again = await actionHandlers.remove(remove, context());
    assert.equal(again.outcome, 'already');
    assert.equal((await projectContainers(project)).length, 0);
  });

  it('a name conflict with a container Hostwright does not own is reported, never adopted', async () => {
    const name = `${project}-web-1`;
    await removeContainerNamed(name);
    await docker.createContainer({ name, Image: 'hw/busybox:test', Cmd: ['sleep', '60'] });
    try {
      const plan = await h.reconciler.runCycle({ explicit: true, dryRun: true });
      assert.deepEqual(plan.blocks.map((b) => b.gate), ['name-conflict']);
      assert.equal(plan.runnable.length, 0);
      const create = plan.plan.actions.find((a) => a.kind === 'create') as ActionOf<'create'> | undefined;
      assert.equal(create, undefined, 'no create is planned over a foreign container');
      const forced: ActionOf<'create'> = { id: 'a1', kind: 'create', phase: 'instances', chain: 'x', reason: 'test', key: { project, service: 'web', instance: 1 }, name, specHash: 'x', config: service() };
      await assert.rejects(actionHandlers.create(forced, context({ ownerToken: h.journal.newOwnerToken({ hostId: h.reconciler.hostId, ...forced.key, specHash: forced.specHash }) })), (error: unknown) => error instanceof NameConflictError && /does not own/.test(error.message));
      const report = await h.reconciler.runCycle({ explicit: true });
      assert.equal(report.results.length, 0);
      const holder = await docker.getContainer(name).inspect();
      assert.equal(holder.Config.Labels?.['io.hostwright.project'], undefined, 'the foreign container is untouched');
    } finally {
      await removeContainerNamed(name);
    }
  });

  async function planOf(kind: 'create'): Promise<ActionOf<'create'> | undefined> {
    // The plan a fresh host would make for the same desired state: one create for web-1.
    const fresh = await openHarness('h1', { hostId: h.hostId });
    try {
      await fresh.journal.putDesired(desired(project, { web: service({ replicas: 1 }) }));
      const snapshot = { ...(await fresh.reconciler.observer.observe()), containers: [] };
      const { diffHost } = await import('../../agent/core/diff.js');
      const { planHost } = await import('../../agent/core/planner.js');
      const documents = await fresh.journal.desiredDocuments();
      const diff = diffHost({ desired: documents, snapshot, journal: fresh.journal, namePrefix: '' });
      return planHost({ diff, desired: documents, snapshot, modes: new Map() }).actions.find((a): a is ActionOf<typeof kind> => a.kind === kind);
    } finally {
      await fresh.close();
    }
  }
});
