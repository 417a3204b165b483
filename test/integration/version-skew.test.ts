import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createCurve } from '@nats-io/nkeys';
import { fileSecretDigest } from '../../shared/file-secrets.js';
import { sealFileSecret } from '../../shared/file-secret-keys.js';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { encode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION, HOSTWRIGHT_VERSION } from '../../shared/desired-schema.js';
import type { HostRegistration } from '../../shared/wire.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { signedValue, testSigner } from '../lib/signing.js';

// The coordinator of this schema and agents that registered an older one (real nats-server).
describe('version skew: the coordinator refuses a feature an agent is too old for', () => {
  let nats: NatsServerHandle;
  let client: FleetClient;
  const signer = testSigner();
  before(async () => {
    nats = await startNatsServer();
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer);
  });
  after(async () => {
    await client?.close();
    await nats?.cleanup();
  });

  const register = async (registration: Partial<HostRegistration> & { hostId: string }) => {
    const now = new Date().toISOString();
    await client.connection.hosts.put(registration.hostId, encode({ labels: {}, agentVersion: '0.1.0', startedAt: now, heartbeatAt: now, ...registration }));
  };

  it('an agent before versioning (0.1.0, no schema) gets containers but not networks, with the host and the version it needs named', async () => {
    const hostId = uniqueName('old');
    const project = uniqueName('skew');
    await register({ hostId });
    const withNetwork = desired(project, { web: service() }, { hostId, networks: { default: {} } });
    await assert.rejects(client.writeDesired(withNetwork, 0), {
      name: 'InvalidInputError',
      message: `host ${hostId} runs agent 0.1.0 (desired-state schema 1), but project ${project} uses project networks (networks:, network_mode), which need schema 2: agent version ≥ 0.2.0. Upgrade the agent on ${hostId} first, or place the project elsewhere`,
    });
    assert.equal(await client.connection.desired.get(`${hostId}.${project}`), null, 'nothing was written');
    // An apply checks every host before it writes any: each old one is named.
    const other = uniqueName('old');
    await register({ hostId: other });
    await assert.rejects(client.checkAgentVersions([withNetwork, { ...withNetwork, hostId: other }, desired(project, { web: service() }, { hostId })]), (error: Error) => {
      assert.equal(error.name, 'InvalidInputError');
      assert.deepEqual(error.message.split('\n').map((line) => line.split(' ')[1]), [hostId, other]);
      return true;
    });
    // Containers alone are schema 1: written, without a version field the old agent would refuse.
    const revision = await client.writeDesired(desired(project, { web: service() }, { hostId }), 0);
    const written = client.openDesired((await client.connection.desired.get(`${hostId}.${project}`))?.value ?? new Uint8Array(), 'written');
    assert.ok(revision > 0);
    assert.equal(written.schemaVersion, undefined);
    assert.equal(written.signedAt, undefined, 'no signing time for an agent that refuses fields it does not know');
  });

  it('an agent of this schema gets the document stamped with the schema and agent version it needs', async () => {
    const hostId = uniqueName('new');
    const project = uniqueName('skew');
    await register({ hostId, agentVersion: HOSTWRIGHT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION });
    // A sealed secret file and a service placed on another host (remotes): the newest schemas' features.
    const secret = sealFileSecret({ name: 'pw', kind: 'secret', target: '/run/secrets/pw', uid: '0', gid: '0', mode: 0o400, value: { content: 'x', digest: fileSecretDigest('x', new Uint8Array(32)) } }, createCurve().getPublicKey());
    await client.writeDesired(desired(project, { web: service({ user: '1000', secrets: [secret] }) }, { hostId, remotes: { api: { [uniqueName('other')]: {} } } }), 0);
    const written = client.openDesired((await client.connection.desired.get(`${hostId}.${project}`))?.value ?? new Uint8Array(), 'written');
    assert.equal(written.schemaVersion, DESIRED_SCHEMA_VERSION);
    assert.equal(written.minAgentVersion, '0.3.0');
    // Signed just now: the agent's replay window (shared/replay-window.ts).
    assert.ok(Math.abs(Date.parse(written.signedAt ?? '') - Date.now()) < 60_000, written.signedAt);
  });

  it('a document an older coordinator signed without a signing time is rewritten by the next apply where the agent reads one, and only there', async () => {
    const project = uniqueName('resign');
    const current = uniqueName('cur');
    const older = uniqueName('two');
    await register({ hostId: current, agentVersion: HOSTWRIGHT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION });
    await register({ hostId: older, agentVersion: '0.2.0', desiredSchema: 2 });
    for (const hostId of [current, older]) await client.connection.desired.put(`${hostId}.${project}`, signedValue(desired(project, { web: service() }, { hostId, revision: 2 }), signer, null));
    // A fresh client: no registration cached from the writes above.
    const fresh = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, signer);
    try {
      const entries = await fresh.desiredOf(project);
      assert.equal(entries.get(current)?.damaged, true, 'its agent may refuse it (a new journal): rewritten, signed now');
      assert.equal(entries.get(older)?.damaged, undefined, 'its agent reads no signing time: left as it is');
      assert.equal(entries.get(current)?.document.revision, 2);
    } finally {
      await fresh.close();
    }
  });

  it('an agent of schema 2 (0.2.0) gets its features without the signing time it would refuse', async () => {
    const hostId = uniqueName('two');
    const project = uniqueName('skew');
    await register({ hostId, agentVersion: '0.2.0', desiredSchema: 2 });
    await client.writeDesired(desired(project, { web: service({ user: '1000' }) }, { hostId }), 0);
    const written = client.openDesired((await client.connection.desired.get(`${hostId}.${project}`))?.value ?? new Uint8Array(), 'written');
    assert.equal(written.schemaVersion, 2);
    assert.equal(written.minAgentVersion, '0.2.0');
    assert.equal(written.signedAt, undefined);
  });
});
