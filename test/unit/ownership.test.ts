import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { issueOwnerToken, ownerTokenValid, ownerTokenVerifier } from '../../agent/core/owner-token.js';
import { changedViewFields, proveOwnership, viewChanges } from '../../agent/core/ownership.js';
import type { ContainerConfigView, LabelledIdentity, OwnerRecord } from '../../agent/core/snapshot.js';
import { desired, service } from '../lib/builders.js';
import { TEST_OWNER_SECRET, testToken, verifyTestToken } from '../lib/owner-tokens.js';
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
    assert.deepEqual(proveOwnership('c1', identity, record, verifyTestToken), { owned: true });
  });

  it('not owned without a journal record for the token', () => {
    const { identity } = fixture();
    assert.deepEqual(proveOwnership('c1', identity, undefined, verifyTestToken), { owned: false, reason: 'its owner token was not issued by this agent (no journal entry)' });
  });

  it('copied labels: the record belongs to another container id', () => {
    const { identity, record } = fixture();
    const other = { ...record, containerId: '0123456789abcdef0123' };
    assert.deepEqual(proveOwnership('c2', identity, other, verifyTestToken), { owned: false, reason: 'its owner token belongs to container 0123456789ab; these labels were copied' });
  });

  it('mismatched labels: project, service, instance or host differ from the record', () => {
    const { identity, record } = fixture();
    for (const change of [{ project: 'other' }, { service: 'api' }, { instance: 2 }, { hostId: 'h2' }]) {
      assert.deepEqual(proveOwnership('c1', { ...identity, ...change }, record, verifyTestToken), { owned: false, reason: 'its labels do not match the journal entry of its owner token' }, JSON.stringify(change));
    }
  });

  it('a spec-hash label that differs from the record is not owned', () => {
    const { identity, record } = fixture();
    assert.deepEqual(proveOwnership('c1', { ...identity, specHash: 'edited' }, record, verifyTestToken), { owned: false, reason: 'its spec-hash label does not match the journal' });
  });

  it('a pending record (create intent recorded, container id not yet known) proves ownership of a matching container', () => {
    const { identity, record } = fixture();
    const pending = { ...record, containerId: undefined };
    assert.deepEqual(proveOwnership('anything', identity, pending, verifyTestToken), { owned: true });
    assert.equal(proveOwnership('anything', { ...identity, instance: 9 }, pending, verifyTestToken).owned, false);
  });

  it('the copy check comes first: a copied container with edited labels is reported as copied', () => {
    const { identity, record } = fixture();
    assert.match((proveOwnership('c2', { ...identity, instance: 5 }, record, verifyTestToken) as { reason: string }).reason, /copied/);
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
          const result = proveOwnership(c.containerId, labels, c.hasRecord ? { ...record, containerId: c.recordId } : undefined, verifyTestToken);
          const expected = c.hasRecord && (c.recordId === undefined || c.recordId === c.containerId) && c.project === 'shop' && c.service === 'web' && c.instance === 1 && c.hostId === 'h1' && c.specHash === identity.specHash;
          assert.equal(result.owned, expected);
          if (!result.owned) assert.ok(result.reason.length > 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a token this host did not sign is not owned, even with a matching journal entry', () => {
    const { identity, record } = fixture();
    const minted = { ...identity, ownerToken: 'token-c1.bm90LWFuLWhtYWM' };
    assert.deepEqual(proveOwnership('c1', minted, { ...record, ownerToken: minted.ownerToken }, verifyTestToken), { owned: false, reason: 'its owner token does not carry this host\'s HMAC over these labels' });
    const otherHost = ownerTokenVerifier(new Uint8Array(32).fill(9));
    assert.equal(proveOwnership('c1', identity, record, otherHost).owned, false, 'another host\'s secret does not verify this host\'s token');
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
      assert.deepEqual(proveOwnership(container.id, container.identity, record, verifyTestToken), { owned: true });
    }
    // Removing one marks its record removed; the token then proves nothing for another container.
    const [first] = after.containers;
    assert.ok(first);
    const removed = applyPlanToSnapshot(after, [{ id: 'a1', kind: 'remove', phase: 'cleanup', chain: 'x', key, name: first.name, containerId: first.id, cleanup: true, reason: 'test' }], owners, 'h1', idSource('e'));
    assert.equal(removed.containers.length, 1);
    assert.equal(owners.get(first.identity.ownerToken)?.removed, true);
    assert.equal(proveOwnership('someone-else', first.identity, owners.get(first.identity.ownerToken), verifyTestToken).owned, false);
  });
});

describe('owner tokens', () => {
  const identity = { hostId: 'h1', project: 'shop', service: 'web', instance: 1, specHash: 'abc' };

  it('verify for the identity they were issued for, and for no other', () => {
    const token = issueOwnerToken(TEST_OWNER_SECRET, identity, 'n1');
    assert.equal(ownerTokenValid(TEST_OWNER_SECRET, { ...identity, ownerToken: token }), true);
    for (const change of [{ hostId: 'h2' }, { project: 'other' }, { service: 'api' }, { instance: 2 }, { specHash: 'abd' }]) {
      assert.equal(ownerTokenValid(TEST_OWNER_SECRET, { ...identity, ...change, ownerToken: token }), false, JSON.stringify(change));
    }
  });

  it('property: a token with any changed character, or from another secret, never verifies', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), fc.nat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), (nonce, position, otherSecret) => {
        const token = issueOwnerToken(TEST_OWNER_SECRET, identity, nonce);
        const at = position % token.length;
        const flipped = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
        assert.equal(ownerTokenValid(TEST_OWNER_SECRET, { ...identity, ownerToken: flipped }), false);
        const sameSecret = otherSecret.every((byte, i) => byte === TEST_OWNER_SECRET[i]);
        assert.equal(ownerTokenValid(otherSecret, { ...identity, ownerToken: token }), sameSecret);
        assert.equal(testToken(identity, nonce), token);
      }),
      { numRuns: 300 },
    );
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

describe('viewChanges: a container modified outside Hostwright, field by field', () => {
  it('old is what the container has now, new what Hostwright made; env values only as digests; a rename alone replaces nothing', () => {
    const created = { name: 'hw-shop-web-1', image: 'nginx:1.27', command: [], env: ['MODE=a', 'DB_PASSWORD=s3cr3t-9f'], labels: {}, ports: [], mounts: [], restart: 'no', healthcheck: [] } as ContainerConfigView;
    const observed = { ...created, name: 'renamed', env: ['MODE=b', 'DB_PASSWORD=s3cr3t-9f'] } as ContainerConfigView;
    const changes = viewChanges(created, observed);
    assert.deepEqual(changes.map((change) => [change.field, change.type, change.forces]), [['env', 'edited', true], ['name', 'edited', false]]);
    assert.deepEqual([changes[1]?.old, changes[1]?.new], ['renamed', 'hw-shop-web-1']);
    assert.ok(!JSON.stringify(changes).includes('s3cr3t-9f') && !JSON.stringify(changes).includes('MODE=a'), JSON.stringify(changes));
    assert.match(String((changes[0]?.old as string[])[0]), /^MODE=\(sha256 [0-9a-f]{12}…\)$/);
  });
});
