import { projectOfAction } from '../../shared/actions.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostDesired } from '../../shared/host-desired.js';
import type { HostStatus, InstanceStatus, ProjectStatus } from '../../shared/host-status.js';
import { hostStatus, statusTransitionEvents } from '../../agent/core/status.js';
import type { ObservedContainer, OwnerRecord } from '../../agent/core/snapshot.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { NAME_PREFIX, scenarioArb } from '../lib/arbitraries.js';
import { FIXTURE_PREFIX, labelledFixture, ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

const web = service();
const key = (instance: number, svc = 'web', project = 'shop') => ({ project, service: svc, instance });

function statusOf(docs: readonly HostDesired[], containers: readonly ObservedContainer[], records: readonly OwnerRecord[], fields: { foreignNames?: readonly string[]; applied?: ReadonlyMap<string, number> } = {}): HostStatus {
  const snapshot = snapshotOf(containers, { images: [TEST_IMAGE], foreignNames: fields.foreignNames ?? [] });
  const { diff, plan, blocks } = planRound({ desired: docs, snapshot, owners: ownersOf(records) });
  return hostStatus({ diff, plan, blocks, appliedRevisions: fields.applied ?? new Map(), namePrefix: FIXTURE_PREFIX });
}

function instance(fields: Partial<InstanceStatus> & { instance: number }): InstanceStatus {
  return { project: 'shop', service: 'web', name: `hw-shop-web-${fields.instance}`, containerId: `c${fields.instance}`, state: 'running', health: 'healthy', specHash: 'h', restartCount: 0, drift: [], ...fields };
}

function status(projects: readonly Partial<ProjectStatus>[]): HostStatus {
  return {
    hostId: 'h1',
    observedAt: '2025-01-01T00:00:00.000Z',
    projects: projects.map((p) => ({ project: 'shop', desiredRevision: 1, appliedRevision: 1, converged: true, pendingActions: 0, instances: [], unowned: [], blocked: [], ...p })),
  };
}

describe('hostStatus', () => {
  it('reports each desired instance with its container, state, health, spec hash, restart count and drift', () => {
    const one = ownedFixture(key(1), web, { id: 'c1', health: 'healthy', restartCount: 3 });
    const two = ownedFixture(key(2), web, { id: 'c2', state: 'exited' });
    const result = statusOf([desired('shop', { web: service({ replicas: 3 }) }, { revision: 4 })], [one.container, two.container], [one.record, two.record], { applied: new Map([['shop', 3]]) });
    assert.equal(result.hostId, 'h1');
    assert.equal(result.observedAt, '2025-01-01T00:00:00.000Z');
    const [project] = result.projects;
    assert.ok(project);
    assert.deepEqual(project.instances, [
      { ...key(1), name: 'hw-shop-web-1', containerId: 'c1', state: 'running', health: 'healthy', specHash: one.container.identity.specHash, restartCount: 3, drift: [] },
      { ...key(2), name: 'hw-shop-web-2', containerId: 'c2', state: 'exited', health: 'none', specHash: two.container.identity.specHash, restartCount: 0, drift: ['stopped'] },
      { ...key(3), name: 'hw-shop-web-3', containerId: undefined, state: 'missing', health: 'none', specHash: undefined, restartCount: undefined, drift: [] },
    ]);
    assert.equal(project.desiredRevision, 4);
    assert.equal(project.appliedRevision, 3);
    assert.equal(project.converged, false);
    assert.equal(project.pendingActions, 3);
    assert.deepEqual(project.blocked, []);
  });

  it('a converged project has no pending actions, no blocks, and does not count image pulls', () => {
    const one = ownedFixture(key(1), web, { id: 'c1' });
    const [project] = statusOf([desired('shop', { web })], [one.container], [one.record]).projects;
    assert.equal(project?.converged, true);
    assert.equal(project?.pendingActions, 0);
    const snapshot = snapshotOf([], { images: [] });
    const round = planRound({ desired: [desired('shop', { web })], snapshot, owners: ownersOf([]) });
    const pending = hostStatus({ ...round, appliedRevisions: new Map(), namePrefix: FIXTURE_PREFIX }).projects[0];
    assert.equal(round.plan.actions.length, 3);
    assert.equal(pending?.pendingActions, 2);
  });

  it('lists unowned containers, leaves out containers being removed, and lists blocks (not converged)', () => {
    const extra = ownedFixture(key(2), web, { id: 'c2' });
    const intruder = labelledFixture('c9', 'hw-shop-web-1', { ...key(1), hostId: 'h1', specHash: 'x', ownerToken: 'nope' }, ownersOf([]));
    const [project] = statusOf([desired('shop', { web })], [extra.container, intruder], [extra.record]).projects;
    assert.ok(project);
    assert.deepEqual(project.unowned, [{ project: 'shop', containerId: 'c9', name: 'hw-shop-web-1', reason: 'its owner token was not issued by this agent (no journal entry)' }]);
    assert.deepEqual(
      project.instances.map((i) => [i.name, i.state]),
      [['hw-shop-web-1', 'missing']],
    );
    assert.deepEqual(
      project.blocked.map((b) => b.gate),
      ['name-conflict'],
    );
    assert.equal(project.converged, false);
  });

  it('reports missing and unhealthy drift per instance', () => {
    const gone = ownedFixture(key(1), web, { id: 'gone' });
    const sick = ownedFixture(key(2), web, { id: 'c2', health: 'unhealthy' });
    const [project] = statusOf([desired('shop', { web: service({ replicas: 2 }) })], [sick.container], [gone.record, sick.record]).projects;
    assert.deepEqual(
      project?.instances.map((i) => i.drift),
      [['missing'], ['unhealthy']],
    );
  });

  it('property: one instance status per desired instance, and converged exactly when the converge plan is empty and unblocked', () => {
    fc.assert(
      fc.property(scenarioArb(), (scenario) => {
        const round = planRound({ desired: scenario.desired, snapshot: scenario.snapshot, owners: ownersOf(scenario.owners), namePrefix: NAME_PREFIX });
        const result = hostStatus({ ...round, appliedRevisions: new Map(), namePrefix: NAME_PREFIX });
        for (const project of result.projects) {
          const doc = scenario.desired.find((d) => d.project === project.project);
          assert.ok(doc);
          assert.equal(
            project.instances.length,
            Object.values(doc.services).reduce((n, s) => n + s.replicas, 0),
          );
          const actions = round.plan.actions.filter((a) => projectOfAction(a) === project.project);
          assert.equal(project.converged, actions.length === 0 && !round.blocks.some((b) => b.project === project.project));
        }
        // A status compared with itself yields no events.
        assert.deepEqual(statusTransitionEvents(result, result), []);
      }),
      { numRuns: 200 },
    );
  });
});

describe('statusTransitionEvents', () => {
  it('health_changed when the same container changes health: warning to unhealthy, info otherwise', () => {
    const before = status([{ instances: [instance({ instance: 1, health: 'healthy' }), instance({ instance: 2, health: 'unhealthy' })] }]);
    const after = status([{ instances: [instance({ instance: 1, health: 'unhealthy' }), instance({ instance: 2, health: 'healthy' })] }]);
    assert.deepEqual(statusTransitionEvents(before, after), [
      { type: 'health_changed', severity: 'warning', project: 'shop', service: 'web', instance: 1, runtimeRef: 'c1', message: 'hw-shop-web-1 health healthy -> unhealthy' },
      { type: 'health_changed', severity: 'info', project: 'shop', service: 'web', instance: 2, runtimeRef: 'c2', message: 'hw-shop-web-2 health unhealthy -> healthy' },
    ]);
  });

  it('no health_changed when the instance got a new container, or had none', () => {
    const before = status([{ instances: [instance({ instance: 1, health: 'healthy' }), instance({ instance: 2, containerId: undefined, state: 'missing', health: 'none' })] }]);
    const after = status([{ instances: [instance({ instance: 1, containerId: 'new', health: 'starting' }), instance({ instance: 2, containerId: undefined, state: 'missing', health: 'none' })] }]);
    assert.deepEqual(statusTransitionEvents(before, after), []);
  });

  it('restarted when the restart count of the same container increases', () => {
    const before = status([{ instances: [instance({ instance: 1, restartCount: 1 }), instance({ instance: 2, restartCount: 2 }), instance({ instance: 3, restartCount: undefined })] }]);
    const after = status([{ instances: [instance({ instance: 1, restartCount: 2 }), instance({ instance: 2, restartCount: 2 }), instance({ instance: 3, restartCount: 5 })] }]);
    assert.deepEqual(statusTransitionEvents(before, after), [
      { type: 'restarted', severity: 'warning', project: 'shop', service: 'web', instance: 1, runtimeRef: 'c1', message: 'hw-shop-web-1 was restarted by the runtime (restart count 2)' },
    ]);
    const replaced = status([{ instances: [instance({ instance: 1, containerId: 'other', restartCount: 9 })] }]);
    assert.deepEqual(statusTransitionEvents(before, replaced), []);
  });

  it('drift_detected only for drift kinds the instance did not already have', () => {
    const before = status([{ instances: [instance({ instance: 1, drift: ['stopped'] })] }]);
    const same = status([{ instances: [instance({ instance: 1, drift: ['stopped'] })] }]);
    assert.deepEqual(statusTransitionEvents(before, same), []);
    const more = status([{ instances: [instance({ instance: 1, drift: ['stopped', 'modified'] })] }]);
    assert.deepEqual(statusTransitionEvents(before, more), [{ type: 'drift_detected', severity: 'warning', project: 'shop', service: 'web', instance: 1, runtimeRef: 'c1', message: 'hw-shop-web-1: modified' }]);
    // Cleared and back again is new again.
    const cleared = status([{ instances: [instance({ instance: 1 })] }]);
    assert.equal(statusTransitionEvents(cleared, before).length, 1);
  });

  it('a first status reports all current drift, blocks and unowned containers', () => {
    const current = status([
      {
        instances: [instance({ instance: 1, containerId: undefined, state: 'missing', drift: ['missing'] })],
        unowned: [{ project: 'shop', containerId: 'u1', name: 'intruder', reason: 'copied' }],
        blocked: [{ project: 'shop', gate: 'name-conflict', message: 'hw-shop-web-1 is taken' }],
      },
    ]);
    assert.deepEqual(
      statusTransitionEvents(undefined, current).map((e) => [e.type, e.severity, e.message]),
      [
        ['drift_detected', 'warning', 'hw-shop-web-1: missing'],
        ['failed', 'error', 'plan blocked by the name-conflict gate: hw-shop-web-1 is taken'],
        ['drift_detected', 'warning', 'intruder carries Hostwright labels but is not owned (copied); it will not be touched'],
      ],
    );
  });

  it('failed once per new gate block; the same block again is silent, a different one is not', () => {
    const block = { project: 'shop', gate: 'empty-project' as const, message: 'the plan removes all 1 running instance(s)' };
    const before = status([{ blocked: [block] }]);
    assert.deepEqual(statusTransitionEvents(before, before), []);
    const other = status([{ blocked: [block, { project: 'shop', gate: 'image-unavailable', message: 'image x missing' }] }]);
    assert.deepEqual(statusTransitionEvents(before, other), [{ type: 'failed', severity: 'error', project: 'shop', message: 'plan blocked by the image-unavailable gate: image x missing' }]);
    // A block of another project with the same message is still new for this one.
    const elsewhere = status([{ project: 'other', blocked: [{ ...block, project: 'other' }] }]);
    assert.equal(statusTransitionEvents(before, elsewhere).length, 1);
  });

  it('an unowned container is reported once', () => {
    const unowned = [{ project: 'shop', containerId: 'u1', name: 'intruder', reason: 'no journal entry' }];
    const before = status([{ unowned }]);
    assert.deepEqual(statusTransitionEvents(before, before), []);
    const withAnother = status([{ unowned: [...unowned, { project: 'shop', containerId: 'u2', name: 'second', reason: 'copied' }] }]);
    assert.deepEqual(
      statusTransitionEvents(before, withAnother).map((e) => [e.type, e.runtimeRef]),
      [['drift_detected', 'u2']],
    );
  });

  it('end to end: a container stopping then being restarted by Hostwright', () => {
    const running = ownedFixture(key(1), web, { id: 'c1', restartCount: 0 });
    const docs = [desired('shop', { web })];
    const first = statusOf(docs, [running.container], [running.record]);
    const stopped = statusOf(docs, [{ ...running.container, state: 'exited' }], [running.record]);
    assert.deepEqual(
      statusTransitionEvents(first, stopped).map((e) => [e.type, e.message]),
      [['drift_detected', 'hw-shop-web-1: stopped']],
    );
    const back = statusOf(docs, [{ ...running.container, restartCount: 1 }], [running.record]);
    assert.deepEqual(
      statusTransitionEvents(stopped, back).map((e) => e.type),
      ['restarted'],
    );
  });
});
