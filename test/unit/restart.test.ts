import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredEntry } from '../../coordinator/fleet-client.js';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import { nextGeneration, restartTargets } from '../../coordinator/restart.js';
import { requiredSchema } from '../../shared/desired-schema.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import type { HostDesired } from '../../shared/host-desired.js';
import { desired, service } from '../lib/builders.js';
import { ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';

// Pure tests of `restart`: the coordinator's documents, and the agent's diff and plan of a restart generation.

const NOW = 1_800_000_000;

describe('restart: the documents the coordinator writes', () => {
  const web = service({ replicas: 2 });
  const current = new Map<string, DesiredEntry>([
    ['h1', { document: desired('shop', { web, db: service() }, { hostId: 'h1', revision: 3 }), kvRevision: 7 }],
    ['h2', { document: desired('shop', { web }, { hostId: 'h2', revision: 5, restarts: { web: NOW - 10 } }), kvRevision: 8 }],
    ['h3', { document: desired('shop', { db: service() }, { hostId: 'h3', revision: 2 }), kvRevision: 9 }],
  ]);

  it('raises the service\'s generation on every host that runs it, at the next revision; other hosts are not written', () => {
    const targets = restartTargets('shop', current, ['web'], { correlationID: 'c1', nowSeconds: NOW });
    assert.deepEqual(targets.map((t) => [t.hostId, t.document.restarts, t.document.revision, t.kvRevision, t.changed, t.document.correlationID]), [
      ['h1', { web: NOW }, 4, 7, true, 'c1'],
      ['h2', { web: NOW }, 6, 8, true, 'c1'],
    ]);
    assert.deepEqual(targets[0]?.document.services, current.get('h1')?.document.services, 'the services themselves are unchanged');
    assert.equal(requiredSchema(targets[0]?.document as HostDesired).schema, 5, 'an agent that cannot restart refuses the document by name');
  });

  it('--host restricts it to one host; a service no host runs is refused with the close name and those that run', () => {
    assert.deepEqual(restartTargets('shop', current, ['db'], { hostId: 'h3', correlationID: 'c', nowSeconds: NOW }).map((t) => t.hostId), ['h3']);
    assert.throws(() => restartTargets('shop', current, ['wbe'], { correlationID: 'c', nowSeconds: NOW }), (error: unknown) => error instanceof InvalidInputError && /no instance of it runs in project shop; did you mean "web"\?; its services there: db, web/.test(error.message));
    assert.throws(() => restartTargets('shop', current, ['web'], { hostId: 'h3', correlationID: 'c', nowSeconds: NOW }), /project shop on host h3/);
  });

  it('a generation only goes up: above the current one, and at least the time in seconds', () => {
    assert.equal(nextGeneration(undefined, NOW + 0.7), NOW);
    assert.equal(nextGeneration(NOW + 5, NOW), NOW + 6);
  });

  it('apply carries a host\'s generations over for the services it keeps (the fleet file has none)', () => {
    const fleet = fleetFileSchema.parse({ project: 'shop', services: { web: { image: 'hw/busybox:test' } } });
    const before = fleetTargets(fleet, [{ hostId: 'h1', labels: {} }], new Map(), 'c1')[0] as { document: HostDesired };
    const restarted = { ...before.document, restarts: { web: NOW, gone: NOW } };
    const again = fleetTargets(fleet, [{ hostId: 'h1', labels: {} }], new Map([['h1', { document: restarted, kvRevision: 2 }]]), 'c2')[0];
    assert.deepEqual([again?.document.restarts, again?.changed], [{ web: NOW }, true]);
    const settled = fleetTargets(fleet, [{ hostId: 'h1', labels: {} }], new Map([['h1', { document: { ...restarted, restarts: { web: NOW } }, kvRevision: 3 }]]), 'c3')[0];
    assert.equal(settled?.changed, false, 'an unchanged file with the same generation writes nothing');
  });
});

describe('restart: the agent\'s diff and plan', () => {
  const web = service({ replicas: 2, healthcheck: { test: ['CMD', 'true'], interval: '1s', retries: 1 } });
  const one = ownedFixture({ project: 'shop', service: 'web', instance: 1 }, web, { id: 'c1'.padEnd(64, '0'), health: 'healthy' });
  const two = ownedFixture({ project: 'shop', service: 'web', instance: 2 }, web, { id: 'c2'.padEnd(64, '0'), health: 'healthy' });
  const snapshot = snapshotOf([one.container, two.container], { images: ['hw/busybox:test'] });

  it('a generation above the containers\' is one chain per service: each instance stopped, started and healthy before the next, in place', () => {
    const round = planRound({ desired: [desired('shop', { web }, { restarts: { web: 7 } })], snapshot, owners: ownersOf([one.record, two.record]) });
    assert.deepEqual(round.diff.projects[0]?.entries.map((entry) => entry.kind), ['restart', 'restart']);
    assert.deepEqual(round.plan.actions.map((action) => [action.kind, action.chain, 'key' in action ? action.key.instance : 0, 'containerId' in action ? action.containerId?.slice(0, 2) : undefined]), [
      ['stop', 'restart:shop/web', 1, 'c1'],
      ['start', 'restart:shop/web', 1, 'c1'],
      ['await-healthy', 'restart:shop/web', 1, undefined],
      ['stop', 'restart:shop/web', 2, 'c2'],
      ['start', 'restart:shop/web', 2, 'c2'],
      ['await-healthy', 'restart:shop/web', 2, undefined],
    ]);
    const start = round.plan.actions.find((action) => action.kind === 'start');
    assert.equal(start?.kind === 'start' ? start.restartGeneration : undefined, 7);
    assert.ok(!round.plan.actions.some((action) => action.kind === 'create' || action.kind === 'remove'), 'never a replacement');
  });

  it('nothing to do once the journal records the generation for the container (or without a generation); the next generation restarts again', () => {
    const restarted = ownersOf([{ ...one.record, restartGeneration: 7 }, { ...two.record, restartGeneration: 7 }]);
    assert.deepEqual(planRound({ desired: [desired('shop', { web }, { restarts: { web: 7 } })], snapshot, owners: restarted }).plan.actions, []);
    assert.deepEqual(planRound({ desired: [desired('shop', { web })], snapshot, owners: ownersOf([one.record, two.record]) }).plan.actions, []);
    const half = ownersOf([{ ...one.record, restartGeneration: 7 }, two.record]);
    assert.deepEqual(planRound({ desired: [desired('shop', { web }, { restarts: { web: 7 } })], snapshot, owners: half }).plan.actions.map((action) => [action.kind, 'key' in action ? action.key.instance : 0]), [
      ['stop', 2],
      ['start', 2],
      ['await-healthy', 2],
    ]);
    assert.equal(planRound({ desired: [desired('shop', { web }, { restarts: { web: 8 } })], snapshot, owners: restarted }).plan.actions.length, 6);
  });

  it('resumed after a crash between stop and start: the stopped instance is started (and recorded), not stopped again', () => {
    const stopped = ownedFixture({ project: 'shop', service: 'web', instance: 1 }, web, { id: 'c1'.padEnd(64, '0'), state: 'exited' });
    const round = planRound({ desired: [desired('shop', { web }, { restarts: { web: 7 } })], snapshot: snapshotOf([stopped.container, two.container], { images: ['hw/busybox:test'] }), owners: ownersOf([stopped.record, { ...two.record, restartGeneration: 7 }]) });
    assert.deepEqual(round.plan.actions.map((action) => [action.kind, action.kind === 'start' ? action.restartGeneration : undefined]), [
      ['start', 7],
      ['await-healthy', undefined],
    ]);
  });

  it('a container made under a generation counts as restarted for it', () => {
    const round = planRound({ desired: [desired('shop', { web: service({ replicas: 3, healthcheck: web.healthcheck }) }, { restarts: { web: 7 } })], snapshot, owners: ownersOf([{ ...one.record, restartGeneration: 7 }, { ...two.record, restartGeneration: 7 }]) });
    const create = round.plan.actions.find((action) => action.kind === 'create');
    assert.deepEqual(create?.kind === 'create' ? [create.key.instance, create.restartGeneration] : undefined, [3, 7]);
  });
});
