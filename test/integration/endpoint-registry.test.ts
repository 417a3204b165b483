import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { EndpointView } from '../../agent/fleet/endpoint-registry.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { loadSigningKey } from '../../coordinator/signing-key.js';
import { encode } from '../../shared/codec.js';
import type { EndpointRecord } from '../../shared/endpoint-record.js';
import { sealReport } from '../../shared/host-report.js';
import { openSignedDocument, signingKeyOf } from '../../shared/signed-document.js';
import { BUCKETS, endpointKey, hostInboxPrefix, kvKeySubject } from '../../shared/subjects.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { runCli } from '../lib/cli.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { waitFor } from '../lib/wait.js';
import { remoteDependencyVerdict } from '../../agent/core/remote-dependency.js';

const silent = pino({ level: 'silent' });

// The endpoint registry against the config `fleet init` generates, on a real nats-server: h1 reads
// (EndpointView with h1's credentials), h2 is the compromised host, h3 is the victim that runs db.
describe('the endpoint registry (hw_endpoints): a host publishes only for itself, and readers take only what the signed placement allows (real NATS)', () => {
  const [h1, h2, h3] = [uniqueName('ea'), uniqueName('eb'), uniqueName('ec')];
  const project = uniqueName('reg');
  let dir: string;
  let nats: NatsServerHandle;
  let coordinator: FleetClient;
  let view: EndpointView;
  const open: NatsConnection[] = [];
  const refused: string[] = [];
  const asHost = async (hostId: string) => {
    const seed = (await readFile(join(dir, 'hosts', `${hostId}.nk`), 'utf8')).trim();
    const nc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), inboxPrefix: hostInboxPrefix(hostId), timeout: 5_000, reconnect: false });
    open.push(nc);
    return { nc, js: jetstream(nc, { checkAPI: false }), key: signingKeyOf(new TextEncoder().encode(seed)) };
  };
  const publicKey = async (hostId: string) => ((JSON.parse(await readFile(join(dir, 'fleet-auth.json'), 'utf8')) as { hosts: { hostId: string; publicKey: string }[] }).hosts.find((host) => host.hostId === hostId)?.publicKey);
  const record = (hostId: string, svc: string, address: string): EndpointRecord => ({ hostId, project, service: svc, instances: [{ name: `${project}-${svc}-1`, instance: 1, addresses: { default: address }, ports: [] }], refreshedAt: new Date().toISOString() });
  const addresses = (name: string) => view.resolve(project, name).map((endpoint) => `${endpoint.hostId}:${endpoint.address}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-endpoints-'));
    const init = await runCli(['fleet', 'init', '--dir', dir, '--host', h1, '--host', h2, '--host', h3]);
    assert.equal(init.code, 0, init.stderr);
    nats = await startNatsServer({ include: join(dir, 'accounts.conf') });
    // The coordinator's connection makes the fleet's buckets, hw_endpoints among them.
    coordinator = await FleetClient.connect(nats.url, silent, { credsFile: join(dir, 'coordinator.nk') }, await loadSigningKey(join(dir, 'coordinator-signing.nk')));
    const reader = await asHost(h1);
    view = new EndpointView(reader.nc, h1);
    view.on('refused', ({ key, reason }) => refused.push(`${key}: ${reason}`));
    // h1's signed desired state places api on h2 and db on h3, with their keys.
    view.setDesired([desired(project, { web: service() }, { hostId: h1, remotes: { api: { [h2]: { key: (await publicKey(h2)) as string } }, db: { [h3]: { key: (await publicKey(h3)) as string } } } })]);
    await reader.nc.flush();
  });

  after(async () => {
    view?.close();
    for (const nc of open) await nc.close().catch(() => undefined);
    await coordinator?.close();
    await nats?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a placed host\'s signed record reaches the reader, stored in the bucket; the victim\'s own record too', async () => {
    const attacker = await asHost(h2);
    const victim = await asHost(h3);
    await attacker.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h2, project, 'api')), sealReport(encode(record(h2, 'api', '10.64.32.7')), attacker.key));
    await victim.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h3, project, 'db')), sealReport(encode(record(h3, 'db', '10.64.48.9')), victim.key));
    await waitFor('api and db in h1\'s view', async () => addresses('api').length === 1 && addresses('db').length === 1, 5_000, 20);
    assert.deepEqual(addresses('api'), [`${h2}:10.64.32.7`]);
    assert.deepEqual(addresses(`${project}-api-1`), [`${h2}:10.64.32.7`]);
    assert.deepEqual(addresses('db'), [`${h3}:10.64.48.9`]);
    assert.notEqual(await coordinator.connection.endpoints.get(endpointKey(h2, project, 'api')), null);
  });

  it('with h2\'s credentials: a record for db (placed on h3) under h2\'s key, a record naming h3, or one signed by another key changes no reader', async () => {
    const attacker = await asHost(h2);
    const subject = (svc: string) => kvKeySubject(BUCKETS.endpoints, endpointKey(h2, project, svc));
    refused.length = 0;
    // Stored (h2 may write its own keys), but db is not placed on h2.
    await attacker.js.publish(subject('db'), sealReport(encode(record(h2, 'db', '10.66.6.6')), attacker.key));
    // On its own api key, a payload that says it is h3's db.
    await attacker.js.publish(subject('api'), sealReport(encode(record(h3, 'db', '10.66.6.7')), attacker.key));
    // On its own api key, its own record signed by a key that is not h2's.
    const stranger = signingKeyOf(new TextEncoder().encode((await readFile(join(dir, 'hosts', `${h3}.nk`), 'utf8')).trim()));
    await attacker.js.publish(subject('api'), sealReport(encode(record(h2, 'api', '10.66.6.8')), stranger));
    // Unsigned.
    await attacker.js.publish(subject('api'), encode(record(h2, 'api', '10.66.6.9')));
    await waitFor('the four refusals', async () => refused.length >= 4, 5_000, 20);
    assert.match(refused.join('\n'), new RegExp(`service db of project ${project} is not placed on host ${h2}`));
    assert.match(refused.join('\n'), /the payload names host|arrived on key/);
    assert.match(refused.join('\n'), /signed by .*, not by host/);
    assert.match(refused.join('\n'), /unsigned/);
    assert.deepEqual(addresses('db'), [`${h3}:10.64.48.9`], 'db still resolves to h3 only');
    assert.deepEqual(addresses('api'), [`${h2}:10.64.32.7`], 'api keeps h2\'s last good record');
    // What a cross-host depends_on on db reads: h3's record only, whatever h2 claims.
    assert.deepEqual(view.records(project, 'db').map((r) => r.hostId), [h3]);
    assert.deepEqual(remoteDependencyVerdict('db', 'service_started', [h3], view.records(project, 'db')), { kind: 'met', message: `db is running on ${h3}` });
  });

  it('with h2\'s credentials: writing under h3\'s key, into the readers\' feed, or through reply subjects is refused or lands nowhere', async () => {
    const attacker = await asHost(h2);
    const forged = encode(record(h3, 'db', '10.66.6.10'));
    const victimKey = kvKeySubject(BUCKETS.endpoints, endpointKey(h3, project, 'db'));
    await assert.rejects(attacker.js.publish(victimKey, forged, { timeout: 3_000 }), /Permissions Violation for Publish/);
    await assert.rejects(attacker.nc.request(`hw.endpoints.${h3}.${project}.db`, forged, { timeout: 3_000 }), /Permissions Violation for Publish/);
    // A put of its own key whose reply subject is the victim's key (JetStream answers the reply in h2's own account).
    attacker.nc.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h2, project, 'api')), sealReport(encode(record(h2, 'api', '10.64.32.7')), attacker.key), { reply: victimKey });
    attacker.nc.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h2, project, 'api')), sealReport(encode(record(h2, 'api', '10.64.32.7')), attacker.key), { reply: `hw.endpoints.${h3}.${project}.db` });
    await attacker.nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // h3's db key still holds h3's own put, signed by h3.
    const stored = await coordinator.connection.endpoints.get(endpointKey(h3, project, 'db'));
    const envelope = openSignedDocument(stored?.value ?? new Uint8Array());
    assert.equal(envelope.signer, await publicKey(h3));
    assert.match(new TextDecoder().decode(envelope.document), /10\.64\.48\.9/);
    assert.deepEqual(addresses('db'), [`${h3}:10.64.48.9`]);
  });

  it('a host that stops refreshing leaves the reader after the expiry; an empty record withdraws at once', async () => {
    const victim = await asHost(h3);
    const attacker = await asHost(h2);
    const started = Date.now();
    await waitFor('h2\'s api expired', async () => addresses('api').length === 0, 8_000, 50);
    assert.ok(Date.now() - started <= 5_000, `expired after ${Date.now() - started} ms`);
    await victim.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h3, project, 'db')), sealReport(encode({ ...record(h3, 'db', '10.64.48.9'), instances: [] }), victim.key));
    await waitFor('db withdrawn', async () => addresses('db').length === 0, 2_000, 20);
    await attacker.js.publish(kvKeySubject(BUCKETS.endpoints, endpointKey(h2, project, 'api')), sealReport(encode(record(h2, 'api', '10.64.32.7')), attacker.key));
    await waitFor('api back', async () => addresses('api').length === 1, 2_000, 20);
  });
});
