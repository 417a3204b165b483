import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HostwrightEvent } from '../../shared/events.js';
import type { HostStatus } from '../../shared/host-status.js';
import { lastOutputLines, type InstanceCondition } from '../../shared/instance-condition.js';
import type { RolloutState } from '../../coordinator/rollout/rollout-state.js';
import type { FleetHostStatus } from '../../coordinator/fleet-status.js';
import type { CELL_STATES, DashboardHost, DashboardHostSummary, DashboardSession, EventView, HostDetail, HostStatusView, LogLine, ProjectDetail, RolloutView } from '../../coordinator/dashboard/view/dashboard-types.js';
import type * as Api from '../../shared/dashboard-api.js';
import type { RolloutView as ServerRolloutView } from '../../coordinator/dashboard/rollout-view.js';
import type { lastPlanOf } from '../../coordinator/dashboard/event-queries.js';
import { applyHostsChange, fleetCounts, fleetProjects, fleetRows, hostRow } from '../../coordinator/dashboard/view/fleet-rows.js';
import { filterRows, NO_FILTER } from '../../coordinator/dashboard/view/fleet-filter.js';
import { rowWindow } from '../../coordinator/dashboard/view/row-window.js';
import { cyclesOfTuples, sparkline } from '../../coordinator/dashboard/view/sparkline.js';
import { rolloutTimeline } from '../../coordinator/dashboard/view/rollout-timeline.js';
import { convergeTimes, formatDuration } from '../../coordinator/dashboard/view/converge-times.js';
import { parseRoute, routeHash, type Route } from '../../coordinator/dashboard/view/route.js';
import { connectionState } from '../../coordinator/dashboard/view/connection-state.js';
import { eventMatches, keepLast } from '../../coordinator/dashboard/view/event-match.js';
import { driftReasons, imageAndDigest, lastLines } from '../../coordinator/dashboard/view/instance-facts.js';

// The page declares the wire shapes it reads; the shared types must stay assignable to them, or
// this file does not compile (a field renamed in shared/ fails the build, not the browser).
type Holds<T extends true> = T;
export type WireShapesHold = [
  Holds<HostStatus extends HostStatusView ? true : false>,
  Holds<HostwrightEvent extends EventView ? true : false>,
  Holds<RolloutState & { gate: [] } extends RolloutView ? true : false>,
  Holds<FleetHostStatus extends Omit<DashboardHost, 'status' | 'cordoned' | 'draining' | 'cells' | 'cycles'> ? true : false>,
  // What the server sends (shared/dashboard-api.ts, coordinator/dashboard/) is what the page reads.
  Holds<Api.DashboardHost extends DashboardHost ? true : false>,
  Holds<Api.DashboardHostSummary extends DashboardHostSummary ? true : false>,
  Holds<Api.DashboardSession extends DashboardSession ? true : false>,
  Holds<Api.DashboardEvent extends EventView ? true : false>,
  Holds<Api.DashboardLogLine extends LogLine ? true : false>,
  Holds<{ project: string; hosts: Api.DashboardProjectHost[]; history: Api.DashboardProjectChange[] } extends ProjectDetail ? true : false>,
  Holds<ServerRolloutView extends RolloutView ? true : false>,
  Holds<ReturnType<typeof lastPlanOf> extends HostDetail['lastPlan'] ? true : false>,
  Holds<typeof Api.CELL_STATES extends typeof CELL_STATES ? true : false>,
];

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();

function host(hostId: string, extra: Partial<DashboardHostSummary> = {}): DashboardHostSummary {
  return { hostId, labels: {}, effectiveLabels: {}, heartbeatAt: at(0), stale: false, trust: 'verified', registered: true, cordoned: false, draining: false, cells: [], cycles: [], ...extra };
}

const fleet = fleetRows([
  host('web-2', { labels: { role: 'web', zone: 'a' }, cells: [{ project: 'shop', state: 'drift', revision: 3 }, { project: 'blog', state: 'converged', revision: 1 }] }),
  host('web-1', { labels: { role: 'web', zone: 'b' }, cells: [{ project: 'shop', state: 'converged', revision: 3 }] }),
  host('db-1', { labels: { role: 'db' }, stale: true, cells: [{ project: 'pg', state: 'crash-loop', revision: 2 }, { project: 'blog', state: 'drift', revision: 1 }] }),
  host('edge-1', { cordoned: true, draining: true, trust: 'refused', cells: [] }),
]);
const ids = (rows: readonly { hostId: string }[]) => rows.map((row) => row.hostId);

describe('dashboard page: fleet rows, filters and counts', () => {
  it('sorts rows by host id and lists every project once', () => {
    assert.deepEqual(ids(fleet), ['db-1', 'edge-1', 'web-1', 'web-2']);
    assert.deepEqual(fleetProjects(fleet), ['blog', 'pg', 'shop']);
  });

  it('no filter lets every row through, as the same array', () => {
    assert.equal(filterRows(fleet, NO_FILTER), fleet);
  });

  it('filters by label pairs and bare keys (all must hold), by host substring in any case', () => {
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, label: 'role=web' })), ['web-1', 'web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, label: 'role=web, zone=b' })), ['web-1']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, label: 'zone' })), ['web-1', 'web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, label: 'role=we' })), [], 'a value matches whole, not as a prefix');
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, host: 'WEB-' })), ['web-1', 'web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, host: ' Db ' })), ['db-1']);
  });

  it('a state alone matches any cell or host marker; with a project, that project\'s cell', () => {
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'drift' })), ['db-1', 'web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'drift', project: 'shop' })), ['web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'drift', project: 'blog' })), ['db-1']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, project: 'blog' })), ['db-1', 'web-2']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'stale' })), ['db-1']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'stale', project: 'pg' })), ['db-1'], 'a host marker stays host-wide');
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'cordoned' })), ['edge-1']);
    assert.deepEqual(ids(filterRows(fleet, { ...NO_FILTER, state: 'refused' })), ['edge-1']);
  });

  it('the filtered rows are exactly the rows each test lets through, for any fleet', () => {
    const hostArb = fc.record({
      hostId: fc.stringMatching(/^[a-c]{1,3}$/),
      labels: fc.dictionary(fc.constantFrom('role', 'zone'), fc.constantFrom('a', 'b')),
      stale: fc.boolean(),
      cells: fc.uniqueArray(fc.record({ project: fc.constantFrom('p', 'q'), state: fc.constantFrom('converged' as const, 'drift' as const, 'failed' as const), revision: fc.nat(5) }), { selector: (cell) => cell.project }),
    });
    const filterArb = fc.record({ label: fc.constantFrom('', 'role=a', 'zone', 'role=b zone=a'), project: fc.constantFrom('', 'p', 'q'), state: fc.constantFrom('', 'drift', 'failed', 'stale'), host: fc.constantFrom('', 'a', 'B') });
    fc.assert(
      fc.property(fc.uniqueArray(hostArb, { selector: (h) => h.hostId }), filterArb, (hosts, filter) => {
        const rows = fleetRows(hosts.map((h) => host(h.hostId, h)));
        const expected = rows.filter(({ host: h }) => {
          const terms = filter.label.split(/[\s,]+/).filter((t) => t !== '');
          if (!terms.every((t) => (t.includes('=') ? `${t.split('=')[0]}` in h.labels && `${t.split('=')[0]}=${h.labels[t.split('=')[0]!]}` === t : t in h.labels))) return false;
          if (!h.hostId.toLowerCase().includes(filter.host.toLowerCase())) return false;
          const cell = h.cells.find((c) => c.project === filter.project);
          if (filter.project !== '' && cell === undefined) return false;
          if (filter.state === '') return true;
          if (filter.state === 'stale') return h.stale;
          return cell !== undefined ? cell.state === filter.state : h.cells.some((c) => c.state === filter.state);
        });
        assert.deepEqual(ids(filterRows(rows, filter)), ids(expected));
      }),
    );
  });

  it('counts cells per state, and stale, cordoned and all hosts; a stale host\'s cells count only as stale', () => {
    const counts = fleetCounts(fleet);
    assert.equal(counts.hosts, 4);
    assert.equal(counts.stale, 1);
    assert.equal(counts.cordoned, 1);
    assert.equal(counts.drift, 1, 'web-2 drifts; stale db-1\'s drift is only what it last said');
    assert.equal(counts.converged, 2);
    assert.equal(counts['crash-loop'], 0);
    const live = fleetCounts(fleetRows([host('db-1', { cells: [{ project: 'pg', state: 'crash-loop', revision: 2 }] })]));
    assert.equal(live['crash-loop'], 1);
    assert.equal(counts.rejected, 0);
  });

  it('a hosts message replaces changed rows, adds new ones in order, drops removed ones, keeps the others as they were', () => {
    const next = applyHostsChange(fleet, { hosts: [host('web-1', { stale: true }), host('app-1')], removed: ['edge-1', 'nobody'] });
    assert.deepEqual(ids(next), ['app-1', 'db-1', 'web-1', 'web-2']);
    assert.equal(next.find((row) => row.hostId === 'web-1')?.host.stale, true);
    assert.ok(next.find((row) => row.hostId === 'web-1')?.states.has('stale'), 'the derived states follow the host');
    assert.equal(next.find((row) => row.hostId === 'db-1'), fleet[0], 'an unchanged row is not derived again');
    assert.deepEqual(ids(applyHostsChange(fleet, { hosts: [host('new')], removed: ['new'] })), ids(fleet), 'a host added and removed at once is gone');
  });

  it('derives the row a filter reads from the host once', () => {
    const row = hostRow(host('x', { labels: { a: '1' }, cells: [{ project: 'p', state: 'applying', revision: 1 }] }));
    assert.deepEqual([...row.labelPairs], ['a=1']);
    assert.deepEqual([...row.states], ['applying']);
    assert.equal(row.stateByProject.get('p'), 'applying');
  });
});

describe('dashboard page: the grid window', () => {
  it('renders the rows in view plus the overscan, at their offset', () => {
    assert.deepEqual(rowWindow({ scrollTop: 0, viewportHeight: 400, rowHeight: 40, total: 10_000 }), { start: 0, end: 15, offsetTop: 0, totalHeight: 400_000 });
    assert.deepEqual(rowWindow({ scrollTop: 4000, viewportHeight: 400, rowHeight: 40, total: 10_000, overscan: 2 }), { start: 98, end: 112, offsetTop: 3920, totalHeight: 400_000 });
  });

  it('a scroll position past a list that got shorter shows its last rows; an empty list none', () => {
    assert.deepEqual(rowWindow({ scrollTop: 400_000, viewportHeight: 400, rowHeight: 40, total: 20, overscan: 0 }), { start: 10, end: 20, offsetTop: 400, totalHeight: 800 });
    assert.deepEqual(rowWindow({ scrollTop: 100, viewportHeight: 400, rowHeight: 40, total: 0 }), { start: 0, end: 0, offsetTop: 0, totalHeight: 0 });
  });

  it('for any scroll, the window covers the viewport, stays within the list and holds few rows', () => {
    fc.assert(
      fc.property(fc.nat(20_000), fc.integer({ min: -1000, max: 2_000_000 }), fc.integer({ min: 1, max: 2000 }), (total, scrollTop, viewportHeight) => {
        const window = rowWindow({ scrollTop, viewportHeight, rowHeight: 40, total, overscan: 3 });
        assert.ok(window.start >= 0 && window.start <= window.end && window.end <= total);
        assert.ok(window.end - window.start <= Math.ceil(viewportHeight / 40) + 7);
        const top = Math.min(Math.max(0, scrollTop), Math.max(0, total * 40 - viewportHeight));
        if (total > 0) {
          assert.ok(window.offsetTop <= top, 'the first rendered row starts at or above the view');
          assert.ok(window.end === total || window.end * 40 >= top + viewportHeight, 'the last rendered row reaches the bottom of the view');
        }
      }),
    );
  });
});

describe('dashboard page: pictures', () => {
  it('a sparkline scales durations into its box, oldest left, with a mark on each cycle that found drift', () => {
    const line = sparkline(
      [
        { at: at(0), durationMs: 100, drift: 0 },
        { at: at(1000), durationMs: 50, drift: 2 },
        { at: at(2000), durationMs: 0, drift: 0 },
      ],
      102,
      22,
    );
    assert.equal(line.path, 'M1 1 L51 11 L101 21');
    assert.deepEqual(line.driftMarks, [{ x: 51, y: 11, drift: 2 }]);
    assert.equal(line.maxMs, 100);
    assert.equal(line.lastMs, 0);
  });

  it('the fleet view\'s cycle tuples read as the cycles the host view has', () => {
    assert.deepEqual(cyclesOfTuples([[T0, 100, 0], [T0 + 1000, 50, 2]]), [
      { at: at(0), durationMs: 100, drift: 0 },
      { at: at(1000), durationMs: 50, drift: 2 },
    ]);
    assert.deepEqual(cyclesOfTuples([]), []);
  });

  it('a sparkline of no cycles is empty, of one a flat line, and never holds NaN', () => {
    assert.equal(sparkline([], 100, 20).path, '');
    assert.equal(sparkline([{ at: at(0), durationMs: 7, drift: 0 }], 100, 20).path, 'M1 1 L99 1');
    const odd = sparkline([{ at: at(0), durationMs: Number.NaN, drift: 1 }, { at: at(1), durationMs: -5, drift: 0 }], 100, 20);
    assert.doesNotMatch(odd.path, /NaN|Infinity/);
  });

  const rollout: RolloutView = {
    id: 'r-1',
    project: 'shop',
    correlationID: 'c-1',
    createdAt: at(0),
    updatedAt: at(30_000),
    waves: [['a'], ['b', 'c']],
    currentWave: 1,
    status: 'running',
    hosts: [
      { hostId: 'c', wave: 1, state: 'pending' },
      { hostId: 'b', wave: 1, state: 'applying', writtenRevision: 8, startedAt: at(10_000) },
      { hostId: 'a', wave: 0, state: 'healthy', writtenRevision: 7, startedAt: at(0), healthySince: at(4_000), finishedAt: at(9_000) },
    ],
    gate: [{ hostId: 'b', waitingFor: 'healthy for 10s (4s so far)' }],
  };

  it('a rollout timeline has a lane per host by wave, bars from start to finish (or now), and wave spans', () => {
    const layout = { width: 240, laneHeight: 10, labelWidth: 36, axisHeight: 10 };
    const timeline = rolloutTimeline(rollout, T0 + 20_000, layout);
    assert.deepEqual(
      timeline.lanes.map((lane) => [lane.hostId, lane.wave, lane.y]),
      [['a', 0, 0], ['b', 1, 10], ['c', 1, 20]],
    );
    // 200 px for 20 s: 10 px a second from x = 36.
    assert.deepEqual(timeline.lanes[0]!.bar, { x: 36, width: 90, healthyX: 76 });
    assert.deepEqual(timeline.lanes[1]!.bar, { x: 136, width: 100 });
    assert.equal(timeline.lanes[2]!.bar, undefined, 'a host not started has no bar');
    assert.deepEqual(timeline.waves, [{ wave: 0, x: 36, width: 90, y: 0, height: 10 }, { wave: 1, x: 136, width: 100, y: 10, height: 20 }]);
    assert.equal(timeline.height, 40);
    assert.deepEqual(timeline.ticks.map((tick) => tick.label), ['0s', '5s', '10s', '15s', '20s']);
  });

  it('a finished rollout\'s timeline ends at its last update, not now', () => {
    const done = rolloutTimeline({ ...rollout, status: 'succeeded', hosts: rollout.hosts.map((h) => ({ ...h, state: 'healthy' as const, finishedAt: at(25_000) })) }, T0 + 999_000);
    assert.equal(done.endMs, T0 + 30_000);
  });

  it('converge time per revision: write to healthy, median and slowest, hosts not yet healthy left out', () => {
    const times = convergeTimes({
      ...rollout,
      hosts: [
        { hostId: 'a', wave: 0, state: 'healthy', writtenRevision: 7, startedAt: at(0), healthySince: at(4_000) },
        { hostId: 'b', wave: 1, state: 'healthy', writtenRevision: 7, startedAt: at(0), healthySince: at(2_000) },
        { hostId: 'c', wave: 1, state: 'healthy', writtenRevision: 9, startedAt: at(1_000), healthySince: at(1_500) },
        { hostId: 'd', wave: 1, state: 'applying', writtenRevision: 9, startedAt: at(1_000) },
      ],
    });
    assert.deepEqual(times, [
      { revision: 7, hosts: 2, medianMs: 3000, maxMs: 4000 },
      { revision: 9, hosts: 1, medianMs: 500, maxMs: 500 },
    ]);
    assert.deepEqual([formatDuration(850), formatDuration(12_340), formatDuration(245_000), formatDuration(-1)], ['850 ms', '12.3 s', '4 m 05 s', '-']);
  });
});

describe('dashboard page: routes', () => {
  it('parses each view of the hash', () => {
    assert.deepEqual(parseRoute(''), { view: 'fleet' });
    assert.deepEqual(parseRoute('#/'), { view: 'fleet' });
    assert.deepEqual(parseRoute('#/host/web-1'), { view: 'host', hostId: 'web-1' });
    assert.deepEqual(parseRoute('#/project/shop'), { view: 'project', project: 'shop' });
    assert.deepEqual(parseRoute('#/rollouts'), { view: 'rollouts' });
    assert.deepEqual(parseRoute('#/rollout/r%2F1'), { view: 'rollout', id: 'r/1' });
    assert.deepEqual(parseRoute('#/events?correlation=c-1&host=web-1&bogus=1&type='), { view: 'events', filter: { correlation: 'c-1', host: 'web-1' } });
  });

  it('an unknown or malformed hash is not-found, never a throw', () => {
    for (const hash of ['#/nope', '#/host/', '#/host/%E0%A4%A', '#/host/a/b', '#/rollouts/x']) assert.equal(parseRoute(hash).view, 'not-found', hash);
  });

  it('the hash of any route parses back to it', () => {
    const text = fc.string({ minLength: 1, maxLength: 20 });
    const route: fc.Arbitrary<Route> = fc.oneof(
      fc.constant({ view: 'fleet' as const }),
      text.map((hostId) => ({ view: 'host' as const, hostId })),
      text.map((project) => ({ view: 'project' as const, project })),
      text.map((id) => ({ view: 'rollout' as const, id })),
      fc.record({ host: text, correlation: text }, { requiredKeys: [] }).map((filter) => ({ view: 'events' as const, filter: { ...filter } })),
    );
    fc.assert(fc.property(route, (r) => assert.deepEqual(parseRoute(routeHash(r)), r)));
  });
});

describe('dashboard page: connection banner, events, instances', () => {
  it('says live, lost or stale after 3 s without a message', () => {
    assert.deepEqual(connectionState({ open: true, lastMessageAt: 1000, now: 3500 }), { state: 'live', text: 'Live' });
    assert.deepEqual(connectionState({ open: true, lastMessageAt: 1000, now: 5200 }), { state: 'stale', text: 'Data stale: no update for 4s' });
    assert.deepEqual(connectionState({ open: false, lastMessageAt: 1000, now: 1001 }), { state: 'lost', text: 'Connection lost: retrying' });
  });

  it('a live event joins a filtered view only when every set filter matches; lists keep their last items', () => {
    const event = { hostId: 'h', project: 'p', type: 'applied', correlationID: 'c' };
    assert.equal(eventMatches(event, {}), true);
    assert.equal(eventMatches(event, { host: 'h', correlation: 'c' }), true);
    assert.equal(eventMatches(event, { host: 'h', type: 'failed' }), false);
    assert.deepEqual(keepLast([1, 2, 3], [4, 5], 3), [3, 4, 5]);
    assert.deepEqual(keepLast([1], [2], 3), [1, 2]);
  });

  it('explains drift, splits the image from its digest, and picks last lines as status does', () => {
    assert.deepEqual(driftReasons({ drift: ['missing', 'modified'] }), ['missing: its container is gone (removed outside Hostwright)', 'modified: its container no longer matches the desired spec']);
    assert.deepEqual(imageAndDigest({ imageDigest: 'reg:5000/app@sha256:ab' }), { image: 'reg:5000/app', digest: 'sha256:ab' });
    assert.deepEqual(imageAndDigest({ imageId: 'sha256:cd' }), { image: '-', digest: 'sha256:cd' });
    fc.assert(
      fc.property(fc.array(fc.constantFrom('', ' ', 'a', 'b c', 'FATAL')), fc.integer({ min: 1, max: 5 }), (lines, count) => {
        const condition: InstanceCondition = { kind: 'crashloop', oomKilled: false, restartCount: 1, lastLines: lines, since: at(0) };
        assert.deepEqual(lastLines(condition, count), lastOutputLines(condition, count));
      }),
    );
  });
});
