import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CELL_STATES, type CellState } from '../../shared/dashboard-api.js';
import type { HostwrightEvent } from '../../shared/events.js';
import type { InstanceStatus, ProjectStatus } from '../../shared/host-status.js';
import type { HostReport } from '../../shared/host-report.js';
import type { HostRegistration, StatusReport } from '../../shared/wire.js';
import { classifyCell, driftStillShown, DRIFT_SHOWN_MS, withDriftSeen } from '../../coordinator/dashboard/cell-state.js';
import { CYCLES_KEPT, CycleLog } from '../../coordinator/dashboard/cycle-log.js';
import { hostHeaderAllowed, parseListen, postAllowed, securityHeaders, tokenCookie, tokenMatches, tokenOf } from '../../coordinator/dashboard/dashboard-security.js';
import { roleMayAct, userOfKey } from '../../coordinator/dashboard/dashboard-access.js';
import { FleetModel } from '../../coordinator/dashboard/fleet-model.js';
import { fleetStatus } from '../../coordinator/fleet-status.js';
import { parseEventsFilter, lastPlanOf } from '../../coordinator/dashboard/event-queries.js';
import { parseLogsQuery } from '../../coordinator/dashboard/logs-endpoint.js';
import { rolloutView } from '../../coordinator/dashboard/rollout-view.js';
import { changedRollout } from '../../coordinator/rollout/rollout-change.js';
import { startRollout } from '../../coordinator/rollout/rollout-step.js';
import type { FleetAuthManifest } from '../../coordinator/nats-auth.js';
import { DashboardAssetsMissingError, findAssets } from '../../coordinator/dashboard/dashboard-assets.js';
import { sseMessage } from '../../coordinator/dashboard/live-hub.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { desired, service } from '../lib/builders.js';

// Pure parts of the dashboard's server: cell states, cycles, the model's changes and staleness,
// the request checks, roles, query parsing and rollout gates. The HTTP server itself is tested over
// real NATS and real agents in test/e2e/dashboard.test.ts.

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function instance(fields: Partial<InstanceStatus> = {}): InstanceStatus {
  return { project: 'shop', service: 'web', instance: 1, name: 'shop-web-1', state: 'running', health: 'none', drift: [], ...fields };
}

function project(fields: Partial<ProjectStatus> = {}): ProjectStatus {
  return { project: 'shop', desiredRevision: 3, appliedRevision: 3, converged: true, pendingActions: 0, instances: [instance()], unowned: [], blocked: [], ...fields };
}

const crashloop = { kind: 'crashloop' as const, exitCode: 3, oomKilled: false, restartCount: 4, lastLines: ['FATAL: no token'], since: '2026-03-01T11:00:00Z' };
const failed = { ...crashloop, kind: 'failed' as const, exitCode: 1 };

/** Every condition that can make a cell worse, each with the state it alone gives. */
const CONDITIONS: readonly [CellState, Partial<ProjectStatus>][] = [
  ['rejected', { rejected: { revision: 3, reason: 'failed 5 times' } }],
  ['crash-loop', { instances: [instance({ condition: crashloop, name: 'shop-web-2' })] }],
  ['failed', { instances: [instance({ condition: failed, name: 'shop-job-1' })] }],
  ['blocked', { blocked: [{ project: 'shop', gate: 'port-conflict', message: 'port 80 is taken' }] }],
  ['backing-off', { backoff: { revision: 3, attempts: 2, reason: 'pull failed', since: '2026-03-01T11:00:00Z', retryAt: '2026-03-01T12:01:00Z' } }],
  ['unhealthy', { instances: [instance({ health: 'unhealthy', name: 'shop-web-3' })] }],
  ['drift', { instances: [instance({ drift: ['missing'], name: 'shop-web-4' })] }],
  ['removing', { removed: true, converged: false }],
  ['applying', { converged: false, appliedRevision: 2, pendingActions: 1 }],
];

/** Merges the conditions' fields, their instances together. */
function withConditions(chosen: readonly (typeof CONDITIONS)[number][]): ProjectStatus {
  const instances = chosen.flatMap(([, fields]) => fields.instances ?? []);
  const merged = Object.assign({}, ...chosen.map(([, fields]) => fields)) as Partial<ProjectStatus>;
  return project({ ...merged, instances: instances.length > 0 ? instances : [instance()] });
}

describe('dashboard: a cell\'s state', () => {
  it('a converged project is converged, with its revisions and no detail', () => {
    assert.deepEqual(classifyCell(project()), { project: 'shop', state: 'converged', revision: 3, appliedRevision: 3 });
  });

  it('each condition alone gives its state, with a plain-text reason', () => {
    for (const [state, fields] of CONDITIONS) {
      const cell = classifyCell(withConditions([[state, fields]]));
      assert.equal(cell.state, state, JSON.stringify(fields));
      assert.ok(state === 'removing' || (cell.detail ?? '').length > 0, `${state} has a detail`);
    }
    assert.match(classifyCell(withConditions([CONDITIONS[1] as (typeof CONDITIONS)[number]])).detail ?? '', /shop-web-2 crashloop \(exit 3\)/);
    assert.match(classifyCell(withConditions([CONDITIONS[6] as (typeof CONDITIONS)[number]])).detail ?? '', /shop-web-4: missing/);
  });

  it('property: with any set of conditions the worst one wins (rejected > crash-loop > failed > blocked > backing-off > unhealthy > drift > removing > applying > converged)', () => {
    fc.assert(
      fc.property(fc.subarray([...CONDITIONS]), (chosen) => {
        const expected = chosen.length === 0 ? 'converged' : (CELL_STATES.find((state) => chosen.some(([given]) => given === state)) as CellState);
        assert.equal(classifyCell(withConditions(chosen)).state, expected);
      }),
    );
  });
});

describe('dashboard: drift an agent told of', () => {
  const drift = { at: '2026-03-01T12:00:05.000Z', message: 'shop-web-1: missing' };
  const at = (text: string) => Date.parse(text);

  it('shows as drift; a worse state stays', () => {
    const cell = classifyCell(project());
    assert.deepEqual(withDriftSeen(cell, drift), { ...cell, state: 'drift', detail: 'shop-web-1: missing' });
    assert.deepEqual(withDriftSeen(cell, undefined), cell);
    const crashing = classifyCell(project({ instances: [instance({ condition: crashloop })] }));
    assert.equal(withDriftSeen(crashing, drift).state, 'crash-loop');
  });

  it(`is shown for ${DRIFT_SHOWN_MS} ms, and after that until a later status`, () => {
    assert.equal(driftStillShown(drift, '2026-03-01T12:00:06.000Z', at('2026-03-01T12:00:07.000Z')), true);
    assert.equal(driftStillShown(drift, '2026-03-01T12:00:06.000Z', at('2026-03-01T12:00:10.000Z')), false);
    assert.equal(driftStillShown(drift, '2026-03-01T12:00:04.000Z', at('2026-03-01T12:00:30.000Z')), true);
  });

  it('the model sends the host in drift, then again once it is no longer shown', () => {
    const model = new FleetModel(60_000);
    model.setRegistration('h1', registration('h1', 0));
    model.setStatus('h1', statusOf('h1', [project()]));
    model.takeChanges(T0);
    model.addEvent({ ...event('h1', 'c9', 100, 'drift_detected'), message: 'shop-web-1: missing' });
    assert.equal(model.takeChanges(T0 + 200).hosts[0]?.cells[0]?.state, 'drift');
    model.setStatus('h1', statusOf('h1', [project()], 1_000));
    assert.deepEqual(model.takeChanges(T0 + 1_000).hosts, [], 'a status that only says the time again sends nothing');
    assert.equal(model.host('h1', T0 + 1_000)?.cells[0]?.state, 'drift', 'still shown');
    assert.equal(model.takeChanges(T0 + 100 + DRIFT_SHOWN_MS).hosts[0]?.cells[0]?.state, 'converged');
  });
});

function event(hostId: string, correlationID: string, offsetMs: number, type: HostwrightEvent['type'] = 'applied'): HostwrightEvent {
  return { id: `${correlationID}-${offsetMs}-${type}`, type, severity: 'info', hostId, project: 'shop', message: 'm', timestamp: new Date(T0 + offsetMs).toISOString(), correlationID };
}

describe('dashboard: cycles from events', () => {
  it('one cycle per correlation id: from its first event to its last, counting drift events', () => {
    const log = new CycleLog();
    log.add(event('h1', 'c1', 0, 'drift_detected'));
    log.add(event('h1', 'c1', 1_500, 'planned'));
    log.add(event('h1', 'c1', 4_000, 'applied'));
    log.add(event('h1', 'c2', 10_000, 'planned'));
    assert.deepEqual(log.cyclesOf('h1'), [
      { at: new Date(T0).toISOString(), durationMs: 4_000, drift: 1 },
      { at: new Date(T0 + 10_000).toISOString(), durationMs: 0, drift: 0 },
    ]);
    assert.deepEqual(log.cyclesOf('h2'), []);
  });

  it(`keeps the last ${CYCLES_KEPT} cycles of a host`, () => {
    const log = new CycleLog();
    for (let index = 0; index < CYCLES_KEPT + 5; index += 1) log.add(event('h1', `c${index}`, index * 1_000));
    const cycles = log.cyclesOf('h1');
    assert.equal(cycles.length, CYCLES_KEPT);
    assert.equal(cycles[0]?.at, new Date(T0 + 5_000).toISOString());
  });
});

function registration(hostId: string, heartbeatMs: number, labels: Record<string, string> = {}): HostReport<HostRegistration> {
  const at = new Date(T0 + heartbeatMs).toISOString();
  return { hostId, value: { hostId, labels, startedAt: new Date(T0).toISOString(), heartbeatAt: at, agentVersion: 'test' } as HostRegistration, trust: { verdict: 'unverified', reason: 'test' } } as HostReport<HostRegistration>;
}

function statusOf(hostId: string, projects: ProjectStatus[], observedMs = 0): HostReport<StatusReport> {
  const at = new Date(T0 + observedMs).toISOString();
  return { hostId, value: { hostId, reportedAt: at, agentVersion: 'test', outboxDepth: 0, status: { hostId, observedAt: at, projects } }, trust: { verdict: 'unverified', reason: 'test' } } as HostReport<StatusReport>;
}

describe('dashboard: the fleet model', () => {
  it('one entry per host with its cells, cordon and labels; changes are taken once', () => {
    const model = new FleetModel(5_000);
    model.setRegistration('h1', registration('h1', 0, { zone: '<script>alert(1)</script>' }));
    model.setStatus('h1', statusOf('h1', [project(), project({ project: 'db', instances: [instance({ drift: ['stopped'] })] })]));
    model.setRegistration('h2', registration('h2', 0));
    model.setControl('h2', { schema: 'hostwright.hostctl/v1', hostId: 'h2', labels: { tier: 'gold' }, cordon: { at: 'x' }, updatedAt: 'x' });
    const first = model.takeChanges(T0 + 1_000);
    assert.deepEqual(first.hosts.map((host) => host.hostId), ['h1', 'h2']);
    const [h1, h2] = first.hosts;
    assert.deepEqual(h1?.cells.map((cell) => cell.state), ['converged', 'drift']);
    assert.equal(h1?.labels.zone, '<script>alert(1)</script>');
    assert.equal(h2?.cordoned, true);
    assert.equal(h2?.draining, false);
    assert.deepEqual(h2?.effectiveLabels, { tier: 'gold' });
    assert.deepEqual(model.takeChanges(T0 + 1_200), { hosts: [], removed: [] });
    assert.equal(model.snapshot(T0 + 1_200).hosts.length, 2);
  });

  it('a heartbeat or a status that differs only in its times does not send the host again', () => {
    const model = new FleetModel(5_000);
    model.setRegistration('h1', registration('h1', 0));
    model.setStatus('h1', statusOf('h1', [project()]));
    model.takeChanges(T0);
    model.setRegistration('h1', registration('h1', 1_000));
    model.setStatus('h1', statusOf('h1', [project()], 1_000));
    assert.deepEqual(model.takeChanges(T0 + 1_100).hosts, []);
    assert.equal(model.host('h1', T0 + 1_100)?.heartbeatAt, new Date(T0 + 1_000).toISOString(), 'the time is kept');
    model.setStatus('h1', statusOf('h1', [project({ converged: false })], 2_000));
    assert.deepEqual(model.takeChanges(T0 + 2_100).hosts.map((host) => host.cells[0]?.state), ['applying']);
    model.setRegistration('h1', registration('h1', 3_000, { zone: 'b' }));
    assert.equal(model.takeChanges(T0 + 3_100).hosts.length, 1);
  });

  it('a host that turns stale is sent again with stale: true; a host gone is sent as removed', () => {
    const model = new FleetModel(5_000);
    model.setRegistration('h1', registration('h1', 0));
    assert.equal(model.takeChanges(T0 + 1_000).hosts[0]?.stale, false);
    assert.deepEqual(model.takeChanges(T0 + 4_000).hosts, []);
    const turned = model.takeChanges(T0 + 6_000).hosts;
    assert.deepEqual(turned.map((host) => [host.hostId, host.stale]), [['h1', true]]);
    assert.deepEqual(model.takeChanges(T0 + 7_000).hosts, []);
    model.setRegistration('h1', undefined);
    assert.deepEqual(model.takeChanges(T0 + 8_000), { hosts: [], removed: ['h1'] });
    assert.equal(model.host('h1', T0), undefined);
  });

  it('a host whose agent beats every 30 s turns stale after three missed beats, not after --stale-after', () => {
    const model = new FleetModel(5_000);
    const slow = registration('h1', 0);
    model.setRegistration('h1', { ...slow, value: { ...(slow.value as HostRegistration), heartbeatMs: 30_000 } });
    assert.equal(model.takeChanges(T0 + 1_000).hosts[0]?.stale, false);
    assert.deepEqual(model.takeChanges(T0 + 60_000).hosts, [], 'two beats missed: still live');
    assert.equal(model.summary('h1', T0 + 60_000)?.stale, false);
    assert.deepEqual(model.takeChanges(T0 + 91_000).hosts.map((host) => [host.hostId, host.stale]), [['h1', true]]);
    assert.match(model.snapshotJson(T0 + 91_000), /"stale":true/);
  });

  it('an event of a known host marks it changed and adds to its cycles', () => {
    const model = new FleetModel(5_000);
    model.setRegistration('h1', registration('h1', 0));
    model.takeChanges(T0);
    model.addEvent(event('h1', 'c1', 0, 'drift_detected'));
    assert.deepEqual(model.takeChanges(T0 + 100).hosts[0]?.cycles, [[T0, 0, 1]]);
    assert.deepEqual(model.host('h1', T0 + 100)?.cycles, [{ at: new Date(T0).toISOString(), durationMs: 0, drift: 1 }], 'the whole host has them as objects');
  });

  it('the fleet view carries summaries; the whole host is its reports as they came, times included', () => {
    const model = new FleetModel(5_000);
    const reg = registration('h1', 2_000, { zone: 'a' });
    const status = statusOf('h1', [project(), project({ project: 'gone', removed: true, converged: true, instances: [] })], 1_500);
    model.setRegistration('h1', reg);
    model.setStatus('h1', status);
    const [summary] = model.snapshot(T0 + 2_100).hosts;
    assert.deepEqual(Object.keys(summary ?? {}).sort(), ['cells', 'cordoned', 'cycles', 'draining', 'effectiveLabels', 'heartbeatAt', 'hostId', 'labels', 'registered', 'stale', 'trust']);
    assert.deepEqual(summary?.cells.map((cell) => cell.project), ['shop'], 'a project nothing is left of is no cell');
    assert.equal(summary?.trust, 'unverified');
    const whole = model.host('h1', T0 + 2_100);
    const [expected] = fleetStatus([reg], [status], 'h1', T0 + 2_100);
    assert.deepEqual(whole?.status, expected?.status);
    assert.equal(whole?.reportedAt, status.value?.reportedAt);
    assert.equal(whole?.heartbeatAt, reg.value?.heartbeatAt);
    assert.deepEqual(whole?.cells, summary?.cells);
  });

  it('the snapshot\'s JSON is the snapshot, also after heartbeats, changes, events and a host turning stale', () => {
    const model = new FleetModel(5_000);
    const same = (now: number) => assert.deepEqual(JSON.parse(model.snapshotJson(now)), JSON.parse(JSON.stringify(model.snapshot(now))));
    model.setRegistration('h1', registration('h1', 0, { zone: 'a"b' }));
    model.setStatus('h1', statusOf('h1', [project()]));
    model.setRegistration('h2', registration('h2', 0));
    same(T0 + 100);
    model.setRegistration('h1', registration('h1', 1_000, { zone: 'a"b' }));
    same(T0 + 1_100);
    model.setStatus('h1', statusOf('h1', [project({ converged: false })], 1_500));
    model.addEvent(event('h1', 'c1', 1_500, 'drift_detected'));
    model.setControl('h2', { schema: 'hostwright.hostctl/v1', hostId: 'h2', labels: { tier: 'gold' }, cordon: { at: 'x' }, updatedAt: 'x' });
    same(T0 + 1_600);
    model.takeChanges(T0 + 1_600);
    same(T0 + 1_600 + DRIFT_SHOWN_MS + 10_000);
    assert.equal((JSON.parse(model.snapshotJson(T0 + 1_600)) as { hosts: { cells: { state: string }[] }[] }).hosts[0]?.cells[0]?.state, 'drift');
  });

  it('a refused report is no content; the same refusal again sends nothing, another one does', () => {
    const model = new FleetModel(5_000);
    const refused = (reason: string): HostReport<StatusReport> => ({ hostId: 'h1', value: undefined, trust: { verdict: 'refused', reason } });
    model.setRegistration('h1', registration('h1', 0));
    model.setStatus('h1', refused('bad signature'));
    assert.deepEqual(model.takeChanges(T0 + 100).hosts.map((host) => [host.trust, host.cells.length]), [['refused', 0]]);
    model.setStatus('h1', refused('bad signature'));
    assert.deepEqual(model.takeChanges(T0 + 200).hosts, []);
    model.setStatus('h1', refused('wrong key'));
    assert.equal(model.takeChanges(T0 + 300).hosts.length, 1);
    assert.deepEqual(model.host('h1', T0 + 300)?.refused, [{ report: 'status', reason: 'wrong key' }]);
  });
});

describe('dashboard: request checks', () => {
  it('every response has the CSP and friends; the API is not cached', () => {
    const page = securityHeaders('/');
    assert.match(page['Content-Security-Policy'] ?? '', /default-src 'none'; script-src 'self'/);
    assert.equal(page['X-Content-Type-Options'], 'nosniff');
    assert.equal(page['Referrer-Policy'], 'no-referrer');
    assert.equal(page['Cache-Control'], undefined);
    assert.equal(securityHeaders('/api/fleet')['Cache-Control'], 'no-store');
  });

  it('on loopback only localhost names with the port pass the Host check', () => {
    const listen = parseListen('127.0.0.1:8080');
    assert.equal(listen.loopback, true);
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'LOCALHOST:8080']) assert.equal(hostHeaderAllowed(host, listen), true, host);
    for (const host of [undefined, 'evil.example:8080', '127.0.0.1:9090', '127.0.0.1', 'localhost.evil.example:8080']) assert.equal(hostHeaderAllowed(host, listen), false, String(host));
    assert.equal(hostHeaderAllowed('dash.example.com', parseListen('0.0.0.0:8080')), true);
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0, loopback: true });
    assert.throws(() => parseListen('8080'), /expected ADDR:PORT/);
    assert.throws(() => parseListen('127.0.0.1:70000'), /expected ADDR:PORT/);
  });

  it('a POST needs JSON and, with an Origin, this server\'s', () => {
    assert.deepEqual(postAllowed({ contentType: 'application/json; charset=utf-8', origin: undefined, host: '127.0.0.1:80' }), { ok: true });
    assert.deepEqual(postAllowed({ contentType: 'application/json', origin: 'http://127.0.0.1:80', host: '127.0.0.1:80' }), { ok: true });
    assert.equal(postAllowed({ contentType: 'text/plain', origin: undefined, host: 'h' }).ok, false);
    assert.equal(postAllowed({ contentType: 'application/json', origin: 'http://evil.example', host: '127.0.0.1:80' }).ok, false);
  });

  it('the token comes from a bearer header or the cookie, and is compared whole', () => {
    assert.equal(tokenOf('Bearer abc', undefined), 'abc');
    assert.equal(tokenOf(undefined, 'a=b; hw_dashboard=t%3Dx'), 't=x');
    assert.equal(tokenOf(undefined, 'a=b'), undefined);
    assert.equal(tokenMatches('secret-token-123', 'secret-token-123'), true);
    assert.equal(tokenMatches('secret-token-12', 'secret-token-123'), false);
    assert.equal(tokenMatches(undefined, 'x'), false);
    assert.match(tokenCookie('t'), /^hw_dashboard=t; HttpOnly; SameSite=Strict; Path=\/$/);
  });
});

describe('dashboard: roles', () => {
  const manifest = { schema: 'hostwright.fleet-auth/v1', coordinator: { publicKey: 'UCOORD' }, admin: { publicKey: 'UADMIN' }, signingPublicKey: 'O', hosts: [], users: [{ name: 'ro', role: 'reader', publicKey: 'UREADER' }, { name: 'ci', role: 'deployer', publicKey: 'UCI' }] } as unknown as FleetAuthManifest;
  it('a key\'s role comes from the manifest; only deployer and admin may act', () => {
    assert.deepEqual(['UCOORD', 'UADMIN', 'UREADER', 'UCI', 'UOTHER'].map((key) => userOfKey(manifest, key)), [{ name: 'coordinator', role: 'deployer' }, { name: 'admin', role: 'admin' }, { name: 'ro', role: 'reader' }, { name: 'ci', role: 'deployer' }, { name: undefined, role: 'unknown' }]);
    assert.deepEqual((['reader', 'deployer', 'admin', 'unknown'] as const).map(roleMayAct), [false, true, true, false]);
  });
});

describe('dashboard: queries', () => {
  it('events: the filters of `events`, a bounded limit, and a bad value said plainly', () => {
    assert.deepEqual(parseEventsFilter(new URLSearchParams('host=h1&type=applied&correlation=c1&limit=5')), { host: 'h1', project: undefined, type: 'applied', correlation: 'c1', limit: 5 });
    assert.equal(parseEventsFilter(new URLSearchParams('')).limit, 200);
    assert.throws(() => parseEventsFilter(new URLSearchParams('type=nope')), /expected one of planned/);
    assert.throws(() => parseEventsFilter(new URLSearchParams('limit=0')), /limit=0/);
    assert.throws(() => parseEventsFilter(new URLSearchParams('host=h1.>')), /expected a host id/);
  });

  it('the last plan is the newest planned event of each project', () => {
    const events = [event('h1', 'c1', 0, 'planned'), event('h1', 'c2', 1_000, 'planned'), event('h1', 'c2', 2_000, 'applied')].map((e) => ({ ...e, schema: 'hostwright.event/v1' as const, trust: 'unverified' as const }));
    assert.deepEqual(lastPlanOf(events)?.map((plan) => plan.correlationID), ['c2']);
    assert.equal(lastPlanOf([]), null);
  });

  it('logs: host, project and service are required; tail defaults to 200; download never follows', () => {
    const query = parseLogsQuery(new URLSearchParams('host=h1&project=shop&service=web&instance=2&follow=1&grep=ERR'));
    assert.deepEqual(query, { host: 'h1', project: 'shop', service: 'web', instance: 2, tail: 200, follow: true, grep: 'ERR', download: false });
    assert.equal(parseLogsQuery(new URLSearchParams('host=h1&project=shop&service=web&follow=1&download=1')).follow, false);
    assert.throws(() => parseLogsQuery(new URLSearchParams('project=shop&service=web')), /host=/);
    assert.throws(() => parseLogsQuery(new URLSearchParams('host=h1&project=shop&service=web&tail=-1')), /tail=-1/);
  });
});

describe('dashboard: rollouts', () => {
  const state = startRollout({ id: 'r1', project: 'shop', correlationID: 'c1', now: new Date(T0), options: { canary: 1, maxParallel: 2, minHealthyMs: 10_000, healthyDeadlineMs: 60_000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false }, targets: ['h1', 'h2'].map((hostId) => ({ hostId, target: desired('shop', { web: service({ env: { TOKEN: { secret: 'secret-value' } } }) }, { hostId, revision: 2 }), previous: null })) });

  it('the gate of each host of the current wave, in plain words; secrets masked', () => {
    const applying = { ...state, hosts: state.hosts.map((host) => (host.hostId === 'h1' ? { ...host, state: 'applying' as const, startedAt: new Date(T0).toISOString(), healthySince: new Date(T0 + 2_000).toISOString() } : host)) };
    const view = rolloutView(applying, T0 + 6_000);
    assert.deepEqual(view.gate, [{ hostId: 'h1', waitingFor: 'healthy for 10s (4s so far)' }]);
    assert.doesNotMatch(JSON.stringify(view), /secret-value/);
    const failedHost = { ...state, status: 'paused' as const, hosts: state.hosts.map((host) => (host.hostId === 'h1' ? { ...host, state: 'failed' as const, message: 'crashloop (exit 3)' } : host)) };
    assert.deepEqual(rolloutView(failedHost, T0).gate, [{ hostId: 'h1', waitingFor: 'crashloop (exit 3)' }]);
  });

  it('pause, resume and abort say who did it; a finished rollout is refused', () => {
    const paused = changedRollout('pause', state, new Date(T0), 'alice (dashboard)');
    assert.equal(paused.status, 'paused');
    assert.equal(paused.reason, 'paused by alice (dashboard)');
    assert.equal(changedRollout('resume', paused, new Date(T0)).reason, 'resumed');
    assert.equal(changedRollout('pause', state, new Date(T0)).reason, 'paused by an operator');
    const aborted = changedRollout('abort', state, new Date(T0), 'bob');
    assert.equal(aborted.status, 'aborted');
    assert.throws(() => changedRollout('pause', aborted, new Date(T0)), /already aborted/);
  });
});

describe('dashboard: the page\'s files and the stream\'s messages', () => {
  it('the assets are the first dashboard/ with index.html above the module (the bundle and tsc\'s output both find dist/dashboard/)', () => {
    const root = mkdtempSync(join(tmpdir(), 'hw-dash-assets-'));
    try {
      mkdirSync(join(root, 'dist', 'dashboard'), { recursive: true });
      mkdirSync(join(root, 'dist', 'coordinator', 'dashboard'), { recursive: true });
      const bundle = pathToFileURL(join(root, 'dist', 'cli', 'hostwright.js')).href;
      const compiled = pathToFileURL(join(root, 'dist', 'coordinator', 'dashboard', 'dashboard-assets.js')).href;
      assert.throws(() => findAssets(bundle, {}), (error: unknown) => error instanceof DashboardAssetsMissingError && /npm run build/.test(error.message));
      writeFileSync(join(root, 'dist', 'dashboard', 'index.html'), '<html></html>');
      assert.equal(findAssets(bundle, {}), join(root, 'dist', 'dashboard'));
      assert.equal(findAssets(compiled, {}), join(root, 'dist', 'dashboard'));
      assert.throws(() => findAssets(bundle, { HOSTWRIGHT_DASHBOARD_ASSETS: join(root, 'dist') }), /holds no index\.html/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a message is one event line and one data line of JSON, whatever the values hold', () => {
    const text = sseMessage('hosts', { label: 'a\nevent: forged\n\ndata: x' });
    assert.equal(text.split('\n').length, 4);
    assert.match(text, /^event: hosts\ndata: \{.*\}\n\n$/);
  });
});
