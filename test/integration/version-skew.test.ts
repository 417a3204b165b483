import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { FleetClient } from '../../coordinator/fleet-client.js';
import { encode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION, HOSTWRIGHT_VERSION } from '../../shared/desired-schema.js';
import type { HostRegistration } from '../../shared/wire.js';
import { desired, service, uniqueName } from '../lib/builders.js';
import { startNatsServer, type NatsServerHandle } from '../lib/nats-server.js';
import { testSigner } from '../lib/signing.js';

// The coordinator of this schema and agents that registered an older one (real nats-server).
describe('version skew: the coordinator refuses a feature an agent is too old for', () => {
  let nats: NatsServerHandle;
  let client: FleetClient;
  before(async () => {
    nats = await startNatsServer();
    client = await FleetClient.connect(nats.url, pino({ level: 'silent' }), {}, testSigner());
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
  });

  it('an agent of this schema gets the document stamped with the schema and agent version it needs', async () => {
    const hostId = uniqueName('new');
    const project = uniqueName('skew');
    await register({ hostId, agentVersion: HOSTWRIGHT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION });
    await client.writeDesired(desired(project, { web: service({ user: '1000' }) }, { hostId }), 0);
    const written = client.openDesired((await client.connection.desired.get(`${hostId}.${project}`))?.value ?? new Uint8Array(), 'written');
    assert.equal(written.schemaVersion, 2);
    assert.equal(written.minAgentVersion, '0.2.0');
  });
});
