import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { meshLiveByHost, meshLiveText, meshLiveView } from '../../coordinator/mesh-live.js';
import { meshLiveSchema } from '../../shared/mesh.js';
import { hostRegistrationSchema } from '../../shared/wire.js';

const AT = '2026-12-07T15:40:52.788Z';

describe('`mesh`: how each host\'s live mesh compares with its stored document', () => {
  it('in sync, repaired, behind, differing, or unknown, from what the agent reported', () => {
    const cases = [
      [3, undefined, 'unknown', 'unknown (no report from the agent)'],
      [3, { revision: 3, inSync: true, checkedAt: AT }, 'in-sync', 'in sync'],
      [3, { revision: 3, inSync: true, checkedAt: AT, repaired: { at: AT, steps: 2 } }, 'in-sync', `in sync (repaired 2 step(s) at ${AT})`],
      // A newer document stored than the agent took: behind, even when its interface matches the older one.
      [4, { revision: 3, inSync: true, checkedAt: AT }, 'behind', 'behind (holds revision 3 of 4)'],
      [3, { revision: 3, inSync: false, checkedAt: AT, error: 'mesh: wg set failed' }, 'differs', 'differs: mesh: wg set failed'],
    ] as const;
    for (const [stored, live, state, text] of cases) {
      const view = meshLiveView(stored, live);
      assert.equal(view.state, state);
      assert.equal(meshLiveText(view, stored), text);
    }
  });

  it('only a verified registration says how a host\'s mesh is', () => {
    const live = { revision: 1, inSync: true, checkedAt: AT };
    const value = (hostId: string) => ({ hostId, labels: {}, agentVersion: '0.2.0', startedAt: AT, heartbeatAt: AT, meshLive: live });
    const byHost = meshLiveByHost([
      { hostId: 'h1', value: value('h1'), trust: { verdict: 'verified' } },
      { hostId: 'h2', value: value('h2'), trust: { verdict: 'unverified', reason: 'no fleet-auth.json' } },
      { hostId: 'h3', value: undefined, trust: { verdict: 'refused', reason: 'signed by another key' } },
    ]);
    assert.deepEqual([...byHost.keys()], ['h1']);
    assert.equal(meshLiveView(1, byHost.get('h2')).state, 'unknown');
  });

  it('the report rides beside `mesh` in the registration: an older reader ignores it, a bad one is refused', () => {
    const registration = { hostId: 'h1', labels: {}, agentVersion: '0.2.0', startedAt: AT, heartbeatAt: AT, meshLive: { revision: 1, inSync: true, checkedAt: AT } };
    assert.ok(hostRegistrationSchema.safeParse(registration).success);
    assert.equal(hostRegistrationSchema.safeParse({ ...registration, meshLive: { revision: -1, inSync: true, checkedAt: AT } }).success, false);
    assert.equal(meshLiveSchema.safeParse({ revision: 1, inSync: true, checkedAt: AT, extra: 1 }).success, false);
  });
});
