import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HEARTBEAT_SKEW_MS, STALE_AFTER_MS, describeHeartbeatAge, heartbeatAge, isStaleHeartbeat, isStaleHost, staleAfterMsOf } from '../../coordinator/heartbeat-age.js';
import { renderHosts } from '../../coordinator/cli/render/hosts-view.js';
import { parseHeartbeat } from '../../coordinator/cli/parse.js';
import { MAX_HEARTBEAT_MS } from '../../shared/limits.js';
import { hostRegistrationSchema } from '../../shared/wire.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe('heartbeat age', () => {
  it('shows an age for the past, clock skew for the future beyond the allowance, and never NaN', () => {
    assert.equal(describeHeartbeatAge(at(-12_000), NOW), '12s ago');
    assert.equal(describeHeartbeatAge(at(-3 * 3_600_000), NOW), '3h ago');
    assert.equal(describeHeartbeatAge(at(-3 * 86_400_000), NOW), '3d ago');
    assert.equal(describeHeartbeatAge(at(HEARTBEAT_SKEW_MS), NOW), '0s ago', 'within the allowance: now');
    assert.equal(describeHeartbeatAge(at(90_000), NOW), '90s in the future: clock skew?');
    assert.equal(describeHeartbeatAge('+275760-09-13T00:00:00.001Z', NOW), 'not a time');
    assert.equal(describeHeartbeatAge(undefined, NOW), 'never');
  });

  it('stale: missing, not a time, from the future beyond the allowance, or older than the limit', () => {
    assert.equal(isStaleHeartbeat(at(-1_000), NOW, 15_000), false);
    assert.equal(isStaleHeartbeat(at(HEARTBEAT_SKEW_MS), NOW, 15_000), false);
    assert.equal(isStaleHeartbeat(at(-16_000), NOW, 15_000), true);
    assert.equal(isStaleHeartbeat(at(HEARTBEAT_SKEW_MS + 1), NOW, 15_000), true);
    assert.equal(isStaleHeartbeat('tomorrow', NOW, 15_000), true);
    assert.equal(isStaleHeartbeat(undefined, NOW, 15_000), true);
  });

  it('for any string, the age shown is never NaN and a fresh one is exactly a readable time within [now - limit, now + allowance]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer({ min: -1e13, max: 1e13 }).map((offset) => at(offset))), (heartbeatAt) => {
        assert.doesNotMatch(describeHeartbeatAge(heartbeatAt, NOW), /NaN/);
        const age = heartbeatAge(heartbeatAt, NOW);
        const fresh = !isStaleHeartbeat(heartbeatAt, NOW, 15_000);
        const parsed = Date.parse(heartbeatAt);
        assert.equal(fresh, !Number.isNaN(parsed) && parsed >= NOW - 15_000 && parsed <= NOW + HEARTBEAT_SKEW_MS, `${heartbeatAt}: ${JSON.stringify(age)}`);
      }),
    );
  });

  it('a host is stale after three of its own heartbeat periods, never sooner than the floor; an agent that names no period gets the floor', () => {
    assert.equal(staleAfterMsOf(undefined), STALE_AFTER_MS);
    assert.equal(staleAfterMsOf(5_000), STALE_AFTER_MS);
    assert.equal(staleAfterMsOf(1_000), STALE_AFTER_MS, 'a fast heartbeat does not make a host stale sooner');
    assert.equal(staleAfterMsOf(30_000), 90_000);
    assert.equal(staleAfterMsOf(30_000, 120_000), 120_000, 'a floor above three periods wins (the dashboard\'s --stale-after)');
    assert.equal(isStaleHost({ heartbeatAt: at(-60_000), heartbeatMs: 30_000 }, NOW), false, 'two missed beats of a 30 s agent');
    assert.equal(isStaleHost({ heartbeatAt: at(-91_000), heartbeatMs: 30_000 }, NOW), true);
    assert.equal(isStaleHost({ heartbeatAt: at(-16_000) }, NOW), true);
    assert.equal(isStaleHost({ heartbeatAt: null, heartbeatMs: 30_000 }, NOW), true);
    assert.equal(isStaleHost(undefined, NOW), true);
  });

  it('a period above 5 min is refused in a registration and on the agent\'s command line, and counts as 5 min: a host that stops is STALE within 15 min', () => {
    assert.equal(staleAfterMsOf(86_400_000), 3 * MAX_HEARTBEAT_MS);
    const registration = { hostId: 'h1', labels: {}, agentVersion: '0.2.0', startedAt: at(0), heartbeatAt: at(0) };
    assert.equal(hostRegistrationSchema.safeParse({ ...registration, heartbeatMs: MAX_HEARTBEAT_MS }).success, true);
    assert.equal(hostRegistrationSchema.safeParse({ ...registration, heartbeatMs: MAX_HEARTBEAT_MS + 1 }).success, false);
    assert.equal(hostRegistrationSchema.safeParse({ ...registration, heartbeatMs: 999 }).success, false);
    assert.equal(parseHeartbeat('5m'), MAX_HEARTBEAT_MS);
    assert.throws(() => parseHeartbeat('6m'), /--heartbeat 6m: expected from 1s to 5m/);
    assert.throws(() => parseHeartbeat('500ms'), /expected from 1s to 5m/);
  });

  it('hosts shows an agent that beats every 30 s, silent for 40 s, as live, and one silent for 100 s as STALE', () => {
    const host = (silentMs: number) => ({ hostId: 'h1', labels: {}, agentVersion: '0.2.0', startedAt: at(-3_600_000), heartbeatAt: at(-silentMs), heartbeatMs: 30_000, trust: 'verified' as const });
    assert.doesNotMatch(renderHosts([host(40_000)], [], NOW), /STALE/);
    assert.match(renderHosts([host(100_000)], [], NOW), /STALE 100s ago/);
  });

  it('hosts shows a host heartbeating from the future as STALE with clock skew', () => {
    const text = renderHosts([{ hostId: 'h1', labels: {}, agentVersion: '0.2.0', startedAt: at(0), heartbeatAt: at(3_600_000), trust: 'verified' }], [], NOW);
    assert.match(text, /STALE 60m in the future: clock skew\?/);
  });
});
