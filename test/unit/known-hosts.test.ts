import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allowedUnregistered, checkPlacementHosts, closestNames, editDistance, requireKnownHost, unregisteredPlacements } from '../../coordinator/known-hosts.js';
import { fleetTargets } from '../../coordinator/fleet-targets.js';
import { withUnregistered, type FleetHostStatus } from '../../coordinator/fleet-status.js';
import { renderFleetStatus } from '../../coordinator/cli/render/fleet-status-view.js';
import { renderFleetPlan } from '../../coordinator/cli/render/plan-view.js';
import { InvalidInputError } from '../../shared/errors.js';
import { fleetFileSchema } from '../../shared/fleet-spec.js';
import { desired, service } from '../lib/builders.js';

const fleet = fleetFileSchema.parse({
  project: 'shop',
  services: {
    api: { image: 'hw/busybox:test', placement: { hosts: ['h8'] } },
    worker: { image: 'hw/busybox:test', placement: { hosts: ['h1', 'h8'] } },
    web: { image: 'hw/busybox:test', placement: { selector: { role: 'web' } } },
  },
});
const registered = ['h1', 'h2', 'h3'];

function refusal(run: () => void): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof InvalidInputError, String(error));
    return error.message;
  }
  assert.fail('expected a refusal');
}

describe('known hosts: a placement names only hosts that exist', () => {
  it('refuses a placement on a host that never registered, listing it with its services, the known hosts and the closest names', () => {
    assert.deepEqual(unregisteredPlacements(fleet, new Set(registered)), [{ hostId: 'h8', services: ['api', 'worker'] }]);
    const message = refusal(() => checkPlacementHosts(fleet, registered, []));
    assert.equal(
      message,
      [
        'project shop places services on a host that has never registered (NOT REGISTERED):',
        '  h8 (api, worker); did you mean h1, h2 or h3?',
        'Known hosts: h1, h2, h3 (see `hostwright hosts`).',
        "Correct the name, start the host's agent (`hostwright agent --host-id h8 …`) first, or pass --allow-unregistered h8 to write its desired state now for an agent that registers later.",
      ].join('\n'),
    );
  });

  it('--allow-unregistered lets it through; a host holding desired state of the project already is not asked for again', () => {
    checkPlacementHosts(fleet, registered, ['h8']);
    checkPlacementHosts(fleet, registered, [], new Set(['h8']));
  });

  it('--allow-unregistered takes repeated and comma-separated host ids, and refuses what is no host id', () => {
    assert.deepEqual(allowedUnregistered(['h8', 'h9, h10', '']), ['h8', 'h9', 'h10']);
    assert.deepEqual(allowedUnregistered(undefined), []);
    assert.equal(refusal(() => allowedUnregistered(['h8', 'h 9'])), '--allow-unregistered h 9: not a host id (letters, digits, "-" or "_", at most 63)');
  });

  it('refuses an --allow-unregistered host the file places nothing on (a typo of the flag)', () => {
    assert.match(refusal(() => checkPlacementHosts(fleet, registered, ['h8', 'h9'])), /^--allow-unregistered h9: project shop places no service there \(its placements name: h1, h8\)$/);
  });

  it('says when no host has registered at all', () => {
    assert.match(refusal(() => checkPlacementHosts(fleet, [], [])), /h1 \(worker\)\n {2}h8 \(api, worker\)\nNo host has registered yet/);
  });

  it('--host filters: an unknown host is refused with the known hosts and a suggestion', () => {
    requireKnownHost('--host', 'h2', registered);
    assert.equal(refusal(() => requireKnownHost('--host', 'web-03', ['web-01', 'web-02', 'db-01'])), '--host web-03: no such host; did you mean web-01 or web-02?\nKnown hosts: db-01, web-01, web-02 (see `hostwright hosts`).');
    assert.equal(refusal(() => requireKnownHost('--host', 'zzzzzz', ['web-01'])), '--host zzzzzz: no such host\nKnown hosts: web-01 (see `hostwright hosts`).');
    assert.match(refusal(() => requireKnownHost('--host', 'h9', [])), /^--host h9: no such host\nNo host has registered yet/);
  });

  it('suggests only close names, case-insensitively', () => {
    assert.deepEqual(closestNames('EDGE-1', ['edge-1', 'edge-2', 'core-1']), ['edge-1']);
    assert.deepEqual(closestNames('db', ['web-01', 'api']), []);
  });

  it('property: edit distance is a metric bounded by the longer length', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-'), maxLength: 8 });
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        assert.equal(editDistance(a, a), 0);
        assert.equal(editDistance(a, b), editDistance(b, a));
        assert.ok(editDistance(a, b) <= Math.max(a.length, b.length));
        assert.ok(editDistance(a, c) <= editDistance(a, b) + editDistance(b, c));
      }),
    );
  });

  it('fleetTargets marks the hosts no agent registered as', () => {
    const targets = fleetTargets(fleet, [{ hostId: 'h1', labels: { role: 'web' } }], new Map(), 'c1');
    assert.deepEqual(targets.map((target) => [target.hostId, target.unregistered ?? false]), [
      ['h1', false],
      ['h8', true],
    ]);
    // A registration that failed its checks (no labels to place by) still means an agent is there: it is asked.
    const refused = fleetTargets(fleet, [{ hostId: 'h1', labels: { role: 'web' } }], new Map(), 'c1', { registeredIds: new Set(['h1', 'h8']) });
    assert.deepEqual(refused.map((target) => [target.hostId, target.unregistered ?? false]), [
      ['h1', false],
      ['h8', false],
    ]);
  });
});

describe('NOT REGISTERED in status and plan', () => {
  const registeredHost: FleetHostStatus = { hostId: 'h1', labels: {}, heartbeatAt: '2025-01-01T00:00:00.000Z', stale: false, reportedAt: null, outboxDepth: 0, status: null, trust: 'verified', refused: [], registered: true };

  it('status lists a host holding desired state that never registered, with its projects, in host order', () => {
    const hosts = withUnregistered([registeredHost], [desired('shop', { api: service() }, { hostId: 'h8', revision: 2 }), desired('blog', { web: service() }, { hostId: 'h8', revision: 1 }), desired('shop', { api: service() }, { hostId: 'h1' })]);
    assert.deepEqual(hosts.map((host) => [host.hostId, host.registered, host.desired ?? null]), [
      ['h1', true, null],
      ['h8', false, [{ project: 'blog', revision: 1 }, { project: 'shop', revision: 2 }]],
    ]);
    const text = renderFleetStatus(hosts, Date.parse('2025-01-01T00:00:05.000Z'));
    assert.match(text, /^h8 +NOT REGISTERED +blog +r1 +- +no /m);
    assert.match(text, /^h8 +NOT REGISTERED +shop +r2 +- +no /m);
    assert.match(text, /^h8: NOT REGISTERED: no agent has registered as this host; its desired state \(blog r1, shop r2\) waits for it; start it with `hostwright agent --host-id h8 …`$/m);
    // --host h1 leaves h8 out.
    assert.deepEqual(withUnregistered([registeredHost], [desired('shop', { api: service() }, { hostId: 'h8' })], 'h1').map((host) => host.hostId), ['h1']);
  });

  it('plan shows the host as NOT REGISTERED instead of asking it', () => {
    const text = renderFleetPlan('shop', [{ target: { hostId: 'h8', document: desired('shop', { api: service() }, { hostId: 'h8' }), kvRevision: 0, changed: true, unregistered: true }, plan: undefined, error: undefined }]);
    assert.match(text, /h8: NOT REGISTERED: no agent has registered as this host; r1 is written now \(--allow-unregistered\)/);
    assert.match(text, /Fleet: 1 host\(s\), 0 with changes, 1 NOT REGISTERED\.$/);
  });
});
