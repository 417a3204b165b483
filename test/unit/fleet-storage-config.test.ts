import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeDrift, fleetStreamSpecs, storageDrift } from '../../shared/fleet-storage-config.js';
import { DEFAULT_STORAGE_LIMITS } from '../../shared/stream-replicas.js';

describe('the fleet streams\' settings Hostwright relies on', () => {
  const specs = fleetStreamSpecs(DEFAULT_STORAGE_LIMITS, 1);
  const spec = (stream: string) => specs.find((candidate) => candidate.stream === stream) ?? assert.fail(stream);

  it('covers the event stream and every bucket: no delete, purge or rollup anywhere, no message-count limit, the configured limits', () => {
    assert.deepEqual(specs.map((candidate) => candidate.stream), ['HW_EVENTS', 'KV_hw_desired', 'KV_hw_hosts', 'KV_hw_status', 'KV_hw_rollouts', 'KV_hw_hostctl', 'KV_hw_endpoints']);
    for (const candidate of specs) {
      assert.equal(candidate.checked.deny_delete, true, candidate.stream);
      assert.equal(candidate.checked.deny_purge, true, candidate.stream);
      assert.equal(candidate.checked.allow_rollup_hdrs, false, candidate.stream);
      assert.equal(candidate.checked.max_msgs, -1, candidate.stream);
    }
    assert.equal(spec('HW_EVENTS').checked.discard, 'old');
    assert.equal(spec('HW_EVENTS').checked.max_bytes, DEFAULT_STORAGE_LIMITS.eventsMaxBytes);
    assert.equal(spec('KV_hw_desired').checked.max_msgs_per_subject, 64);
    assert.equal(spec('KV_hw_status').checked.discard, 'new');
  });

  it('a config as the server reports it (defaults left out) has no drift; each changed setting is named with expected and found', () => {
    const events = spec('HW_EVENTS');
    // The server leaves out false flags and unset limits; what it reports for a stream made from the spec.
    const reported: Record<string, unknown> = Object.fromEntries(Object.entries({ ...events.created, ...events.checked }).filter(([, value]) => value !== false));
    assert.deepEqual(storageDrift(events, reported), []);
    const tampered = { ...reported, max_msgs: 1, deny_purge: undefined, subjects: ['hw.events.>', 'other'] };
    assert.deepEqual(storageDrift(events, tampered).map(describeDrift), [
      'HW_EVENTS subjects: expected ["hw.events.>"], found ["hw.events.>","other"]',
      'HW_EVENTS deny_purge: expected true, found false',
      'HW_EVENTS max_msgs: expected -1, found 1',
    ]);
  });
});
