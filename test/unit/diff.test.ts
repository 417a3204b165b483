import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostDesired } from '../../shared/host-desired.js';
import { runtimeConfigOf } from '../../shared/fleet-spec.js';
import { changedConfigFields, diffHost, type DiffEntry, type HostDiff } from '../../agent/core/diff.js';
import { specHashOf } from '../../agent/core/spec-hash.js';
import { containerName, instanceKeyString, type ObservedContainer, type OwnerRecord } from '../../agent/core/snapshot.js';
import { TEST_IMAGE, desired, service } from '../lib/builders.js';
import { NAME_PREFIX, scenarioArb } from '../lib/arbitraries.js';
import { FIXTURE_PREFIX, journalViewOf, labelledFixture, ownedFixture, ownersOf, snapshotOf } from '../lib/simulated-runtime.js';

const web = service();
const key = (instance: number, svc = 'web', project = 'shop') => ({ project, service: svc, instance });

function diff(docs: readonly HostDesired[], containers: readonly ObservedContainer[], records: readonly OwnerRecord[], foreignNames: readonly string[] = []): HostDiff {
  return diffHost({ desired: docs, snapshot: snapshotOf(containers, { images: [TEST_IMAGE], foreignNames }), journal: journalViewOf(ownersOf(records)), namePrefix: FIXTURE_PREFIX });
}

function entriesOf(result: HostDiff, project = 'shop'): readonly DiffEntry[] {
  const found = result.projects.find((p) => p.project === project);
  assert.ok(found, `no diff for project ${project}`);
  return found.entries;
}

/** "kind key [container id]" per entry: order and kinds at a glance. */
function summary(entries: readonly DiffEntry[]): string[] {
  return entries.map((entry) => {
    const key = entry.kind === 'unowned' ? entry.container.identity : entry.key;
    const container = 'container' in entry ? ` ${entry.container.id}` : '';
    return `${entry.kind} ${instanceKeyString(key)}${container}`;
  });
}

describe('diffHost: create', () => {
  it('an instance never created is a create with cause "new", carrying the spec hash and runtime config', () => {
    const [entry] = entriesOf(diff([desired('shop', { web })], [], []));
    // Plugged into the project's default network, reachable as "web" and "web-1".
    const attach = { networks: [{ name: 'hw-shop_default', aliases: ['web', 'web-1'] }], volumes: {} };
    assert.deepEqual(entry, { kind: 'create', key: key(1), name: 'hw-shop-web-1', specHash: specHashOf(web), config: runtimeConfigOf(web), attach, cause: 'new' });
  });

  it('an instance whose recorded container is gone is a create with cause "missing"', () => {
    const { record } = ownedFixture(key(1), web, { id: 'gone' });
    const [entry] = entriesOf(diff([desired('shop', { web })], [], [record]));
    assert.equal(entry?.kind === 'create' && entry.cause, 'missing');
  });

  it('a record Hostwright removed, or one whose create never finished, gives cause "new"', () => {
    const removed = { ...ownedFixture(key(1), web, { id: 'gone' }).record, removed: true };
    const pending = ownedFixture(key(2), web, { id: 'x', pending: true }).record;
    const entries = entriesOf(diff([desired('shop', { web: service({ replicas: 2 }) })], [], [removed, pending]));
    assert.deepEqual(
      entries.map((e) => e.kind === 'create' && e.cause),
      ['new', 'new'],
    );
  });

  it('the latest record (highest intent sequence) decides', () => {
    const older = { ...ownedFixture(key(1), web, { id: 'old', intentSeq: 1 }).record };
    const newer = { ...ownedFixture(key(1), web, { id: 'new', intentSeq: 2 }).record, removed: true };
    const [entry] = entriesOf(diff([desired('shop', { web })], [], [newer, older]));
    assert.equal(entry?.kind === 'create' && entry.cause, 'new');
  });
});

describe('diffHost: replace', () => {
  it('a container with another spec hash is replaced, listing the fields that changed per the journal', () => {
    const { container, record } = ownedFixture(key(1), service({ image: 'nginx:1.27', env: { A: '1' } }), { id: 'c1' });
    const current = service({ env: { A: '2' }, stop_timeout: '5s' });
    const [entry] = entriesOf(diff([desired('shop', { web: current })], [container], [record]));
    assert.equal(entry?.kind, 'replace');
    assert.ok(entry?.kind === 'replace');
    assert.deepEqual(entry.changedFields, ['env', 'image', 'stop_timeout']);
    assert.equal(entry.specHash, specHashOf(current));
    assert.equal(entry.container.id, 'c1');
    assert.equal(entry.name, 'hw-shop-web-1');
  });

  it('replica count, drift policy and pull policy are not part of the spec: no replace', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1' });
    const [entry] = entriesOf(diff([desired('shop', { web: service({ drift: 'report', pull_policy: 'never' }) })], [container], [record]));
    assert.equal(entry?.kind, 'in-sync');
  });

  it('changed fields are unknown when the latest record is not the container\'s spec', () => {
    const { container, record } = ownedFixture(key(1), service({ image: 'nginx:1.27' }), { id: 'c1', intentSeq: 1 });
    const pending = ownedFixture(key(1), web, { id: 'x', pending: true, intentSeq: 2 }).record;
    const [entry] = entriesOf(diff([desired('shop', { web })], [container], [record, pending]));
    assert.deepEqual(entry?.kind === 'replace' && entry.changedFields, ['(unknown: previous spec not in journal)']);
  });

  it('changedConfigFields compares canonically and treats a missing field as null', () => {
    const a = runtimeConfigOf(service({ env: { A: '1', B: '2' }, healthcheck: { test: ['CMD', 'true'] } }));
    const b = runtimeConfigOf(service({ env: { B: '2', A: '1' } }));
    assert.deepEqual(changedConfigFields(a, b), ['healthcheck']);
    assert.deepEqual(changedConfigFields(a, a), []);
  });
});

describe('diffHost: stopped, modified, unhealthy, in-sync', () => {
  it('an exited container is stopped (not never-started); a created one is never-started', () => {
    const exited = ownedFixture(key(1), web, { id: 'c1', state: 'exited' });
    const created = ownedFixture(key(2), web, { id: 'c2', state: 'created' });
    const entries = entriesOf(diff([desired('shop', { web: service({ replicas: 2 }) })], [exited.container, created.container], [exited.record, created.record]));
    assert.deepEqual(
      entries.map((e) => e.kind === 'stopped' && [e.container.id, e.neverStarted]),
      [
        ['c1', false],
        ['c2', true],
      ],
    );
  });

  it('a restarting container counts as running', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1', state: 'restarting' });
    assert.equal(entriesOf(diff([desired('shop', { web })], [container], [record]))[0]?.kind, 'in-sync');
  });

  it('a container with modified fields is modified, before stopped or unhealthy', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1', modifiedFields: ['env'], state: 'exited' });
    const [entry] = entriesOf(diff([desired('shop', { web })], [container], [record]));
    assert.equal(entry?.kind, 'modified');
    assert.ok(entry?.kind === 'modified');
    assert.equal(entry.name, 'hw-shop-web-1');
    assert.equal(entry.specHash, specHashOf(web));
  });

  it('a container under another name is modified', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1', name: 'renamed' });
    assert.equal(entriesOf(diff([desired('shop', { web })], [container], [record]))[0]?.kind, 'modified');
  });

  it('a spec change wins over modification', () => {
    const { container, record } = ownedFixture(key(1), service({ image: 'nginx:1.27' }), { id: 'c1', modifiedFields: ['env'] });
    assert.equal(entriesOf(diff([desired('shop', { web })], [container], [record]))[0]?.kind, 'replace');
  });

  it('a running unhealthy container is unhealthy; healthy and starting are in sync', () => {
    const sick = ownedFixture(key(1), web, { id: 'c1', health: 'unhealthy' });
    const fine = ownedFixture(key(2), web, { id: 'c2', health: 'healthy' });
    const booting = ownedFixture(key(3), web, { id: 'c3', health: 'starting' });
    const all = [sick, fine, booting];
    const entries = entriesOf(
      diff(
        [desired('shop', { web: service({ replicas: 3 }) })],
        all.map((c) => c.container),
        all.map((c) => c.record),
      ),
    );
    assert.deepEqual(summary(entries), ['unhealthy shop/web/1 c1', 'in-sync shop/web/2 c2', 'in-sync shop/web/3 c3']);
  });
});

describe('diffHost: remove', () => {
  it('instances beyond replicas are scaled-down removes; a service no longer desired is service-removed', () => {
    const one = ownedFixture(key(1), web, { id: 'c1' });
    const two = ownedFixture(key(2), web, { id: 'c2' });
    const api = ownedFixture(key(1, 'api'), web, { id: 'c3' });
    const all = [one, two, api];
    const entries = entriesOf(
      diff(
        [desired('shop', { web })],
        all.map((c) => c.container),
        all.map((c) => c.record),
      ),
    );
    assert.deepEqual(summary(entries), ['remove shop/api/1 c3', 'in-sync shop/web/1 c1', 'remove shop/web/2 c2']);
    assert.deepEqual(
      entries.map((e) => e.kind === 'remove' && e.cause),
      ['service-removed', false, 'scaled-down'],
    );
  });

  it('a service scaled to zero removes all its instances', () => {
    const one = ownedFixture(key(1), web, { id: 'c1' });
    const entries = entriesOf(diff([desired('shop', { web: service({ replicas: 0 }) })], [one.container], [one.record]));
    assert.deepEqual(
      entries.map((e) => e.kind === 'remove' && e.cause),
      ['scaled-down'],
    );
  });

  it('duplicates: keeps current spec first, then serving, then expected name, then running, then newest, then smallest id', () => {
    const cases: { readonly name: string; readonly keep: ReturnType<typeof ownedFixture>; readonly other: ReturnType<typeof ownedFixture> }[] = [
      { name: 'current spec', keep: ownedFixture(key(1), web, { id: 'b', name: 'x', state: 'exited', ownerToken: 't1' }), other: ownedFixture(key(1), service({ image: 'nginx:1.27' }), { id: 'a', createdAt: 5, ownerToken: 't2' }) },
      { name: 'serving', keep: ownedFixture(key(1), web, { id: 'b', name: 'x', ownerToken: 't1' }), other: ownedFixture(key(1), web, { id: 'a', state: 'exited', createdAt: 5, ownerToken: 't2' }) },
      { name: 'expected name', keep: ownedFixture(key(1), web, { id: 'b', ownerToken: 't1' }), other: ownedFixture(key(1), web, { id: 'a', name: 'x', createdAt: 5, ownerToken: 't2' }) },
      { name: 'running', keep: ownedFixture(key(1), web, { id: 'b', name: 'x', health: 'unhealthy', ownerToken: 't1' }), other: ownedFixture(key(1), web, { id: 'a', name: 'y', state: 'exited', createdAt: 5, ownerToken: 't2' }) },
      { name: 'newest', keep: ownedFixture(key(1), web, { id: 'b', name: 'x', createdAt: 2, ownerToken: 't1' }), other: ownedFixture(key(1), web, { id: 'a', name: 'y', createdAt: 1, ownerToken: 't2' }) },
      { name: 'smallest id', keep: ownedFixture(key(1), web, { id: 'a', name: 'x', ownerToken: 't1' }), other: ownedFixture(key(1), web, { id: 'b', name: 'y', ownerToken: 't2' }) },
    ];
    for (const { name, keep, other } of cases) {
      for (const order of [
        [keep, other],
        [other, keep],
      ]) {
        const entries = entriesOf(
          diff(
            [desired('shop', { web })],
            order.map((c) => c.container),
            order.map((c) => c.record),
          ),
        );
        const removed = entries.filter((e) => e.kind === 'remove');
        assert.deepEqual(
          removed.map((e) => e.kind === 'remove' && [e.cause, e.container.id]),
          [['duplicate', other.container.id]],
          name,
        );
        const kept = entries.find((e) => e.kind !== 'remove');
        assert.equal(kept && 'container' in kept && kept.container.id, keep.container.id, name);
      }
    }
  });
});

describe('diffHost: name conflicts and unowned containers', () => {
  it('a foreign container holding the name blocks the create with a name-conflict', () => {
    const entries = entriesOf(diff([desired('shop', { web })], [], [], ['hw-shop-web-1']));
    assert.deepEqual(entries, [{ kind: 'name-conflict', key: key(1), name: 'hw-shop-web-1', holder: 'container hw-shop-web-1 (not managed by Hostwright on this host)' }]);
  });

  it('an unowned labelled container is reported, never used as the instance, and its name blocks the create', () => {
    const identity = { ...key(1), hostId: 'h1', specHash: specHashOf(web), ownerToken: 'stolen' };
    const intruder = labelledFixture('123456789abcdef0', 'hw-shop-web-1', identity, ownersOf([]));
    const entries = entriesOf(diff([desired('shop', { web })], [intruder], []));
    assert.deepEqual(summary(entries), ['name-conflict shop/web/1', 'unowned shop/web/1 123456789abcdef0']);
    const [conflict, unowned] = entries;
    assert.equal(conflict?.kind === 'name-conflict' && conflict.holder, "container 123456789abc (labelled as Hostwright's but not owned: its owner token was not issued by this agent (no journal entry))");
    assert.equal(unowned?.kind === 'unowned' && unowned.reason, 'its owner token was not issued by this agent (no journal entry)');
  });

  it('an unowned container under another name is reported and does not block the create', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1' });
    const copy = labelledFixture('c2', 'hw-shop-web-1-copy', container.identity, ownersOf([record]));
    const entries = entriesOf(diff([desired('shop', { web: service({ replicas: 2 }) })], [container, copy], [record]));
    assert.deepEqual(summary(entries), ['in-sync shop/web/1 c1', 'unowned shop/web/1 c2', 'create shop/web/2']);
  });

  it('an owned container of the instance wins over an unowned one with the same labels', () => {
    const { container, record } = ownedFixture(key(1), web, { id: 'c1', name: 'hw-shop-web-1-x' });
    const copy = labelledFixture('c2', 'hw-shop-web-1', container.identity, ownersOf([record]));
    const entries = entriesOf(diff([desired('shop', { web })], [container, copy], [record]));
    assert.deepEqual(summary(entries), ['modified shop/web/1 c1', 'unowned shop/web/1 c2']);
  });
});

describe('diffHost: shape', () => {
  it('projects come sorted, with their revisions; entries sorted by service, instance, kind, container', () => {
    const a = ownedFixture(key(2, 'db', 'zeta'), web, { id: 'c1' });
    const result = diff([desired('zeta', { web, db: service({ replicas: 2 }) }, { revision: 7 }), desired('alpha', { web })], [a.container], [a.record]);
    assert.equal(result.hostId, 'h1');
    assert.deepEqual(
      result.projects.map((p) => [p.project, p.revision]),
      [
        ['alpha', 1],
        ['zeta', 7],
      ],
    );
    assert.deepEqual(summary(entriesOf(result, 'zeta')), ['create zeta/db/1', 'in-sync zeta/db/2 c1', 'create zeta/web/1']);
  });

  it('containers of projects not desired are not looked at', () => {
    const other = ownedFixture(key(1, 'web', 'old'), web, { id: 'c1' });
    const result = diff([desired('shop', { web })], [other.container], [other.record]);
    assert.deepEqual(summary(entriesOf(result)), ['create shop/web/1']);
  });

  it('names use the prefix: prefix + project-service-n', () => {
    assert.equal(containerName('hw-', key(3)), 'hw-shop-web-3');
    const result = diffHost({ desired: [desired('shop', { web })], snapshot: snapshotOf([]), journal: journalViewOf(new Map()), namePrefix: '' });
    const [entry] = entriesOf(result);
    assert.equal(entry?.kind === 'create' && entry.name, 'shop-web-1');
  });

  it('property: every desired instance gets exactly one instance entry; every owned container of a desired project is accounted for once', () => {
    fc.assert(
      fc.property(scenarioArb(), (scenario) => {
        const result = diffHost({ desired: scenario.desired, snapshot: scenario.snapshot, journal: journalViewOf(ownersOf(scenario.owners)), namePrefix: NAME_PREFIX });
        for (const doc of scenario.desired) {
          const entries = entriesOf(result, doc.project);
          const instanceEntries = entries.flatMap((e) => (e.kind === 'remove' || e.kind === 'unowned' ? [] : [instanceKeyString(e.key)]));
          const wanted = Object.entries(doc.services).flatMap(([name, spec]) => Array.from({ length: spec.replicas }, (_, i) => instanceKeyString({ project: doc.project, service: name, instance: i + 1 })));
          assert.deepEqual([...instanceEntries].sort(), [...wanted].sort());
          const seen = entries.flatMap((e) => ('container' in e ? [e.container.id] : []));
          // A serving duplicate is kept (not listed) while the instance's current container runs but does not serve yet.
          const serving = (c: { state: string; health: string }) => c.state === 'running' && (c.health === 'healthy' || c.health === 'none');
          const keepsItsContainer = (e: (typeof entries)[number]) => e.kind === 'in-sync' || e.kind === 'unhealthy' || (e.kind === 'modified' && e.container.modifiedFields.every((field) => field === 'name'));
          const waiting = entries.flatMap((e) => (keepsItsContainer(e) && 'container' in e && e.container.state === 'running' && !serving(e.container) ? [e.container] : []));
          const kept = scenario.snapshot.containers.filter((c) => c.ownership.owned && serving(c) && waiting.some((w) => w.id !== c.id && instanceKeyString(w.identity) === instanceKeyString(c.identity)));
          const expected = scenario.snapshot.containers.filter((c) => c.identity.project === doc.project && !kept.includes(c)).map((c) => c.id);
          assert.deepEqual([...seen].sort(), [...expected].sort());
        }
      }),
      { numRuns: 200 },
    );
  });
});
