import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { unpack } from 'msgpackr';
import { encode, decode } from '../../shared/codec.js';
import { DESIRED_SCHEMA_VERSION, HOSTWRIGHT_VERSION, agentTooOld, newerSchemaRefusal, requiredSchema, stampSchema } from '../../shared/desired-schema.js';
import { hostDesiredSchema } from '../../shared/host-desired.js';
import { desired, service } from '../lib/builders.js';

describe('desired-state schema versions (version skew)', () => {
  const containersOnly = desired('shop', { web: service() });
  const withNetwork = desired('shop', { web: service() }, { networks: { default: {} } });
  const withOptions = desired('shop', { web: service({ user: '1000' }) });

  it('a document of the first schema is written without a version, so agents before versioning still read it', () => {
    assert.equal(requiredSchema(containersOnly).schema, 1);
    const stamped = stampSchema(containersOnly);
    assert.equal('schemaVersion' in stamped, false);
    assert.equal('minAgentVersion' in stamped, false);
  });

  it('a document using a later feature says which schema and agent it needs', () => {
    for (const document of [withNetwork, withOptions]) {
      const stamped = stampSchema(document);
      assert.equal(stamped.schemaVersion, 2);
      assert.equal(stamped.minAgentVersion, '0.2.0');
      // It stays a valid document for this agent.
      assert.deepEqual(decode(hostDesiredSchema, encode(stamped), 'stamped'), stamped);
    }
    assert.deepEqual(requiredSchema(withOptions).features.map((feature) => feature.name), ['container options (user, cap_add, ulimits, …)']);
  });

  it('an agent refuses a document of a newer schema, naming the agent version it needs', () => {
    const future = { ...stampSchema(withNetwork), schemaVersion: DESIRED_SCHEMA_VERSION + 1, minAgentVersion: '0.3.0', services: { web: { ...service(), a_future_option: true } } };
    const message = newerSchemaRefusal(unpack(encode(future)));
    assert.equal(message, `written in desired-state schema ${DESIRED_SCHEMA_VERSION + 1}, which this agent (${HOSTWRIGHT_VERSION}, schema ${DESIRED_SCHEMA_VERSION}) cannot read: needs agent version ≥ 0.3.0; upgrade this host's agent`);
    // Its own schema and older ones are read (and validated strictly, unknown fields refused).
    assert.equal(newerSchemaRefusal(unpack(encode(stampSchema(withNetwork)))), undefined);
    assert.equal(newerSchemaRefusal(unpack(encode(containersOnly))), undefined);
    assert.throws(() => decode(hostDesiredSchema, encode({ ...containersOnly, services: { web: { ...service(), a_future_option: true } } }), 'desired'), /a_future_option/);
  });

  it('a coordinator refuses to write a feature to an agent too old for it, naming the host and the version it needs', () => {
    const old = { agentVersion: '0.1.0' };
    assert.equal(agentTooOld(containersOnly, old), undefined);
    assert.equal(
      agentTooOld(withNetwork, old),
      'host h1 runs agent 0.1.0 (desired-state schema 1), but project shop uses project networks (networks:, network_mode), which need schema 2: agent version ≥ 0.2.0. Upgrade the agent on h1 first, or place the project elsewhere',
    );
    assert.equal(agentTooOld(withNetwork, { agentVersion: HOSTWRIGHT_VERSION, desiredSchema: DESIRED_SCHEMA_VERSION }), undefined);
  });
});
