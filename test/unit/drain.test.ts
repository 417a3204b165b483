import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { drainTargets, planDrain, remainingOnHost, withoutHost } from '../../coordinator/drain.js';
import type { DesiredEntry } from '../../coordinator/fleet-client.js';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import { movePhases } from '../../coordinator/move-phases.js';
import { placementHosts } from '../../coordinator/fleet-session.js';
import { renderHosts } from '../../coordinator/cli/render/hosts-view.js';
import { renderDrainPlan } from '../../coordinator/cli/render/drain-view.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import { emptyHostControl, hostControlSchema, type HostControl } from '../../shared/host-control.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desired, service } from '../lib/builders.js';

// Pure tests of the drain: which instances move where, what is left, and the documents written.

/** Replicas of each service on each host, for one project. */
type Layout = Record<string, Record<string, number>>;

function documentsOf(project: string, layout: Layout): Map<string, HostDesired> {
  return new Map(Object.entries(layout).map(([hostId, services]) => [hostId, desired(project, Object.fromEntries(Object.entries(services).map(([name, replicas]) => [name, service({ replicas })])), { hostId, revision: 4 })]));
}

function entriesOf(documents: ReadonlyMap<string, HostDesired>): Map<string, DesiredEntry> {
  return new Map([...documents].map(([hostId, document]) => [hostId, { document, kvRevision: 10 }]));
}

describe('hosts drain: the plan', () => {
  const shop = documentsOf('shop', { h1: { web: 1, db: 1 }, h2: { web: 1 }, h3: { web: 2, cache: 1 } });
  const all = new Map([['shop', shop]]);

  it('moves each instance to the receiving host that runs the fewest of the service; a service no other host runs is left', () => {
    const plan = planDrain('h3', all, new Set(['h1', 'h2']));
    assert.deepEqual(plan.moves, [{ project: 'shop', service: 'web', instances: 2, to: { h1: 2, h2: 2 } }]);
    assert.deepEqual(plan.left.map((entry) => [entry.project, entry.service, entry.instances]), [['shop', 'cache', 1]]);
    assert.match(plan.left[0]?.reason ?? '', /no other host runs it/);
  });

  it('a host that runs the service but is cordoned or not reporting does not receive; the reason names it', () => {
    const plan = planDrain('h1', all, new Set(['h3']));
    assert.deepEqual(plan.moves, [{ project: 'shop', service: 'web', instances: 1, to: { h3: 3 } }]);
    const none = planDrain('h2', all, new Set());
    assert.deepEqual(none.moves, []);
    assert.match(none.left[0]?.reason ?? '', /the other hosts that run it are cordoned or not reporting \(h1, h3\)/);
  });

  it('a host with nothing gives nothing; the plan is the same for the same input', () => {
    assert.deepEqual(planDrain('h9', all, new Set(['h1'])), { hostId: 'h9', moves: [], left: [] });
    assert.deepEqual(planDrain('h3', all, new Set(['h1', 'h2'])), planDrain('h3', all, new Set(['h2', 'h1'])));
  });

  it('property: a drain never lowers a service\'s instance count across the fleet, and moves only to eligible hosts that ran it', () => {
    const layout = fc.dictionary(fc.constantFrom('h1', 'h2', 'h3', 'h4'), fc.dictionary(fc.constantFrom('api', 'web', 'db'), fc.integer({ min: 1, max: 4 })), { minKeys: 1 });
    fc.assert(
      fc.property(layout, fc.subarray(['h1', 'h2', 'h3', 'h4']), fc.constantFrom('h1', 'h2', 'h3', 'h4'), (hosts, eligibleHosts, drained) => {
        const documents = documentsOf('p', hosts);
        const eligible = new Set(eligibleHosts.filter((id) => id !== drained));
        const plan = planDrain(drained, new Map([['p', documents]]), eligible);
        const targets = drainTargets(plan, 'p', entriesOf(documents), { force: false, correlationID: 'c' });
        const after = new Map(documents);
        for (const target of targets) after.set(target.hostId, target.document);
        for (const name of ['api', 'web', 'db']) {
          const count = (docs: ReadonlyMap<string, HostDesired>) => [...docs.values()].reduce((sum, doc) => sum + (doc.services[name]?.replicas ?? 0), 0);
          assert.equal(count(after), count(documents), `${name} keeps its count`);
        }
        for (const move of plan.moves) for (const hostId of Object.keys(move.to)) assert.ok(eligible.has(hostId) && (documents.get(hostId)?.services[move.service]?.replicas ?? 0) > 0);
        // Every moved service is off the drained host afterwards; what is left stays.
        for (const move of plan.moves) assert.equal(after.get(drained)?.services[move.service], undefined);
        for (const left of plan.left) assert.ok(after.get(drained)?.services[left.service] !== undefined);
      }),
      { numRuns: 200 },
    );
  });
});

describe('hosts drain: the documents', () => {
  const shop = documentsOf('shop', { h1: { web: 1 }, h2: { web: 1 }, h3: { web: 2, cache: 1 } });
  const plan = planDrain('h3', new Map([['shop', shop]]), new Set(['h1', 'h2']));

  it('raises the receiving hosts\' replicas and takes the moved services off the drained host, each at the next revision; make-before-break orders them in two phases', () => {
    const targets = drainTargets(plan, 'shop', entriesOf(shop), { force: false, correlationID: 'c1' });
    assert.deepEqual(targets.map((t) => [t.hostId, Object.fromEntries(Object.entries(t.document.services).map(([name, spec]) => [name, spec.replicas])), t.document.revision, t.changed, t.kvRevision]), [
      ['h1', { web: 2 }, 5, true, 10],
      ['h2', { web: 2 }, 5, true, 10],
      ['h3', { cache: 1 }, 5, true, 10],
    ]);
    const phases = movePhases(shop, targets);
    assert.deepEqual([phases.moves, phases.first.map((t) => t.hostId), phases.second.map((t) => t.hostId)], [[{ service: 'web', from: ['h3'], to: ['h1', 'h2'] }], ['h1', 'h2'], ['h3']]);
  });

  it('with --force the left services go too, and an emptied project is allowed to be empty', () => {
    const targets = drainTargets(plan, 'shop', entriesOf(shop), { force: true, correlationID: 'c1' });
    const h3 = targets.find((t) => t.hostId === 'h3');
    assert.deepEqual([h3 && Object.keys(h3.document.services), h3?.document.allowEmpty], [[], true]);
  });

  it('resumed over receiving hosts raised before: they are listed unchanged, so the move still waits for them; nothing is raised twice', () => {
    const raised = new Map(shop);
    for (const target of drainTargets(plan, 'shop', entriesOf(shop), { force: false, correlationID: 'c1' })) if (target.hostId !== 'h3') raised.set(target.hostId, target.document);
    const again = drainTargets(plan, 'shop', entriesOf(raised), { force: false, correlationID: 'c2' });
    assert.deepEqual(again.map((t) => [t.hostId, t.changed, t.document.services.web?.replicas]), [
      ['h1', false, 2],
      ['h2', false, 2],
      ['h3', true, undefined],
    ]);
    // Running one each still (the raised instances not made yet): h1 and h2 still receive.
    const running = new Map<string, Record<string, number>>([['h1', { web: 1 }], ['h2', { web: 1 }], ['h3', { web: 2, cache: 1 }]]);
    const phases = movePhases(raised, again, running);
    assert.deepEqual(phases.second.map((t) => t.hostId), ['h3']);
  });

  it('a receiving host that no longer runs the service takes none; a move nobody can take stays on the drained host', () => {
    const changed = documentsOf('shop', { h1: { other: 1 }, h2: { other: 1 }, h3: { web: 2, cache: 1 } });
    assert.deepEqual(drainTargets(plan, 'shop', entriesOf(changed), { force: false, correlationID: 'c' }), []);
    assert.deepEqual(remainingOnHost(plan, new Map([['shop', changed.get('h3') as HostDesired]]), false), [{ project: 'shop', service: 'web', instances: 2 }]);
  });
});

describe('hosts drain: the remotes of a project spread over hosts', () => {
  const KEY = (n: number) => `U${String(n).repeat(55)}`;
  // web (h1) -> api (h2, h3), db (h2): each document names where the services it does not run are placed.
  const spread = new Map<string, HostDesired>([
    ['h1', { ...desired('shop', { web: service() }, { hostId: 'h1', revision: 4 }), remotes: { api: { h2: { key: KEY(2) }, h3: { key: KEY(3) } }, db: { h2: { key: KEY(2) } } } }],
    ['h2', { ...desired('shop', { api: service(), db: service() }, { hostId: 'h2', revision: 4 }), remotes: { api: { h3: { key: KEY(3) } }, web: { h1: { key: KEY(1) } } } }],
    ['h3', { ...desired('shop', { api: service() }, { hostId: 'h3', revision: 4 }), remotes: { api: { h2: { key: KEY(2) } }, db: { h2: { key: KEY(2) } }, web: { h1: { key: KEY(1) } } } }],
  ]);
  const plan = planDrain('h3', new Map([['shop', spread]]), new Set(['h1', 'h2']));

  it('the other hosts stop naming the drained host for what it gives up, in the first phase; the drained host\'s own document keeps its remotes', () => {
    const targets = drainTargets(plan, 'shop', entriesOf(spread), { force: false, correlationID: 'c1' });
    assert.deepEqual(targets.map((t) => [t.hostId, t.document.remotes, t.document.revision, t.changed]), [
      ['h1', { api: { h2: { key: KEY(2) } }, db: { h2: { key: KEY(2) } } }, 5, true],
      ['h2', { web: { h1: { key: KEY(1) } } }, 5, true],
      ['h3', spread.get('h3')?.remotes, 5, true],
    ]);
    assert.deepEqual(targets.find((t) => t.hostId === 'h2')?.document.services.api?.replicas, 2);
    const phases = movePhases(spread, targets);
    assert.deepEqual([phases.first.map((t) => t.hostId), phases.second.map((t) => t.hostId)], [['h1', 'h2'], ['h3']]);
    // Resumed after the first run wrote h1 and h2: nothing more for h1, h2 listed unchanged (it still receives).
    const written = new Map(spread);
    for (const target of targets) if (target.hostId !== 'h3') written.set(target.hostId, target.document);
    assert.deepEqual(drainTargets(plan, 'shop', entriesOf(written), { force: false, correlationID: 'c2' }).map((t) => [t.hostId, t.changed]), [['h2', false], ['h3', true]]);
  });

  it('a service left on the drained host stays trusted there; a project on one host gets no remotes', () => {
    const pinned = new Map(spread);
    pinned.set('h3', { ...spread.get('h3')!, services: { ...spread.get('h3')!.services, cache: service() } });
    pinned.set('h1', { ...spread.get('h1')!, remotes: { ...spread.get('h1')!.remotes, cache: { h3: { key: KEY(3) } } } });
    const left = planDrain('h3', new Map([['shop', pinned]]), new Set(['h1', 'h2']));
    const h1 = drainTargets(left, 'shop', entriesOf(pinned), { force: false, correlationID: 'c' }).find((t) => t.hostId === 'h1');
    assert.deepEqual(h1?.document.remotes?.cache, { h3: { key: KEY(3) } });
    assert.equal(h1?.document.remotes?.api?.h3, undefined);
    const single = documentsOf('solo', { h1: { web: 1 }, h3: { web: 1 } });
    for (const target of drainTargets(planDrain('h3', new Map([['solo', single]]), new Set(['h1'])), 'solo', entriesOf(single), { force: false, correlationID: 'c' })) assert.equal(target.document.remotes, undefined);
  });

  it('withoutHost: an emptied entry goes unless none would be left (the containers keep the fleet resolver); untouched remotes are the same object', () => {
    const remotes = { api: { h3: {} }, db: { h2: {} } };
    assert.deepEqual(withoutHost(remotes, 'h3', ['api']), { db: { h2: {} } });
    assert.deepEqual(withoutHost({ api: { h3: {} } }, 'h3', ['api']), { api: {} });
    assert.equal(withoutHost(remotes, 'h3', ['db']), remotes);
    assert.equal(withoutHost(undefined, 'h3', ['api']), undefined);
  });
});

describe('a drained host in placement', () => {
  const fleet = fleetFileSchema.parse({
    project: 'shop',
    services: {
      web: { image: 'hw/busybox:test', placement: { selector: { role: 'web' } } },
      db: { image: 'hw/busybox:test', placement: { hosts: ['h2'] } },
    },
  });
  const hosts = [
    { hostId: 'h1', labels: { role: 'web' } },
    { hostId: 'h2', labels: { role: 'web' } },
  ];
  const registration = (hostId: string) => ({ hostId, labels: { role: 'web' }, agentVersion: '1', startedAt: 's', heartbeatAt: 'h' });
  const drainedControl = (force: boolean): HostControl => ({
    ...emptyHostControl('h2', 'now'),
    cordon: { reason: 'drain', at: 'now' },
    drain: { state: 'drained', startedAt: 'now', force, moves: [{ project: 'shop', service: 'web', instances: 1, to: { h1: 2 } }], left: [{ project: 'shop', service: 'db', instances: 1, reason: 'no other host runs it' }] },
  });

  it('is ineligible for existing placements too: an apply gives it only what the drain left (nothing with --force)', () => {
    const before = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(before.map((t) => [t.hostId, { document: t.document, kvRevision: 1 }]));
    for (const [force, kept] of [[false, ['db']], [true, []]] as const) {
      assert.ok(hostControlSchema.safeParse(drainedControl(force)).success);
      const { cordons } = placementHosts([registration('h1'), registration('h2')], { controls: new Map([['h2', { control: drainedControl(force), kvRevision: 2 }]]), refused: [] });
      const h2 = fleetTargets(fleet, hosts, existing, 'c2', { cordons }).find((t) => t.hostId === 'h2');
      assert.deepEqual(h2 && [Object.keys(h2.document.services), h2.changed], [kept, true]);
    }
  });

  it('hosts shows DRAINING or DRAINED and what was left; the plan view names moves and what is left or stopped', () => {
    const control = drainedControl(false);
    const text = renderHosts([{ ...registration('h2'), heartbeatAt: new Date().toISOString(), trust: 'verified', cordon: control.cordon ?? null, drain: control.drain ?? null }]);
    assert.match(text, /h2 .*DRAINED/);
    assert.match(text, /h2: DRAINED at .*: 1 service\(s\) moved; left there: shop\/db/);
    const view = renderDrainPlan({ hostId: 'h2', moves: control.drain?.moves ?? [], left: control.drain?.left ?? [] }, true, false);
    assert.match(view, /move +shop\/web: 1 instance\(s\) -> h1 \(2 replica\(s\) after\)/);
    assert.match(view, /stop +shop\/db: 1 instance\(s\): no other host runs it/);
  });
});
