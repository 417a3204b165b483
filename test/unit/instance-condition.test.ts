import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObservedContainer } from '../../agent/core/snapshot.js';
import type { RestartPolicy } from '../../shared/restart-policy.js';
import { CRASHLOOP_RESTARTS, CRASHLOOP_SETTLED_MS, CRASHLOOP_WINDOW_MS, LAST_LINES_BYTES, LAST_LINES_MAX, conditionSubjects, nextConditions, terminationLines, withLastLines, type ConditionMemory, type ConditionStep } from '../../agent/core/instance-condition.js';
import { hostStatus, statusTransitionEvents } from '../../agent/core/status.js';
import { conditionSummary, conditionsDetail } from '../../shared/instance-condition.js';
import { desired, service } from '../lib/builders.js';
import { FIXTURE_PREFIX, ownedFixture, ownersOf, planRound, snapshotOf } from '../lib/simulated-runtime.js';
import { TEST_IMAGE } from '../lib/builders.js';
import { progressOf } from '../../coordinator/fleet-apply.js';
import type { ProjectStatus } from '../../shared/host-status.js';
import { demultiplexOutput, exitCodeFromStatusText } from '../../agent/runtime/docker-container.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const key = { project: 'shop', service: 'api', instance: 1 };

function container(fields: Partial<ObservedContainer>, restart: RestartPolicy = 'unless-stopped') {
  const { container: observed } = ownedFixture(key, service({ restart }), { id: 'c1' });
  return { container: { ...observed, ...fields }, restart };
}

function step(memory: ConditionMemory, fields: Partial<ObservedContainer>, now: Date, restart?: RestartPolicy): ConditionStep {
  return nextConditions(memory, [container(fields, restart)], now);
}

describe('instance conditions', () => {
  it('a container the runtime is restarting is in a crash loop, with its exit code and restart count', () => {
    const result = step(new Map(), { state: 'restarting', exitCode: 3, restartCount: 8 }, T0);
    assert.deepEqual(result.conditions.get('c1'), { kind: 'crashloop', exitCode: 3, oomKilled: false, restartCount: 8, lastLines: [], since: T0.toISOString() });
    assert.deepEqual(result.unread, ['c1']);
  });

  it('restarts beyond the threshold within the window are a crash loop even while it runs between them', () => {
    let memory: ConditionMemory = step(new Map(), { state: 'running', restartCount: 0 }, T0).memory;
    for (let count = 1; count < CRASHLOOP_RESTARTS; count += 1) {
      const result = step(memory, { state: 'running', restartCount: count }, at(count * 1000));
      assert.equal(result.conditions.size, 0, `${count} restart(s) are below the threshold`);
      memory = result.memory;
    }
    const looping = step(memory, { state: 'running', restartCount: CRASHLOOP_RESTARTS }, at(CRASHLOOP_RESTARTS * 1000));
    assert.equal(looping.conditions.get('c1')?.kind, 'crashloop');
    const still = step(looping.memory, { state: 'running', restartCount: CRASHLOOP_RESTARTS }, at(CRASHLOOP_RESTARTS * 1000 + CRASHLOOP_SETTLED_MS - 1));
    assert.equal(still.conditions.get('c1')?.kind, 'crashloop');
    // Once it has run without a restart for a while, it is no longer in a crash loop.
    const calm = step(still.memory, { state: 'running', restartCount: CRASHLOOP_RESTARTS }, at(CRASHLOOP_RESTARTS * 1000 + CRASHLOOP_SETTLED_MS));
    assert.equal(calm.conditions.size, 0);
    assert.equal(step(calm.memory, { state: 'running', restartCount: CRASHLOOP_RESTARTS + 1 }, at(CRASHLOOP_RESTARTS * 1000 + CRASHLOOP_SETTLED_MS + 1000)).conditions.get('c1')?.kind, 'crashloop', 'one more restart within the window is a crash loop again');
  });

  it('restarts spread wider than the window are not a crash loop', () => {
    let memory: ConditionMemory = step(new Map(), { state: 'running', restartCount: 0 }, T0).memory;
    for (let count = 1; count <= CRASHLOOP_RESTARTS * 3; count += 1) {
      const result = step(memory, { state: 'running', restartCount: count }, at(count * (CRASHLOOP_WINDOW_MS / 2 + 1)));
      assert.equal(result.conditions.size, 0, `restart ${count}`);
      memory = result.memory;
    }
    assert.ok((memory.get('c1')?.restarts.length ?? 0) <= 3, 'samples outside the window are dropped');
  });

  it('a one-shot (restart "no") that exited non-zero failed; one that exited 0 is fine', () => {
    assert.deepEqual(step(new Map(), { state: 'exited', exitCode: 3 }, T0, 'no').conditions.get('c1'), { kind: 'failed', exitCode: 3, oomKilled: false, restartCount: 0, lastLines: [], since: T0.toISOString() });
    assert.equal(step(new Map(), { state: 'exited', exitCode: 0 }, T0, 'no').conditions.size, 0);
    assert.equal(step(new Map(), { state: 'exited', exitCode: 2 }, T0, 'on-failure').conditions.get('c1')?.kind, 'failed');
    assert.equal(step(new Map(), { state: 'exited', exitCode: 2, restartCount: 5 }, T0, 'on-failure:5').conditions.get('c1')?.kind, 'failed', 'a retry limit the engine reached');
    assert.equal(step(new Map(), { state: 'exited', exitCode: 0 }, T0, 'on-failure:5').conditions.size, 0);
    // Started again (drift repair), it stays failed until it has run for a while.
    const failed = step(new Map(), { state: 'exited', exitCode: 3 }, T0, 'no');
    const rerun = step(failed.memory, { state: 'running' }, at(1000), 'no');
    assert.equal(rerun.conditions.get('c1')?.kind, 'failed');
    assert.equal(rerun.conditions.get('c1')?.since, T0.toISOString());
    assert.equal(step(rerun.memory, { state: 'running' }, at(1000 + CRASHLOOP_SETTLED_MS), 'no').conditions.size, 0, 'ran long enough: no longer failed');
    // Under "always" an exited container was stopped (drift), not crashed.
    assert.equal(step(new Map(), { state: 'exited', exitCode: 137 }, T0, 'always').conditions.size, 0);
  });

  it('reports OOMKilled, and keeps the last exit while the runtime starts the container again', () => {
    const killed = step(new Map(), { state: 'restarting', exitCode: 137, oomKilled: true, restartCount: 2 }, T0);
    assert.equal(killed.conditions.get('c1')?.oomKilled, true);
    assert.equal(conditionSummary(killed.conditions.get('c1') as never), 'crashloop (exit 137, OOMKilled)');
    // Running again between restarts: the engine has reset its exit code, the condition keeps it.
    const memory = step(killed.memory, { state: 'running', restartCount: 3 }, at(500)).memory;
    const again = step(memory, { state: 'running', restartCount: 5 }, at(1000));
    assert.deepEqual(again.conditions.get('c1'), { kind: 'crashloop', exitCode: 137, oomKilled: true, restartCount: 5, lastLines: [], since: T0.toISOString() });
    // Between two runs the list may show it restarting before an inspect says how it ended: the OOM kill stays.
    assert.equal(step(again.memory, { state: 'restarting', exitCode: 137, restartCount: 6 }, at(1500)).conditions.get('c1')?.oomKilled, true);
    assert.equal(step(new Map(), { state: 'restarting', exitCode: 137, restartCount: 6 }, at(1500)).conditions.get('c1')?.oomKilled, false, 'exit 137 alone is not an OOM kill');
  });

  it('reads the last lines once per stay in the condition, and forgets containers no longer observed', () => {
    const entered = withLastLines(step(new Map(), { state: 'restarting', exitCode: 3, restartCount: 1 }, T0), 'c1', ['FATAL: API_TOKEN is not set']);
    assert.deepEqual(entered.unread, []);
    const stays = step(entered.memory, { state: 'restarting', exitCode: 3, restartCount: 2 }, at(1000));
    assert.deepEqual(stays.unread, []);
    assert.deepEqual(stays.conditions.get('c1')?.lastLines, ['FATAL: API_TOKEN is not set']);
    assert.equal(stays.conditions.get('c1')?.since, T0.toISOString());
    assert.equal(nextConditions(stays.memory, [], at(2000)).memory.size, 0);
  });

  it('only owned containers of desired services are subjects, each with its restart policy', () => {
    const api = service({ restart: 'no' });
    const owned = ownedFixture(key, api, { id: 'c1' });
    const gone = ownedFixture({ ...key, service: 'old' }, api, { id: 'c2' });
    const subjects = conditionSubjects([desired('shop', { api })], snapshotOf([owned.container, gone.container], { images: [TEST_IMAGE] }));
    assert.deepEqual(subjects.map((subject) => [subject.container.id, subject.restart]), [['c1', 'no']]);
  });
});

describe('terminationLines', () => {
  it('keeps the last 80 lines', () => {
    const output = Array.from({ length: 200 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const lines = terminationLines(output, []);
    assert.equal(lines.length, LAST_LINES_MAX);
    assert.equal(lines[0], 'line 120');
    assert.equal(lines.at(-1), 'line 199');
  });

  it('keeps at most 2 KiB, the newest lines, and the end of one overlong line', () => {
    const lines = terminationLines(Array.from({ length: 60 }, (_, i) => `${String(i).padStart(2, '0')} ${'x'.repeat(97)}`).join('\r\n'), []);
    assert.ok(Buffer.byteLength(lines.join('\n')) <= LAST_LINES_BYTES);
    assert.equal(lines.length, 20);
    assert.ok(lines.at(-1)?.startsWith('59 '));
    const long = terminationLines(`start ${'é'.repeat(3000)} end`, []);
    assert.equal(long.length, 1);
    assert.ok(Buffer.byteLength(long[0] as string) <= LAST_LINES_BYTES);
    assert.ok(long[0]?.endsWith(' end'));
    assert.ok(!long[0]?.includes('\uFFFD'), 'never cut inside a character');
  });

  it('masks secret values, the longest first, before bounding', () => {
    const lines = terminationLines('connecting with s3cr3t-token-long\nusing s3cr3t\n', ['s3cr3t', 's3cr3t-token-long', '']);
    assert.deepEqual(lines, ['connecting with ***', 'using ***']);
    assert.ok(!lines.join('\n').includes('s3cr3t'));
  });
});

describe('status with conditions', () => {
  it('an instance in a condition makes its project not converged, carries the condition and gets one failed event', () => {
    const api = service({ command: ['sh', '-c', 'exit 3'] });
    const one = ownedFixture(key, api, { id: 'c1', state: 'restarting', restartCount: 4 });
    const docs = [desired('shop', { api })];
    const round = planRound({ desired: docs, snapshot: snapshotOf([one.container], { images: [TEST_IMAGE] }), owners: ownersOf([one.record]) });
    const clean = hostStatus({ ...round, appliedRevisions: new Map([['shop', 1]]), namePrefix: FIXTURE_PREFIX });
    assert.equal(clean.projects[0]?.converged, true, 'without the condition the plan has nothing to do');
    const condition = { kind: 'crashloop' as const, exitCode: 3, oomKilled: false, restartCount: 4, lastLines: ['FATAL: API_TOKEN is not set'], since: T0.toISOString() };
    const status = hostStatus({ ...round, appliedRevisions: new Map([['shop', 1]]), namePrefix: FIXTURE_PREFIX, conditions: new Map([['c1', condition]]) });
    const project = status.projects[0];
    assert.equal(project?.converged, false);
    assert.deepEqual(project?.instances[0]?.condition, condition);
    assert.equal(conditionsDetail(project as never), 'hw-shop-api-1 crashloop (exit 3): "FATAL: API_TOKEN is not set"');
    const events = statusTransitionEvents(clean, status).filter((event) => event.type === 'failed');
    assert.deepEqual(events.map((event) => event.message), ['hw-shop-api-1 is crash-looping (exit code 3, restart count 4); last output:\nFATAL: API_TOKEN is not set']);
    assert.equal(events[0]?.severity, 'error');
    assert.deepEqual(statusTransitionEvents(status, status), [], 'a condition that stays says so once');
  });
});

describe('reading a failing container from the engine', () => {
  it('takes the exit code from an exited or restarting container\'s status text', () => {
    assert.deepEqual(exitCodeFromStatusText('Exited (0) 5 seconds ago'), { exitCode: 0 });
    assert.deepEqual(exitCodeFromStatusText('Restarting (3) 1 second ago'), { exitCode: 3 });
    assert.deepEqual(exitCodeFromStatusText('Up 2 minutes'), {});
  });

  it('joins the payloads of stdout and stderr frames in order, keeping a cut-off last frame', () => {
    const frame = (stream: number, text: string) => {
      const payload = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(payload.length, 4);
      return Buffer.concat([header, payload]);
    };
    const whole = Buffer.concat([frame(1, 'starting\n'), frame(2, 'FATAL: API_TOKEN is not set\n'), frame(1, 'bye\n')]);
    assert.equal(demultiplexOutput(whole), 'starting\nFATAL: API_TOKEN is not set\nbye\n');
    assert.equal(demultiplexOutput(whole.subarray(0, whole.length - 2)), 'starting\nFATAL: API_TOKEN is not set\nby');
  });
});

describe('apply --wait: progressOf', () => {
  const document = desired('shop', { api: service() }, { hostId: 'h1', revision: 2 });
  const condition = { kind: 'failed' as const, exitCode: 3, oomKilled: false, restartCount: 0, lastLines: ['FATAL: API_TOKEN is not set', ''], since: T0.toISOString() };
  const reported = (project: Partial<ProjectStatus>) => ({
    hostId: 'h1',
    trust: { verdict: 'verified' as const },
    value: { hostId: 'h1', reportedAt: T0.toISOString(), agentVersion: 'test', outboxDepth: 0, status: { hostId: 'h1', observedAt: T0.toISOString(), projects: [{ project: 'shop', desiredRevision: 2, appliedRevision: 2, converged: false, pendingActions: 0, instances: [{ ...key, name: 'shop-api-1', state: 'exited' as const, health: 'none' as const, drift: [], condition }], unowned: [], blocked: [], ...project }] } },
  });

  it('a host whose applied revision has an instance in a condition failed, named with its exit code and last line', () => {
    assert.deepEqual(progressOf({ hostId: 'h1', document }, reported({}), { heartbeatAt: T0.toISOString() }), { state: 'failed', detail: 'shop-api-1 failed (exit 3): "FATAL: API_TOKEN is not set"' });
  });

  it('before the revision is applied, a condition (of the old containers) is not the new revision failing', () => {
    assert.equal(progressOf({ hostId: 'h1', document }, reported({ appliedRevision: 1, pendingActions: 1 }), { heartbeatAt: T0.toISOString() }).state, 'applying');
  });
});
