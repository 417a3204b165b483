import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { asWrittenOver, desiredContentHash, desiredForHost, placeServices } from '../../coordinator/placement.js';
import type { HostInfo } from '../../coordinator/placement.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import type { FleetFile } from '../../shared/fleet-spec.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { SchemaError } from '../../shared/errors.js';

const FLEET: FleetFile = fleetFileSchema.parse({
  project: 'shop',
  drift: { missing: 'repair' },
  services: {
    // Declared out of order on purpose: the result must come back sorted.
    worker: { image: 'shop/worker', placement: { selector: { zone: 'eu', tier: 'batch' } } },
    web: { image: 'nginx', ports: ['80'], placement: { hosts: ['edge-1', 'edge-2'] } },
    agent: { image: 'shop/agent', env: { MODE: 'all' } },
  },
});

const EDGE_1: HostInfo = { hostId: 'edge-1', labels: { zone: 'us' } };
const BATCH_EU: HostInfo = { hostId: 'batch-7', labels: { zone: 'eu', tier: 'batch', disk: 'ssd' } };
const BARE: HostInfo = { hostId: 'bare', labels: {} };

describe('placeServices', () => {
  it('places a service with a hosts list only on the listed hosts', () => {
    assert.deepEqual(Object.keys(placeServices(FLEET, EDGE_1)), ['agent', 'web']);
    assert.ok(!('web' in placeServices(FLEET, BATCH_EU)));
  });

  it('places a service with a selector where every selector label matches', () => {
    assert.deepEqual(Object.keys(placeServices(FLEET, BATCH_EU)), ['agent', 'worker']);
    assert.ok(!('worker' in placeServices(FLEET, { hostId: 'h', labels: { zone: 'eu' } })), 'a missing label does not match');
    assert.ok(!('worker' in placeServices(FLEET, { hostId: 'h', labels: { zone: 'EU', tier: 'batch' } })), 'values match exactly');
  });

  it('places a service without placement on every host', () => {
    for (const host of [EDGE_1, BATCH_EU, BARE]) assert.ok('agent' in placeServices(FLEET, host), host.hostId);
    assert.deepEqual(Object.keys(placeServices(FLEET, BARE)), ['agent']);
  });

  it('drops the placement field from placed services', () => {
    const placed = placeServices(FLEET, EDGE_1);
    assert.ok(placed.web !== undefined && !('placement' in placed.web));
    assert.deepEqual(placed.web.ports, ['80']);
  });

  it('gives identical output for the same input, whatever the declaration order', () => {
    const reversed: FleetFile = { ...FLEET, services: Object.fromEntries(Object.entries(FLEET.services).reverse()) };
    const first = JSON.stringify(desiredForHost(FLEET, BATCH_EU, { revision: 3 }));
    assert.equal(JSON.stringify(desiredForHost(FLEET, BATCH_EU, { revision: 3 })), first);
    assert.equal(JSON.stringify(desiredForHost(reversed, BATCH_EU, { revision: 3 })), first);
  });
});

describe('desiredForHost', () => {
  it('builds a document valid under hostDesiredSchema with the fleet drift policy', () => {
    const desired = desiredForHost(FLEET, EDGE_1, { revision: 4, correlationID: 'req-1' });
    assert.deepEqual(hostDesiredSchema.parse(desired), desired);
    assert.equal(desired.hostId, 'edge-1');
    assert.equal(desired.project, 'shop');
    assert.equal(desired.revision, 4);
    assert.deepEqual(desired.drift, { missing: 'repair' });
    assert.equal(desired.allowEmpty, false);
    assert.equal(desired.correlationID, 'req-1');
    assert.deepEqual(Object.keys(desired.services), ['agent', 'web']);
  });

  it('omits correlationID and drift when absent and honours allowEmpty', () => {
    const fleet: FleetFile = { ...FLEET, drift: undefined };
    const desired = desiredForHost(fleet, BARE, { revision: 1, allowEmpty: true });
    assert.ok(!('correlationID' in desired));
    assert.ok(!('drift' in desired));
    assert.equal(desired.allowEmpty, true);
  });

  it('places every service when asked to ignore placement', () => {
    const desired = desiredForHost(FLEET, BARE, { revision: 1, ignorePlacement: true });
    assert.deepEqual(Object.keys(desired.services), ['agent', 'web', 'worker']);
    assert.ok(Object.values(desired.services).every((service) => !('placement' in service)));
  });

  it('refuses to build an invalid document', () => {
    assert.throws(() => desiredForHost(FLEET, BARE, { revision: 0 }), SchemaError);
    assert.throws(() => desiredForHost(FLEET, { hostId: 'bad host', labels: {} }, { revision: 1 }), SchemaError);
  });
});

describe('desiredContentHash', () => {
  it('ignores revision and correlationID', () => {
    const a = desiredForHost(FLEET, EDGE_1, { revision: 1 });
    const b = desiredForHost(FLEET, EDGE_1, { revision: 9, correlationID: 'req-2' });
    assert.equal(desiredContentHash(a), desiredContentHash(b));
  });

  it('changes when the content changes', () => {
    const before = desiredForHost(FLEET, EDGE_1, { revision: 1 });
    const changedImage = fleetFileSchema.parse({ ...FLEET, services: { ...FLEET.services, web: { ...FLEET.services.web, image: 'nginx:2' } } });
    const hashes = new Set([
      desiredContentHash(before),
      desiredContentHash(desiredForHost(changedImage, EDGE_1, { revision: 1 })),
      desiredContentHash(desiredForHost(FLEET, EDGE_1, { revision: 1, allowEmpty: true })),
      desiredContentHash(desiredForHost(FLEET, { hostId: 'edge-2', labels: {} }, { revision: 1 })),
    ]);
    assert.equal(hashes.size, 4);
  });
});

describe('asWrittenOver: the revision a write gives a document, shown before it is written', () => {
  it('a rollback to the content of r4 over r5 is written as r6, not shown as r4', () => {
    const r4 = desiredForHost(FLEET, EDGE_1, { revision: 4 });
    const changed = fleetFileSchema.parse({ ...FLEET, services: { ...FLEET.services, web: { ...FLEET.services.web, image: 'nginx:2' } } });
    const r5 = desiredForHost(changed, EDGE_1, { revision: 5 });
    const written = asWrittenOver(r5, r4);
    assert.deepEqual([written.document.revision, written.changed], [6, true]);
    assert.equal(desiredContentHash(written.document), desiredContentHash(r4));
  });

  it('keeps the current revision when the content is already there, and starts at r1 on a host without one', () => {
    const r3 = desiredForHost(FLEET, EDGE_1, { revision: 3 });
    assert.deepEqual([asWrittenOver(r3, { ...r3, revision: 1 }).document.revision, asWrittenOver(r3, { ...r3, revision: 1 }).changed], [3, false]);
    assert.deepEqual([asWrittenOver(undefined, r3).document.revision, asWrittenOver(undefined, r3).changed], [1, true]);
  });
});
