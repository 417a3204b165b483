import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HostDesired } from '../../shared/host-desired.js';
import type { InstanceStatus, ProjectStatus } from '../../shared/host-status.js';
import type { StatusReport } from '../../shared/wire.js';
import { FINISHED_STATUSES, type RolloutHost, type RolloutOptions, type RolloutState, type RolloutStatus } from '../../coordinator/rollout/rollout-state.js';
import { advanceRollout, planWaves, startRollback, startRollout, type HostObservation, type RolloutStep } from '../../coordinator/rollout/rollout-step.js';
import { rolloutProgressLines } from '../../coordinator/cli/render/rollout-view.js';
import { desired, service } from '../lib/builders.js';

// Pure tests of the rollout state machine: hand-built status reports, no NATS, no Docker.

const PROJECT = 'shop';
const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);

const OPTIONS: RolloutOptions = { canary: 1, maxParallel: 2, minHealthyMs: 10_000, healthyDeadlineMs: 60_000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false };

/** v1 is what the hosts ran, v2 what the rollout moves them to. */
const v1 = (hostId: string): HostDesired => desired(PROJECT, { web: service({ env: { VERSION: '1' } }) }, { hostId, revision: 1 });
const v2 = (hostId: string): HostDesired => desired(PROJECT, { web: service({ env: { VERSION: '2' } }) }, { hostId, revision: 2 });

function start(hostIds: readonly string[], options: Partial<RolloutOptions> = {}, previous: (hostId: string) => HostDesired | null = v1): RolloutState {
  return startRollout({ id: 'r1', project: PROJECT, correlationID: 'c1', now: at(0), options: { ...OPTIONS, ...options }, targets: hostIds.map((hostId) => ({ hostId, target: v2(hostId), previous: previous(hostId) })) });
}

function instance(hostId: string, fields: Partial<InstanceStatus> = {}): InstanceStatus {
  return { project: PROJECT, service: 'web', instance: 1, name: `${hostId}-${PROJECT}-web-1`, containerId: `${hostId}-c`, state: 'running', health: 'none', drift: [], ...fields };
}

/** A host's report of the project: at `revision`, converged, one running instance without a health check. */
function report(hostId: string, revision: number, fields: Partial<ProjectStatus> = {}, reportedAt = at(0)): StatusReport {
  const project: ProjectStatus = { project: PROJECT, desiredRevision: revision, appliedRevision: revision, converged: true, pendingActions: 0, instances: [instance(hostId)], unowned: [], blocked: [], ...fields };
  return { hostId, reportedAt: reportedAt.toISOString(), agentVersion: 'test', outboxDepth: 0, status: { hostId, observedAt: reportedAt.toISOString(), projects: [project] } };
}

/** What the driver sees: a report per host (none: never reported) and a heartbeat per host (default: fresh). */
class Fleet {
  readonly reports = new Map<string, StatusReport>();
  readonly heartbeats = new Map<string, string | undefined>();
  /** Hosts whose agent announces a heartbeat period (`--heartbeat`). */
  readonly periods = new Map<string, number>();
  now = at(0);

  observe = (hostId: string): HostObservation => {
    const heartbeatAt = this.heartbeats.has(hostId) ? this.heartbeats.get(hostId) : this.now.toISOString();
    const heartbeatMs = this.periods.get(hostId);
    return { report: this.reports.get(hostId), heartbeat: heartbeatAt === undefined ? undefined : { heartbeatAt, ...(heartbeatMs === undefined ? {} : { heartbeatMs }) } };
  };

  /** The host reports the project at `revision` (converged and healthy unless fields say otherwise). */
  at(hostId: string, revision: number, fields: Partial<ProjectStatus> = {}): this {
    this.reports.set(hostId, report(hostId, revision, fields, this.now));
    return this;
  }

  /**
   * One driver step at `ms` after T0: advance, then record the revision each write got the way the
   * driver does (the host's current revision + 1).
   */
  step(state: RolloutState, ms: number): RolloutStep {
    this.now = at(ms);
    const step = advanceRollout(state, this.observe, this.now);
    const next = step.writes.reduce((s, write) => withHost(s, write.hostId, { writtenRevision: this.revisionOf(write.hostId) + 1 }), step.state);
    for (const write of step.writes) this.written.set(write.hostId, this.revisionOf(write.hostId) + 1);
    return { state: next, writes: step.writes };
  }

  private readonly written = new Map<string, number>();

  revisionOf(hostId: string): number {
    return this.written.get(hostId) ?? 1;
  }
}

function withHost(state: RolloutState, hostId: string, fields: Partial<RolloutHost>): RolloutState {
  return { ...state, hosts: state.hosts.map((host) => (host.hostId === hostId ? { ...host, ...fields } : host)) };
}

function host(state: RolloutState, hostId: string): RolloutHost {
  const found = state.hosts.find((h) => h.hostId === hostId);
  assert.ok(found, `no host ${hostId} in the rollout`);
  return found;
}

const states = (state: RolloutState): Record<string, string> => Object.fromEntries(state.hosts.map((h) => [h.hostId, h.state]));
const written = (step: RolloutStep): string[] => step.writes.map((w) => w.hostId).sort();

/** Passes the canary h1 of a fresh [h1], [h2, h3], ... rollout (10 s of health from t=1s). */
function passCanary(fleet: Fleet, state: RolloutState): RolloutState {
  let s = fleet.step(state, 0).state;
  fleet.at('h1', 2);
  s = fleet.step(s, 1_000).state;
  s = fleet.step(s, 11_000).state;
  assert.equal(host(s, 'h1').state, 'healthy');
  assert.equal(s.currentWave, 1);
  return s;
}

describe('planWaves', () => {
  it('puts the canaries first, then batches of maxParallel, in host order', () => {
    assert.deepEqual(planWaves(['h5', 'h3', 'h1', 'h4', 'h2'], 1, 2), [['h1'], ['h2', 'h3'], ['h4', 'h5']]);
    assert.deepEqual(planWaves(['b', 'a', 'c', 'd'], 2, 3), [['a', 'b'], ['c', 'd']]);
    assert.deepEqual(planWaves(['h3', 'h1', 'h2'], 0, 2), [['h1', 'h2'], ['h3']], 'no canary: batches only');
    assert.deepEqual(planWaves(['h2', 'h1'], 5, 1), [['h1', 'h2']], 'more canaries than hosts: one wave');
    assert.deepEqual(planWaves([], 1, 2), []);
  });

  it('startRollout records each host\'s wave, sorted by host, all pending; nothing to change is an immediate success', () => {
    const state = start(['h4', 'h2', 'h1', 'h3']);
    assert.deepEqual(state.waves, [['h1'], ['h2', 'h3'], ['h4']]);
    assert.deepEqual(state.hosts.map((h) => [h.hostId, h.wave, h.state, h.writtenRevision]), [['h1', 0, 'pending', undefined], ['h2', 1, 'pending', undefined], ['h3', 1, 'pending', undefined], ['h4', 2, 'pending', undefined]]);
    assert.equal(state.status, 'running');
    assert.equal(state.currentWave, 0);
    const empty = start([]);
    assert.equal(empty.status, 'succeeded');
    assert.deepEqual(empty.waves, []);
  });
});

describe('advanceRollout: a good rollout', () => {
  it('passes each wave only after convergence and health held for minHealthy, then succeeds', () => {
    const fleet = new Fleet();
    for (const hostId of ['h1', 'h2', 'h3']) fleet.at(hostId, 1);
    let step = fleet.step(start(['h1', 'h2', 'h3']), 0);
    assert.deepEqual(written(step), ['h1'], 'only the canary is written first');
    assert.deepEqual(step.writes[0]?.document, v2('h1'));
    assert.deepEqual(states(step.state), { h1: 'applying', h2: 'pending', h3: 'pending' });
    assert.equal(host(step.state, 'h1').writtenRevision, 2);

    // Still on the old revision: waits.
    step = fleet.step(step.state, 500);
    assert.deepEqual([written(step), host(step.state, 'h1').state, step.state.currentWave], [[], 'applying', 0]);
    // Converged and healthy: the clock starts, the wave does not pass yet.
    fleet.at('h1', 2);
    step = fleet.step(step.state, 1_000);
    assert.equal(host(step.state, 'h1').healthySince, at(1_000).toISOString());
    step = fleet.step(step.state, 6_000);
    assert.deepEqual([host(step.state, 'h1').state, step.state.currentWave], ['applying', 0]);
    // Health lost before minHealthy: the clock starts over.
    fleet.at('h1', 2, { converged: false, pendingActions: 1 });
    step = fleet.step(step.state, 7_000);
    assert.equal(host(step.state, 'h1').healthySince, undefined);
    fleet.at('h1', 2);
    step = fleet.step(step.state, 8_000);
    step = fleet.step(step.state, 17_000);
    assert.deepEqual([host(step.state, 'h1').state, step.state.currentWave], ['applying', 0], '9 s of health since the restart is not 10');
    step = fleet.step(step.state, 18_000);
    assert.deepEqual([host(step.state, 'h1').state, host(step.state, 'h1').message], ['healthy', 'converged and healthy']);
    assert.equal(step.state.currentWave, 1);
    assert.deepEqual(written(step), [], 'the next wave starts on the next step, observed fresh');
    assert.deepEqual(states(step.state), { h1: 'healthy', h2: 'pending', h3: 'pending' });

    step = fleet.step(step.state, 18_500);
    assert.deepEqual(written(step), ['h2', 'h3'], 'the second wave is written at once');
    assert.deepEqual(states(step.state), { h1: 'healthy', h2: 'applying', h3: 'applying' });
    fleet.at('h2', 2).at('h3', 2);
    step = fleet.step(step.state, 19_000);
    step = fleet.step(step.state, 29_000);
    assert.deepEqual(states(step.state), { h1: 'healthy', h2: 'healthy', h3: 'healthy' });
    assert.equal(step.state.status, 'succeeded');
    assert.equal(step.state.reason, 'every host is on the new revision');
    assert.equal(step.state.currentWave, 2);
  });

  it('progress lines name each host under its own wave, also in the step that passes the wave', () => {
    const fleet = new Fleet();
    const first = fleet.step(start(['h1', 'h2', 'h3']), 0).state;
    fleet.at('h1', 2);
    const holding = fleet.step(first, 1_000).state;
    const passed = fleet.step(holding, 11_000).state;
    assert.equal(passed.currentWave, 1);
    assert.deepEqual(rolloutProgressLines(passed, holding), ['[wave 1/2] h1           healthy      converged and healthy']);
    const next = fleet.step(passed, 11_500).state;
    assert.deepEqual(rolloutProgressLines(next, passed), ['[wave 2/2] h2           applying', '[wave 2/2] h3           applying']);
  });

  it('a wave waits while one of its hosts is still converging; the next wave is not written', () => {
    const fleet = new Fleet();
    let s = passCanary(fleet, start(['h1', 'h2', 'h3', 'h4']));
    s = fleet.step(s, 12_000).state;
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'applying', h3: 'applying', h4: 'pending' });
    fleet.at('h2', 2).at('h3', 2, { appliedRevision: 1, converged: false, pendingActions: 2 });
    s = fleet.step(s, 13_000).state;
    const steps: RolloutStep[] = [];
    for (const ms of [24_000, 40_000, 60_000]) {
      const step = fleet.step(s, ms);
      steps.push(step);
      s = step.state;
    }
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'healthy', h3: 'applying', h4: 'pending' });
    assert.equal(s.currentWave, 1);
    assert.deepEqual(steps.flatMap(written), [], 'nothing written while h3 converges');

    // Converged but its instance's health check is still starting, or a checked service reports no health: not yet.
    const checked = { ...s, hosts: s.hosts.map((h) => ({ ...h, target: { ...h.target, services: { web: service({ healthcheck: { test: ['CMD', 'true'] } }) } } })) };
    fleet.at('h3', 2, { instances: [instance('h3', { health: 'starting' })] });
    assert.equal(host(fleet.step(checked, 61_000).state, 'h3').healthySince, undefined);
    fleet.at('h3', 2, { instances: [instance('h3', { health: 'none' })] });
    assert.equal(host(fleet.step(checked, 61_000).state, 'h3').healthySince, undefined);
    fleet.at('h3', 2, { instances: [instance('h3', { health: 'healthy' })] });
    assert.equal(host(fleet.step(checked, 61_000).state, 'h3').healthySince, at(61_000).toISOString());

    fleet.at('h3', 2);
    s = fleet.step(s, 62_000).state;
    s = fleet.step(s, 72_000).state;
    assert.deepEqual([states(s), s.currentWave], [{ h1: 'healthy', h2: 'healthy', h3: 'healthy', h4: 'pending' }, 2]);
    const next = fleet.step(s, 72_500);
    assert.deepEqual(written(next), ['h4']);
  });

  it('a one-shot that completed (exited 0, restart "no" or "on-failure") counts as healthy; a failed or long-running one does not', () => {
    // depends_on: service_completed_successfully: migrate runs once and exits before web starts.
    const services = { web: service({ env: { VERSION: '2' } }), migrate: service({ restart: 'no' }), sweep: service({ restart: 'on-failure' }), daemon: service({ restart: 'unless-stopped' }) };
    const target = desired(PROJECT, services, { hostId: 'h1', revision: 2 });
    const state = startRollout({ id: 'r1', project: PROJECT, correlationID: 'c1', now: at(0), options: { ...OPTIONS, minHealthyMs: 0 }, targets: [{ hostId: 'h1', target, previous: v1('h1') }] });
    const exited = (name: string, drift: InstanceStatus['drift'] = []) => instance('h1', { service: name, name: `h1-${PROJECT}-${name}-1`, state: 'exited', drift });
    const outcome = (instances: InstanceStatus[], converged = true): string => {
      const fleet = new Fleet();
      const written = fleet.step(state, 0).state;
      fleet.at('h1', 2, { instances, converged });
      return host(fleet.step(written, 1_000).state, 'h1').state;
    };
    assert.equal(outcome([instance('h1'), exited('migrate'), exited('sweep')]), 'healthy');
    assert.equal(outcome([instance('h1'), exited('migrate', ['stopped'])]), 'applying', 'a one-shot that exited non-zero is stopped drift, not done');
    const failed = { ...exited('migrate'), condition: { kind: 'failed' as const, exitCode: 1, oomKilled: false, restartCount: 0, lastLines: [], since: '2026-01-01T00:00:00.000Z' } };
    assert.notEqual(outcome([instance('h1'), failed]), 'healthy', 'a one-shot left exited with a failure is not done');
    assert.equal(outcome([instance('h1'), exited('daemon')]), 'applying', 'an exited service that should keep running is not healthy');
    assert.equal(outcome([instance('h1'), exited('migrate')], false), 'applying', 'not converged');
  });
});

describe('advanceRollout: failures', () => {
  /** The canary h1 written at r2 and observed with these project fields at t=2s. */
  const canaryObserved = (fields: Partial<ProjectStatus>, options: Partial<RolloutOptions> = {}) => {
    const fleet = new Fleet();
    const s = fleet.step(start(['h1', 'h2', 'h3'], options), 0).state;
    fleet.at('h1', 2, fields);
    return fleet.step(s, 2_000);
  };

  it('an unhealthy instance of the written revision fails the host; past maxFailures the rollout pauses and later waves stay untouched', () => {
    const step = canaryObserved({ instances: [instance('h1', { health: 'unhealthy' })] });
    assert.equal(host(step.state, 'h1').state, 'failed');
    assert.equal(host(step.state, 'h1').message, 'unhealthy: h1-shop-web-1');
    assert.equal(host(step.state, 'h1').finishedAt, at(2_000).toISOString());
    assert.equal(step.state.status, 'paused');
    assert.match(step.state.reason ?? '', /1 host\(s\) failed \(h1: unhealthy: h1-shop-web-1\); more than --max-failures 0/);
    assert.deepEqual(written(step), []);
    assert.deepEqual(states(step.state), { h1: 'failed', h2: 'pending', h3: 'pending' });
    assert.ok(step.state.hosts.filter((h) => h.hostId !== 'h1').every((h) => h.writtenRevision === undefined && h.startedAt === undefined));
    // Paused: the next steps write nothing for the later waves.
    const fleet = new Fleet();
    const again = fleet.step(step.state, 60_000);
    assert.equal(again.state, step.state);
    assert.deepEqual(again.writes, []);
  });

  it('a crash loop of the applied revision fails the host at once, naming the instance, its exit code and last line', () => {
    const condition = { kind: 'crashloop' as const, exitCode: 3, oomKilled: false, restartCount: 2, lastLines: ['starting', 'FATAL: API_TOKEN is not set'], since: at(1_500).toISOString() };
    const step = canaryObserved({ converged: false, instances: [instance('h1', { state: 'restarting', condition })] });
    assert.deepEqual([host(step.state, 'h1').state, host(step.state, 'h1').message], ['failed', 'h1-shop-web-1 crashloop (exit 3): "starting" "FATAL: API_TOKEN is not set"']);
    assert.equal(host(step.state, 'h1').finishedAt, at(2_000).toISOString(), 'at the first step that sees it, not at the deadline');
    assert.equal(step.state.status, 'paused');
    // Still converging (the revision not applied yet): the old container's condition does not count.
    const converging = canaryObserved({ appliedRevision: 1, converged: false, pendingActions: 1, instances: [instance('h1', { state: 'restarting', condition })] });
    assert.equal(host(converging.state, 'h1').state, 'applying');
  });

  it('an unhealthy instance still reported for the old revision does not fail the host', () => {
    const fleet = new Fleet();
    let s = fleet.step(start(['h1', 'h2']), 0).state;
    fleet.at('h1', 1, { instances: [instance('h1', { health: 'unhealthy' })] });
    s = fleet.step(s, 1_000).state;
    assert.equal(host(s, 'h1').state, 'applying');
  });

  it('a rejected revision fails the host (an older rejection does not)', () => {
    const step = canaryObserved({ desiredRevision: 2, appliedRevision: 1, converged: false, rejected: { revision: 2, reason: 'create failed 5 times' } });
    assert.deepEqual([host(step.state, 'h1').state, host(step.state, 'h1').message], ['failed', 'revision 2 rejected: create failed 5 times']);
    assert.equal(step.state.status, 'paused');
    const older = canaryObserved({ desiredRevision: 2, appliedRevision: 1, converged: false, rejected: { revision: 1, reason: 'old' } });
    assert.equal(host(older.state, 'h1').state, 'applying');
  });

  it('a blocked gate on the written revision fails the host', () => {
    const step = canaryObserved({ converged: false, blocked: [{ project: PROJECT, gate: 'name-conflict', message: 'shop-web-1 is taken by another container' }] });
    assert.deepEqual([host(step.state, 'h1').state, host(step.state, 'h1').message], ['failed', 'blocked: shop-web-1 is taken by another container']);
    assert.equal(step.state.status, 'paused');
  });

  it('a host not converged and healthy by the deadline fails; an offline one says it is offline', () => {
    const fleet = new Fleet();
    fleet.heartbeats.set('h1', undefined); // never registered
    let s = fleet.step(start(['h1', 'h2', 'h3'], { canary: 2 }), 0).state;
    assert.deepEqual(states(s), { h1: 'pending', h2: 'applying', h3: 'pending' }, 'an offline host is waited for, not written');
    assert.equal(host(s, 'h1').message, 'waiting for the host to come online');
    fleet.at('h2', 2, { appliedRevision: 1, converged: false, pendingActions: 1 });
    s = fleet.step(s, 60_000).state;
    assert.deepEqual(states(s), { h1: 'pending', h2: 'applying', h3: 'pending' }, 'not before the deadline');
    s = fleet.step(s, 60_001).state;
    assert.deepEqual(states(s), { h1: 'failed', h2: 'failed', h3: 'pending' });
    assert.equal(host(s, 'h1').message, 'offline: no heartbeat until the deadline (nothing was written to it)');
    assert.equal(host(s, 'h1').writtenRevision, undefined);
    assert.equal(host(s, 'h2').message, 'not converged and healthy within 60s');
    assert.equal(s.status, 'paused');
    assert.match(s.reason ?? '', /2 host\(s\) failed \(h1: offline: no heartbeat until the deadline \(nothing was written to it\); h2: not converged/);

    // A heartbeat older than 15 s is offline too.
    const stale = new Fleet();
    let t = stale.step(start(['h1', 'h2']), 0).state;
    stale.heartbeats.set('h1', at(45_000).toISOString());
    t = stale.step(t, 61_000).state;
    assert.equal(host(t, 'h1').message, 'offline: no heartbeat until the deadline');
  });

  it('a host that failed only on its deadline passes after all once it holds the new revision healthy for minHealthy', () => {
    const fleet = new Fleet();
    let s = fleet.step(start(['h1', 'h2']), 0).state;
    // Its status still shows the old revision (a slow host, or a slow NATS) past the deadline.
    fleet.at('h1', 1);
    s = fleet.step(s, 60_001).state;
    assert.deepEqual([host(s, 'h1').state, s.status], ['failed', 'paused']);
    assert.equal(host(s, 'h1').message, 'not converged and healthy within 60s');
    // A paused rollout is not stepped, even when the host has arrived meanwhile.
    fleet.at('h1', 2);
    assert.equal(host(fleet.step(s, 61_000).state, 'h1').state, 'failed');

    // `rollout resume` sets it running and accepts the failure so far; the host is judged again.
    s = { ...s, status: 'running', options: { ...s.options, maxFailures: 1 } };
    s = fleet.step(s, 61_000).state;
    assert.equal(host(s, 'h1').state, 'failed', 'not yet healthy for minHealthy');
    assert.equal(s.currentWave, 1, 'the wave passed on the accepted failure');
    const passed = fleet.step(s, 71_000);
    s = passed.state;
    assert.equal(host(s, 'h1').state, 'healthy');
    assert.equal(host(s, 'h1').message, 'converged and healthy after its deadline (it had failed: not converged and healthy within 60s)');
    assert.deepEqual(written(passed), ['h2']);
    fleet.at('h2', 2);
    s = fleet.step(s, 72_000).state;
    s = fleet.step(s, 82_000).state;
    assert.deepEqual([states(s), s.status, s.reason], [{ h1: 'healthy', h2: 'healthy' }, 'succeeded', 'every host is on the new revision']);
  });

  it('a host that failed for its health, a rejection or a block stays failed when it recovers later', () => {
    const fleet = new Fleet();
    let s = fleet.step(start(['h1', 'h2'], { maxFailures: 1 }), 0).state;
    fleet.at('h1', 2, { instances: [instance('h1', { health: 'unhealthy' })] });
    s = fleet.step(s, 1_000).state;
    assert.equal(host(s, 'h1').state, 'failed');
    fleet.at('h1', 2);
    s = fleet.step(s, 2_000).state;
    s = fleet.step(s, 20_000).state;
    assert.equal(host(s, 'h1').state, 'failed');
    assert.match(host(s, 'h1').message ?? '', /^unhealthy: /);
  });

  it('within maxFailures the rollout goes on, and a failed host at the end makes it failed', () => {
    const fleet = new Fleet();
    let s = fleet.step(start(['h1', 'h2', 'h3'], { maxFailures: 1 }), 0).state;
    fleet.at('h1', 2, { instances: [instance('h1', { health: 'unhealthy' })] });
    const step = fleet.step(s, 1_000);
    s = step.state;
    assert.deepEqual([host(s, 'h1').state, s.status, s.currentWave], ['failed', 'running', 1]);
    s = fleet.step(s, 2_000).state;
    fleet.at('h2', 2).at('h3', 2);
    s = fleet.step(s, 3_000).state;
    s = fleet.step(s, 13_000).state;
    assert.deepEqual(states(s), { h1: 'failed', h2: 'healthy', h3: 'healthy' });
    assert.equal(s.status, 'failed');
    assert.equal(s.reason, '1 failed and 0 skipped host(s) are not on the new revision');
  });
});

describe('advanceRollout: --skip-offline', () => {
  it('skips a host that is offline when its wave starts, writes nothing for it, and reports it', () => {
    const fleet = new Fleet();
    fleet.heartbeats.set('h1', at(-20_000).toISOString()); // last heard 20 s before
    fleet.heartbeats.set('h3', undefined); // never registered
    let step = fleet.step(start(['h1', 'h2', 'h3'], { skipOffline: true }), 0);
    assert.deepEqual(written(step), []);
    assert.equal(host(step.state, 'h1').state, 'skipped');
    assert.match(host(step.state, 'h1').message ?? '', /offline when its wave came \(--skip-offline\)/);
    assert.equal(host(step.state, 'h1').writtenRevision, undefined);
    assert.equal(step.state.currentWave, 1, 'a wave of skipped hosts is done');

    step = fleet.step(step.state, 500);
    assert.deepEqual(written(step), ['h2'], 'the offline h3 of the same wave is skipped, the online h2 written');
    assert.deepEqual(states(step.state), { h1: 'skipped', h2: 'applying', h3: 'skipped' });
    fleet.at('h2', 2);
    step = fleet.step(step.state, 1_000);
    step = fleet.step(step.state, 11_000);
    assert.equal(step.state.status, 'failed');
    assert.equal(step.state.reason, '0 failed and 2 skipped host(s) are not on the new revision');
  });

  it('a host is offline after three of its own heartbeat periods: 20 s of silence is online for an agent that beats every 30 s', () => {
    const fleet = new Fleet();
    fleet.heartbeats.set('h1', at(-20_000).toISOString());
    fleet.periods.set('h1', 30_000);
    assert.deepEqual(written(fleet.step(start(['h1'], { skipOffline: true }), 0)), ['h1']);
    const silent = new Fleet();
    silent.heartbeats.set('h1', at(-91_000).toISOString());
    silent.periods.set('h1', 30_000);
    const step = silent.step(start(['h1'], { skipOffline: true }), 0);
    assert.deepEqual([written(step), host(step.state, 'h1').state], [[], 'skipped']);
  });

  it('without --skip-offline the same host is waited for, and written once it is back', () => {
    const fleet = new Fleet();
    fleet.heartbeats.set('h1', at(-20_000).toISOString());
    const waiting = fleet.step(start(['h1', 'h2']), 0);
    assert.deepEqual(written(waiting), []);
    assert.equal(host(waiting.state, 'h1').state, 'pending');
    fleet.heartbeats.set('h1', at(5_000).toISOString());
    const back = fleet.step(waiting.state, 5_000);
    assert.deepEqual(written(back), ['h1']);
    assert.deepEqual([host(back.state, 'h1').state, host(back.state, 'h1').startedAt], ['applying', at(0).toISOString()], 'the deadline runs from the wave\'s start');
  });
});

describe('advanceRollout: rollback', () => {
  it('past maxFailures writes every touched host\'s previous document at once; a host new to the project gets an empty allowEmpty document', () => {
    const fleet = new Fleet();
    // h2 did not run the project before the rollout.
    let s = start(['h1', 'h2', 'h3', 'h4'], { onFailure: 'rollback' }, (hostId) => (hostId === 'h2' ? null : v1(hostId)));
    s = passCanary(fleet, s);
    s = fleet.step(s, 12_000).state;
    assert.deepEqual(states(s), { h1: 'healthy', h2: 'applying', h3: 'applying', h4: 'pending' });
    fleet.at('h2', 2).at('h3', 2, { instances: [instance('h3', { health: 'unhealthy' })] });
    s = fleet.step(s, 13_000).state;
    assert.deepEqual([states(s), s.status], [{ h1: 'healthy', h2: 'applying', h3: 'failed', h4: 'pending' }, 'running'], 'h2 still holds its health');
    const step = fleet.step(s, 23_000);
    assert.equal(step.state.status, 'rolling-back');
    assert.match(step.state.reason ?? '', /h3: unhealthy/);
    assert.deepEqual(states(step.state), { h1: 'rolling-back', h2: 'rolling-back', h3: 'rolling-back', h4: 'pending' });
    assert.deepEqual(written(step), ['h1', 'h2', 'h3'], 'every touched host in one step, h4 untouched');
    const documents = new Map(step.writes.map((w) => [w.hostId, w.document]));
    assert.deepEqual(documents.get('h1'), v1('h1'));
    assert.deepEqual(documents.get('h3'), v1('h3'));
    assert.deepEqual(documents.get('h2'), { ...v2('h2'), services: {}, allowEmpty: true });
    assert.equal(host(step.state, 'h4').writtenRevision, undefined);
    for (const hostId of ['h1', 'h2', 'h3']) {
      assert.equal(host(step.state, hostId).startedAt, at(23_000).toISOString());
      assert.equal(host(step.state, hostId).healthySince, undefined);
    }
  });

  it('completes as rolled-back once every rolled-back host is back and healthy (an unhealthy leftover does not fail it)', () => {
    const fleet = new Fleet();
    let s = start(['h1', 'h2', 'h3'], { onFailure: 'rollback', canary: 2, minHealthyMs: 1_000 }, (hostId) => (hostId === 'h2' ? null : v1(hostId)));
    s = fleet.step(s, 0).state;
    fleet.at('h1', 2).at('h2', 2, { instances: [instance('h2', { health: 'unhealthy' })] });
    let step = fleet.step(s, 1_000);
    assert.deepEqual([states(step.state), step.state.status], [{ h1: 'applying', h2: 'failed', h3: 'pending' }, 'running'], 'the wave is not done while h1 holds its health');
    step = fleet.step(step.state, 2_000);
    assert.equal(step.state.status, 'rolling-back');
    assert.deepEqual(written(step), ['h1', 'h2']);
    s = step.state;
    assert.deepEqual([host(s, 'h1').writtenRevision, host(s, 'h2').writtenRevision], [3, 3]);

    // h2 still shows the unhealthy instance of r2, then the rollback's r3 with an unhealthy leftover: no failure.
    fleet.at('h1', 3).at('h2', 3, { instances: [instance('h2', { health: 'unhealthy' })], converged: false, pendingActions: 1 });
    step = fleet.step(s, 3_000);
    assert.deepEqual(states(step.state), { h1: 'rolling-back', h2: 'rolling-back', h3: 'pending' });
    step = fleet.step(step.state, 4_000);
    assert.equal(host(step.state, 'h1').state, 'rolled-back');
    assert.equal(host(step.state, 'h1').message, 'back on its previous revision');
    assert.equal(step.state.status, 'rolling-back', 'h2 is not back yet');
    fleet.at('h2', 3, { instances: [] });
    step = fleet.step(step.state, 5_000);
    step = fleet.step(step.state, 6_000);
    assert.deepEqual(states(step.state), { h1: 'rolled-back', h2: 'rolled-back', h3: 'pending' });
    assert.equal(step.state.status, 'rolled-back');
    assert.deepEqual(written(step), []);
    assert.ok(FINISHED_STATUSES.includes(step.state.status));
  });

  it('a rollback that does not converge by the deadline fails the rollout, naming the host', () => {
    const fleet = new Fleet();
    let s = fleet.step(start(['h1', 'h2'], { onFailure: 'rollback' }), 0).state;
    fleet.at('h1', 2, { rejected: { revision: 2, reason: 'nope' } });
    s = fleet.step(s, 1_000).state;
    assert.equal(s.status, 'rolling-back');
    s = fleet.step(s, 61_001).state;
    assert.equal(host(s, 'h1').state, 'failed');
    assert.match(host(s, 'h1').message ?? '', /^rollback failed: not converged and healthy within 60s/);
    assert.equal(s.status, 'failed');
    assert.equal(s.reason, 'rollback did not converge on h1');
  });

  it('startRollback of a rollout that touched nothing is rolled back at once', () => {
    const step = startRollback(start(['h1', 'h2']), at(0));
    assert.equal(step.state.status, 'rolled-back');
    assert.deepEqual(step.writes, []);
  });
});

describe('advanceRollout: resuming and finished states', () => {
  it('a resumed state whose applying host has no writtenRevision re-emits its write', () => {
    const fleet = new Fleet();
    let s = start(['h1', 'h2']);
    // A driver that died between writing and saving: the stored state says applying, with no revision.
    s = withHost(s, 'h1', { state: 'applying', startedAt: at(0).toISOString() });
    const step = advanceRollout(s, fleet.observe, at(5_000));
    assert.deepEqual(step.writes, [{ hostId: 'h1', document: v2('h1') }]);
    assert.equal(host(step.state, 'h1').state, 'applying');
    assert.equal(host(step.state, 'h1').startedAt, at(0).toISOString(), 'the deadline still counts from the first start');

    const rollingBack = withHost({ ...s, status: 'rolling-back' }, 'h1', { state: 'rolling-back' });
    assert.deepEqual(advanceRollout(rollingBack, fleet.observe, at(5_000)).writes, [{ hostId: 'h1', document: v1('h1') }]);
  });

  for (const status of ['paused', 'succeeded', 'failed', 'rolled-back', 'aborted'] satisfies RolloutStatus[]) {
    it(`a ${status} rollout is left alone`, () => {
      const fleet = new Fleet();
      const s: RolloutState = { ...withHost(start(['h1', 'h2']), 'h1', { state: 'applying', startedAt: at(0).toISOString(), writtenRevision: 2 }), status };
      fleet.at('h1', 2).at('h2', 1);
      fleet.heartbeats.set('h2', undefined);
      const step = advanceRollout(s, fleet.observe, at(120_000));
      assert.equal(step.state, s);
      assert.deepEqual(step.writes, []);
    });
  }
});

describe('rollout of a move: the giving host after its receiving host, and only once that one is healthy', () => {
  /** h1 receives (wave 1, the canary), h2 gives (its own wave after): each waits for h1. */
  const moveRollout = (options: Partial<RolloutOptions> = {}) =>
    startRollout({
      id: 'm1',
      project: PROJECT,
      correlationID: 'c1',
      now: at(0),
      options: { ...OPTIONS, ...options },
      targets: [
        { hostId: 'h2', target: v2('h2'), previous: v1('h2'), after: ['h1'] },
        { hostId: 'h1', target: v2('h1'), previous: v1('h1') },
        { hostId: 'h3', target: v2('h3'), previous: v1('h3') },
      ],
    });

  it('planWaves puts the giving hosts in waves after every other host, canary included', () => {
    assert.deepEqual(planWaves(['h1', 'h2', 'h3'], 1, 2, new Set(['h1'])), [['h2'], ['h3'], ['h1']]);
    assert.deepEqual(planWaves(['h1', 'h2'], 1, 2, new Set(['h1', 'h2'])), [['h1'], ['h2']], 'only giving hosts: the canary is one of them');
    const state = moveRollout();
    assert.deepEqual(state.waves, [['h1'], ['h3'], ['h2']]);
    assert.deepEqual(host(state, 'h2').after, ['h1']);
  });

  it('writes the giving host once the receiving host passed its wave', () => {
    const fleet = new Fleet();
    for (const hostId of ['h1', 'h2', 'h3']) fleet.at(hostId, 1);
    let s = passCanary(fleet, moveRollout());
    let step = fleet.step(s, 12_000);
    assert.deepEqual(written(step), ['h3']);
    fleet.at('h3', 2);
    s = fleet.step(step.state, 13_000).state;
    s = fleet.step(s, 24_000).state;
    step = fleet.step(s, 25_000);
    assert.deepEqual(written(step), ['h2'], 'h1 is healthy: h2 gives up its instances now');
  });

  it('a receiving host that fails leaves the giving host unwritten (skipped, keeping its instances) even when failures are allowed', () => {
    const fleet = new Fleet();
    for (const hostId of ['h1', 'h2', 'h3']) fleet.at(hostId, 1);
    let s = fleet.step(moveRollout({ maxFailures: 1 }), 0).state;
    fleet.at('h1', 2, { blocked: [{ project: PROJECT, gate: 'port-conflict', message: 'port 8080 is held' }] });
    s = fleet.step(s, 1_000).state;
    assert.equal(host(s, 'h1').state, 'failed');
    let step = fleet.step(s, 2_000);
    assert.deepEqual(written(step), ['h3'], 'the unrelated host goes on');
    fleet.at('h3', 2);
    s = fleet.step(step.state, 3_000).state;
    s = fleet.step(s, 14_000).state;
    step = fleet.step(s, 15_000);
    assert.deepEqual(written(step), [], 'nothing is written to h2');
    assert.equal(host(step.state, 'h2').state, 'skipped');
    assert.match(host(step.state, 'h2').message ?? '', /^not written, it keeps its instances of the moved services: h1 is failed \(blocked: port 8080 is held\)/);
    assert.equal(step.state.status, 'failed');
  });
});
