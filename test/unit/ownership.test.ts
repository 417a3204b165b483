import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { changedViewFields, proveOwnership } from '../../agent/core/ownership.js';
import type { ContainerConfigView, LabelledIdentity, OwnerRecord } from '../../agent/core/snapshot.js';
import { desired, service } from '../lib/builders.js';
import { applyPlanToSnapshot, idSource, ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

const web = service();
const key = { project: 'shop', service: 'web', instance: 1 };

function fixture(): { identity: LabelledIdentity; record: OwnerRecord } {
  const { container, record } = ownedFixture(key, web, { id: 'c1' });
  return { identity: container.identity, record };
}

describe('proveOwnership', () => {
  it('owned when the token\'s record names this container and matches every label', () => {
    const { identity, record } = fixture();
    assert.deepEqual(proveOwnership('c1', identity, record), { owned: true });
  });

  it('not owned without a journal record for the token', () => {
    const { identity } = fixture();
    assert.deepEqual(proveOwnership('c1', identity, undefined), { owned: false, reason: 'its owner token was not issued by this agent (no journal entry)' });
  });

  it('copied labels: the record belongs to another container id', () => {
    const { identity, record } = fixture();
    const other = { ...record, containerId: '0123456789abcdef0123' };
    assert.deepEqual(proveOwnership('c2', identity, other), { owned: false, reason: 'its owner token belongs to container 0123456789ab; these labels were copied' });
  });

  it('mismatched labels: project, service, instance or host differ from the record', () => {
    const { identity, record } = fixture();
    for (const change of [{ project: 'other' }, { service: 'api' }, { instance: 2 }, { hostId: 'h2' }]) {
      assert.deepEqual(proveOwnership('c1', { ...identity, ...change }, record), { owned: false, reason: 'its labels do not match the journal entry of its owner token' }, JSON.stringify(change));
    }
  });

  it('a spec-hash label that differs from the record is not owned', () => {
    const { identity, record } = fixture();
    assert.deepEqual(proveOwnership('c1', { ...identity, specHash: 'edited' }, record), { owned: false, reason: 'its spec-hash label does not match the journal' });
  });

  it('a pending record (create intent recorded, container id not yet known) proves ownership of a matching container', () => {
    const { identity, record } = fixture();
    const pending = { ...record, containerId: undefined };
    assert.deepEqual(proveOwnership('anything', identity, pending), { owned: true });
    assert.equal(proveOwnership('anything', { ...identity, instance: 9 }, pending).owned, false);
  });

  it('the copy check comes first: a copied container with edited labels is reported as copied', () => {
    const { identity, record } = fixture();
    assert.match((proveOwnership('c2', { ...identity, instance: 5 }, record) as { reason: string }).reason, /copied/);
  });

  it('property: owned exactly when a record exists, its container id is unknown or equal, and all labels match', () => {
    const { identity, record } = fixture();
    fc.assert(
      fc.property(
        fc.record({
          hasRecord: fc.boolean(),
          recordId: fc.constantFrom<string | undefined>(undefined, 'c1', 'c2'),
          containerId: fc.constantFrom('c1', 'c2'),
          project: fc.constantFrom('shop', 'other'),
          service: fc.constantFrom('web', 'api'),
          instance: fc.integer({ min: 1, max: 2 }),
          hostId: fc.constantFrom('h1', 'h2'),
          specHash: fc.constantFrom(identity.specHash, 'edited'),
        }),
        (c) => {
          const labels: LabelledIdentity = { ...identity, project: c.project, service: c.service, instance: c.instance, hostId: c.hostId, specHash: c.specHash };
          const result = proveOwnership(c.containerId, labels, c.hasRecord ? { ...record, containerId: c.recordId } : undefined);
          const expected = c.hasRecord && (c.recordId === undefined || c.recordId === c.containerId) && c.project === 'shop' && c.service === 'web' && c.instance === 1 && c.hostId === 'h1' && c.specHash === identity.specHash;
          assert.equal(result.owned, expected);
          if (!result.owned) assert.ok(result.reason.length > 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('containers the simulated runtime creates are owned through the records it writes', () => {
    const owners = ownersOf([]);
    const docs = [desired('shop', { web: service({ replicas: 2 }) })];
    const round = planRound({ desired: docs, snapshot: snapshotOf([], { images: [web.image] }), owners });
    const after = applyPlanToSnapshot(snapshotOf([], { images: [web.image] }), round.runnable, owners, 'h1', idSource());
    for (const container of after.containers) {
      const record = owners.get(container.identity.ownerToken);
      assert.equal(record?.containerId, container.id);
      assert.equal(record?.removed, false);
      assert.deepEqual(proveOwnership(container.id, container.identity, record), { owned: true });
    }
    // Removing one marks its record removed; the token then proves nothing for another container.
    const [first] = after.containers;
    assert.ok(first);
    const removed = applyPlanToSnapshot(after, [{ id: 'a1', kind: 'remove', phase: 'cleanup', chain: 'x', key, name: first.name, containerId: first.id, cleanup: true, reason: 'test' }], owners, 'h1', idSource('e'));
    assert.equal(removed.containers.length, 1);
    assert.equal(owners.get(first.identity.ownerToken)?.removed, true);
    assert.equal(proveOwnership('someone-else', first.identity, owners.get(first.identity.ownerToken)).owned, false);
  });
});

describe('changedViewFields', () => {
  const view: ContainerConfigView = {
    name: 'hw-shop-web-1',
    image: 'busybox',
    command: ['sleep', '1'],
    env: ['A=1'],
    labels: { a: '1', b: '2' },
    ports: [],
    mounts: [],
    restart: 'unless-stopped',
    healthcheck: [],
  };

  it('is empty for the same view, whatever the label key order', () => {
    assert.deepEqual(changedViewFields(view, { ...view, labels: { b: '2', a: '1' } }), []);
  });

  it('lists the changed fields, sorted', () => {
    assert.deepEqual(changedViewFields(view, { ...view, restart: 'always', env: ['A=2'], name: 'renamed', command: ['sleep', '2'] }), ['command', 'env', 'name', 'restart']);
  });

  it('an order change inside a list is a change', () => {
    const two = { ...view, env: ['A=1', 'B=2'] };
    assert.deepEqual(changedViewFields(two, { ...two, env: ['B=2', 'A=1'] }), ['env']);
  });
});
