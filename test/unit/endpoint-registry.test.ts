import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createUser } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { endpointRecords } from '../../agent/core/endpoint-records.js';
import { ENDPOINT_EXPIRY_MS, EndpointView } from '../../agent/fleet/endpoint-registry.js';
import { servicePlacements, withRemotes } from '../../coordinator/fleet-targets.js';
import { encode } from '../../shared/codec.js';
import { requiredSchema } from '../../shared/desired-schema.js';
import { checkEndpointRecord, type EndpointRecord } from '../../shared/endpoint-record.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { sealReport } from '../../shared/host-report.js';
import { LABELS } from '../../shared/labels.js';
import { signingKeyOf } from '../../shared/signed-document.js';
import { desired, service } from '../lib/builders.js';

const keyPair = () => signingKeyOf(createUser().getSeed());
const h2 = keyPair();
const h3 = keyPair();
const record = (hostId: string, svc: string, address: string, instances = 1): EndpointRecord => ({
  hostId,
  project: 'shop',
  service: svc,
  instances: Array.from({ length: instances }, (_, i) => ({ name: `shop-${svc}-${i + 1}`, instance: i + 1, addresses: { default: address }, ports: [] })),
  refreshedAt: '2026-12-07T12:00:00.000Z',
});

describe('endpoint records: what a reader accepts (pure)', () => {
  const placement = { h2: h2.publicKey, h3: undefined };

  it('accepts a record of a placed host, signed by its key, naming its own key', () => {
    const verdict = checkEndpointRecord('h2.shop.api', sealReport(encode(record('h2', 'api', '10.64.32.7')), h2), placement);
    assert.ok('accepted' in verdict, JSON.stringify(verdict));
    assert.equal(verdict.accepted.instances[0]?.addresses.default, '10.64.32.7');
  });

  it('refuses a host the placement does not name, another signer, a payload for another key, unsigned bytes where a key is known, and a malformed key', () => {
    const refusal = (key: string, bytes: Uint8Array, where = placement) => {
      const verdict = checkEndpointRecord(key, bytes, where);
      assert.ok('refused' in verdict, `${key} was accepted`);
      return verdict.refused;
    };
    assert.match(refusal('h4.shop.api', sealReport(encode(record('h4', 'api', '10.0.0.1')), h2)), /service api of project shop is not placed on host h4/);
    assert.match(refusal('h2.shop.api', sealReport(encode(record('h2', 'api', '10.0.0.1')), h3)), /signed by .*, not by host h2's key/);
    assert.match(refusal('h2.shop.api', sealReport(encode(record('h2', 'db', '10.0.0.1')), h2)), /the record is for h2\.shop\.db, but it arrived on key h2\.shop\.api/);
    assert.match(refusal('h2.shop.api', sealReport(encode(record('h3', 'api', '10.0.0.1')), h2)), /the payload names host h3/);
    assert.match(refusal('h2.shop.api', encode(record('h2', 'api', '10.0.0.1'))), /unsigned/);
    assert.match(refusal('h2.shop', encode(record('h2', 'api', '10.0.0.1'))), /not an endpoint key/);
    // A service the host's desired state places nowhere else: no placement at all.
    const unplaced = checkEndpointRecord('h2.shop.api', sealReport(encode(record('h2', 'api', '10.0.0.1')), h2), undefined);
    assert.ok('refused' in unplaced && /not placed on host h2/.test(unplaced.refused));
  });

  it('a placement without the host\'s key (a coordinator without fleet-auth.json) still checks the signature\'s integrity and the key', () => {
    const verdict = checkEndpointRecord('h3.shop.api', sealReport(encode(record('h3', 'api', '10.64.48.2')), h3), placement);
    assert.ok('accepted' in verdict);
    const bytes = sealReport(encode(record('h3', 'api', '10.64.48.2')), h3);
    bytes[bytes.length - 70] = (bytes[bytes.length - 70] ?? 0) ^ 1;
    assert.ok('refused' in checkEndpointRecord('h3.shop.api', bytes, placement));
  });
});

describe('endpoint records: what a host publishes (pure)', () => {
  const container = (svc: string, instance: number, state: string, health: string) => ({
    name: `pfx-shop-${svc}-${instance}`,
    state,
    health,
    labels: { [LABELS.host]: 'h2', [LABELS.project]: 'shop', [LABELS.service]: svc, [LABELS.instance]: String(instance) },
    addresses: { 'pfx-shop_default': `10.64.33.${instance + 1}`, bridge: '172.17.0.9' },
    ports: [{ ip: '0.0.0.0', port: 8080 + instance, protocol: 'tcp' as const }],
  });
  const networks = [{ name: 'pfx-shop_default', labels: { [LABELS.project]: 'shop', [LABELS.host]: 'h2', [LABELS.network]: 'default' } }];
  const now = new Date('2026-12-07T12:00:00.000Z');

  it('lists running instances that are healthy or have no healthcheck, by the project\'s network keys; a project on one host publishes nothing', () => {
    const spread = desired('shop', { api: service(), worker: service() }, { hostId: 'h2', remotes: { web: { h1: {} } } });
    const alone = desired('solo', { api: service() }, { hostId: 'h2' });
    const containers = [container('api', 1, 'running', 'healthy'), container('api', 2, 'running', 'unhealthy'), container('api', 3, 'running', 'none'), container('worker', 1, 'exited', 'none')];
    const records = endpointRecords('h2', [spread, alone], containers, networks, 'pfx-', now);
    assert.deepEqual(records.map((r) => [r.service, r.instances.map((i) => [i.name, i.addresses, i.ports])]), [
      ['api', [['shop-api-1', { default: '10.64.33.2' }, [{ port: 8081, protocol: 'tcp' }]], ['shop-api-3', { default: '10.64.33.4' }, [{ port: 8083, protocol: 'tcp' }]]]],
      ['worker', []],
    ]);
    assert.ok(records.every((r) => r.hostId === 'h2' && r.refreshedAt === now.toISOString()));
    // Every running instance counts, healthy or not (cross-host service_started reads it).
    assert.deepEqual(records.map((r) => [r.service, r.running]), [['api', 3], ['worker', 0]]);
  });
});

describe('remote placements in desired state (pure)', () => {
  it('each host\'s document names the project\'s services on other hosts with their keys; a single-host project gets none and needs no new schema', () => {
    const documents = [desired('shop', { web: service() }, { hostId: 'h1' }), desired('shop', { api: service(), db: service() }, { hostId: 'h2' }), desired('shop', { api: service() }, { hostId: 'h3' })];
    const placedOn = servicePlacements(documents);
    const keys = { keyOf: (hostId: string) => (hostId === 'h2' ? h2.publicKey : undefined) };
    const [web, api2, api3] = documents.map((document) => withRemotes(document, placedOn, keys));
    assert.deepEqual(web?.remotes, { api: { h2: { key: h2.publicKey }, h3: {} }, db: { h2: { key: h2.publicKey } } });
    assert.deepEqual(api2?.remotes, { api: { h3: {} }, web: { h1: {} } });
    assert.deepEqual(api3?.remotes, { api: { h2: { key: h2.publicKey } }, db: { h2: { key: h2.publicKey } }, web: { h1: {} } });
    assert.ok(hostDesiredSchema.safeParse(web).success);
    assert.equal(requiredSchema(web as never).schema, 5);
    const solo = desired('solo', { api: service() }, { hostId: 'h1' });
    assert.equal(withRemotes(solo, servicePlacements([solo]), keys), solo);
    assert.equal(requiredSchema(solo).schema, 1);
  });
});

describe('EndpointView: placement, expiry and compose names', () => {
  const subscribed: string[] = [];
  const nc = { subscribe: (subject: string) => (subscribed.push(subject), { unsubscribe: () => subscribed.splice(subscribed.indexOf(subject), 1) }) } as unknown as NatsConnection;

  it('subscribes to the remote services only, resolves service and instance names, drops a record not refreshed within the expiry and one whose host is no longer placed', () => {
    let now = 1_000_000;
    const view = new EndpointView(nc, 'h1', () => now);
    const changes: string[] = [];
    view.on('change', ({ service: svc }) => changes.push(svc));
    try {
      view.setDesired([desired('shop', { web: service() }, { hostId: 'h1', remotes: { api: { h2: { key: h2.publicKey }, h3: { key: h3.publicKey } } } })]);
      assert.deepEqual(subscribed, ['hw.endpoints.*.shop.api']);
      view.receive('h2.shop.api', sealReport(encode(record('h2', 'api', '10.64.32.7', 2)), h2));
      view.receive('h3.shop.api', sealReport(encode(record('h3', 'api', '10.64.48.7')), h3));
      view.receive('h1.shop.api', sealReport(encode(record('h1', 'api', '10.64.16.7')), h2));
      assert.deepEqual(view.resolve('shop', 'api').map((e) => `${e.hostId}/${e.name}/${e.address}`), ['h2/shop-api-1/10.64.32.7', 'h2/shop-api-2/10.64.32.7', 'h3/shop-api-1/10.64.48.7']);
      assert.deepEqual(view.resolve('shop', 'api-2').map((e) => e.hostId), ['h2']);
      assert.deepEqual(view.resolve('shop', 'shop-api-1').map((e) => e.hostId), ['h2', 'h3']);
      assert.deepEqual(view.resolve('shop', 'api', 'other'), []);
      assert.deepEqual(changes, ['api', 'api']);
      // h2 keeps refreshing, h3 goes silent.
      now += ENDPOINT_EXPIRY_MS - 100;
      view.receive('h2.shop.api', sealReport(encode(record('h2', 'api', '10.64.32.7', 2)), h2));
      now += 200;
      view.sweep();
      assert.deepEqual([...new Set(view.resolve('shop', 'api').map((e) => e.hostId))], ['h2']);
      assert.deepEqual(changes, ['api', 'api', 'api'], 'h2\'s unchanged refresh is no change; h3\'s expiry is');
      // Another running count with the same instances is a change (a cross-host service_started may now hold).
      view.receive('h2.shop.api', sealReport(encode({ ...record('h2', 'api', '10.64.32.7', 2), running: 3 }), h2));
      assert.deepEqual(changes, ['api', 'api', 'api', 'api']);
      // A new desired document places api on h3 only: h2's record goes at once.
      view.setDesired([desired('shop', { web: service() }, { hostId: 'h1', remotes: { api: { h3: { key: h3.publicKey } } } })]);
      assert.deepEqual(view.resolve('shop', 'api'), []);
      view.setDesired([]);
      assert.deepEqual(subscribed, []);
    } finally {
      view.close();
    }
  });
});
