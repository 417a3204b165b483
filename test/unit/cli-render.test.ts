import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Action } from '../../shared/actions.js';
import type { CycleProgress } from '../../agent/cycle.js';
import type { HostPlan } from '../../coordinator/fleet-plan.js';
import { renderFleetPlan } from '../../coordinator/cli/render/plan-view.js';
import type { FleetHostStatus } from '../../coordinator/fleet-status.js';
import { renderFleetStatus } from '../../coordinator/cli/render/fleet-status-view.js';
import { actionProgressLine, hostProgressLine, stalePlanMessage, unansweredHostLine, wouldBlockLine, writtenLine } from '../../coordinator/cli/render/apply-view.js';
import { renderEvent } from '../../coordinator/cli/render/events-view.js';
import { renderHosts } from '../../coordinator/cli/render/hosts-view.js';
import { renderDesiredDiff, renderHistory } from '../../coordinator/cli/render/history-view.js';
import { renderPlan } from '../../coordinator/cli/render/plan-view.js';
import { renderRollout, renderRolloutList, renderRolloutStart, rolloutProgressLines } from '../../coordinator/cli/render/rollout-view.js';
import { renderStatus } from '../../coordinator/cli/render/status-view.js';
import type { RolloutState } from '../../coordinator/rollout/rollout-state.js';
import type { HostwrightEvent } from '../../shared/events.js';
import { runtimeConfigOf } from '../../shared/fleet-spec.js';
import type { HostStatus } from '../../shared/host-status.js';
import type { PlanReport } from '../../shared/plan-report.js';
import type { HostRegistration } from '../../shared/wire.js';
import { desired, service } from '../lib/builders.js';

// What a hostile host puts in a field: cursor moves, a title change, line breaks, an 8-bit CSI,
// bidi overrides, a zero-width space, a BOM and a line separator; and how the CLI must show it.
const RAW = '\u001b[2K\u001b]0;t\u0007\n\r\t\u009b\u202e\u2066\u200b\ufeff\u2028';
const SHOWN = '\\x1b[2K\\x1b]0;t\\x07\\n\\r\\t\\x9b\\u202e\\u2066\\u200b\\ufeff\\u2028';
// For fields the CLI cuts short (ids): the whole value still fits.
const SHORT_RAW = '\u001b[1A\u202e';
const SHORT_SHOWN = '\\x1b[1A\\u202e';
// eslint-disable-next-line no-control-regex -- control characters are what these tests look for
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/** Builds one input twice: with a hostile value in each field, and with a plain one (for the line count). */
interface Values {
  value(field: string): string;
  short(field: string): string;
}
const hostileValues: Values = { value: (field) => `${field}${RAW}end`, short: (field) => `${field}${SHORT_RAW}` };
const plainValues: Values = { value: (field) => `${field}end`, short: (field) => field };

/** Every field shows up escaped, no control character is left, and no value added a line. */
function assertShownEscaped(render: (values: Values) => string, fields: readonly string[], shortFields: readonly string[] = []): void {
  const output = render(hostileValues);
  assert.doesNotMatch(output, UNSAFE, `a control character reached the output:\n${JSON.stringify(output)}`);
  for (const field of fields) assert.ok(output.includes(`${field}${SHOWN}end`), `${field} is not shown escaped in:\n${output}`);
  for (const field of shortFields) assert.ok(output.includes(`${field}${SHORT_SHOWN}`), `${field} is not shown escaped in:\n${output}`);
  assert.equal(output.split('\n').length, render(plainValues).split('\n').length, `a value broke a line:\n${output}`);
}

const KEY = { project: 'shop', service: 'web', instance: 1 };

function hostileStatus(v: Values): HostStatus {
  return {
    hostId: v.value('statusHost'),
    observedAt: v.value('observedAt'),
    acceptsUnsigned: true,
    refusedDesired: [{ key: v.value('refusedKey'), reason: v.value('refusedReason'), refusedAt: v.value('refusedAt') }],
    projects: [
      {
        project: v.value('project'),
        desiredRevision: 2,
        appliedRevision: 1,
        converged: false,
        pendingActions: 1,
        instances: [
          { ...KEY, name: v.value('instanceName'), containerId: v.short('ic'), state: 'running', health: 'healthy', drift: ['modified'] },
          { ...KEY, instance: 2, name: v.value('loopingName'), state: 'restarting', health: 'none', drift: [], condition: { kind: 'crashloop', exitCode: 3, oomKilled: true, restartCount: 8, lastLines: [v.value('firstLine'), v.value('lastLine')], since: v.value('conditionSince') } },
        ],
        unowned: [{ project: 'shop', containerId: v.short('uc'), name: v.value('unownedName'), reason: v.value('unownedReason') }],
        blocked: [{ project: 'shop', gate: 'name-conflict', message: v.value('blockMessage') }],
        rejected: { revision: 2, reason: v.value('rejectedReason'), lift: v.value('rejectedLift') },
        backoff: { revision: 2, attempts: 3, reason: v.value('backoffReason'), since: '2025-01-01T00:00:00.000Z', retryAt: v.value('retryAt') },
      },
    ],
  };
}

function hostileActions(v: Values): PlanReport['actions'] {
  const common = { phase: 'instances' as const, chain: 'c1', description: 'described', blocked: false };
  const actions: Action[] = [
    { id: 'a1', kind: 'pull-image', phase: 'images', chain: 'i', reason: v.value('pullReason'), image: v.value('pullImage') },
    { id: 'a2', kind: 'create', chain: 'c1', phase: 'instances', reason: v.value('createReason'), key: KEY, name: v.value('createName'), specHash: 'h', config: { ...runtimeConfigOf(service()), image: v.value('createImage') } },
    { id: 'a3', kind: 'rename', chain: 'c1', phase: 'instances', reason: 'r', key: KEY, name: v.value('renameName'), containerId: v.short('rc'), newName: v.value('newName') },
    { id: 'a4', kind: 'stop', chain: 'c1', phase: 'instances', reason: 'r', key: KEY, name: v.value('stopName'), containerId: v.short('sc'), timeoutSeconds: 1 },
    { id: 'a5', kind: 'start', chain: 'c1', phase: 'instances', reason: 'r', key: KEY, name: v.value('startName'), repair: false },
    { id: 'a6', kind: 'await-healthy', chain: 'c1', phase: 'instances', reason: 'r', key: KEY, name: v.value('awaitName'), timeoutSeconds: 5 },
  ];
  return actions.map((action) => ({ ...common, ...action }));
}

function hostilePlan(v: Values): PlanReport {
  return {
    schema: 'hostwright.plan/v1',
    hostId: v.value('planHost'),
    observedAt: v.value('planObservedAt'),
    observationFingerprint: 'f',
    projects: [{ project: v.value('planProject'), revision: 3, mode: 'converge' }],
    changes: true,
    diff: [{ kind: 'modified', ...KEY, name: v.value('diffName'), containerId: null, detail: v.value('diffDetail'), changes: [{ field: v.value('changeField'), type: 'edited', old: v.value('changeOld'), new: [v.value('changeNew')], forces: true }] }],
    actions: hostileActions(v),
    blocked: [{ project: v.value('gateProject'), gate: 'unowned-target', message: v.value('gateMessage') }],
    drift: [{ kind: 'modified', ...KEY, action: 'report', message: v.value('driftMessage') }],
  };
}

function hostileRollout(v: Values, overrides: Partial<RolloutState> = {}, hostState: RolloutState['hosts'][number]['state'] = 'failed'): RolloutState {
  const document = desired('shop', { web: service() });
  return {
    schema: 'hostwright.rollout/v1',
    id: v.value('rolloutId'),
    project: v.value('rolloutProject'),
    correlationID: v.value('rolloutCorrelation'),
    createdAt: v.value('createdAt'),
    updatedAt: 'u',
    options: { canary: 1, maxParallel: 1, minHealthyMs: 0, healthyDeadlineMs: 1000, maxFailures: 0, onFailure: 'pause', order: 'stop-first', skipOffline: false },
    waves: [[v.value('waveHost')]],
    currentWave: 0,
    status: 'paused',
    reason: v.value('rolloutReason'),
    hosts: [{ hostId: v.value('rolloutHost'), wave: 0, state: hostState, previous: null, target: document, writtenRevision: 2, message: v.value('hostMessage') }],
    ...overrides,
  };
}

describe('human output shows what hosts and Docker report escaped', () => {
  it('events: host, project, service, message, time and correlation id', () => {
    const event = (v: Values): HostwrightEvent => ({ id: 'e1', type: 'drift_detected', severity: 'warning', hostId: v.value('eventHost'), project: v.value('eventProject'), service: v.value('eventService'), instance: 1, message: v.value('eventMessage'), timestamp: v.value('timestamp'), correlationID: v.short('cid') });
    assertShownEscaped((v) => renderEvent(event(v)), ['eventHost', 'eventProject', 'eventService', 'eventMessage', 'timestamp'], ['cid']);
  });

  it('an event message that rewrites the screen and the window title reaches the terminal as text', () => {
    const line = renderEvent({ id: 'e1', type: 'failed', severity: 'error', hostId: 'h1', project: 'shop', message: 'oops\u001b[2K\u001b[1A\rall converged\u001b]0;title\u0007', timestamp: '2025-01-01T00:00:00.000Z', correlationID: 'c0ffee00' });
    assert.ok(line.includes('oops\\x1b[2K\\x1b[1A\\rall converged\\x1b]0;title\\x07'), line);
  });

  it('status (local): host, refusals, projects, instances, unowned containers, gates and rejections', () => {
    assertShownEscaped(
      (v) => renderStatus(hostileStatus(v)),
      ['statusHost', 'observedAt', 'refusedKey', 'refusedReason', 'refusedAt', 'project', 'instanceName', 'loopingName', 'firstLine', 'lastLine', 'conditionSince', 'unownedName', 'unownedReason', 'blockMessage', 'rejectedReason', 'rejectedLift', 'backoffReason', 'retryAt'],
      ['ic', 'uc'],
    );
  });

  it('status (fleet): the table and the refusals under it', () => {
    const hosts = (v: Values): FleetHostStatus[] => [{ hostId: v.value('fleetHost'), labels: {}, heartbeatAt: '2025-01-01T00:00:00.000Z', stale: false, reportedAt: null, outboxDepth: 0, status: hostileStatus(v), trust: 'refused', refused: [{ report: 'registration', reason: v.value('reportRefusal') }] }];
    assertShownEscaped((v) => renderFleetStatus(hosts(v), Date.parse('2025-01-01T00:00:05.000Z')), ['fleetHost', 'project', 'instanceName', 'loopingName', 'lastLine', 'conditionSince', 'refusedKey', 'refusedReason', 'refusedAt', 'reportRefusal']);
  });

  it('status: a crash loop in the HEALTH cell and under the table (fleet), with its last lines (local)', () => {
    const fleet = renderFleetStatus([{ hostId: 'h1', labels: {}, heartbeatAt: '2025-01-01T00:00:00.000Z', stale: false, reportedAt: null, outboxDepth: 0, status: hostileStatus(plainValues), trust: 'verified', refused: [] }], Date.parse('2025-01-01T00:00:05.000Z'));
    assert.match(fleet, /loopingNameend: crashloop \(exit 3, OOMKilled\) 1 healthy/);
    assert.match(fleet, /h1: loopingNameend crashloop \(exit 3, OOMKilled\), restart count 8, since conditionSinceend; last output: firstLineend \| lastLineend/);
    const local = renderStatus(hostileStatus(plainValues));
    assert.match(local, /CRASHLOOP loopingNameend: crashloop \(exit 3, OOMKilled\), restart count 8, since conditionSinceend; last output:\n {4}firstLineend\n {4}lastLineend/);
  });

  it('plan: header, diff, every kind of action target, gates and drift', () => {
    assertShownEscaped(
      (v) => renderPlan(hostilePlan(v)),
      ['planHost', 'planObservedAt', 'planProject', 'diffName', 'diffDetail', 'changeField', 'pullImage', 'pullReason', 'createName', 'createImage', 'createReason', 'renameName', 'newName', 'stopName', 'startName', 'awaitName', 'gateProject', 'gateMessage', 'driftMessage'],
      ['rc', 'sc'],
    );
  });

  it('plan (fleet): each host\'s section, and the error of a host that did not answer', () => {
    const plans = (v: Values): HostPlan[] => [
      { target: { hostId: v.value('answeredHost'), document: desired('shop', { web: service() }), kvRevision: 1, changed: true }, plan: hostilePlan(v), error: undefined },
      { target: { hostId: v.value('silentHost'), document: desired('shop', { web: service() }), kvRevision: 1, changed: false }, plan: undefined, error: v.value('planError') },
    ];
    assertShownEscaped((v) => renderFleetPlan('shop', plans(v)), ['answeredHost', 'silentHost', 'planError', 'planHost', 'diffDetail', 'createName', 'gateMessage', 'driftMessage']);
    assertShownEscaped((v) => renderFleetPlan(v.value('project'), []), ['project']);
  });

  it('hosts: id, labels, agent version and start time, and refused registrations', () => {
    const hosts = (v: Values): (HostRegistration & { trust: 'verified' })[] => [{ hostId: v.value('host'), labels: { [v.value('labelKey')]: v.value('labelValue') }, agentVersion: v.value('agentVersion'), startedAt: v.value('startedAt'), heartbeatAt: '2025-01-01T00:00:00.000Z', trust: 'verified' }];
    const refused = (v: Values) => [{ hostId: v.value('refusedHost'), reason: v.value('refusalReason') }];
    assertShownEscaped((v) => renderHosts(hosts(v), refused(v), Date.parse('2025-01-01T00:00:05.000Z')), ['host', 'labelKey', 'labelValue', 'agentVersion', 'startedAt', 'refusedHost', 'refusalReason']);
  });

  it('rollout: the state, its start line, the list and the progress lines', () => {
    assertShownEscaped((v) => renderRollout(hostileRollout(v)), ['rolloutId', 'rolloutProject', 'rolloutReason', 'rolloutHost', 'hostMessage']);
    assertShownEscaped((v) => renderRolloutStart(hostileRollout(v)), ['rolloutId', 'waveHost', 'rolloutCorrelation']);
    assertShownEscaped((v) => renderRolloutList([hostileRollout(v)]), ['rolloutId', 'rolloutProject', 'createdAt']);
    assertShownEscaped((v) => rolloutProgressLines(hostileRollout(v), hostileRollout(v, { status: 'running' }, 'applying')).join('\n'), ['rolloutHost', 'hostMessage', 'rolloutReason']);
  });

  it('apply --local: action lines as they start and finish, with Docker\'s answer', () => {
    const lines = (v: Values): string => {
      const [, create, rename] = hostileActions(v) as Action[];
      const progress: CycleProgress[] = [
        { type: 'action-started', action: create as Action },
        { type: 'action-started', action: rename as Action },
        { type: 'action-finished', report: { action: create as Action, outcome: 'failed', message: v.value('dockerMessage'), containerId: undefined, durationMs: 3 } },
      ];
      return progress.map(actionProgressLine).join('\n');
    };
    assertShownEscaped(lines, ['createName', 'createImage', 'renameName', 'newName', 'dockerMessage'], ['rc']);
  });

  it('apply (fleet): unanswered and blocked hosts, written hosts, progress and a stale saved plan', () => {
    assertShownEscaped((v) => unansweredHostLine(v.value('host'), v.value('error')), ['host', 'error']);
    assertShownEscaped((v) => wouldBlockLine(v.value('host'), [{ project: 'shop', gate: 'name-conflict', message: v.value('gateMessage') }]), ['host', 'gateMessage']);
    assertShownEscaped((v) => writtenLine([{ hostId: v.value('host'), revision: 2 }], v.value('correlation')), ['host', 'correlation']);
    assertShownEscaped((v) => hostProgressLine(v.value('host'), 'failed', v.value('rejectedReason')), ['host', 'rejectedReason']);
    assertShownEscaped((v) => stalePlanMessage([v.value('reason')], v.value('planFile')), ['reason', 'planFile']);
  });

  it('history and diff: host, author, summary, field names and values from the bucket are shown escaped', () => {
    assertShownEscaped(
      (v) =>
        renderHistory(v.value('project'), [
          { hostId: v.value('host'), project: v.value('project'), revision: 2, kvRevision: 9, storedAt: '2026-01-01T00:00:00.000Z', signedAt: null, author: { key: v.value('authorKey'), name: v.value('authorName') }, correlationID: 'c0ffee00-0000', rolloutId: v.value('rolloutId'), summary: v.value('summary'), diff: null },
        ]),
      ['project', 'host', 'authorName', 'rolloutId', 'summary'],
    );
    assertShownEscaped(
      (v) => renderDesiredDiff(v.value('heading'), { services: [{ service: v.value('service'), type: 'edited', forces: true, fields: [{ field: v.value('field'), type: 'edited', old: v.value('old'), new: [v.value('new')], forces: true }] }], fields: [{ field: v.value('projectField'), type: 'added', old: null, new: v.value('value'), forces: false }] }),
      ['heading', 'service', 'field', 'projectField'],
    );
    assertShownEscaped((v) => renderEvent({ id: 'e1', type: 'applied', severity: 'info', hostId: 'h1', project: 'shop', message: 'm', timestamp: 't', correlationID: 'c0ffee00', author: { key: 'OKEY', name: v.value('eventAuthor') } }), ['eventAuthor']);
  });
});
