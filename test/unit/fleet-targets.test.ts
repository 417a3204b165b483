import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import type { DesiredEntry } from '../../coordinator/fleet-client.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';

const fleet = fleetFileSchema.parse({
  project: 'shop',
  services: {
    web: { image: 'hw/busybox:test', placement: { selector: { role: 'web' } } },
    db: { image: 'hw/busybox:test', placement: { hosts: ['h9'] } },
    all: { image: 'hw/busybox:test' },
  },
});
const hosts = [
  { hostId: 'h2', labels: { role: 'web' } },
  { hostId: 'h1', labels: { role: 'web' } },
  { hostId: 'h3', labels: { role: 'db' } },
];

describe('fleetTargets', () => {
  it('places by selector and explicit host list, sorted by host, new hosts at revision 1', () => {
    const targets = fleetTargets(fleet, hosts, new Map(), 'c1');
    assert.deepEqual(targets.map((t) => [t.hostId, Object.keys(t.document.services), t.document.revision, t.changed, t.kvRevision]), [
      ['h1', ['all', 'web'], 1, true, 0],
      ['h2', ['all', 'web'], 1, true, 0],
      ['h3', ['all'], 1, true, 0],
      ['h9', ['all', 'db'], 1, true, 0],
    ]);
    assert.ok(targets.every((t) => t.document.correlationID === 'c1'));
  });

  it('keeps the revision of an unchanged document and bumps a changed one', () => {
    const first = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(first.map((t) => [t.hostId, { document: t.document, kvRevision: 7 }]));
    const changed = fleetFileSchema.parse({ ...fleet, services: { ...fleet.services, web: { ...fleet.services.web, image: 'hw/busybox:test2' } } });
    const second = fleetTargets(changed, hosts, existing, 'c2');
    assert.deepEqual(second.map((t) => [t.hostId, t.changed, t.document.revision, t.kvRevision]), [
      ['h1', true, 2, 7],
      ['h2', true, 2, 7],
      ['h3', false, 1, 7],
      ['h9', false, 1, 7],
    ]);
  });

  it('a host placed nothing any more gets an explicit empty document that may empty the project', () => {
    const first = fleetTargets(fleet, hosts, new Map(), 'c1');
    const existing = new Map<string, DesiredEntry>(first.map((t) => [t.hostId, { document: t.document, kvRevision: 3 }]));
    const moved = fleetFileSchema.parse({ project: 'shop', services: { web: { image: 'hw/busybox:test', placement: { hosts: ['h1'] } } } });
    const targets = fleetTargets(moved, hosts, existing, 'c3');
    const h3 = targets.find((t) => t.hostId === 'h3');
    assert.deepEqual(h3 && [Object.keys(h3.document.services), h3.document.allowEmpty, h3.changed, h3.document.revision], [[], true, true, 2]);
    const h1 = targets.find((t) => t.hostId === 'h1');
    assert.equal(h1?.document.allowEmpty, false);
  });

  it('a host that never ran the project and is placed nothing gets no document', () => {
    const only = fleetFileSchema.parse({ project: 'shop', services: { web: { image: 'hw/busybox:test', placement: { hosts: ['h1'] } } } });
    assert.deepEqual(fleetTargets(only, hosts, new Map(), 'c').map((t) => t.hostId), ['h1']);
  });
});
