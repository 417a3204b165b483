import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countOf } from '../../agent/fleet/fleet-size.js';
import { FLEET_HEARTBEATS_PER_SECOND, heartbeatPeriodMs } from '../../shared/heartbeat-period.js';
import { MAX_HEARTBEAT_MS } from '../../shared/limits.js';

describe('heartbeatPeriodMs', () => {
  it('keeps --heartbeat in a small fleet, and spaces the beats in a large one: 20 s at 10,000 hosts, at most 5 min', () => {
    assert.equal(heartbeatPeriodMs(5_000, undefined), 5_000, 'fleet size unknown');
    assert.equal(heartbeatPeriodMs(5_000, 3), 5_000);
    assert.equal(heartbeatPeriodMs(5_000, 2_500), 5_000);
    assert.equal(heartbeatPeriodMs(5_000, 2_501), 6_000, 'whole seconds');
    assert.equal(heartbeatPeriodMs(5_000, 10_000), 20_000);
    assert.equal(heartbeatPeriodMs(60_000, 10_000), 60_000, 'a longer --heartbeat stays');
    assert.equal(heartbeatPeriodMs(5_000, 10_000_000), MAX_HEARTBEAT_MS);
    assert.equal(heartbeatPeriodMs(5_000, 0), 5_000);
    assert.equal(heartbeatPeriodMs(5_000, Number.NaN), 5_000);
  });

  it('for any fleet, every agent beating at the period keeps the fleet within the budget (until the 5 min bound), and never beats faster than --heartbeat', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: MAX_HEARTBEAT_MS }), fc.integer({ min: 1, max: 200_000 }), (configured, hosts) => {
        const period = heartbeatPeriodMs(configured, hosts);
        assert.ok(period >= configured && period <= MAX_HEARTBEAT_MS);
        if (period < MAX_HEARTBEAT_MS) assert.ok((hosts * 1_000) / period <= FLEET_HEARTBEATS_PER_SECOND, `${hosts} hosts every ${period} ms`);
      }),
    );
  });
});

describe('countOf: the fleet\'s size from the registry\'s STREAM.INFO answer', () => {
  it('takes its subjects, else its messages, and nothing else', () => {
    assert.equal(countOf({ state: { messages: 12, num_subjects: 10 } }), 10);
    assert.equal(countOf({ state: { messages: 12 } }), 12);
    assert.equal(countOf({ error: { code: 503, description: 'JetStream not enabled' } }), undefined);
    assert.equal(countOf({ state: { messages: -1 } }), undefined);
    assert.equal(countOf({ state: { messages: '12' } }), undefined);
    assert.equal(countOf(null), undefined);
  });
});
